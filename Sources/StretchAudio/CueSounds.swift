import StretchCore

#if canImport(Glibc)
import Glibc
#endif

extension SoundName {
    /// The file name in `Sounds/` and in a user's override folder.
    public var fileName: String { rawValue + ".wav" }
}

/// The designs of the built-in sounds, and the level they are all brought to.
///
/// Each sound differs from every other in its pitch contour and rhythm, not only in pitch or level, so it can be
/// told apart with eyes closed after one hearing:
///
/// | sound | contour |
/// |---|---|
/// | countdown | one short high pip |
/// | hold-start | two notes rising |
/// | halfway | two notes on one pitch |
/// | hold-end | two notes falling |
/// | rep-beat | one low "tok" that drops in pitch |
/// | last-rep | the "tok", then a high note |
/// | rep-return | one soft "tik" that rises (softer by design) |
/// | switch-side | three notes, low-high-low |
/// | step-end | three notes falling |
/// | session-end | four notes rising, the last ringing |
/// | reminder | two bell strikes falling, ringing |
public enum CueSounds {
    public static let rate = 48_000
    /// Every sound is brought to this gated loudness...
    public static let loudness = -18.0
    /// ...except the return beat, which is meant to be heard as the quieter half of a repetition.
    public static let repReturnAttenuation = 6.0
    /// No sample goes above this.
    public static let peakLimit = -3.0

    public static func notes(for sound: SoundName) -> [Note] {
        switch sound {
        case .countdown:
            [Note(start: 0, duration: 0.07, frequency: 1319, attack: 0.004, release: 0.03)]
        case .holdStart:
            [tone(0, 523), tone(0.16, 784)]
        case .halfway:
            [tone(0, 698), tone(0.16, 698)]
        case .holdEnd:
            [tone(0, 784), tone(0.16, 523)]
        case .repBeat:
            [tok(at: 0)]
        case .lastRep:
            [tok(at: 0), Note(start: 0.14, duration: 0.2, frequency: 1047, attack: 0.005, decay: 0.12, release: 0.06)]
        case .repReturn:
            [Note(start: 0, duration: 0.08, frequency: 440, endFrequency: 587, waveform: .triangle, release: 0.03)]
        case .switchSide:
            [tone(0, 587, length: 0.11), tone(0.13, 880, length: 0.11), tone(0.26, 587, length: 0.11)]
        case .stepEnd:
            [tone(0, 784, length: 0.11), tone(0.13, 659, length: 0.11), tone(0.26, 523, length: 0.2)]
        case .sessionEnd:
            [tone(0, 523), tone(0.16, 659), tone(0.32, 784), bell(at: 0.48, 1047, length: 1.3)]
        case .reminder:
            [bell(at: 0, 880, length: 0.9), bell(at: 0.45, 659, length: 1.3)]
        }
    }

    /// A plain, slightly soft sine note.
    private static func tone(_ start: Double, _ frequency: Double, length: Double = 0.14) -> Note {
        Note(start: start, duration: length, frequency: frequency, partials: [.init(multiple: 2, gain: 0.15)],
             attack: 0.006, decay: 0.25, release: 0.04)
    }

    /// A woodblock-like beat: a triangle wave whose pitch drops quickly.
    private static func tok(at start: Double) -> Note {
        Note(start: start, duration: 0.09, frequency: 523, endFrequency: 349, waveform: .triangle, attack: 0.003,
             decay: 0.05, release: 0.03)
    }

    /// A bell: inharmonic partials and a long decay.
    private static func bell(at start: Double, _ frequency: Double, length: Double) -> Note {
        Note(start: start, duration: length, frequency: frequency,
             partials: [.init(multiple: 2.76, gain: 0.3), .init(multiple: 5.4, gain: 0.12)],
             attack: 0.005, decay: length / 3, release: 0.2)
    }

    /// The sound as 16-bit samples at `rate`, brought to the common loudness.
    public static func render(_ sound: SoundName, rate: Int = CueSounds.rate) -> [Int16] {
        let samples = Synth.render(notes(for: sound), rate: rate)
        var target = loudness
        if sound == .repReturn { target -= repReturnAttenuation }
        let gain = pow(10, (target - StretchAudio.loudness(of: samples, rate: rate)) / 20)
        return samples.map { Int16(clamping: Int(($0 * Float(gain) * 32767).rounded())) }
    }
}
