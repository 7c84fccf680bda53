import StretchAudio
import StretchCore
import Testing
import TestSupport

/// Each built-in sound rendered once for the whole suite (the synthesizer is slow in debug builds).
let renderedSounds = Dictionary(uniqueKeysWithValues: SoundName.allCases.map { ($0, CueSounds.render($0)) })

@Suite struct CueSoundTests {
    let rate = CueSounds.rate

    func floats(_ name: SoundName) -> [Float] { renderedSounds[name]!.map { Float($0) / 32768 } }

    @Test(arguments: SoundName.allCases)
    func isShort(name: SoundName) {
        let limit = name == .reminder || name == .sessionEnd ? 2.0 : 0.6
        #expect(Double(renderedSounds[name]!.count) / Double(rate) <= limit)
    }

    @Test(arguments: SoundName.allCases)
    func peaksAtMostThreeDecibelsBelowFullScale(name: SoundName) {
        #expect(peak(of: floats(name)) <= CueSounds.peakLimit)
    }

    @Test(arguments: SoundName.allCases)
    func startsAndEndsWithoutAClick(name: SoundName) {
        let samples = floats(name)
        // The envelope starts and ends at zero and ramps: half a millisecond in (or before the end), the level
        // is still well below the sound's peak, so there is no step for the ear to hear as a click.
        #expect(abs(samples.first ?? 1) < 0.001 && abs(samples.last ?? 1) < 0.001)
        let loudest = samples.map { abs($0) }.max() ?? 0
        let halfMillisecond = rate / 2000
        #expect(samples.prefix(halfMillisecond).allSatisfy { abs($0) < loudest / 4 })
        #expect(samples.suffix(halfMillisecond).allSatisfy { abs($0) < loudest / 4 })
    }

    @Test func allButTheReturnBeatAreEquallyLoud() {
        let levels = SoundName.allCases.filter { $0 != .repReturn }.map { loudness(of: floats($0), rate: rate) }
        #expect(levels.max()! - levels.min()! <= 2)
        let returnBeat = loudness(of: floats(.repReturn), rate: rate)
        let beat = loudness(of: floats(.repBeat), rate: rate)
        #expect((4...8).contains(beat - returnBeat), "the return beat is the softer half of a repetition")
    }

    /// What makes a sound recognisable with eyes closed: how many notes, when they start, which way the pitch
    /// moves between and within them. Level and exact pitch are left out on purpose.
    func contour(_ name: SoundName) -> [String] {
        var previous: Double?
        return CueSounds.notes(for: name).sorted { $0.start < $1.start }.map { note in
            let step = previous.map { note.frequency > $0 ? "up" : note.frequency < $0 ? "down" : "same" } ?? "first"
            let glide = note.endFrequency > note.frequency ? "rising" : note.endFrequency < note.frequency ? "falling" : "steady"
            previous = note.endFrequency
            return "\(Int((note.start * 100).rounded())) \(step) \(glide)"
        }
    }

    @Test func everySoundHasItsOwnContourAndRhythm() {
        let contours = SoundName.allCases.map(contour)
        #expect(Set(contours).count == SoundName.allCases.count, "\(contours)")
    }

    @Test func committedSoundsAreWhatTheSynthesizerMakes() throws {
        let folder = URLPath.repository + "/Sounds"
        for name in SoundName.allCases {
            let committed = try #require(FileBytes.read(folder + "/" + name.fileName), "Sounds/\(name.fileName) is missing")
            #expect(committed == WAV.pcm16(renderedSounds[name]!, rate: CueSounds.rate),
                    "Sounds/\(name.fileName) differs: run `stretchctl sounds export Sounds --force`")
        }
    }
}
