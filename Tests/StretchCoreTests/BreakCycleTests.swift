import StretchCore
import Testing

/// Drives a `BreakCycle` as the daemon does, on an explicit timeline: feed an input at a moment, read the
/// effects. The owner's part (a session starting, ending) is played by the test.
struct CycleTimeline {
    var cycle: BreakCycle
    var elapsed = Duration.zero
    let origin: CivilTime
    /// Effects of the last input, rendered short: `record(skipped hips)`, `reply(noBreakDue)`.
    private(set) var last: [String] = []

    static let hips = Routine(
        id: "hips", name: "Hips",
        steps: [Step(name: "Lunge", sides: .none, exercise: .hold([HoldPart(length: .time(.seconds(30)))]))])
    static let desk = Routine(
        id: "desk", name: "Desk",
        steps: [Step(name: "Reach", sides: .none, exercise: .hold([HoldPart(length: .time(.seconds(20)))]))])

    static func settings(leadIn: Duration? = .seconds(30), notify: Bool = true) -> BreakCycle.Settings {
        BreakCycle.Settings(
            routines: [hips, desk], leadIn: leadIn, snooze: .seconds(10 * 60), notify: notify, schedule: .standard,
            timer: BreakTimer.Settings())
    }

    init(start: CivilTime = monday(9), settings: BreakCycle.Settings = settings()) {
        origin = start
        cycle = BreakCycle(settings: settings, now: Moment(awake: .zero, elapsed: .zero, local: start))
    }

    var now: Moment { Moment(awake: elapsed, elapsed: elapsed, local: origin.adding(elapsed)) }

    @discardableResult
    mutating func feed(_ input: BreakCycle.Input) -> [BreakCycle.Effect] {
        let effects = cycle.handle(input, now: now)
        last = effects.compactMap(Self.render)
        return effects
    }

    /// Lets time pass, waking when the cycle asks to, until the wall clock shows `end`; the owner's part
    /// (starting a session) is left to the test.
    mutating func run(until end: CivilTime) {
        while now.local < end {
            let wake = cycle.nextWake()
            let steps = [wake.after, wake.at.map { now.local.duration(to: $0) }, now.local.duration(to: end)]
            elapsed += steps.compactMap { $0 }.filter { $0 > .zero }.min() ?? now.local.duration(to: end)
            feed(.timePassed)
        }
    }

    /// Feeds a command and plays the owner's part: a session asked for starts; one asked to stop ends at its
    /// first step after half a minute. Returns all the effects, in order.
    mutating func command(_ command: BreakCycle.Command<BreakCycle.StartRoutine>) -> [String] {
        let effects = feed(.command(command))
        var all = last
        for effect in effects {
            switch effect {
            case .startSession:
                feed(.sessionStarted)
                all += last
            case .stopSession:
                feed(.sessionEnded(.stopped(atStep: 0), played: .seconds(30)))
                all += last
            default: break
            }
        }
        return all
    }

    /// The effects that act on the world, without log lines and systemd's status.
    static func render(_ effect: BreakCycle.Effect) -> String? {
        switch effect {
        case .chime(let routine): "chime(\(routine.id))"
        case .notify(let routine): "notify(\(routine.id))"
        case .startSession(let routine, _): "startSession(\(routine.id))"
        case .cancelSessionStart(let reply): "cancelSessionStart(\(reply.map { "\($0)" } ?? "nil"))"
        case .discardSession: "discardSession"
        case .notifyNoSound(let routine, let reason): "notifyNoSound(\(routine.id), \(reason))"
        case .stopSession: "stopSession"
        case .stopSessionForSleep: "stopSessionForSleep"
        case .withdrawNotification: "withdrawNotification"
        case .pauseSession: "pauseSession"
        case .resumeSession: "resumeSession"
        case .skipStep: "skipStep"
        case .record(let record): "record(\(record))"
        case .log, .systemdStatus: nil
        case .reply(let outcome): "reply(\(outcome))"
        }
    }
}

@Suite struct BreakCycleTests {
    typealias T = CycleTimeline

    // MARK: Phases

    enum Phase: String, CaseIterable, CustomTestStringConvertible {
        case idle, leadIn, waiting, session, sessionPaused, remindersPaused, snoozed, offHours
        var testDescription: String { rawValue }

