import StretchAudio
import StretchCore
import Testing

@Suite struct SoundSetTests {
    @Test func theLastRepetitionHasItsOwnSound() {
        let beat = PlannedCue(at: .zero, cue: .repBeat, step: 0, side: nil, rep: 3, of: 12)
        var last = beat
        last.rep = 12
        #expect(SoundSet.name(for: beat) == .repBeat)
        #expect(SoundSet.name(for: last) == .lastRep)
    }
}
