#if canImport(Glibc)
import Glibc
#endif

/// One note of a cue sound: a pitch (optionally gliding), a timbre and an envelope.
public struct Note: Sendable, Hashable {
    public enum Waveform: Sendable, Hashable {
        case sine
        /// Softer and woodier than a square, brighter than a sine: good for beats.
        case triangle
    }

    /// Seconds from the start of the sound.
    public var start: Double
    public var duration: Double
    public var frequency: Double
    /// The pitch at the end of the note; equal to `frequency` for a steady pitch.
    public var endFrequency: Double
    public var waveform: Waveform
    /// Overtones as (multiple of the frequency, relative gain), e.g. a bell's inharmonic partials.
    public var partials: [Partial]
    public var gain: Double
    /// Rise time; at least a few milliseconds so the note starts without a click.
    public var attack: Double
    /// Exponential decay time constant while the note sounds; `nil` holds the level.
    public var decay: Double?
    /// Fade-out time at the end; the note ends at exactly zero, so it stops without a click.
    public var release: Double

    public struct Partial: Sendable, Hashable {
        public var multiple: Double
        public var gain: Double
    }

    public init(
        start: Double, duration: Double, frequency: Double, endFrequency: Double? = nil, waveform: Waveform = .sine,
        partials: [Partial] = [], gain: Double = 1, attack: Double = 0.005, decay: Double? = nil, release: Double = 0.03
    ) {
        self.start = start
        self.duration = duration
        self.frequency = frequency
        self.endFrequency = endFrequency ?? frequency
        self.waveform = waveform
        self.partials = partials
        self.gain = gain
        self.attack = attack
        self.decay = decay
        self.release = release
    }
}

/// Renders notes to samples. Deterministic: the same design always gives the same samples, which is what lets
/// the committed `Sounds/` files be checked against the synthesizer.
public enum Synth {
    /// Mixes `notes` into a buffer as long as the last note, at `rate`.
    public static func render(_ notes: [Note], rate: Int) -> [Float] {
        let length = notes.map { $0.start + $0.duration }.max() ?? 0
        var samples = [Float](repeating: 0, count: Int((length * Double(rate)).rounded(.up)))
        for note in notes { add(note, to: &samples, rate: rate) }
        return samples
    }

    private static func add(_ note: Note, to samples: inout [Float], rate: Int) {
        let first = Int((note.start * Double(rate)).rounded())
        let count = Int((note.duration * Double(rate)).rounded())
        var phase = 0.0
        let voices = [Note.Partial(multiple: 1, gain: 1)] + note.partials
        for index in 0..<count where first + index < samples.count {
            let t = Double(index) / Double(rate)
            let progress = Double(index) / Double(max(1, count - 1))
            // Glides are exponential in frequency, as pitch is heard.
            let frequency = note.frequency * pow(note.endFrequency / note.frequency, progress)
            var value = 0.0
            for voice in voices {
                value += voice.gain * wave(note.waveform, phase: phase * voice.multiple)
            }
            samples[first + index] += Float(value * note.gain * envelope(note, t: t))
            phase += frequency / Double(rate)
            phase -= phase.rounded(.down)
        }
    }

    /// `phase` in cycles; one period of the waveform between -1 and 1.
    private static func wave(_ waveform: Note.Waveform, phase: Double) -> Double {
        let cycle = phase - phase.rounded(.down)
        switch waveform {
        case .sine: return sin(2 * Double.pi * cycle)
        case .triangle: return 1 - 4 * abs(cycle - 0.5)
        }
    }

    /// Raised-cosine attack and release around an optional exponential decay: smooth at both ends.
    static func envelope(_ note: Note, t: Double) -> Double {
        let rise = t < note.attack ? 0.5 - 0.5 * cos(Double.pi * t / note.attack) : 1
        let body = note.decay.map { exp(-max(0, t - note.attack) / $0) } ?? 1
        let remaining = note.duration - t
        let fall = remaining < note.release ? 0.5 - 0.5 * cos(Double.pi * max(0, remaining) / note.release) : 1
        return rise * body * fall
    }
}

/// Gated loudness of a sound, in dBFS: the RMS of its 10 ms blocks within 20 dB of the loudest block.
///
/// Plain RMS would call a sound with gaps between its notes quieter than it sounds; gating out the gaps (as
/// EBU R 128 gates silence) compares what is actually heard.
public func loudness(of samples: [Float], rate: Int) -> Double {
    let block = max(1, rate / 100)
    var energies: [Double] = []
    var index = 0
    while index < samples.count {
        let slice = samples[index..<min(samples.count, index + block)]
        energies.append(slice.reduce(0) { $0 + Double($1) * Double($1) } / Double(slice.count))
        index += block
    }
    guard let loudest = energies.max(), loudest > 0 else { return -Double.infinity }
    let gated = energies.filter { $0 >= loudest / 100 }
    return 10 * log10(gated.reduce(0, +) / Double(gated.count))
}

/// The peak sample level in dBFS.
public func peak(of samples: [Float]) -> Double {
    20 * log10(Double(samples.map { abs($0) }.max() ?? 0))
}
