import StretchCore
import Testing

/// What outlasts a restart (the snapshot fed back with `.restore`), and what a break keeps: its routine when
/// snoozed or deferred, one record when it ends, a session start that `stop` cancels.
@Suite struct RestartCycleTests {
    typealias T = CycleTimeline

    static let unixAt9 = 1_800_000_000.0

    /// A new process at `gap` after the snapshot was taken: its clocks start again from zero, as after a reboot.
    static func restarted(from timeline: T, after gap: Duration, settings: BreakCycle.Settings = T.settings()) -> T {
        let snapshot = timeline.cycle.snapshot(now: timeline.now, unixTime: unixAt9 + timeline.elapsed.inSeconds)
        var next = T(start: timeline.now.local.adding(gap), settings: settings)
        next.feed(.restore(snapshot, unixTime: unixAt9 + (timeline.elapsed + gap).inSeconds))
        return next
    }

    // MARK: Restarts

    @Test func aRestartKeepsTheWorkDoneAndCountsTheGapAsTimeAway() {
        var timeline = T()
        timeline.run(until: monday(9, 30))
        var next = Self.restarted(from: timeline, after: .seconds(60))
        #expect(next.cycle.timer.worked == .seconds(30 * 60))
        #expect(next.cycle.timer.nextBreak() == monday(9, 51), "twenty minutes of work left, from 9:31")
        next.run(until: monday(9, 51))
        #expect(next.last == [#"record(due(routine: "hips"))"#, "notify(hips)", "chime(hips)"])
    }

    @Test func aGapOfANaturalBreakIsABreakAndEndsTheBreakThatWasDueAsMissed() {
        var timeline = T()
        timeline.run(until: monday(9, 50))
        #expect(timeline.cycle.openBreak == T.hips)
        let next = Self.restarted(from: timeline, after: .seconds(5 * 60))
        #expect(next.last == [#"record(missed(routine: "hips"))"#])
        #expect(next.cycle.openBreak == nil)
        #expect(next.cycle.timer.worked == .zero)
        #expect(next.cycle.timer.nextBreak() == monday(10, 45))
        #expect(next.cycle.nextRoutine == 1, "the next break takes the next routine")
    }

    @Test func aBreakStillDueAfterAShortRestartIsRemindedAgainNotOfferedAnew() {
        var timeline = T()
        timeline.run(until: monday(9, 50))
        let next = Self.restarted(from: timeline, after: .seconds(20))
        #expect(next.last == ["notify(hips)", "chime(hips)"])
        #expect(next.cycle.phase == .leadIn(T.hips, startsAt: .seconds(30)))
    }

    @Test func aSnoozeAndItsRoutineOutlastARestart() {
        var timeline = T(settings: T.settings(leadIn: nil))
        timeline.run(until: monday(9, 50))
        _ = timeline.command(.snooze(nil))
        var next = Self.restarted(from: timeline, after: .seconds(60), settings: T.settings(leadIn: nil))
        #expect(next.cycle.state == .snoozed)
        #expect(next.cycle.timer.nextBreak() == monday(10, 1), "ten minutes of work from 9:51")
        next.run(until: monday(10, 1))
        #expect(next.last == ["notify(hips)", "chime(hips)"], "the snoozed break, not a new one")
    }

    @Test func aPauseUntilResumedOutlastsARestartHoweverLong() {
        var timeline = T()
        timeline.run(until: monday(9, 20))
        _ = timeline.command(.pause(nil))
        let next = Self.restarted(from: timeline, after: .seconds(3 * 3600))
        #expect(next.cycle.state == .paused)
        #expect(next.cycle.timer.worked == .seconds(20 * 60), "a pause holds the work done")
    }

    @Test func aRestartInTheEveningCountsTheTimeOffBeforeIt() {
        var timeline = T(start: monday(17))
        timeline.run(until: monday(18))
        let next = Self.restarted(from: timeline, after: .seconds(60))
        #expect(next.cycle.timer.state == .offHours)
        #expect(next.cycle.timer.nextBreak() == monday(9, 50, plusDays: 1), "a whole interval the next morning")
    }

    @Test func theRotationOutlastsARestartAndARoutineNoLongerConfiguredIsReplaced() {
        var timeline = T(settings: T.settings(leadIn: nil))
        timeline.run(until: monday(9, 50))
        _ = timeline.command(.skip)
        #expect(timeline.cycle.nextRoutine == 1)
        #expect(Self.restarted(from: timeline, after: .seconds(1), settings: T.settings(leadIn: nil)).cycle.nextRoutine == 1)
        timeline.run(until: monday(10, 40))
        #expect(timeline.cycle.openBreak == T.desk)
        var hipsOnly = T.settings(leadIn: nil)
        hipsOnly.routines = [T.hips]
        let next = Self.restarted(from: timeline, after: .seconds(1), settings: hipsOnly)
        #expect(next.cycle.openBreak == T.hips)
    }

