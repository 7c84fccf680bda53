import StretchCore
import Testing

/// The break cycle fed what the desktop says of the user: locked or idle time as time away, reminders that wait for
/// do-not-disturb and calls to end, the polite start, notification buttons and the machine going to sleep.
@Suite struct DesktopCycleTests {
    typealias T = CycleTimeline

    /// Runs a timeline to `end`, then feeds the desktop as it is then.
    static func at(_ end: CivilTime, _ timeline: inout T, _ desktop: DesktopState) {
        timeline.run(until: end)
        timeline.feed(.desktop(desktop))
    }

    static let locked = DesktopState(locked: true)
    static let present = DesktopState()

    // MARK: Time away

    @Test func lockedForTheNaturalBreakIsABreakAndNoReminderFiresWhileLocked() {
        var timeline = T()
        Self.at(monday(9, 40), &timeline, Self.locked)
        #expect(timeline.cycle.nextWake().after == .seconds(5 * 60), "wakes when the time away becomes a break")
        timeline.run(until: monday(11))
        #expect(timeline.cycle.timer.restedWhileAway)
        #expect(timeline.cycle.timer.worked == .zero, "no work time counts once the break is taken")
        #expect(timeline.cycle.state == .working)
        #expect(timeline.cycle.nextWake().after == nil, "nothing to wake for until the user is back")
        Self.at(monday(11), &timeline, Self.present)
        #expect(timeline.last.isEmpty, "coming back announces nothing")
        #expect(timeline.cycle.timer.nextBreak() == monday(11, 50), "a whole interval from the return")
    }

    @Test func aBreakDueWhileLockedWaitsAndIsAnnouncedOnUnlockWhenStillDue() {
        var timeline = T()
        Self.at(monday(9, 48), &timeline, Self.locked)
        timeline.run(until: monday(9, 51))
        #expect(timeline.cycle.state == .deferred)
        #expect(timeline.cycle.deferral == .locked)
        #expect(timeline.cycle.summary == .deferred(.locked))
        #expect(!timeline.last.contains("chime(hips)"))
        #expect(timeline.cycle.openBreak == T.hips, "it came due, and was recorded so, while locked")
        Self.at(monday(9, 52), &timeline, Self.present)
        #expect(timeline.last == ["notify(hips)", "chime(hips)"], "the same break, announced now")
        #expect(timeline.cycle.state == .breakDue)
    }

    @Test func aBreakDueWhileLockedIsNotAnnouncedWhenTheLockLastedANaturalBreak() {
        var timeline = T()
        Self.at(monday(9, 48), &timeline, Self.locked)
        timeline.run(until: monday(9, 55))
        #expect(timeline.cycle.state == .working, "the time away was the break")
        Self.at(monday(9, 56), &timeline, Self.present)
        #expect(timeline.last.isEmpty)
        #expect(timeline.cycle.timer.nextBreak() == monday(10, 46))
    }

    @Test func idlenessReportedLateCountsFromWhenItBegan() {
        var timeline = T()
        timeline.run(until: monday(9, 36))
        // The desktop says at 9:36 that nothing was touched since 9:30.
        timeline.feed(.desktop(DesktopState(idleSince: timeline.now.awake - .seconds(6 * 60))))
        #expect(timeline.cycle.timer.restedWhileAway, "six minutes idle is already a break")
        #expect(timeline.cycle.timer.worked == .zero)
    }

    @Test func shortIdlenessCountsAsWork() {
        var timeline = T()
        timeline.run(until: monday(9, 30))
        timeline.feed(.desktop(DesktopState(idleSince: timeline.now.awake)))
        timeline.run(until: monday(9, 33))
        timeline.feed(.desktop(Self.present))
        #expect(timeline.cycle.timer.worked == .seconds(33 * 60), "someone reading for three minutes is working")
    }

    @Test func aLockedScreenDoesNotStopASessionAndTheTimeAwayCountsFromItsEnd() {
        var timeline = T()
        timeline.run(until: monday(9, 10))
        _ = timeline.command(.start(.routine(T.desk)))
        timeline.feed(.desktop(Self.locked))
        #expect(timeline.last.isEmpty, "the session goes on")
        timeline.elapsed += .seconds(60)
        timeline.feed(.sessionEnded(.completed, played: .seconds(24)))
        #expect(timeline.cycle.nextWake().after == .seconds(5 * 60), "the time away counts from the session's end")
    }

