import StretchCore

/// Mixes cue sounds into one stream at exact frame positions, a block at a time.
///
/// Offline rendering and live playback both go through it, so a WAV written by `stretchctl render` holds the same
/// samples a sound card is sent.
public struct CueMixer: Sendable {
    private struct Voice {
        var samples: [Int16]
        /// The stream frame of the voice's first sample.
        var start: Int
        var end: Int { start + samples.count }
    }

    /// 0...1, applied to every sound.
    public var volume: Float
    /// Frames produced so far: the next `render` starts here.
    public private(set) var position = 0
    private var voices: [Voice] = []

    public init(volume: Float = 1) {
        self.volume = volume
    }

    /// Schedules `samples` to start at stream frame `frame`; a start already passed plays what is left.
    public mutating func add(_ samples: [Int16], at frame: Int) {
        voices.append(Voice(samples: samples, start: frame))
    }

    /// The frame where the last scheduled sound ends (at least `position`).
    public var end: Int { voices.map(\.end).max().map { max($0, position) } ?? position }

    /// Produces the frames from `position` up to `frame`.
    public mutating func render(through frame: Int) -> [Int16] {
        let count = max(0, frame - position)
        return [Int16](unsafeUninitializedCapacity: count) { buffer, initialized in
            render(into: buffer)
            initialized = count
        }
    }

    /// Produces the next `buffer.count` frames into `buffer`.
    ///
    /// Only where a sound plays costs anything: silence is zero-filled, a stretch where one sound plays is that
    /// sound scaled, and only where sounds overlap are they summed (in 32 bits, then scaled and clamped). Every
    /// frame comes out as `clamp(round(sum * volume))` however the stream is cut into blocks.
    public mutating func render(into buffer: UnsafeMutableBufferPointer<Int16>) {
        let from = position, to = position + buffer.count
        buffer.initialize(repeating: 0)
        let sounding = voices.filter { $0.start < to && $0.end > from }.sorted { $0.start < $1.start }
        var index = 0
        while index < sounding.count {
            // One run: voices that overlap one another, each clipped to the block.
            var run = [sounding[index]]
            var runEnd = min(sounding[index].end, to)
            index += 1
            while index < sounding.count, sounding[index].start < runEnd {
                run.append(sounding[index])
                runEnd = max(runEnd, min(sounding[index].end, to))
                index += 1
            }
            let runStart = max(run[0].start, from)
            if run.count == 1 {
                let voice = run[0]
                voice.samples.withUnsafeBufferPointer { samples in
                    for frame in runStart..<runEnd {
                        buffer[frame - from] = scaled(Int32(samples[frame - voice.start]))
                    }
                }
            } else {
                var mix = [Int32](repeating: 0, count: runEnd - runStart)
                for voice in run {
                    voice.samples.withUnsafeBufferPointer { samples in
                        for frame in max(voice.start, runStart)..<min(voice.end, runEnd) {
                            mix[frame - runStart] += Int32(samples[frame - voice.start])
                        }
                    }
                }
                for (offset, sum) in mix.enumerated() { buffer[runStart - from + offset] = scaled(sum) }
            }
        }
        position = to
        voices.removeAll { $0.end <= position }
    }

    private func scaled(_ sum: Int32) -> Int16 {
        Int16(clamping: Int32((Float(sum) * volume).rounded()))
    }

    /// Produces `frames` more frames fading linearly to silence, then drops every sound: a stop without a click.
    public mutating func fadeOut(frames: Int) -> [Int16] {
        var block = render(through: position + frames)
        for index in block.indices {
            block[index] = Int16((Float(block[index]) * Float(frames - index) / Float(frames)).rounded())
        }
        voices.removeAll()
        return block
    }
}

/// Whole sessions rendered offline.
public enum SessionRenderer {
    /// The frame a cue at `at` starts on: `round(at * rate)`.
    public static func frame(of at: Duration, rate: Int) -> Int {
        let (seconds, attoseconds) = at.components
        let scaled = Double(attoseconds) * Double(rate) / 1e18
        return Int(seconds) * rate + Int(scaled.rounded())
    }

