import ALSA
import Logging
import StretchCore

/// Somewhere frames can be played: an ALSA device, or a test double that fails on purpose.
public protocol PCMSink: AnyObject {
    func write(_ samples: [Int16]) throws(ALSAError)
    func drain() throws(ALSAError)
}

extension PCMDevice: PCMSink {}

/// Plays a session on an audio device, the PCM open for the whole session, fed ahead of the clock.
///
/// The cue scheduler calls `fill` every `period`; each call renders the stream through `lead` past now and writes
/// it. Pacing comes from the clock, not from the device blocking: `null` and `file` devices never block, and a
/// test clock then sees exactly the stream the live path produces.
///
/// If the device fails mid-session, the session's timing carries on: the frames are dropped, one warning is
/// logged, and the device is reopened every `retryInterval` until it works again.
public actor LiveAudioOutput: StreamOutput {
    public nonisolated let period = Duration.milliseconds(50)
    public nonisolated let lead = Duration.milliseconds(150)
    public nonisolated let retryInterval = Duration.seconds(2)
    /// A stopped session fades out over this long instead of cutting off.
    public nonisolated let fadeOut = Duration.milliseconds(30)

    public let deviceName: String
    private let sounds: SoundSet
    private let open: @Sendable () throws(ALSAError) -> any PCMSink
    private let logger: Logger
    private var mixer: CueMixer
    private var device: (any PCMSink)?
    /// Stream frame at which to try the device again after a failure.
    private var retryAt: Int?

    /// Opens `deviceName` now; throws when it cannot be opened, so a caller can say so before a session starts.
    public init(
        deviceName: String, sounds: SoundSet, volume: Float, logger: Logger,
        open: @escaping @Sendable () throws(ALSAError) -> any PCMSink
    ) throws(ALSAError) {
        self.deviceName = deviceName
        self.sounds = sounds
        self.open = open
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

    public func fill(through streamTime: Duration, starting cues: [StreamCue]) {
        for cue in cues {
            mixer.add(sounds.sound(for: cue.cue), at: SessionRenderer.frame(of: cue.at, rate: sounds.rate))
        }
        send(mixer.render(through: SessionRenderer.frame(of: streamTime, rate: sounds.rate)))
    }

    /// Plays one sound on its own and closes the device: the break reminder.
    ///
    /// Written at once: on a sound card this blocks until the part beyond the device buffer is played.
    public func play(_ sound: SoundName) {
        mixer.add(sounds[sound], at: mixer.position)
        finish(.completed)
    }

    public func finish(_ outcome: SessionOutcome) {
        switch outcome {
        case .completed: send(mixer.render(through: mixer.end))
        case .stopped, .interrupted: send(mixer.fadeOut(frames: SessionRenderer.frame(of: fadeOut, rate: sounds.rate)))
        }
        do {
            try device?.drain()
        } catch {
            logger.warning("audio device failed at the end of the session", metadata: metadata(error))
        }
        // Closing the device is what completes a `file` device's WAV.
        device = nil
    }

    /// Writes a block, or drops it while the device is failing.
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
        do {
            try device.write(block)
        } catch {
            logger.warning("audio device failed; the session goes on and audio is retried", metadata: metadata(error))
            self.device = nil
            retryAt = mixer.position + SessionRenderer.frame(of: retryInterval, rate: sounds.rate)
        }
    }

    private func metadata(_ error: ALSAError) -> Logger.Metadata {
        ["device": "\(deviceName)", "error": "\(error)"]
    }
}