    // MARK: Do-not-disturb and calls

    @Test func doNotDisturbDefersTheReminderUntilItEnds() {
        var timeline = T()
        Self.at(monday(9, 45), &timeline, DesktopState(doNotDisturb: ["GNOME"]))
        timeline.run(until: monday(10, 5))
        #expect(timeline.cycle.state == .deferred)
        #expect(timeline.cycle.deferral == .doNotDisturb(source: "GNOME"))
        #expect(timeline.cycle.deferral?.description == "do-not-disturb is on (GNOME)")
        #expect(timeline.cycle.timer.worked == .seconds(65 * 60), "work time goes on counting")
        Self.at(monday(10, 5), &timeline, Self.present)
        #expect(timeline.last == ["notify(hips)", "chime(hips)"])
    }

    @Test func doNotDisturbIsIgnoredWhenTheConfigSaysSo() {
        var settings = T.settings()
        settings.respectDoNotDisturb = false
        var timeline = T(settings: settings)
        Self.at(monday(9, 45), &timeline, DesktopState(doNotDisturb: ["KDE"]))
        timeline.run(until: monday(9, 50))
        #expect(timeline.last.contains("chime(hips)"))
    }

    @Test func aCallDefersTheReminderUntilItEndsUnlessTheConfigSaysOtherwise() {
        var timeline = T()
        Self.at(monday(9, 45), &timeline, DesktopState(calls: ["microphone hw:0,0"]))
        timeline.run(until: monday(9, 55))
        #expect(timeline.cycle.deferral == .call(source: "microphone hw:0,0"))
        #expect(timeline.cycle.state == .deferred)
        Self.at(monday(9, 58), &timeline, Self.present)
        #expect(timeline.last.contains("chime(hips)"))

        var settings = T.settings()
        settings.deferDuringCalls = false
        var ignoring = T(settings: settings)
        Self.at(monday(9, 45), &ignoring, DesktopState(calls: ["microphone hw:0,0"]))
        ignoring.run(until: monday(9, 50))
        #expect(ignoring.last.contains("chime(hips)"))
    }

    @Test func oneSourceEndingDoesNotEndAnother() {
        var timeline = T()
        Self.at(monday(9, 45), &timeline, DesktopState(doNotDisturb: ["GNOME"], calls: ["GNOME idle inhibitor"]))
        timeline.run(until: monday(9, 55))
        timeline.feed(.desktop(DesktopState(calls: ["GNOME idle inhibitor"])))
        #expect(timeline.cycle.state == .deferred)
        #expect(timeline.cycle.deferral == .call(source: "GNOME idle inhibitor"))
        timeline.feed(.desktop(Self.present))
        #expect(timeline.last.contains("chime(hips)"))
    }

    @Test func aLeadInDoesNotEndIntoACallAndGetsItsFullLengthAfter() {
        var timeline = T()
        timeline.run(until: monday(9, 50))
        timeline.elapsed += .seconds(10)
        timeline.feed(.desktop(DesktopState(calls: ["microphone hw:0,0"])))
        #expect(timeline.cycle.nextWake().after != .seconds(20), "the lead-in is held")
        timeline.run(until: monday(9, 52))
        #expect(!timeline.last.contains("startSession(hips)"))
        timeline.feed(.desktop(Self.present))
        #expect(timeline.cycle.nextWake().after == .seconds(30))
        timeline.run(until: monday(9, 52).adding(.seconds(30)))
        #expect(timeline.last == ["startSession(hips)"])
    }

    // MARK: Polite start

    static func polite(leadIn: Duration? = .seconds(30)) -> T {
        var settings = T.settings(leadIn: leadIn)
        settings.startWhenIdle = .seconds(5)
        return T(settings: settings)
    }

