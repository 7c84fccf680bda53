import Synchronization
import Clocks
import StretchCore
import Testing
import TestSupport

/// Records each cue with the test clock's time when it played.
actor RecordingOutput: CueOutput {
    let clock: TestClock<Duration>
    private(set) var played: [(cue: PlannedCue, at: TestClock<Duration>.Instant)] = []

    init(clock: TestClock<Duration>) { self.clock = clock }

    func play(_ cue: PlannedCue, of plan: SessionPlan) async {
        played.append((cue, clock.now))
    }
}

@Suite struct CueSchedulerTests {
    let clock = TestClock()

    /// A step without sides: countdown at 0, 1, 2; hold-start 3, halfway 33, hold-end 63; then the next step.
    func holdStep(_ name: String, seconds: Int = 60) -> Step {
        Step(name: name, sides: .none, exercise: .hold([HoldPart(length: .time(.seconds(seconds)))]))
    }

    /// Starts the scheduler and answers each sleep by advancing the clock to its deadline plus `late`,
    /// after giving `whileSleeping` the chance to act first (it returns true when it handled the sleep itself).
    func run(
        _ plan: SessionPlan, late: Duration = .zero,
        whileSleeping: (CueScheduler<TestClock<Duration>>, _ sleepNumber: Int, _ until: TestClock<Duration>.Instant)
            async -> Bool = { _, _, _ in false }
    ) async throws -> (outcome: SessionOutcome, played: [(cue: PlannedCue, at: TestClock<Duration>.Instant)],
                       start: TestClock<Duration>.Instant)
    {
        let output = RecordingOutput(clock: clock)
        let scheduler = CueScheduler(plan: plan, clock: clock, output: output)
        let start = clock.now
        let session = Task { await scheduler.run() }
        var sleeps = 0
        for await event in scheduler.events {
            guard case .sleeping(let until) = event else { continue }
            sleeps += 1
            await clock.waitForSleeper()
            if await whileSleeping(scheduler, sleeps, until) { continue }
            await clock.advance(to: until.advanced(by: late))
        }
        let outcome = await session.value
        try await clock.checkSuspension()
        return (outcome, await output.played, start)
    }

