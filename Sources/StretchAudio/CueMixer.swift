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
        var mix = [Int32](repeating: 0, count: count)
        for voice in voices where voice.start < position + count && voice.end > position {
            let from = max(voice.start, position), to = min(voice.end, position + count)
            for streamFrame in from..<to {
                mix[streamFrame - position] += Int32(voice.samples[streamFrame - voice.start])
            }
        }
        position += count
        voices.removeAll { $0.end <= position }
        return mix.map { Int16(clamping: Int32((Float($0) * volume).rounded())) }
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

    /// The session's stream from its start until the last sound has rung out.
    public static func render(_ plan: SessionPlan, sounds: SoundSet, volume: Float = 1) -> [Int16] {
        var mixer = CueMixer(volume: volume)
        for cue in plan.cues { mixer.add(sounds.sound(for: cue), at: frame(of: cue.at, rate: sounds.rate)) }
        return mixer.render(through: max(mixer.end, frame(of: plan.duration, rate: sounds.rate)))
    }
}