    @Test func aSessionStartsOnceTheUserHasBeenIdleSinceTheReminder() {
        var timeline = Self.polite()
        timeline.run(until: monday(9, 50))
        timeline.elapsed += .seconds(3)
        // The desktop's idle watch fires after 5 s of no input, which began 2 s after the reminder.
        timeline.feed(.desktop(DesktopState(idleSince: timeline.now.awake - .seconds(1))))
        #expect(timeline.cycle.nextWake().after == .seconds(4))
        timeline.elapsed += .seconds(4)
        timeline.feed(.timePassed)
        #expect(timeline.last == ["startSession(hips)"])
    }

    @Test func idlenessBeforeTheReminderCountsFromTheReminder() {
        var timeline = Self.polite()
        timeline.run(until: monday(9, 49))
        timeline.feed(.desktop(DesktopState(idleSince: timeline.now.awake)))
        timeline.run(until: monday(9, 50))
        #expect(timeline.last.contains("chime(hips)"))
        #expect(timeline.cycle.nextWake().after == .seconds(5))
    }

    @Test func withoutIdleInformationOnlyTheLeadInStartsTheSession() {
        var timeline = Self.polite()
        timeline.run(until: monday(9, 50))
        #expect(timeline.cycle.nextWake().after == .seconds(30))
        timeline.feed(.desktop(Self.present))
        #expect(timeline.cycle.nextWake().after == .seconds(30))
    }

    @Test func politeStartNeedsALeadIn() {
        var timeline = Self.polite(leadIn: nil)
        timeline.run(until: monday(9, 50))
        timeline.feed(.desktop(DesktopState(idleSince: timeline.now.awake)))
        timeline.run(until: monday(9, 51))
        #expect(timeline.cycle.phase == .waiting(T.hips), "autostart off: only `start` starts it")
    }

    // MARK: Notification buttons

    @Test(arguments: [
        (NotificationAnswer.start, ["startSession(hips)"]),
        (.snooze, [#"record(snoozed(routine: "hips"))"#, "reply(snoozed(600.0 seconds))", "withdrawNotification"]),
        (.skip, [
            #"record(skipped(routine: Optional("hips")))"#, "reply(skipped(nextBreak: Optional(2026-11-23 10:40)))",
            "withdrawNotification",
        ]),
        (.dismissed, []),
    ])
    func aButtonAnswersTheBreakOnOffer(answer: NotificationAnswer, effects: [String]) {
        var timeline = T()
        timeline.run(until: monday(9, 50))
        timeline.feed(.notificationAnswered(answer))
        #expect(timeline.last == effects)
    }

    @Test func aButtonOfANotificationNoLongerOnOfferDoesNothing() {
        var timeline = T()
        timeline.run(until: monday(9, 50))
        _ = timeline.command(.snooze(nil))
        for answer in [NotificationAnswer.start, .snooze, .skip] {
            timeline.feed(.notificationAnswered(answer))
            #expect(timeline.last.isEmpty)
        }
    }

    @Test func theNotificationIsWithdrawnWhenTheBreakIsTakenAwayFromTheDesk() {
        var timeline = T()
        timeline.run(until: monday(9, 50))
        timeline.feed(.desktop(Self.locked))
        timeline.run(until: monday(9, 55))
        #expect(timeline.last == [#"record(missed(routine: "hips"))"#, "withdrawNotification"])
        #expect(timeline.cycle.phase == .idle)
    }

    // MARK: Sleep

    @Test func aboutToSleepStopsASessionAsInterruptedAndNothingElse() {
        var timeline = T()
        timeline.run(until: monday(9, 50))
        timeline.feed(.aboutToSleep)
        #expect(timeline.last.isEmpty, "a lead-in has nothing to stop")
        timeline.elapsed += .seconds(30)
        timeline.feed(.timePassed)
        timeline.feed(.sessionStarted)
        timeline.feed(.aboutToSleep)
        #expect(timeline.last == ["stopSessionForSleep"])
        timeline.feed(.sessionEnded(.interrupted(atStep: 0), played: .seconds(5)))
        #expect(timeline.last == [#"record(stopped(routine: "hips", step: 1, minutes: 0.08, bySuspend: true))"#])
    }
}
