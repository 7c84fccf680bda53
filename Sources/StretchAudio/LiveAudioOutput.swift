import ALSA
import Logging
import StretchCore

/// Somewhere frames can be played without waiting: an ALSA device, or a test double.
public protocol PCMSink: AnyObject {
    /// Takes as many of `samples` (mono frames) as there is room for now, without waiting; returns how many
    /// (0 when full). The caller keeps the rest and offers it again.
    func write(_ samples: UnsafeBufferPointer<Int16>) throws(ALSAError) -> Int
    /// Frames taken that are not played yet.
    func delay() throws(ALSAError) -> Int
}

extension PCMDevice: PCMSink {}

/// Plays a session on an audio device, the PCM open for the whole session, fed ahead of the clock.
///
/// The cue scheduler calls `fill` every `period` (200 ms); each call mixes the stream through `lead` (300 ms) past
/// now and writes it, so a pause or skip is heard at most `lead` after it is asked for. The lead less the period
/// (100 ms) is how late a wake-up may be before the device runs dry. Pacing comes from the
/// clock, not from the device: it is open non-blocking and takes what it has room for; the rest waits for the
/// next fill, so no frame is lost and no thread waits on the sound card. `null` and `file` devices take
/// everything, and a test clock then sees exactly the stream the live path produces.
///
/// If the device fails mid-session, the session's timing carries on: the frames are dropped, one warning is
/// logged, and the device is reopened every `retryInterval` until it works again.
public actor LiveAudioOutput: StreamOutput {
    public nonisolated let period = Duration.milliseconds(200)
    public nonisolated let lead = Duration.milliseconds(300)
    public nonisolated let retryInterval = Duration.seconds(2)
    /// A stopped session fades out over this long instead of cutting off.
    public nonisolated let fadeOut = Duration.milliseconds(30)
    /// Mixed audio the device has not taken beyond this much is dropped, oldest first: a device that stopped
    /// taking frames must not make the backlog grow for the rest of the session.
    public nonisolated let maximumBacklog = Duration.seconds(1)

    public let deviceName: String
    private let sounds: SoundSet
    /// Each spoken prompt's samples by its text, at the stream's rate.
    private var speech: [String: [Int16]] = [:]
    private let open: @Sendable () throws(ALSAError) -> any PCMSink
    private let wait: @Sendable (Duration) async -> Void
    private let logger: Logger
    private var mixer: CueMixer
    private var device: (any PCMSink)?
    /// Frames mixed that the device has not taken yet, oldest first.
    private var backlog: [Int16] = []
    private var warnedBacklog = false
    /// Stream frame at which to try the device again after a failure.
    private var retryAt: Int?

    /// Opens `deviceName` now; throws when it cannot be opened, so a caller can say so before a session starts.
    /// `wait` is how the end of a session waits, on the clock, for the device to play what it holds.
    public init(
        deviceName: String, sounds: SoundSet, volume: Float, logger: Logger,
        wait: @escaping @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) },
        open: @escaping @Sendable () throws(ALSAError) -> any PCMSink
    ) throws(ALSAError) {
        self.deviceName = deviceName
        self.sounds = sounds
        self.open = open
        self.wait = wait
        self.logger = logger
        self.mixer = CueMixer(volume: volume)
        self.device = try open()
    }

    /// Opens an ALSA device by name for the session's sounds.
    public init(deviceName: String, sounds: SoundSet, volume: Float, logger: Logger) throws(ALSAError) {
        let rate = sounds.rate
        try self.init(deviceName: deviceName, sounds: sounds, volume: volume, logger: logger) { () throws(ALSAError) in
            try PCMDevice(name: deviceName, rate: rate)
        }
    }

    /// The session's spoken prompts, by text, at `SpeechSamples.rate` (what the synthesizer gives): set before the
    /// session starts, so nothing is synthesized or converted on the audio path.
    public func setSpeech(_ samples: [String: [Int16]]) {
        speech = samples.mapValues { SpeechSamples.converted($0, to: sounds.rate) }
    }

    public func fill(through streamTime: Duration, starting cues: [StreamCue]) {
        fill(through: streamTime, starting: cues, speaking: [])
    }

    public func fill(through streamTime: Duration, starting cues: [StreamCue], speaking prompts: [StreamPrompt]) {
        for prompt in prompts {
            mixer.add(speech[prompt.prompt.text] ?? [], at: SessionRenderer.frame(of: prompt.at, rate: sounds.rate))
        }
        for cue in cues {
            mixer.add(sounds.sound(for: cue.cue), at: SessionRenderer.frame(of: cue.at, rate: sounds.rate))
        }
        send(mixer.render(through: SessionRenderer.frame(of: streamTime, rate: sounds.rate)))
        dropExcessBacklog()
    }

    /// Plays one sound on its own and closes the device: the break reminder. Returns once it has played, having
    /// waited on the clock, not on the device.
    public func play(_ sound: SoundName) async {
        mixer.add(sounds[sound], at: mixer.position)
        await finish(.completed)
    }

    /// Writes the rest of the stream (a completed session rings out, a stopped one fades out), waits on the clock
    /// until the device has played it, and closes the device.
    public func finish(_ outcome: SessionOutcome) async {
        switch outcome {
        case .completed: send(mixer.render(through: mixer.end))
        case .stopped, .interrupted: send(mixer.fadeOut(frames: SessionRenderer.frame(of: fadeOut, rate: sounds.rate)))
        }
        await drain()
        // Closing the device is what completes a `file` device's WAV.
        device = nil
        speech = [:]
    }

    /// Offers the backlog as the device makes room and waits until it has played everything; gives up (and the
    /// close drops the rest) when that takes a second longer than the audio left, or when the task is cancelled.
    private func drain() async {
        var budget = duration(of: backlog.count) + maximumBacklog
        var first = true
        while let device, !Task.isCancelled {
            flush(device)
            let queued: Int
            do {
                queued = try device.delay()
            } catch {
                logger.warning("audio device failed at the end of the session", metadata: metadata(error))
                return
            }
            if first { budget += duration(of: queued) }
            first = false
            if backlog.isEmpty, queued <= 0 { return }
            // With frames still to write, come back when the device has made room; else when it has played all.
            let next = max(.milliseconds(1), backlog.isEmpty ? duration(of: queued) : min(duration(of: queued), period))
            guard budget > .zero else { return }
            budget -= next
            await wait(next)
        }
    }

    /// Queues a block and writes what the device takes, or drops it while the device is failing.
    private func send(_ block: [Int16]) {
        if device == nil, let retryAt, mixer.position >= retryAt {
            do {
                device = try open()
                self.retryAt = nil
                logger.notice("audio device works again", metadata: ["device": "\(deviceName)"])
            } catch {
                self.retryAt = mixer.position + SessionRenderer.frame(of: retryInterval, rate: sounds.rate)
            }
        }
        guard let device else { return }
        backlog.append(contentsOf: block)
        flush(device)
    }

    /// Keeps at most `maximumBacklog` of audio waiting during a session (the end's ring-out may wait longer).
    private func dropExcessBacklog() {
        let excess = backlog.count - SessionRenderer.frame(of: maximumBacklog, rate: sounds.rate)
        guard excess > 0 else { return }
        backlog.removeFirst(excess)
        if !warnedBacklog {
            warnedBacklog = true
            logger.warning(
                "audio device is not taking frames as fast as they play; dropping the oldest",
                metadata: ["device": "\(deviceName)"])
        }
    }

    /// Writes as much of the backlog as the device takes now: until it is all written or the device takes nothing.
    private func flush(_ device: any PCMSink) {
        guard !backlog.isEmpty else { return }
        var written = 0
        defer { backlog.removeFirst(written) }
        do {
            while written < backlog.count {
                let taken = try backlog.withUnsafeBufferPointer { samples throws(ALSAError) in
                    try device.write(UnsafeBufferPointer(rebasing: samples[written...]))
                }
                guard taken > 0 else { break }
                written += min(taken, backlog.count - written)
            }
        } catch {
            logger.warning("audio device failed; the session goes on and audio is retried", metadata: metadata(error))
            self.device = nil
            backlog = []
            retryAt = mixer.position + SessionRenderer.frame(of: retryInterval, rate: sounds.rate)
        }
    }

    private func duration(of frames: Int) -> Duration { .seconds(frames) / sounds.rate }

    private func metadata(_ error: ALSAError) -> Logger.Metadata {
        ["device": "\(deviceName)", "error": "\(error)"]
    }
}
