import Clocks
import Logging
import Speech
import StretchAudio
import StretchCore
import Testing
import TestSupport

/// Sessions with a voice: the synthesizer's samples for each prompt mixed into the same stream as the tones, at
/// exact frames, offline and live alike.
@Suite struct SpokenSessionTests {
    /// Gaps long enough for every prompt: a step name, a part, a side, "Last one." and the closing line.
    static let routine = Routine(
        id: "spoken", name: "Spoken",
        timing: RoutineTiming(countdown: 2, switchTime: .seconds(5), transitionTime: .seconds(6), partTime: .seconds(3)),
        steps: [
            Step(name: "Hold", sides: .both(first: .right), exercise: .hold([
                HoldPart(name: "lean", length: .time(.seconds(2))), HoldPart(name: "turn", length: .time(.seconds(2))),
            ])),
            Step(name: "Reps", sides: .none, exercise: .reps(Reps(count: 3, tempo: .milliseconds(1500), returnBeat: false))),
        ])

    /// The plan with the real prompt lengths and tone lengths, and the prompts' samples.
    static func voicedPlan(sounds: SoundSet) async throws -> (SessionPlan, [String: [Int16]]) {
        let speech = try await SpeechSynthesizer(cache: nil).synthesize(SessionPlanner.spokenTexts(routine))
        let timing = SpeechTiming(toneLength: { .seconds(sounds[$0].count) / sounds.rate + .microseconds(1) }) {
            .seconds(speech[$0]?.count ?? 0) / SpeechSynthesizer.rate
        }
        let plan = SessionPlanner.plan(routine, speech: timing)
        return (plan, speech)
    }

    @Test func renderPutsEachPromptsSpeechOnItsFrameBesideTheUnchangedTones() async throws {
        let sounds = SoundSet()
        let (plan, speech) = try await Self.voicedPlan(sounds: sounds)
        #expect(plan.speechProblems.isEmpty, "\(plan.speechProblems)")
        #expect(Set(plan.prompts.map(\.kind)) == [.step, .part, .side, .lastRep, .closing])
        let stream = SessionRenderer.render(plan, sounds: sounds, speech: speech)
        var spans: [Range<Int>] = []
        for prompt in plan.prompts {
            let samples = try #require(speech[prompt.text])
            let frame = SessionRenderer.frame(of: prompt.at, rate: 48_000)
            #expect(samples.count > 4_800 && samples.contains { $0 != 0 })
            #expect(Array(stream[frame..<frame + samples.count]) == samples, "\(prompt.text) at \(prompt.at)")
            spans.append(frame..<frame + samples.count)
        }
        for cue in plan.cues {
            let sound = sounds.sound(for: cue)
            let frame = SessionRenderer.frame(of: cue.at, rate: 48_000)
            #expect(Array(stream[frame..<frame + sound.count]) == sound, "\(cue.cue) at \(cue.at)")
            spans.append(frame..<frame + sound.count)
        }
        // Nothing overlaps, so each sound is heard exactly as made.
        let sorted = spans.sorted { $0.lowerBound < $1.lowerBound }
        #expect(zip(sorted, sorted.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound })
        // The closing line comes after the session's end, and the stream runs until it is said.
        let closing = try #require(plan.prompts.last)
        #expect(closing.kind == .closing && closing.at >= plan.duration)
        #expect(stream.count == sorted.map(\.upperBound).max())
        #expect(stream.count == SessionRenderer.frame(of: closing.end, rate: 48_000))
    }

    @Test func theLiveStreamWithAVoiceIsTheRenderSampleForSample() async throws {
        let sounds = SoundSet()
        let (plan, speech) = try await Self.voicedPlan(sounds: sounds)
        let path = try URLPath.temporaryDirectory() + "/live.wav"
        let clock = TestClock()
        do {
            let output = try LiveAudioOutput(
                deviceName: "file:'\(path)',wav", sounds: sounds, volume: 0.5,
                logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
            await output.setSpeech(speech)
            struct Silent: CueOutput { func play(_ cue: PlannedCue, of plan: SessionPlan) async {} }
            let scheduler = CueScheduler(
                plan: plan, clock: clock, output: Silent(), stream: output, awake: TestAwakeTime(clock: clock).read)
            let session = Task { await scheduler.run() }
            for await event in scheduler.events {
                if case .sleeping(let until) = event {
                    await clock.waitForSleeper()
                    await clock.advance(to: until)
                }
            }
            #expect(await session.value == .completed)
        }
        let audio = try WAV.read(try #require(FileBytes.read(path)))
        let captured = audio.samples.map { Int16(($0 * 32768).rounded()) }
        let offline = SessionRenderer.render(plan, sounds: sounds, volume: 0.5, speech: speech)
        #expect(captured.count == offline.count)
        #expect(captured.elementsEqual(offline))
    }

    @Test func aStreamAtAnotherRatePlacesTheConvertedSpeechOnItsFrame() async throws {
        let sounds = SoundSet(rate: 16_000)
        let (plan, speech) = try await Self.voicedPlan(sounds: SoundSet())
        let stream = SessionRenderer.render(plan, sounds: sounds, speech: speech)
        for prompt in plan.prompts {
            let samples = SpeechSamples.converted(try #require(speech[prompt.text]), to: 16_000)
            #expect(samples.count == speech[prompt.text]!.count / 3)
            let frame = SessionRenderer.frame(of: prompt.at, rate: 16_000)
            #expect(Array(stream[frame..<frame + samples.count]) == samples, "\(prompt.text)")
        }
    }
}
