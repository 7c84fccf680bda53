import StretchAudio
import StretchCore
import Testing

/// The whole session mixed at once, as the renderer did before it streamed: every sound summed in 32 bits over the
/// whole stream, then scaled by the volume, rounded and clamped. The reference the block-by-block mix must equal.
func mixAtOnce(_ plan: SessionPlan, sounds: SoundSet, volume: Float) -> [Int16] {
    let placed = plan.cues.map { (SessionRenderer.frame(of: $0.at, rate: sounds.rate), sounds.sound(for: $0)) }
    let count = max(placed.map { $0.0 + $0.1.count }.max() ?? 0, SessionRenderer.frame(of: plan.duration, rate: sounds.rate))
    var sum = [Int32](repeating: 0, count: count)
    for (start, samples) in placed {
        for (offset, sample) in samples.enumerated() { sum[start + offset] += Int32(sample) }
    }
    return sum.map { Int16(clamping: Int32((Float($0) * volume).rounded())) }
}

/// Where two streams first differ (nil when equal), so a failure names a frame instead of printing both.
func firstDifference(_ a: [Int16], _ b: [Int16]) -> Int? {
    a.indices.first { $0 >= b.count || a[$0] != b[$0] } ?? (a.count == b.count ? nil : a.count)
}

@Suite struct SessionStreamTests {
    /// Fast reps with a return beat, whose sounds are replaced by long full-scale ones: every beat overlaps the
    /// return beat after it, and their sum clips.
    static func overlapping() throws -> (SessionPlan, SoundSet) {
        let reps = Step(name: "Quick", sides: .both(first: .left), exercise: .reps(Reps(count: 6, tempo: .milliseconds(500), returnBeat: true)))
        let hold = Step(name: "Hold", sides: .none, exercise: .hold([HoldPart(length: .time(.seconds(2)))]))
        let routine = Routine(id: "overlap", name: "Overlap", timing: RoutineTiming(countdown: 2, switchTime: .seconds(1), transitionTime: .seconds(1)), steps: [reps, hold])
        var sounds = SoundSet()
        let loud = try WAV.read(WAV.pcm16((0..<28_800).map { $0 % 96 < 48 ? 29_000 : -29_000 }, rate: 48_000))
        sounds.override(.repBeat, with: loud, from: "loud.wav")
        sounds.override(.repReturn, with: loud, from: "loud.wav")
        sounds.override(.lastRep, with: loud, from: "loud.wav")
        return (SessionPlanner.plan(routine), sounds)
    }

    @Test(arguments: [1, 7, 4_801, 12_000, 48_000, 1 << 22])
    func theStreamEqualsTheWholeSessionMixedAtOnceWhereverTheBlocksEnd(blockFrames: Int) throws {
        let (plan, sounds) = try Self.overlapping()
        let starts = plan.cues.map { SessionRenderer.frame(of: $0.at, rate: 48_000) }
        // The test means something only if sounds overlap and block boundaries fall inside them.
        #expect(zip(starts, starts.dropFirst()).contains { $1 - $0 < 28_800 }, "sounds overlap")
        let reference = mixAtOnce(plan, sounds: sounds, volume: 0.8)
        #expect(reference.contains(.max) && reference.contains(.min), "the overlaps clip")

        let stream = SessionStream(plan, sounds: sounds, volume: 0.8)
        #expect(stream.frames == reference.count)
        var streamed: [Int16] = []
        var blocks = 0
        stream.render(blockFrames: blockFrames) { block in
            #expect(block.count == min(blockFrames, stream.frames - streamed.count))
            streamed.append(contentsOf: block)
            blocks += 1
        }
        #expect(blocks == (reference.count + blockFrames - 1) / blockFrames)
        #expect(firstDifference(streamed, reference) == nil)
    }

    @Test func theInMemoryRenderIsTheStream() throws {
        let (plan, sounds) = try Self.overlapping()
        #expect(firstDifference(SessionRenderer.render(plan, sounds: sounds, volume: 0.5), mixAtOnce(plan, sounds: sounds, volume: 0.5)) == nil)
    }

    @Test func aSoundAlreadyStartedWhenItIsAddedPlaysWhatIsLeft() {
        var mixer = CueMixer()
        _ = mixer.render(through: 10)
        mixer.add([1, 2, 3, 4, 5], at: 8)
        mixer.add([10, 10], at: 11)
        #expect(mixer.render(through: 16) == [3, 14, 15, 0, 0, 0])
        #expect(mixer.end == 16)
    }

    /// A session longer than `render` used to allow (3 h), streamed at a low rate and not kept: the header written
    /// from the plan declares exactly the samples that follow, and the last cue lands on its frame.
    @Test func aLongSessionsHeaderDeclaresExactlyTheSamplesStreamed() throws {
        let parts = (1...7).map { HoldPart(name: "p\($0)", length: .time(.seconds(1800))) }
        let plan = SessionPlanner.plan(Routine(id: "long", name: "Long", steps: [Step(name: "Long", sides: .none, exercise: .hold(parts))]))
        #expect(plan.duration > .seconds(3 * 3600))
        let sounds = SoundSet(rate: 8_000)
        let stream = SessionStream(plan, sounds: sounds)
        let header = WAV.pcm16Header(frames: stream.frames, rate: 8_000)
        func le32(_ offset: Int) -> Int { (0..<4).reduce(0) { $0 | Int(header[offset + $1]) << (8 * $1) } }
        let end = sounds[.sessionEnd]
        var frames = 0
        var tail: [Int16] = []
        stream.render(blockFrames: 8_000) { block in
            if frames + block.count > stream.frames - end.count - 8_000 { tail += block }
            frames += block.count
        }
        #expect(header.count == 44)
        #expect(le32(40) == 2 * frames, "data size")
        #expect(le32(4) == 36 + 2 * frames, "RIFF size")
        #expect(frames == SessionRenderer.frame(of: plan.cues.last!.at, rate: 8_000) + end.count)
        #expect(firstDifference(Array(tail.suffix(end.count)), end) == nil, "the session end rings out last")
    }

    @Test func aWAVFileHoldsAtMost4GiBOfSamples() {
        #expect(WAV.maximumPCM16Frames() == 2_147_483_629)
        #expect(WAV.maximumPCM16Frames(channels: 2) == 1_073_741_814)
        // About 12 h 25 min at 48 kHz.
        #expect(WAV.maximumPCM16Frames() / 48_000 / 60 == 745)
        let header = WAV.pcm16Header(frames: WAV.maximumPCM16Frames(), rate: 48_000)
        #expect(Array(header[4..<8]) == [0xFE, 0xFF, 0xFF, 0xFF], "RIFF size 2^32 - 2")
    }
}