        /// A cycle in this phase.
        func make() -> CycleTimeline {
            switch self {
            case .idle:
                var timeline = T()
                timeline.run(until: monday(9, 10))
                return timeline
            case .leadIn:
                var timeline = T()
                timeline.run(until: monday(9, 50))
                return timeline
            case .waiting:
                var timeline = T(settings: T.settings(leadIn: nil))
                timeline.run(until: monday(9, 50))
                return timeline
            case .session, .sessionPaused:
                var timeline = T()
                timeline.run(until: monday(9, 10))
                _ = timeline.command(.start(.routine(T.desk)))
                timeline.feed(.sessionStarted)
                if self == .sessionPaused { _ = timeline.command(.pause(nil)) }
                return timeline
            case .remindersPaused:
                var timeline = T()
                timeline.run(until: monday(9, 10))
                _ = timeline.command(.pause(nil))
                return timeline
            case .snoozed:
                var timeline = T(settings: T.settings(leadIn: nil))
                timeline.run(until: monday(9, 50))
                _ = timeline.command(.snooze(nil))
                return timeline
            case .offHours:
                var timeline = T(start: monday(7))
                timeline.run(until: monday(7, 10))
                return timeline
            }
        }
    }

    @Test(arguments: Phase.allCases)
    func eachPhaseIsWhatItSays(phase: Phase) {
        let cycle = phase.make().cycle
        let expected: [Phase: BreakCycle.State] = [
            .idle: .working, .leadIn: .breakDue, .waiting: .breakDue, .session: .inSession, .sessionPaused: .inSession,
            .remindersPaused: .paused, .snoozed: .snoozed, .offHours: .offHours,
        ]
        #expect(cycle.state == expected[phase])
    }

    // MARK: Timelines

    @Test func aBreakRemindsThenTheLeadInStartsTheSessionWhichIsRecordedWhenItEnds() {
        var timeline = T()
        #expect(timeline.cycle.nextWake().after == .seconds(50 * 60))
        timeline.run(until: monday(9, 50))
        #expect(timeline.last == [#"record(due(routine: "hips"))"#, "notify(hips)", "chime(hips)"])
        #expect(timeline.cycle.nextWake().after == .seconds(30), "the lead-in")
        timeline.elapsed += .seconds(30)
        timeline.feed(.timePassed)
        #expect(timeline.last == ["startSession(hips)"])
        timeline.feed(.sessionStarted)
        #expect(timeline.last == [#"record(started(routine: "hips"))"#, "withdrawNotification"], "no reply: no command asked")
        #expect(timeline.cycle.nextWake() == BreakTimer.Wake(after: nil, at: nil), "the session's end wakes the owner")
        timeline.elapsed += .seconds(34)
        timeline.feed(.sessionEnded(.completed, played: .seconds(34)))
        #expect(timeline.last == [#"record(completed(routine: "hips", minutes: 0.57))"#])
        #expect(timeline.cycle.state == .working)
        #expect(timeline.cycle.timer.nextBreak() == monday(10, 41).adding(.seconds(4)))
    }

    @Test func aSessionStartedWithAVoicedPlanIsAnnouncedWithTheLengthItPlays() {
        var timeline = T()
        let effects = timeline.feed(.command(.start(.offeredOrNext)))
        guard case .startSession(let routine, let plan)? = effects.first(where: {
            if case .startSession = $0 { true } else { false }
        }) else {
            Issue.record("no session asked for: \(timeline.last)")
            return
        }
        let voiced = SessionPlanner.plan(routine, speech: SpeechTiming { _ in .seconds(1) })
        #expect(voiced.duration > plan.duration)
        timeline.feed(.sessionStartedPlaying(voiced))
        #expect(timeline.last.contains(#"reply(started(routine: "hips", length: \#(voiced.duration), remindersResumed: false))"#), "\(timeline.last)")
    }

    @Test func theRoutinesComeInTurn() {
        var timeline = T(settings: T.settings(leadIn: nil, notify: false))
        timeline.run(until: monday(9, 50))
        #expect(timeline.last == [#"record(due(routine: "hips"))"#, "chime(hips)"])
        _ = timeline.command(.skip)
        timeline.run(until: monday(10, 40))
        #expect(timeline.last == [#"record(due(routine: "desk"))"#, "chime(desk)"])
        _ = timeline.command(.skip)
        timeline.run(until: monday(11, 30))
        #expect(timeline.last == [#"record(due(routine: "hips"))"#, "chime(hips)"])
    }