    @Test func aSnapshotDiffersOnlyWhenWhatItSaysChanged() {
        var timeline = T()
        timeline.run(until: monday(9, 10))
        let before = timeline.cycle.snapshot(now: timeline.now, unixTime: 1)
        timeline.elapsed += .milliseconds(200)
        timeline.feed(.timePassed)
        #expect(!timeline.cycle.snapshot(now: timeline.now, unixTime: 2).differs(from: before), "the same second of work")
        timeline.elapsed += .seconds(1)
        timeline.feed(.timePassed)
        #expect(timeline.cycle.snapshot(now: timeline.now, unixTime: 3).differs(from: before))
        let idle = timeline.cycle
        timeline.elapsed += .seconds(90)
        #expect(idle.snapshot(now: timeline.now, unixTime: 4).timer.worked == .milliseconds(691_200),
                "counted up to the moment it is taken, not the last input")
    }

    // MARK: A break's routine and records

    @Test func snoozeKeepsTheRoutineAndTheReminderAfterItIsNotANewOffer() {
        var timeline = T(settings: T.settings(leadIn: nil))
        timeline.run(until: monday(9, 50))
        _ = timeline.command(.snooze(nil))
        timeline.run(until: monday(10))
        #expect(timeline.last == ["notify(hips)", "chime(hips)"])
        #expect(timeline.command(.skip).first == #"record(skipped(routine: Optional("hips")))"#)
        timeline.run(until: monday(10, 50))
        #expect(timeline.last == [#"record(due(routine: "desk"))"#, "notify(desk)", "chime(desk)"], "a new break, the next routine")
    }

    @Test func aDeferredBreakKeepsItsRoutineAndStartStartsIt() {
        var timeline = T()
        timeline.run(until: monday(9, 45))
        timeline.feed(.desktop(DesktopState(calls: ["microphone"])))
        timeline.run(until: monday(9, 52))
        #expect(timeline.cycle.state == .deferred)
        #expect(timeline.command(.start(.offeredOrNext)).first == "startSession(hips)")
        timeline.feed(.sessionEnded(.completed, played: .seconds(34)))
        #expect(timeline.cycle.openBreak == nil, "the session was the break")
    }

    // MARK: Stop while a session is being prepared

    @Test func stopWhileTheLeadInsSessionIsPreparedCancelsItAndSkipsTheBreak() {
        var timeline = T()
        timeline.run(until: monday(9, 50).adding(.seconds(30)))
        #expect(timeline.last == ["startSession(hips)"])
        timeline.feed(.command(.stop))
        #expect(timeline.last == [
            "cancelSessionStart(nil)", #"record(skipped(routine: Optional("hips")))"#, #"reply(cancelled(routine: "hips"))"#,
            "withdrawNotification",
        ])
        timeline.feed(.sessionStarted)
        #expect(timeline.last == ["discardSession"], "prepared too late: closed unplayed, nothing recorded")
        #expect(timeline.cycle.state == .working)
    }

    @Test func stopWhileAStartedSessionIsPreparedAnswersTheStartToo() {
        var timeline = T()
        timeline.run(until: monday(9, 10))
        timeline.feed(.command(.start(.routine(T.desk))))
        timeline.feed(.command(.skip))
        #expect(timeline.last == [#"reply(sessionStarting(routine: "desk"))"#], "only stop acts on it")
        timeline.feed(.command(.stop))
        #expect(timeline.last == [
            #"cancelSessionStart(cancelledByStop(routine: "desk"))"#,
            #"reply(startCancelled(routine: "desk"))"#,
        ], "no break was due: nothing to record")
        timeline.feed(.sessionStartedPlaying(SessionPlanner.plan(T.desk)))
        #expect(timeline.last == ["discardSession"])
        #expect(timeline.cycle.sessionRoutine == nil)
    }

    @Test func goingToSleepCancelsASessionBeingPreparedAndTheBreakStaysDue() {
        var timeline = T()
        timeline.run(until: monday(9, 50).adding(.seconds(30)))
        timeline.feed(.aboutToSleep)
        #expect(timeline.last == ["cancelSessionStart(nil)"])
        #expect(timeline.cycle.openBreak == T.hips)
    }
}
