import StretchAudio
import StretchConfig
import StretchCore
import StretchSettings
import Testing
import TestSupport

/// The user's WAV files in the sounds folder, read by the settings layer (StretchAudio reads no files).

@Suite struct SoundOverrideTests {
    @Test func aUsersWAVReplacesTheBuiltInSound() throws {
        let dir = try URLPath.temporaryDirectory()
        // Stereo float at 24 kHz: read, mixed to mono and resampled to the set's rate.
        let stereo = (0..<2400).flatMap { _ in [Float(0.5), Float(0.5)] }
        try FileBytes.write(WAV.float32(stereo, rate: 24_000, channels: 2), to: dir + "/hold-start.wav")
        let (sounds, problems) = SoundSet.load(overridesIn: dir)
        #expect(problems.isEmpty)
        #expect(sounds.overrides == [.holdStart: dir + "/hold-start.wav"])
        #expect(sounds[.holdStart].count == 4800)
        #expect(sounds[.holdStart].allSatisfy { $0 == 16384 })
        #expect(sounds[.halfway] == CueSounds.render(.halfway))
    }

    @Test func anUnusableWAVIsReportedAndTheBuiltInKept() throws {
        let dir = try URLPath.temporaryDirectory()
        try FileBytes.write(Array("not audio".utf8), to: dir + "/halfway.wav")
        try FileBytes.write(WAV.pcm16(Array(repeating: 0, count: 48_000 * 4), rate: 48_000), to: dir + "/step-end.wav")
        let (sounds, problems) = SoundSet.load(overridesIn: dir)
        #expect(problems.map(\.description) == [
            dir + "/halfway.wav: not a WAV file (no RIFF/WAVE header)",
            dir + "/step-end.wav: 4s long; a cue sound may last at most 3s",
        ])
        #expect(sounds.overrides.isEmpty)
        #expect(sounds[.halfway] == CueSounds.render(.halfway))
    }

    /// Loading the overrides synthesizes no built-in sound: none is until a cue or reminder needs it.
    @Test func loadingSynthesizesNoBuiltInSoundUntilOneIsAskedFor() throws {
        let dir = try URLPath.temporaryDirectory()
        try FileBytes.write(WAV.pcm16(Array(repeating: 100, count: 480), rate: 48_000), to: dir + "/reminder.wav")
        let (sounds, problems) = SoundSet.load(overridesIn: dir)
        #expect(problems.isEmpty)
        #expect(sounds.synthesizedCount == 0)
        // The user's own sound is used as it is, and synthesizes nothing.
        #expect(sounds[.reminder].count == 480)
        #expect(sounds.synthesizedCount == 0)
        let copy = sounds
        #expect(copy[.halfway] == CueSounds.render(.halfway))
        // Copies share what was synthesized; asking again synthesizes nothing more.
        #expect(sounds.synthesizedCount == 1)
        #expect(sounds[.halfway] == copy[.halfway])
        #expect(sounds.synthesizedCount == 1)
    }
}
