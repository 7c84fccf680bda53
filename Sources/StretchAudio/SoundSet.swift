import StretchCore
import Synchronization

/// The sound for every cue, at one sample rate: the built-in designs, some replaced by the user's WAV files.
///
/// A built-in sound is synthesized the first time it is asked for, then kept: the daemon starts without
/// synthesizing any (it costs most of its start-up time), and one that only reminds holds only the reminder.
public struct SoundSet: Sendable {
    public let rate: Int
    /// The user's sounds, resampled to `rate`.
    private var samples: [SoundName: [Int16]] = [:]
    /// The built-in sounds synthesized so far; copies of the set share them.
    private let builtIn: BuiltInSounds
    /// Where each sound came from: nil for built-in, else the override file.
    public private(set) var overrides: [SoundName: String] = [:]

    /// A user's sound longer than this is refused: cues must not run into each other.
    public static let maximumOverrideLength = Duration.seconds(3)

    /// The built-in sounds at `rate`.
    public init(rate: Int = CueSounds.rate) {
        self.rate = rate
        builtIn = BuiltInSounds(rate: rate)
    }

    /// Replaces the sound `name` with `audio` (mixed to mono and resampled to the set's rate), read from `path`.
    /// Where sound files are found and read is the caller's: this target does no file access.
    public mutating func override(_ name: SoundName, with audio: WAVAudio, from path: String) {
        samples[name] = Self.resampled(audio, to: rate)
        overrides[name] = path
    }

    public subscript(name: SoundName) -> [Int16] { samples[name] ?? builtIn[name] }

    /// The built-in sounds synthesized so far (the user's are not counted).
    public var synthesizedCount: Int { builtIn.count }

    /// How long a sound rings, rounded up to the microsecond: what a spoken prompt must leave room for.
    public func ringLength(_ name: SoundName) -> Duration {
        .microseconds((self[name].count * 1_000_000 + rate - 1) / rate)
    }

    /// The sound the plan chose for a cue.
    public func sound(for cue: PlannedCue) -> [Int16] { self[cue.sound] }

    /// Mono 16-bit at `rate`: channels averaged, linear interpolation between samples.
    static func resampled(_ audio: WAVAudio, to rate: Int) -> [Int16] {
        let mono = stride(from: 0, to: audio.samples.count - audio.channels + 1, by: audio.channels).map { start in
            audio.samples[start..<start + audio.channels].reduce(0, +) / Float(audio.channels)
        }
        guard !mono.isEmpty else { return [] }
        let count = mono.count * rate / audio.rate
        return (0..<count).map { index in
            let position = Double(index) * Double(audio.rate) / Double(rate)
            let left = Int(position), right = min(left + 1, mono.count - 1)
            let fraction = Float(position - Double(left))
            let value = mono[left] * (1 - fraction) + mono[right] * fraction
            return Int16(clamping: Int((value * 32767).rounded()))
        }
    }
}

/// The built-in sounds at one rate, each synthesized on first use.
private final class BuiltInSounds: Sendable {
    let rate: Int
    private let rendered = Mutex<[SoundName: [Int16]]>([:])

    init(rate: Int) { self.rate = rate }

    subscript(name: SoundName) -> [Int16] {
        if let sound = rendered.withLock({ $0[name] }) { return sound }
        // Synthesized outside the lock: two first uses at once both synthesize, and the same samples are kept.
        let sound = CueSounds.render(name, rate: rate)
        return rendered.withLock { rendered in
            if let kept = rendered[name] { return kept }
            rendered[name] = sound
            return sound
        }
    }

    var count: Int { rendered.withLock { $0.count } }
}
