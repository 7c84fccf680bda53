import Clocks
import StretchCore
import Synchronization
import Testing
import TestSupport

/// A stream that records the prompts handed to it, with their stream times.
final class PromptRecordingStream: StreamOutput, Sendable {
    let period = Duration.milliseconds(200)
    let lead = Duration.milliseconds(300)
    private let recorded = Mutex<(prompts: [StreamPrompt], finished: SessionOutcome?)>(([], nil))

    var prompts: [StreamPrompt] { recorded.withLock { $0.prompts } }
    var finished: SessionOutcome? { recorded.withLock { $0.finished } }

    func fill(through streamTime: Duration, starting cues: [StreamCue]) async {}

    func fill(through streamTime: Duration, starting cues: [StreamCue], speaking prompts: [StreamPrompt]) async {
        recorded.withLock { $0.prompts += prompts }
    }

    func finish(_ outcome: SessionOutcome) async { recorded.withLock { $0.finished = outcome } }
}

/// The scheduler hands a voiced plan's prompts to the stream as it does its cues: each once, at its stream time,
/// the closing one (after the last cue) before the stream rings out, and none of a stretch that was skipped.
@Suite struct PromptHandoverTests {
    let clock = TestClock()

    static let routine = Routine(
        id: "p", name: "P", timing: RoutineTiming(switchTime: .seconds(10), transitionTime: .seconds(10)),
        steps: [
            Step(name: "First", sides: .both(first: .right), exercise: .hold([HoldPart(length: .time(.seconds(20)))])),
            Step(name: "Second", sides: .none, exercise: .hold([HoldPart(length: .time(.seconds(20)))])),
        ])
    static let plan = SessionPlanner.plan(routine, speech: SpeechTiming { _ in .seconds(2) })

    /// Runs the plan, answering each sleep by advancing to its deadline; `skipAt` skips the step at that stream time.
    func run(skipAt: Duration? = nil) async throws -> PromptRecordingStream {
        let stream = PromptRecordingStream()
        struct Silent: CueOutput { func play(_ cue: PlannedCue, of plan: SessionPlan) async {} }
        let scheduler = CueScheduler(
            plan: Self.plan, clock: clock, output: Silent(), stream: stream, awake: TestAwakeTime(clock: clock).read)
        let start = clock.now
        let session = Task { await scheduler.run() }
        var skipped = false
        for await event in scheduler.events {
            guard case .sleeping(let until) = event else { continue }
            await clock.waitForSleeper()
            if let skipAt, !skipped, start.duration(to: until) > skipAt {
                skipped = true
                await clock.advance(to: start.advanced(by: skipAt))
                await scheduler.skipStep()
                continue
            }
            await clock.advance(to: until)
        }
        #expect(await session.value == .completed)
        try await clock.checkSuspension()
        return stream
    }

    @Test func everyPromptIsHandedOnceAtItsTimeTheClosingOneBeforeTheEnd() async throws {
        #expect(Set(Self.plan.prompts.map(\.kind)) == [.step, .side, .closing])
        let stream = try await run()
        #expect(stream.prompts.map(\.prompt) == Self.plan.prompts)
        #expect(stream.prompts.allSatisfy { $0.at == $0.prompt.at })
        #expect(stream.finished == .completed)
    }

    @Test func skippingAStepDropsItsPromptsAndKeepsTheTransitions() async throws {
        // Skipped during the first side's hold: the second side and its prompt are not played.
        let firstHold = try #require(Self.plan.cues.first { $0.cue == .holdStart }).at
        let stream = try await run(skipAt: firstHold + .seconds(5))
        let side = try #require(Self.plan.prompts.first { $0.kind == .side })
        #expect(!stream.prompts.contains { $0.prompt == side })
        #expect(stream.prompts.map(\.prompt.kind) == [.step, .step, .closing])
        // The rest moved earlier by what was skipped.
        let second = try #require(stream.prompts.dropFirst().first)
        #expect(second.at < second.prompt.at)
    }
}