    /// The session's stream from its start until the last sound has rung out, in memory: for short sessions and
    /// tests. `SessionStream` produces the same samples a block at a time.
    public static func render(
        _ plan: SessionPlan, sounds: SoundSet, volume: Float = 1, speech: [String: [Int16]] = [:]
    ) -> [Int16] {
        let stream = SessionStream(plan, sounds: sounds, volume: volume, speech: speech)
        var samples: [Int16] = []
        samples.reserveCapacity(stream.frames)
        stream.render { block in samples.append(contentsOf: block) }
        return samples
    }
}

/// A session's stream, mixed a block at a time: memory does not grow with the session's length.
///
/// The length is known from the plan before anything is mixed (a WAV header can be written first), and each cue
/// joins the mix only when the block it starts in is made.
public struct SessionStream: Sendable {
    public let rate: Int
    /// Frames in the whole stream: until the later of the plan's end and the last sound's end.
    public let frames: Int
    private let volume: Float

    /// How long the session sounds: until the last tone or prompt has rung out, past `session-end` (and with a
    /// voice the closing prompt). What `render` writes and `play` plays, so the length every command shows.
    public var length: Duration { .seconds(frames) / rate }
    /// Every cue's sound and every prompt's speech, with its first frame, by first frame.
    private let starts: [(frame: Int, samples: [Int16])]

    /// `speech` holds each prompt's samples by its text, at `SpeechSamples.rate` (what the synthesizer gives);
    /// a prompt whose text it lacks is silent.
    public init(_ plan: SessionPlan, sounds: SoundSet, volume: Float = 1, speech: [String: [Int16]] = [:]) {
        rate = sounds.rate
        self.volume = volume
        let cues = plan.cues.map { (SessionRenderer.frame(of: $0.at, rate: sounds.rate), sounds.sound(for: $0)) }
        let prompts = plan.prompts.map { prompt in
            (SessionRenderer.frame(of: prompt.at, rate: sounds.rate),
             SpeechSamples.converted(speech[prompt.text] ?? [], to: sounds.rate))
        }
        starts = (cues + prompts)
            .enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element)
        let lastSound = starts.map { $0.frame + $0.samples.count }.max() ?? 0
        let ends = [plan.duration] + plan.prompts.map(\.end)
        frames = max(0, lastSound, ends.map { SessionRenderer.frame(of: $0, rate: sounds.rate) }.max() ?? 0)
    }

    /// Hands the stream to `write` in order, in blocks of `blockFrames` (the last one shorter). The block's memory
    /// is reused: `write` must not keep the pointer.
    public func render<E: Error>(
        blockFrames: Int = 48_000, _ write: (UnsafeBufferPointer<Int16>) throws(E) -> Void
    ) throws(E) {
        precondition(blockFrames > 0, "blocks hold at least one frame")
        var mixer = CueMixer(volume: volume)
        let block = UnsafeMutableBufferPointer<Int16>.allocate(capacity: blockFrames)
        defer { block.deallocate() }
        var next = 0
        while mixer.position < frames {
            let count = min(blockFrames, frames - mixer.position)
            while next < starts.count, starts[next].frame < mixer.position + count {
                mixer.add(starts[next].samples, at: starts[next].frame)
                next += 1
            }
            let part = UnsafeMutableBufferPointer(rebasing: block[0..<count])
            mixer.render(into: part)
            try write(UnsafeBufferPointer(part))
        }
    }
}

/// Spoken prompts' samples as a stream at another rate plays them.
public enum SpeechSamples {
    /// The rate the synthesizer gives: the cue sounds' own.
    public static let rate = CueSounds.rate

    /// `samples` at `SpeechSamples.rate`, converted to `rate` as a user's sound file is (linear interpolation);
    /// unchanged at the same rate.
    public static func converted(_ samples: [Int16], to rate: Int) -> [Int16] {
        guard rate != Self.rate, !samples.isEmpty else { return samples }
        let audio = WAVAudio(rate: Self.rate, channels: 1, samples: samples.map { Float($0) / 32767 })
        return SoundSet.resampled(audio, to: rate)
    }
}