    @Test func anHourLongSessionPlaysEveryCueAtItsExactOffset() async throws {
        let steps = (1...32).map { holdStep("Hold \($0)", seconds: 100) }
        let plan = SessionPlanner.plan(Routine(id: "hour", name: "Hour", steps: steps))
        #expect(plan.duration > .seconds(3600))

        let (outcome, played, start) = try await run(plan)
        #expect(outcome == .completed)
        #expect(played.map(\.cue) == plan.cues)
        for (cue, at) in played { #expect(at == start.advanced(by: cue.at), "\(cue.cue) at \(cue.at)") }
    }

    @Test func lateWakeUpsDoNotAccumulate() async throws {
        let steps = (1...10).map { holdStep("Hold \($0)", seconds: 30) }
        let plan = SessionPlanner.plan(Routine(id: "late", name: "Late", steps: steps))
        let late = OvershootingClock(base: clock, overshoot: .milliseconds(7))
        let output = RecordingOutput(clock: clock)
        let scheduler = CueScheduler(plan: plan, clock: late, output: output)
        let start = clock.now
        let session = Task { await scheduler.run() }
        for await event in scheduler.events {
            if case .sleeping(let until) = event {
                await clock.waitForSleeper()
                await clock.advance(to: until.advanced(by: .milliseconds(7)))
            }
        }
        #expect(await session.value == .completed)
        let played = await output.played
        #expect(played.count == plan.cues.count)
        // Each cue is late by one wake-up's overshoot, never by the sum of all before it; the first needs no sleep.
        for (cue, at) in played {
            #expect(start.advanced(by: cue.at).duration(to: at) == (cue.at == .zero ? .zero : .milliseconds(7)))
        }
        try await clock.checkSuspension()
    }

    @Test func pauseShiftsTheRestOfThePlanByItsLength() async throws {
        let plan = SessionPlanner.plan(Routine(id: "p", name: "P", steps: [holdStep("Hold")]))
        let halfway = try #require(plan.cues.firstIndex { $0.cue == .halfway })
        let (outcome, played, start) = try await run(plan) { scheduler, _, until in
            guard until == unmovedDeadline(of: plan, at: halfway) else { return false }
            await clock.advance(by: .seconds(10))
            await scheduler.pause()
            let frozen = await scheduler.progress
            await clock.advance(by: .seconds(100))
            #expect(await scheduler.progress == frozen)
            #expect(frozen.phaseRemaining == .seconds(50))
            await scheduler.resume()
            return true
        }
        #expect(outcome == .completed)
        for (index, (cue, at)) in played.enumerated() {
            let shift: Duration = index >= halfway ? .seconds(100) : .zero
            #expect(at == start.advanced(by: cue.at + shift), "\(cue.cue)")
        }
    }

    /// The instant a cue is due when the session started at the clock's origin and nothing moved it.
    private func unmovedDeadline(of plan: SessionPlan, at index: Int) -> TestClock<Duration>.Instant {
        TestClock<Duration>.Instant(offset: plan.cues[index].at)
    }

    @Test func skipEndsTheStepNowAndKeepsTheTransition() async throws {
        let routine = Routine(
            id: "s", name: "S", timing: RoutineTiming(transitionTime: .seconds(15)),
            steps: [holdStep("First"), holdStep("Second")])
        let plan = SessionPlanner.plan(routine)
        let halfway = try #require(plan.cues.firstIndex { $0.cue == .halfway })
        var skippedAt: TestClock<Duration>.Instant?
        let (outcome, played, _) = try await run(plan) { scheduler, _, until in
            guard until == unmovedDeadline(of: plan, at: halfway) else { return false }
            await clock.advance(by: .seconds(5))
            skippedAt = clock.now
            await scheduler.skipStep()
            return true
        }
        #expect(outcome == .completed)
        let stepEnd = try #require(played.first { $0.cue.cue == .stepEnd })
        #expect(stepEnd.at == skippedAt)
        #expect(!played.contains { $0.cue.cue == .halfway && $0.cue.step == 0 })
        let nextCountdown = try #require(played.first { $0.cue.cue == .countdown && $0.cue.step == 1 })
        #expect(nextCountdown.at == stepEnd.at.advanced(by: .seconds(15)))
    }

    @Test func skipDuringATransitionStartsTheNextStepNow() async throws {
        let plan = SessionPlanner.plan(Routine(id: "s", name: "S", steps: [holdStep("First"), holdStep("Second")]))
        let nextCountdown = try #require(plan.cues.firstIndex { $0.cue == .countdown && $0.step == 1 })
        var skippedAt: TestClock<Duration>.Instant?
        let (_, played, _) = try await run(plan) { scheduler, _, until in
            guard until == unmovedDeadline(of: plan, at: nextCountdown) else { return false }
            await clock.advance(by: .seconds(2))
            skippedAt = clock.now
            await scheduler.skipStep()
            return true
        }
        #expect(played.first { $0.cue.step == 1 }?.at == skippedAt)
        #expect(played.count == plan.cues.count)
    }

    @Test func stopEndsTheSessionAndLeavesNoSleeper() async throws {
        let plan = SessionPlanner.plan(Routine(id: "s", name: "S", steps: [holdStep("First"), holdStep("Second")]))
        let (outcome, played, _) = try await run(plan) { scheduler, sleep, _ in
            guard sleep == 5 else { return false }
            await scheduler.stop()
            return true
        }
        #expect(outcome == .stopped(atStep: 0))
        // Countdown 0 needs no sleep; sleeps 1-4 end in countdown 1, 2, hold-start, halfway; stopped in sleep 5.
        #expect(played.map(\.cue) == Array(plan.cues.prefix(5)))
    }

    @Test func cancellingTheRunningTaskStopsTheSession() async throws {
        let plan = SessionPlanner.plan(Routine(id: "s", name: "S", steps: [holdStep("Only")]))
        let scheduler = CueScheduler(plan: plan, clock: clock, output: RecordingOutput(clock: clock))
        let session = Task { await scheduler.run() }
        for await event in scheduler.events {
            if case .sleeping = event { session.cancel() }
        }
        #expect(await session.value == .stopped(atStep: 0))
        try await clock.checkSuspension()
    }
}

extension CueSchedulerTests {
    @Test func aSessionInterruptedBySleepEndsInsteadOfPlayingMissedCues() async throws {
        let plan = SessionPlanner.plan(Routine(id: "s", name: "S", steps: [holdStep("First"), holdStep("Second")]))
        // The fifth sleep (the one until hold-end) ends ten minutes late: the laptop was closed.
        let sleepy = OvershootingClock(base: clock, overshoot: .seconds(600), onlySleep: 5)
        let output = RecordingOutput(clock: clock)
        let scheduler = CueScheduler(plan: plan, clock: sleepy, output: output)
        let session = Task { await scheduler.run() }
        var sleeps = 0
        for await event in scheduler.events {
            guard case .sleeping(let until) = event else { continue }
            sleeps += 1
            await clock.waitForSleeper()
            await clock.advance(to: until.advanced(by: sleeps == 5 ? .seconds(600) : .zero))
        }
        #expect(await session.value == .interrupted(atStep: 0))
        #expect(await output.played.map(\.cue) == Array(plan.cues.prefix(5)), "nothing missed is played")
        try await clock.checkSuspension()
    }
}

/// A clock whose sleeps end `overshoot` after their deadline, like a busy machine's.
/// With `onlySleep`, only that sleep (counting from 1) overshoots, like a machine suspended once.
final class OvershootingClock: Clock, Sendable {
    let base: TestClock<Duration>
    let overshoot: Duration
    let onlySleep: Int?
    private let sleeps = Mutex(0)

    init(base: TestClock<Duration>, overshoot: Duration, onlySleep: Int? = nil) {
        self.base = base
        self.overshoot = overshoot
        self.onlySleep = onlySleep
    }

    var now: TestClock<Duration>.Instant { base.now }
    var minimumResolution: Duration { .zero }

    func sleep(until deadline: TestClock<Duration>.Instant, tolerance: Duration?) async throws {
        let number = sleeps.withLock { $0 += 1; return $0 }
        let late = onlySleep.map { $0 == number } ?? true
        try await base.sleep(until: deadline.advanced(by: late ? overshoot : .zero), tolerance: tolerance)
    }
}
