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
        let scheduler = CueScheduler(plan: plan, clock: clock, output: output, awake: TestAwakeTime(clock: clock).read)
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
        let scheduler = CueScheduler(plan: plan, clock: late, output: output, awake: TestAwakeTime(clock: clock).read)
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
        let scheduler = CueScheduler(
            plan: plan, clock: clock, output: RecordingOutput(clock: clock), awake: TestAwakeTime(clock: clock).read)
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
        let awake = TestAwakeTime(clock: clock)
        let scheduler = CueScheduler(plan: plan, clock: sleepy, output: output, awake: awake.read)
        let session = Task { await scheduler.run() }
        var sleeps = 0
        for await event in scheduler.events {
            guard case .sleeping(let until) = event else { continue }
            sleeps += 1
            if sleeps == 5 { awake.willSuspend(for: .seconds(600)) }
            await clock.waitForSleeper()
            await clock.advance(to: until.advanced(by: sleeps == 5 ? .seconds(600) : .zero))
        }
        #expect(await session.value == .interrupted(atStep: 0))
        #expect(await output.played.map(\.cue) == Array(plan.cues.prefix(5)), "nothing missed is played")
        try await clock.checkSuspension()
    }
}

extension CueSchedulerTests {
    /// Runs `plan` on the test clock with `awake` as its awake time, answering each sleep by advancing the clock to
    /// its deadline, except the fifth, which ends ten minutes late; `asleep` says whether the machine was suspended
    /// then (or the process stalled).
    func runWithALateFifthWake(_ plan: SessionPlan, asleep: Bool)
        async throws -> (outcome: SessionOutcome, played: [(cue: PlannedCue, at: TestClock<Duration>.Instant)],
                         events: [CueScheduler<OvershootingClock>.Event], timePlayed: Duration)
    {
        let awake = TestAwakeTime(clock: clock)
        let late = OvershootingClock(base: clock, overshoot: .seconds(600), onlySleep: 5)
        let output = RecordingOutput(clock: clock)
        let scheduler = CueScheduler(plan: plan, clock: late, output: output, awake: awake.read)
        let session = Task { await scheduler.run() }
        var sleeps = 0
        var events: [CueScheduler<OvershootingClock>.Event] = []
        for await event in scheduler.events {
            events.append(event)
            guard case .sleeping(let until) = event else { continue }
            sleeps += 1
            await clock.waitForSleeper()
            if sleeps == 5 && asleep { awake.willSuspend(for: .seconds(600)) }
            await clock.advance(to: until.advanced(by: sleeps == 5 ? .seconds(600) : .zero))
        }
        let outcome = await session.value
        try await clock.checkSuspension()
        return (outcome, await output.played, events, await scheduler.timePlayed)
    }

    @Test func aSuspendEndsTheSessionAndItsTimeIsNotCountedAsPlayed() async throws {
        let plan = SessionPlanner.plan(Routine(id: "s", name: "S", steps: [holdStep("First"), holdStep("Second")]))
        let run = try await runWithALateFifthWake(plan, asleep: true)
        #expect(run.outcome == .interrupted(atStep: 0))
        #expect(run.played.map(\.cue) == Array(plan.cues.prefix(5)))
        // Hold-end was due 63 s in; the ten minutes asleep after it are not stretching.
        #expect(run.timePlayed == .seconds(63))
        #expect(!run.events.contains { if case .stalled = $0 { true } else { false } })
    }

    @Test func aStallIsNotASuspendTheSessionGoesOnWhereItWasAndTheStallIsNotCounted() async throws {
        let plan = SessionPlanner.plan(Routine(id: "s", name: "S", steps: [holdStep("First"), holdStep("Second")]))
        let run = try await runWithALateFifthWake(plan, asleep: false)
        #expect(run.outcome == .completed)
        #expect(run.events.contains(.stalled(for: .seconds(600))))
        // Everything from hold-end on comes ten minutes later than planned, in order, nothing dropped.
        #expect(run.played.map(\.cue) == plan.cues)
        let start = TestClock<Duration>.Instant()
        for (index, (cue, at)) in run.played.enumerated() {
            #expect(at == start.advanced(by: cue.at + (index >= 5 ? .seconds(600) : .zero)), "\(cue.cue)")
        }
        #expect(run.timePlayed == plan.duration)
    }

    @Test func timePlayedLeavesOutPausesAndSkippedParts() async throws {
        let routine = Routine(
            id: "s", name: "S", timing: RoutineTiming(transitionTime: .seconds(15)),
            steps: [holdStep("First"), holdStep("Second")])
        let plan = SessionPlanner.plan(routine)
        let scheduler = CueScheduler(plan: plan, clock: clock, output: RecordingOutput(clock: clock), awake: TestAwakeTime(clock: clock).read)
        let session = Task { await scheduler.run() }
        var events = scheduler.events.makeAsyncIterator()
        /// The next sleep's deadline, once the scheduler is asleep.
        func nextSleep() async -> TestClock<Duration>.Instant? {
            while let event = await events.next() {
                guard case .sleeping(let until) = event else { continue }
                await clock.waitForSleeper()
                return until
            }
            return nil
        }
        // Countdown 1 and 2 and hold-start, at 1, 2 and 3 s.
        for _ in 1...3 { await clock.advance(to: try #require(await nextSleep())) }
        // Waiting for halfway, 3 s in: 2 s later, pause for a minute.
        _ = await nextSleep()
        await clock.advance(by: .seconds(2))
        await scheduler.pause()
        await clock.advance(by: .seconds(60))
        await scheduler.resume()
        // Asleep again until halfway: 3 s later, skip to the end of the step.
        _ = await nextSleep()
        await clock.advance(by: .seconds(3))
        await scheduler.skipStep()
        // Asleep in the transition after step-end: 2 s later, stop.
        _ = await nextSleep()
        await clock.advance(by: .seconds(2))
        await scheduler.stop()
        while await events.next() != nil {}
        #expect(await session.value == .stopped(atStep: 1))
        // 3 s to halfway's sleep, 2 + 3 s of hold, 2 s of transition; not the minute paused, not the rest of the hold.
        #expect(await scheduler.timePlayed == .seconds(10))
        try await clock.checkSuspension()
    }

    @Test func eventsNobodyReadsAreBounded() async throws {
        let steps = (1...60).map { holdStep("Hold \($0)", seconds: 10) }
        let plan = SessionPlanner.plan(Routine(id: "many", name: "Many", steps: steps))
        let immediate = ImmediateClock<Duration>()
        let scheduler = CueScheduler(plan: plan, clock: immediate, output: NoOutput(), awake: { ImmediateClock<Duration>.Instant().duration(to: immediate.now) })
        #expect(await scheduler.run() == .completed)
        var events: [CueScheduler<ImmediateClock<Duration>>.Event] = []
        for await event in scheduler.events { events.append(event) }
        #expect(plan.cues.count * 2 > CueScheduler<ImmediateClock<Duration>>.eventBufferSize, "more events than kept")
        #expect(events.count == CueScheduler<ImmediateClock<Duration>>.eventBufferSize)
        #expect(events.last == .finished(.completed))
    }
}

/// Ignores every cue.
struct NoOutput: CueOutput {
    func play(_ cue: PlannedCue, of plan: SessionPlan) async {}
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