    @Test func aSessionThatCannotStartAfterTheLeadInIsAFailedBreakWithItsReason() {
        var timeline = T()
        timeline.run(until: monday(9, 50).adding(.seconds(30)))
        #expect(timeline.last == ["startSession(hips)"])
        let effects = timeline.feed(.sessionCouldNotStart("no sound card"))
        #expect(effects.contains(.log(.sessionCouldNotStart(reason: "no sound card"))))
        #expect(timeline.last == [
            #"record(failed(routine: "hips", reason: "no sound card"))"#, "notifyNoSound(hips, no sound card)",
        ], "the notice replaces the reminder: nothing withdrawn")
        #expect(timeline.cycle.soundProblem == "no sound card")
        #expect(timeline.cycle.openBreak == nil)
        #expect(timeline.cycle.state == .working)
        #expect(timeline.cycle.timer.nextBreak() == monday(10, 40).adding(.seconds(30)))
    }

    @Test func aStartThatCannotOpenTheDeviceSaysWhyAndChangesNothing() {
        var timeline = T(settings: T.settings(leadIn: nil))
        timeline.run(until: monday(9, 50))
        timeline.feed(.command(.start(.offeredOrNext)))
        timeline.feed(.sessionCouldNotStart("no sound card"))
        #expect(timeline.last == [#"reply(cannotStart(reason: "no sound card"))"#])
        #expect(timeline.cycle.phase == .waiting(T.hips), "the break is still due")
    }

    @Test func aReminderWithoutSoundFailsTheBreakInALeadInButNotTheWait() {
        var leadIn = T(settings: T.settings(notify: false))
        leadIn.run(until: monday(9, 50))
        leadIn.feed(.reminderHadNoSound("the device is busy"))
        #expect(leadIn.last == [#"record(failed(routine: "hips", reason: "the device is busy"))"#])
        #expect(leadIn.cycle.phase == .idle)
        #expect(leadIn.cycle.timer.nextBreak() == monday(10, 40))
        #expect(leadIn.cycle.soundProblem == "the device is busy")
        leadIn.run(until: monday(10, 40))
        #expect(leadIn.last == [#"record(due(routine: "desk"))"#, "chime(desk)"], "the next break is a new one")
        #expect(leadIn.cycle.soundProblem == nil, "until the next reminder says otherwise")
        var waiting = T(settings: T.settings(leadIn: nil))
        waiting.run(until: monday(9, 50))
        waiting.feed(.reminderHadNoSound("the device is busy"))
        #expect(waiting.last.isEmpty)
        #expect(waiting.cycle.phase == .waiting(T.hips))
        #expect(waiting.cycle.soundProblem == "the device is busy")
    }

    @Test func aPauseForAnHourEndsByItselfAndWorkTimeWaits() {
        var timeline = T()
        timeline.run(until: monday(9, 10))
        _ = timeline.command(.pause(.duration(.seconds(3600))))
        #expect(timeline.cycle.nextWake() == BreakTimer.Wake(after: nil, at: monday(10, 10)))
        let effects = timeline.feed(.timePassed)
        #expect(effects.isEmpty, "nothing before its end")
        timeline.run(until: monday(10, 10))
        #expect(timeline.cycle.state == .working)
        // Ten minutes worked before the pause, forty to go.
        #expect(timeline.cycle.timer.nextBreak() == monday(10, 50))
    }

    @Test func pauseForAnHourDuringASessionPausesRemindersOnceItHasEnded() {
        var timeline = T()
        timeline.run(until: monday(9, 10))
        _ = timeline.command(.start(.offeredOrNext))
        timeline.feed(.command(.pause(.duration(.seconds(3600)))))
        #expect(timeline.cycle.state == .inSession, "until the session has stopped")
        timeline.elapsed += .seconds(1)
        timeline.feed(.sessionEnded(.stopped(atStep: 0), played: .zero))
        #expect(timeline.cycle.state == .paused)
        #expect(timeline.cycle.timer.pausedUntil == monday(10, 10))
    }

    @Test func systemdsStatusIsSetOnlyWhenItChanges() {
        var timeline = T(settings: T.settings(leadIn: nil))
        #expect(timeline.feed(.timePassed).isEmpty)
        timeline.run(until: monday(9, 50))
        let status = { (effects: [BreakCycle.Effect]) in
            effects.compactMap { if case .systemdStatus(let summary) = $0 { summary } else { nil } }
        }
        #expect(status(timeline.feed(.timePassed)).isEmpty)
        #expect(status(timeline.feed(.command(.skip))) == [.nextBreak(monday(10, 40))])
        #expect(status(timeline.feed(.command(.pause(nil)))) == [.paused])
    }

    @Test func reconfiguringKeepsTheRotationInRangeAndTheWorkDone() {
        var timeline = T(settings: T.settings(leadIn: nil))
        timeline.run(until: monday(9, 50))
        _ = timeline.command(.skip)
        #expect(timeline.cycle.nextRoutine == 1)
        var fewer = T.settings(leadIn: nil)
        fewer.routines = [T.desk]
        timeline.run(until: monday(10))
        timeline.feed(.reconfigured(fewer))
        #expect(timeline.cycle.nextRoutine == 0)
        timeline.run(until: monday(10, 40))
        #expect(timeline.last == [#"record(due(routine: "desk"))"#, "notify(desk)", "chime(desk)"])
    }

    // MARK: Every command in every phase

    enum Command: String, CaseIterable, CustomTestStringConvertible {
        case start, startDesk, startUnavailable, stop, skip, snooze, snooze15m, pause, pause1h, pauseTomorrow, resume,
             next
        var testDescription: String { rawValue }

        var command: BreakCycle.Command<BreakCycle.StartRoutine> {
            switch self {
            case .start: .start(.offeredOrNext)
            case .startDesk: .start(.routine(T.desk))
            case .startUnavailable: .start(.unavailable("no routine \"nope\""))
            case .stop: .stop
            case .skip: .skip
            case .snooze: .snooze(nil)
            case .snooze15m: .snooze(.seconds(15 * 60))
            case .pause: .pause(nil)
            case .pause1h: .pause(.duration(.seconds(3600)))
            case .pauseTomorrow: .pause(.tomorrow)
            case .resume: .resume
            case .next: .next
            }
        }
    }

    /// What each command does in each phase: the effects on the world, in order (the owner's answers
    /// included: a session asked for starts, one asked to stop ends), and the state after.
    static let table: [(phase: Phase, command: Command, effects: [String], then: BreakCycle.State)] = [
        // idle
        (.idle, .start, ["startSession(hips)", #"record(started(routine: "hips"))"#, #"reply(started(routine: "hips", length: 34.0 seconds, remindersResumed: false))"#], .inSession),
        (.idle, .startDesk, ["startSession(desk)", #"record(started(routine: "desk"))"#, #"reply(started(routine: "desk", length: 24.0 seconds, remindersResumed: false))"#], .inSession),
        (.idle, .startUnavailable, [#"reply(routineUnavailable(reason: "no routine \"nope\""))"#], .working),
        (.idle, .stop, ["reply(noSession)"], .working),
        (.idle, .skip, ["reply(noBreakDue)"], .working),
        (.idle, .snooze, ["reply(noBreakDue)"], .working),
        (.idle, .snooze15m, ["reply(noBreakDue)"], .working),
        (.idle, .pause, ["reply(remindersPaused(until: nil))"], .paused),
        (.idle, .pause1h, ["reply(remindersPaused(until: Optional(2026-11-23 10:10)))"], .paused),
        (.idle, .pauseTomorrow, ["reply(remindersPaused(until: Optional(2026-11-24 00:00)))"], .paused),
        (.idle, .resume, ["reply(nothingPaused)"], .working),
        (.idle, .next, ["reply(noSession)"], .working),
        // leadIn
        (.leadIn, .start, ["startSession(hips)", #"record(started(routine: "hips"))"#, #"reply(started(routine: "hips", length: 34.0 seconds, remindersResumed: false))"#, "withdrawNotification"], .inSession),
        (.leadIn, .startDesk, ["startSession(desk)", #"record(started(routine: "desk"))"#, #"reply(started(routine: "desk", length: 24.0 seconds, remindersResumed: false))"#, "withdrawNotification"], .inSession),
        (.leadIn, .startUnavailable, [#"reply(routineUnavailable(reason: "no routine \"nope\""))"#], .breakDue),
        (.leadIn, .stop, [#"record(skipped(routine: Optional("hips")))"#, #"reply(cancelled(routine: "hips"))"#, "withdrawNotification"], .working),
        (.leadIn, .skip, [#"record(skipped(routine: Optional("hips")))"#, "reply(skipped(nextBreak: Optional(2026-11-23 10:40)))", "withdrawNotification"], .working),
        (.leadIn, .snooze, [#"record(snoozed(routine: "hips"))"#, "reply(snoozed(600.0 seconds))", "withdrawNotification"], .snoozed),
        (.leadIn, .snooze15m, [#"record(snoozed(routine: "hips"))"#, "reply(snoozed(900.0 seconds))", "withdrawNotification"], .snoozed),
        (.leadIn, .pause, ["reply(remindersPaused(until: nil))", "withdrawNotification"], .paused),
        (.leadIn, .pause1h, ["reply(remindersPaused(until: Optional(2026-11-23 10:50)))", "withdrawNotification"], .paused),
        (.leadIn, .pauseTomorrow, ["reply(remindersPaused(until: Optional(2026-11-24 00:00)))", "withdrawNotification"], .paused),
        (.leadIn, .resume, ["reply(nothingPaused)"], .breakDue),
        (.leadIn, .next, ["reply(noSession)"], .breakDue),
        // waiting
        (.waiting, .start, ["startSession(hips)", #"record(started(routine: "hips"))"#, #"reply(started(routine: "hips", length: 34.0 seconds, remindersResumed: false))"#, "withdrawNotification"], .inSession),
        (.waiting, .startDesk, ["startSession(desk)", #"record(started(routine: "desk"))"#, #"reply(started(routine: "desk", length: 24.0 seconds, remindersResumed: false))"#, "withdrawNotification"], .inSession),
        (.waiting, .startUnavailable, [#"reply(routineUnavailable(reason: "no routine \"nope\""))"#], .breakDue),
        (.waiting, .stop, [#"record(skipped(routine: Optional("hips")))"#, #"reply(cancelled(routine: "hips"))"#, "withdrawNotification"], .working),
        (.waiting, .skip, [#"record(skipped(routine: Optional("hips")))"#, "reply(skipped(nextBreak: Optional(2026-11-23 10:40)))", "withdrawNotification"], .working),
        (.waiting, .snooze, [#"record(snoozed(routine: "hips"))"#, "reply(snoozed(600.0 seconds))", "withdrawNotification"], .snoozed),
        (.waiting, .snooze15m, [#"record(snoozed(routine: "hips"))"#, "reply(snoozed(900.0 seconds))", "withdrawNotification"], .snoozed),
        (.waiting, .pause, ["reply(remindersPaused(until: nil))", "withdrawNotification"], .paused),
        (.waiting, .pause1h, ["reply(remindersPaused(until: Optional(2026-11-23 10:50)))", "withdrawNotification"], .paused),
        (.waiting, .pauseTomorrow, ["reply(remindersPaused(until: Optional(2026-11-24 00:00)))", "withdrawNotification"], .paused),
        (.waiting, .resume, ["reply(nothingPaused)"], .breakDue),
        (.waiting, .next, ["reply(noSession)"], .breakDue),
        // session
        (.session, .start, [#"reply(alreadyRunning(routine: "desk"))"#], .inSession),
        (.session, .startDesk, [#"reply(alreadyRunning(routine: "desk"))"#], .inSession),
        (.session, .startUnavailable, [#"reply(alreadyRunning(routine: "desk"))"#], .inSession),
        (.session, .stop, ["stopSession", #"reply(stopped(routine: "desk"))"#, #"record(stopped(routine: "desk", step: 1, minutes: 0.5, bySuspend: false))"#], .working),
        (.session, .skip, ["reply(sessionRunningUseStop)"], .inSession),
        (.session, .snooze, ["reply(sessionRunningUsePauseOrStop)"], .inSession),
        (.session, .snooze15m, ["reply(sessionRunningUsePauseOrStop)"], .inSession),
        (.session, .pause, ["pauseSession", "reply(sessionPaused)"], .inSession),
        (.session, .pause1h, ["stopSession", #"reply(sessionStoppedRemindersPaused(routine: "desk", until: Optional(2026-11-23 10:10)))"#, #"record(stopped(routine: "desk", step: 1, minutes: 0.5, bySuspend: false))"#], .paused),
        (.session, .pauseTomorrow, ["stopSession", #"reply(sessionStoppedRemindersPaused(routine: "desk", until: Optional(2026-11-24 00:00)))"#, #"record(stopped(routine: "desk", step: 1, minutes: 0.5, bySuspend: false))"#], .paused),
        (.session, .resume, ["reply(sessionNotPaused)"], .inSession),
        (.session, .next, ["skipStep", "reply(movedOn)"], .inSession),
        // sessionPaused
        (.sessionPaused, .start, [#"reply(alreadyRunning(routine: "desk"))"#], .inSession),
        (.sessionPaused, .startDesk, [#"reply(alreadyRunning(routine: "desk"))"#], .inSession),
        (.sessionPaused, .startUnavailable, [#"reply(alreadyRunning(routine: "desk"))"#], .inSession),
        (.sessionPaused, .stop, ["stopSession", #"reply(stopped(routine: "desk"))"#, #"record(stopped(routine: "desk", step: 1, minutes: 0.5, bySuspend: false))"#], .working),
        (.sessionPaused, .skip, ["reply(sessionRunningUseStop)"], .inSession),
        (.sessionPaused, .snooze, ["reply(sessionRunningUsePauseOrStop)"], .inSession),
        (.sessionPaused, .snooze15m, ["reply(sessionRunningUsePauseOrStop)"], .inSession),
        (.sessionPaused, .pause, ["reply(sessionPaused)"], .inSession),
        (.sessionPaused, .pause1h, ["stopSession", #"reply(sessionStoppedRemindersPaused(routine: "desk", until: Optional(2026-11-23 10:10)))"#, #"record(stopped(routine: "desk", step: 1, minutes: 0.5, bySuspend: false))"#], .paused),
        (.sessionPaused, .pauseTomorrow, ["stopSession", #"reply(sessionStoppedRemindersPaused(routine: "desk", until: Optional(2026-11-24 00:00)))"#, #"record(stopped(routine: "desk", step: 1, minutes: 0.5, bySuspend: false))"#], .paused),
        (.sessionPaused, .resume, ["resumeSession", "reply(sessionResumed)"], .inSession),
        (.sessionPaused, .next, ["skipStep", "reply(movedOn)"], .inSession),
        // remindersPaused
        (.remindersPaused, .start, ["startSession(hips)", #"record(started(routine: "hips"))"#, #"reply(started(routine: "hips", length: 34.0 seconds, remindersResumed: true))"#], .inSession),
        (.remindersPaused, .startDesk, ["startSession(desk)", #"record(started(routine: "desk"))"#, #"reply(started(routine: "desk", length: 24.0 seconds, remindersResumed: true))"#], .inSession),
        (.remindersPaused, .startUnavailable, [#"reply(routineUnavailable(reason: "no routine \"nope\""))"#], .paused),
        (.remindersPaused, .stop, ["reply(noSession)"], .paused),
        (.remindersPaused, .skip, ["reply(noBreakDue)"], .paused),
        (.remindersPaused, .snooze, ["reply(noBreakDue)"], .paused),
        (.remindersPaused, .snooze15m, ["reply(noBreakDue)"], .paused),
        (.remindersPaused, .pause, ["reply(remindersPaused(until: nil))"], .paused),
        (.remindersPaused, .pause1h, ["reply(remindersPaused(until: Optional(2026-11-23 10:10)))"], .paused),
        (.remindersPaused, .pauseTomorrow, ["reply(remindersPaused(until: Optional(2026-11-24 00:00)))"], .paused),
        (.remindersPaused, .resume, ["reply(remindersResumed(nextBreak: Optional(2026-11-23 09:50)))"], .working),
        (.remindersPaused, .next, ["reply(noSession)"], .paused),
        // snoozed
        (.snoozed, .start, ["startSession(hips)", #"record(started(routine: "hips"))"#, #"reply(started(routine: "hips", length: 34.0 seconds, remindersResumed: false))"#], .inSession),
        (.snoozed, .startDesk, ["startSession(desk)", #"record(started(routine: "desk"))"#, #"reply(started(routine: "desk", length: 24.0 seconds, remindersResumed: false))"#], .inSession),
        (.snoozed, .startUnavailable, [#"reply(routineUnavailable(reason: "no routine \"nope\""))"#], .snoozed),
        (.snoozed, .stop, ["reply(noSession)"], .snoozed),
        (.snoozed, .skip, ["reply(noBreakDue)"], .snoozed),
        (.snoozed, .snooze, ["reply(noBreakDue)"], .snoozed),
        (.snoozed, .snooze15m, ["reply(noBreakDue)"], .snoozed),
        (.snoozed, .pause, ["reply(remindersPaused(until: nil))"], .paused),
        (.snoozed, .pause1h, ["reply(remindersPaused(until: Optional(2026-11-23 10:50)))"], .paused),
        (.snoozed, .pauseTomorrow, ["reply(remindersPaused(until: Optional(2026-11-24 00:00)))"], .paused),
        (.snoozed, .resume, ["reply(nothingPaused)"], .snoozed),
        (.snoozed, .next, ["reply(noSession)"], .snoozed),
        // offHours
        (.offHours, .start, ["startSession(hips)", #"record(started(routine: "hips"))"#, #"reply(started(routine: "hips", length: 34.0 seconds, remindersResumed: false))"#], .inSession),
        (.offHours, .startDesk, ["startSession(desk)", #"record(started(routine: "desk"))"#, #"reply(started(routine: "desk", length: 24.0 seconds, remindersResumed: false))"#], .inSession),
        (.offHours, .startUnavailable, [#"reply(routineUnavailable(reason: "no routine \"nope\""))"#], .offHours),
        (.offHours, .stop, ["reply(noSession)"], .offHours),
        (.offHours, .skip, ["reply(noBreakDue)"], .offHours),
        (.offHours, .snooze, ["reply(noBreakDue)"], .offHours),
        (.offHours, .snooze15m, ["reply(noBreakDue)"], .offHours),
        (.offHours, .pause, ["reply(remindersPaused(until: nil))"], .paused),
        (.offHours, .pause1h, ["reply(remindersPaused(until: Optional(2026-11-23 08:10)))"], .paused),
        (.offHours, .pauseTomorrow, ["reply(remindersPaused(until: Optional(2026-11-24 00:00)))"], .paused),
        (.offHours, .resume, ["reply(nothingPaused)"], .offHours),
        (.offHours, .next, ["reply(noSession)"], .offHours),
    ]

    @Test func theTableCoversEveryCommandInEveryPhaseOnce() {
        let pairs = Self.table.map { "\($0.phase) \($0.command)" }
        #expect(pairs.count == Phase.allCases.count * Command.allCases.count)
        #expect(Set(pairs).count == pairs.count)
    }

    @Test(arguments: Phase.allCases, Command.allCases)
    func everyCommandInEveryPhase(phase: Phase, command: Command) throws {
        let row = try #require(Self.table.first { $0.phase == phase && $0.command == command })
        var timeline = phase.make()
        #expect(timeline.command(command.command) == row.effects)
        #expect(timeline.cycle.state == row.then)
    }

    /// A command from the control socket names `start`'s routine as text; `map` turns that into the cycle's choice
    /// and keeps every other command, and its length, as it was.
    @Test func mapChangesOnlyHowStartNamesItsRoutine() {
        let named: [BreakCycle.Command<String?>] = [
            .start("desk"), .start(nil), .stop, .skip, .snooze(nil), .snooze(.seconds(60)), .pause(nil),
            .pause(.tomorrow), .pause(.duration(.seconds(3600))), .resume, .next,
        ]
        let resolved = named.map { command in
            command.map { name in name == "desk" ? BreakCycle.StartRoutine.routine(T.desk) : .offeredOrNext }
        }
        #expect(resolved == [
            .start(.routine(T.desk)), .start(.offeredOrNext), .stop, .skip, .snooze(nil), .snooze(.seconds(60)),
            .pause(nil), .pause(.tomorrow), .pause(.duration(.seconds(3600))), .resume, .next,
        ])
    }
}
