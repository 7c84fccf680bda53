import StretchAudio
import StretchConfig
import StretchCore
import Testing

/// Checks a session stream: each cue's sound starts exactly at its frame, and there is silence everywhere else.
func expectCues(
    _ placed: [(cue: PlannedCue, frame: Int)], in stream: [Int16], sounds: SoundSet, volume: Float = 1,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    var covered = [Bool](repeating: false, count: stream.count)
    for (cue, frame) in placed {
        var mixer = CueMixer(volume: volume)
        mixer.add(sounds.sound(for: cue), at: 0)
        let expected = mixer.render(through: mixer.end)
        guard frame + expected.count <= stream.count else {
            Issue.record("\(cue.cue) at frame \(frame) runs past the end (\(stream.count))", sourceLocation: sourceLocation)
            continue
        }
        let mismatch = expected.indices.first { stream[frame + $0] != expected[$0] }
        #expect(mismatch == nil, "\(cue.cue) at \(cue.at): sample \(mismatch ?? 0) after frame \(frame) differs",
                sourceLocation: sourceLocation)
        for index in frame..<frame + expected.count { covered[index] = true }
    }
    let stray = stream.indices.first { !covered[$0] && stream[$0] != 0 }
    #expect(stray == nil, "sound outside any cue at frame \(stray ?? -1)", sourceLocation: sourceLocation)
}

@Suite struct SessionRendererTests {
    @Test(arguments: ["hips-for-back", "desk-basics"])
    func everyCueStartsAtItsPlannedFrame(routine: String) throws {
        let plan = SessionPlanner.plan(try #require(RoutineLibrary().routine(id: routine)))
        let sounds = SoundSet()
        let stream = SessionRenderer.render(plan, sounds: sounds)
        let placed = plan.cues.map { ($0, Int(($0.at.inSeconds * 48_000).rounded())) }
        expectCues(placed, in: stream, sounds: sounds)
        #expect(stream.count == placed.last!.1 + sounds[.sessionEnd].count)
    }

    @Test func fractionalOffsetsRoundToTheNearestFrame() {
        // A 0.7 s tempo at 44.1 kHz puts return beats on fractional frames (0.35 s = 15435 frames, exact;
        // 1.05 s = 46305; the rounding matters for holds of odd milliseconds).
        let step = Step(name: "glide", sides: .none, exercise: .reps(Reps(count: 5, tempo: .milliseconds(700), returnBeat: true)))
        let hold = Step(name: "hold", sides: .none, exercise: .hold([HoldPart(length: .time(.milliseconds(1333)))]))
        let plan = SessionPlanner.plan(Routine(id: "f", name: "F", steps: [step, hold]))
        let sounds = SoundSet(rate: 44_100)
        let stream = SessionRenderer.render(plan, sounds: sounds, volume: 0.5)
        let placed = plan.cues.map { ($0, Int(($0.at.inSeconds * 44_100).rounded())) }
        expectCues(placed, in: stream, sounds: sounds, volume: 0.5)
    }
}
