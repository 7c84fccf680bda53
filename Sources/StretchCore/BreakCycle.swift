/// How long reminders pause: for a while, or until midnight. No length: until resumed (or, during a session, the
/// session alone pauses).
public enum PauseLength: Sendable, Hashable {
    case duration(Duration)
    case tomorrow
}

/// The break cycle as a passive state machine: where the current break stands (idle, lead-in, waiting for
/// `start`, a session, paused, snoozed), the routine rotation, and what each command does in each phase.
///
/// Its owner feeds it `Input`s with the `Moment` they happened at and carries out the `Effect`s it returns, in
/// order (play a chime, start or stop a session, write history, notify, set systemd's status, reply); it does
/// nothing itself. Then the owner sleeps until `nextWake()` and feeds `.timePassed`. Nothing here reads a clock,
/// a file or a device, so a test reads like a timeline: input, effects, input, effects.
///
/// Pause lives in one place: the `BreakTimer`'s `.paused` state, with `pausedUntil`. A session's own pause is
/// part of the `.session` phase.
public struct BreakCycle: Sendable, Hashable {
    public struct Settings: Sendable, Hashable {
        /// Offered in turn; never empty.
        public var routines: [Routine]
        /// How long after a reminder the session starts by itself; nil: it waits for `start`.
        public var leadIn: Duration?
        /// The snooze when `snooze` gives no length.
        public var snooze: Duration
        /// Whether a reminder also shows a desktop notification.
        public var notify: Bool
        public var schedule: WorkSchedule
        public var timer: BreakTimer.Settings
        /// During a lead-in, the session starts once the user has been idle this long since the reminder (they got
        /// up); nil: only the lead-in's end starts it.
        public var startWhenIdle: Duration?
        /// A break that comes due while do-not-disturb is on waits until it is off.
        public var respectDoNotDisturb: Bool
        /// A break that comes due during a call waits until it ends.
        public var deferDuringCalls: Bool

        public init(
            routines: [Routine], leadIn: Duration?, snooze: Duration, notify: Bool, schedule: WorkSchedule,
            timer: BreakTimer.Settings, startWhenIdle: Duration? = nil, respectDoNotDisturb: Bool = true,
            deferDuringCalls: Bool = true
        ) {
            precondition(!routines.isEmpty, "a break cycle needs at least one routine")
            self.routines = routines
            self.leadIn = leadIn
            self.snooze = snooze
            self.notify = notify
            self.schedule = schedule
            self.timer = timer
            self.startWhenIdle = startWhenIdle
            self.respectDoNotDisturb = respectDoNotDisturb
            self.deferDuringCalls = deferDuringCalls
        }
    }

    /// Where the current break stands.
    public enum Phase: Sendable, Hashable {
        case idle
        /// Reminded; the session starts when the awake time reaches `startsAt` unless the user acts first.
        case leadIn(Routine, startsAt: Duration)
        /// Reminded, waiting for `start` (autostart is off).
        case waiting(Routine)
        /// A session runs; `thenPause`: reminders pause until then once it has ended (`pause 1h` during a session).
        case session(Routine, paused: Bool, thenPause: CivilTime?)
    }

    /// What the user asked the cycle to do, durations parsed. `RoutineChoice` is how `start` names its routine:
    /// on the control socket an id or a path, or nil (`String?`); for the cycle, the routine found or why not
    /// (`StartRoutine`). The daemon turns the one into the other with `map`.
    public enum Command<RoutineChoice> {
        case start(RoutineChoice)
        case stop
        case skip
        /// Nil: the configured snooze.
        case snooze(Duration?)
        /// Nil: the session alone when one runs, otherwise reminders until `resume`.
        case pause(PauseLength?)
        case resume
        case next

        /// The same command with `start`'s routine named another way; `choose` runs only for `start`.
        public func map<Other>(_ choose: (RoutineChoice) -> Other) -> Command<Other> {
            switch self {
            case .start(let choice): .start(choose(choice))
            case .stop: .stop
            case .skip: .skip
            case .snooze(let length): .snooze(length)
            case .pause(let length): .pause(length)
            case .resume: .resume
            case .next: .next
            }
        }
    }

    /// Which routine `start` starts.
    public enum StartRoutine: Sendable, Hashable {
        /// The one offered by the break that is due, or the next in turn.
        case offeredOrNext
        case routine(Routine)
        /// The reference could not be resolved; why, for the reply.
        case unavailable(String)
    }

    /// Something that happened, for the cycle to act on.
    public enum Input: Sendable, Hashable {
        case command(Command<StartRoutine>)
        /// The owner's wake-up: time has passed (a break may be due, a lead-in or a pause over, work hours begun).
        case timePassed
        /// The wall clock was set; work hours are recomputed from the new local time.
        case wallClockChanged
        /// The machine slept and woke: time away may count as a break (the timer tells awake from elapsed time).
        case slept
        /// The state saved by an earlier run (`snapshot(now:unixTime:)`), fed once, before any other input;
        /// `unixTime`: now, in seconds since 1970. The time between the two counts as time away.
        case restore(Snapshot, unixTime: Double)
        /// The owner started the session a `.startSession` asked for (one no longer asked for is `.discardSession`ed).
        case sessionStarted
        /// The owner started it playing this plan instead, of the same routine: with a voice, the plan with the
        /// spoken prompts placed by their real lengths (the same tones after a lead-in), so the length said is the
        /// length played.
        case sessionStartedPlaying(SessionPlan)
        /// The owner could not start it (no sound device): why, for the reply and the log.
        case sessionCouldNotStart(String)
        /// The session ended on its own or by `stop`; `played`: the time it actually ran.
        case sessionEnded(SessionOutcome, played: Duration)
        /// The reminder's chime could not be played, and why: without sound there is no hands-free session.
        case reminderHadNoSound(String)
        /// New settings (config reloaded); work time done so far is kept.
        case reconfigured(Settings)
        /// The desktop's view of the user changed (lock, idle, do-not-disturb, calls): the whole of it, as now.
        case desktop(DesktopState)
        /// A button of the break notification was pressed (or it was clicked, or dismissed).
        case notificationAnswered(NotificationAnswer)
        /// The machine is about to sleep: a session stops now, recorded as stopped by the suspend.
        case aboutToSleep
    }

    /// What the owner does, in order.
    public enum Effect: Sendable, Hashable {
        /// Play the reminder chime for this routine; on failure feed `.reminderHadNoSound`.
        case chime(Routine)
        /// Show "time to stretch" for this routine.
        case notify(Routine)
        /// The break is no longer offered (started, snoozed, skipped, or taken away from the desk): close its
        /// notification.
        case withdrawNotification
        /// Start a session of this plan; then feed `.sessionStarted` or `.sessionCouldNotStart`.
        case startSession(Routine, SessionPlan)
        /// The `.startSession` still being prepared is no longer wanted (`stop`, or the machine going to sleep):
        /// start nothing; `reply`: the answer to the `start` command that asked for it, if one did.
        case cancelSessionStart(reply: Outcome?)
        /// A session was started that is no longer asked for: close it unplayed, record nothing.
        case discardSession
        /// Say on the desktop that this break's session could not make a sound, and why (it replaces the
        /// reminder's notification).
        case notifyNoSound(Routine, reason: String)
        case stopSession
        /// Stop the session because the machine is about to sleep; it ends as `.interrupted`.
        case stopSessionForSleep
        case pauseSession
        case resumeSession
        case skipStep
        case record(Record)
        case log(Note)
        /// The one-line status for systemd changed.
        case systemdStatus(Summary)
        /// The answer to the command fed.
        case reply(Outcome)
    }

    /// A history record. Every break that comes due is recorded once as `due`, and ends in exactly one of
    /// `completed`, `stopped` (its session ended), `skipped`, `missed` or `failed`; `snoozed` and `started` come
    /// in between. A session started with no break due records `started` and its end alone.
    public enum Record: Sendable, Hashable {
        /// A break came due (reminded now, or waiting for a lock, do-not-disturb or a call to end).
        case due(routine: String)
        case started(routine: String)
        case completed(routine: String, minutes: Double)
        /// `step` is 1-based; `bySuspend`: the machine slept, not the user.
        case stopped(routine: String, step: Int, minutes: Double, bySuspend: Bool)
        case skipped(routine: String?)
        case snoozed(routine: String)
        /// The break was taken away from the desk: time away (locked, idle, asleep, off hours, the daemon not
        /// running) reached the natural break before it was.
        case missed(routine: String)
        /// The break's session could not make a sound, and why.
        case failed(routine: String, reason: String)
    }

    /// Something worth a log line; the owner words it (with the next break as of after the input).
    public enum Note: Sendable, Hashable {
        case timer(BreakTimer.Event)
        case breakDue(routine: String, worked: Duration)
        /// A break came due and waits: no chime, no notification until the reason is gone.
        case breakDeferred(DeferReason)
        case sessionCouldNotStart(reason: String)
        case sessionStarted(routine: String, length: Duration)
        case sessionEnded(routine: String, SessionOutcome, played: Duration)
        case nextBreak
        case cancelledBeforeStart(routine: String)
        case breakSkipped(routine: String?)
        case breakSnoozed(routine: String, for: Duration)
        case sessionPaused(routine: String)
        case sessionResumed(routine: String)
        case movedOn(routine: String)
        /// The break that was due was taken away from the desk (locked, idle or asleep long enough).
        case takenAwayFromDesk(routine: String)
        /// The break's session could not make a sound: the break is recorded as failed.
        case breakFailed(routine: String, reason: String)
        /// A session being prepared was cancelled before it started.
        case sessionStartCancelled(routine: String)
        /// The state of an earlier run was restored; `away`: how long the daemon was not running.
        case restored(away: Duration)
        case remindersPaused(until: CivilTime?)
        case remindersResumed
    }

    /// What a command did, or why it did nothing; the owner words it.
    public enum Outcome: Sendable, Hashable {
        /// `remindersResumed`: reminders were paused, and a started session ends that pause.
        case started(routine: String, length: Duration, remindersResumed: Bool)
        case stopped(routine: String)
        /// Stopped before the session started: the break is skipped.
        case cancelled(routine: String)
        /// Stopped before the session started, with no break due: nothing is recorded.
        case startCancelled(routine: String)
        case skipped(nextBreak: CivilTime?)
        case snoozed(Duration)
        case sessionPaused
        case remindersPaused(until: CivilTime?)
        /// `pause DURATION` during a session: the session stops, then reminders pause.
        case sessionStoppedRemindersPaused(routine: String, until: CivilTime?)
        case sessionResumed
        case remindersResumed(nextBreak: CivilTime?)
        case movedOn
        // Refused:
        case alreadyRunning(routine: String)
        case noSession
        case noBreakDue
        /// `skip` during a session.
        case sessionRunningUseStop
        /// `snooze` during a session.
        case sessionRunningUsePauseOrStop
        case sessionNotPaused
        case nothingPaused
        /// The answer to a `start` whose session `stop` cancelled while it was being prepared.
        case cancelledByStop(routine: String)
        /// A session is being prepared; only `stop` acts on it.
        case sessionStarting(routine: String)
        case cannotStart(reason: String)
        case routineUnavailable(reason: String)

        public var ok: Bool {
            switch self {
            case .started, .stopped, .cancelled, .startCancelled, .skipped, .snoozed, .sessionPaused, .remindersPaused,
                 .sessionResumed, .remindersResumed, .movedOn:
                true
            default:
                false
            }
        }
    }

    /// The state in one line, for systemd's status.
    public enum Summary: Sendable, Hashable {
        case session(routine: String)
        case breakDue(routine: String)
        case deferred(DeferReason)
        case paused
        case nextBreak(CivilTime?)
    }

    /// What `status` reports, in the core's terms.
    public enum State: Sendable, Hashable {
        case working, breakDue, deferred, inSession, snoozed, paused, offHours
    }

    public private(set) var settings: Settings
    public private(set) var timer: BreakTimer
    public private(set) var phase = Phase.idle
    /// The index of the routine a new break takes.
    public private(set) var nextRoutine = 0
    /// The break that came due and has not ended yet (taken, skipped, missed or failed), with its routine: on
    /// offer, snoozed, waiting for a deferral or a pause to end. A snoozed or deferred break keeps its routine.
    public private(set) var openBreak: Routine?
    /// Why the last session or reminder could not make a sound, until a session starts or the next reminder.
    public private(set) var soundProblem: String?
    /// A `.startSession` asked for and not yet answered, and whether a command asked (else a lead-in ended).
    private var starting: Starting?
    /// A break came due; the reminder follows once the input is handled.
    private var remindPending = false
    /// A break came due while deferred (`deferral`); the reminder follows once the reason is gone.
    private var deferredDue = false
    /// What the desktop says of the user.
    public private(set) var desktop = DesktopState()
    /// The awake time the screen was locked at.
    private var lockedSince: Duration?
    /// The awake time of the last reminder: polite start counts idleness from then.
    private var remindedAt: Duration?
    private var lastSummary: Summary

    private struct Starting: Sendable, Hashable {
        var routine: Routine
        var plan: SessionPlan
        var byCommand: Bool
    }

    public init(settings: Settings, now: Moment) {
        self.settings = settings
        self.timer = BreakTimer(schedule: settings.schedule, settings: settings.timer, now: now)
        lastSummary = .nextBreak(nil)
        lastSummary = summary
    }

    // MARK: Inputs

    /// Acts on `input`, which happened at `now`, and returns what the owner should do, in order.
    public mutating func handle(_ input: Input, now: Moment) -> [Effect] {
        var effects: [Effect] = []
        let wasOffered = offered != nil
        switch input {
        case .timePassed, .wallClockChanged, .slept:
            catchUp(now: now, &effects)
        case .command(let command):
            self.command(command, now: now, &effects)
        case .restore(let snapshot, let unixTime):
            restore(snapshot, unixTime: unixTime, now: now, &effects)
        case .sessionStarted:
            sessionStarted(now: now, &effects)
        case .sessionStartedPlaying(let plan):
            sessionStarted(now: now, playing: plan, &effects)
        case .sessionCouldNotStart(let reason):
            sessionCouldNotStart(reason, now: now, &effects)
        case .sessionEnded(let outcome, let played):
            sessionEnded(outcome, played: played, now: now, &effects)
        case .reminderHadNoSound(let reason):
            soundProblem = reason
            // Without sound the lead-in would start a silent session: the break fails. Waiting for `start`, it
            // stays on offer (the reply to `start` says why it cannot).
            if case .leadIn(let routine, _) = phase, starting == nil { breakFailed(routine, reason: reason, now: now, &effects) }
        case .reconfigured(let settings):
            self.settings = settings
            nextRoutine %= settings.routines.count
            timerEvents(timer.reconfigure(schedule: settings.schedule, settings: settings.timer, now: now), &effects)
        case .desktop(let desktop):
            desktopChanged(desktop, now: now, &effects)
        case .notificationAnswered(let answer):
            // Only the break on offer is answered: a click on a notification that is being withdrawn does nothing.
            guard offered != nil else { break }
            switch answer {
            case .start: command(.start(.offeredOrNext), now: now, &effects)
            case .snooze: command(.snooze(nil), now: now, &effects)
            case .skip: command(.skip, now: now, &effects)
            case .dismissed: break
            }
        case .aboutToSleep:
            if case .session = phase { effects.append(.stopSessionForSleep) }
            // A session does not start into a suspend; the break stays due (the time asleep may take it).
            if let starting { cancelStart(starting, &effects) }
        }
        // A break came due (or waited, and its reason is gone): remind, unless the input already dealt with it
        // (skipped, or a session started), or say why it waits.
        if starting == nil, remindPending || deferredDue {
            remindPending = false
            if phase == .idle, timer.state == .due {
                // A new break takes the next routine; one that comes back (snoozed, paused, deferred) keeps its own.
                let routine: Routine
                if let open = openBreak {
                    routine = open
                } else {
                    routine = takeNextRoutine()
                    openBreak = routine
                    effects.append(.record(.due(routine: routine.id)))
                }
                if let reason = deferral {
                    if !deferredDue { effects.append(.log(.breakDeferred(reason))) }
                    deferredDue = true
                } else {
                    deferredDue = false
                    remind(routine, now: now, &effects)
                }
            } else {
                deferredDue = false
            }
        }
        // A failed break's notice replaces the reminder: nothing to withdraw.
        let noticeShown = effects.contains { if case .notifyNoSound = $0 { true } else { false } }
        if wasOffered, offered == nil, settings.notify, !noticeShown { effects.append(.withdrawNotification) }
        if summary != lastSummary {
            lastSummary = summary
            effects.append(.systemdStatus(summary))
        }
        return effects
    }

    /// Brings everything up to now: a pause running out, the timer's events, time away becoming a break, a
    /// lead-in ending (or, politely, the user getting up).
    private mutating func catchUp(now: Moment, _ effects: inout [Effect]) {
        if timer.state == .paused, let end = timer.pausedUntil, now.local >= end {
            timerEvents(timer.resume(now: now), &effects)
            effects.append(.log(.remindersResumed))
        }
        timerEvents(timer.process(now: now), &effects)
        if case .leadIn(let routine, _) = phase, starting == nil, let startsAt = leadInEnd, now.awake >= startsAt {
            askToStart(routine, byCommand: false, &effects)
        }
    }

    /// When the lead-in ends: at its end, or once the user has been idle for `startWhenIdle` since the reminder;
    /// nil while a lead-in is held (locked, do-not-disturb, a call: a session does not start into them) or none runs.
    private var leadInEnd: Duration? {
        guard case .leadIn(_, let startsAt) = phase, deferral == nil else { return nil }
        guard let startWhenIdle = settings.startWhenIdle, let idleSince = desktop.idleSince else { return startsAt }
        return min(startsAt, max(idleSince, remindedAt ?? idleSince) + startWhenIdle)
    }

    /// The desktop's view of the user changed: time away starts or ends, a reason to wait comes or goes.
    private mutating func desktopChanged(_ new: DesktopState, now: Moment, _ effects: inout [Effect]) {
        let wasHeld = deferral != nil
        if new.locked, !desktop.locked { lockedSince = now.awake }
        if !new.locked { lockedSince = nil }
        desktop = new
        let awaySince = [lockedSince, new.idleSince].compactMap { $0 }.min()
        timerEvents(timer.away(since: awaySince, now: now), &effects)
        if wasHeld, deferral == nil, case .leadIn(let routine, let startsAt) = phase {
            // Back from a hold: the lead-in gets its full length again, not a session out of the blue.
            phase = .leadIn(routine, startsAt: max(startsAt, now.awake + (settings.leadIn ?? .zero)))
        }
        catchUp(now: now, &effects)
    }

    /// Why a break that comes due now would wait, if it would.
    public var deferral: DeferReason? {
        if desktop.locked { return .locked }
        if settings.respectDoNotDisturb, let source = desktop.doNotDisturb.min() { return .doNotDisturb(source: source) }
        if settings.deferDuringCalls, let source = desktop.calls.min() { return .call(source: source) }
        return nil
    }

    /// The routine of the break on offer (reminded, not yet started, snoozed or skipped).
    private var offered: Routine? {
        switch phase {
        case .leadIn(let routine, _), .waiting(let routine): routine
        case .idle, .session: nil
        }
    }

    /// Logs the timer's events; a break coming due reminds; a natural break ends the break that was due.
    private mutating func timerEvents(_ events: [BreakTimer.Event], _ effects: inout [Effect]) {
        for event in events {
            switch event {
            case .breakDue:
                remindPending = true
            case .naturalBreak:
                effects.append(.log(.timer(event)))
                breakTakenAway(&effects)
            default:
                effects.append(.log(.timer(event)))
            }
        }
    }

    /// Time away was long enough to be the break that was due (on offer, snoozed, deferred or paused): it ends as
    /// missed. A session being prepared for it may still start; it is then a session of its own.
    private mutating func breakTakenAway(_ effects: inout [Effect]) {
        guard let routine = openBreak, sessionRoutine == nil else { return }
        if offered != nil { phase = .idle }
        openBreak = nil
        deferredDue = false
        effects.append(.record(.missed(routine: routine.id)))
        effects.append(.log(.takenAwayFromDesk(routine: routine.id)))
    }

    /// The break's session could not make a sound: it ends as failed, and the interval restarts (reminding again
    /// at once would only fail again).
    private mutating func breakFailed(_ routine: Routine, reason: String, now: Moment, _ effects: inout [Effect]) {
        // Ended first: the timer catching up cannot also end it as missed.
        if let open = openBreak { effects.append(.record(.failed(routine: open.id, reason: reason))) }
        openBreak = nil
        phase = .idle
        timerEvents(timer.skip(now: now), &effects)
        effects.append(.log(.breakFailed(routine: routine.id, reason: reason)))
        if settings.notify { effects.append(.notifyNoSound(routine, reason: reason)) }
    }

    private mutating func remind(_ routine: Routine, now: Moment, _ effects: inout [Effect]) {
        soundProblem = nil
        effects.append(.log(.breakDue(routine: routine.id, worked: timer.worked)))
        if settings.notify { effects.append(.notify(routine)) }
        remindedAt = now.awake
        if let leadIn = settings.leadIn {
            phase = .leadIn(routine, startsAt: now.awake + leadIn)
        } else {
            phase = .waiting(routine)
        }
        effects.append(.chime(routine))
    }

    private mutating func takeNextRoutine() -> Routine {
        let routine = settings.routines[nextRoutine % settings.routines.count]
        nextRoutine = (nextRoutine + 1) % settings.routines.count
        return routine
    }

    private mutating func askToStart(_ routine: Routine, byCommand: Bool, _ effects: inout [Effect]) {
        let plan = SessionPlanner.plan(routine)
        starting = Starting(routine: routine, plan: plan, byCommand: byCommand)
        effects.append(.startSession(routine, plan))
    }

    private mutating func sessionStarted(now: Moment, playing: SessionPlan? = nil, _ effects: inout [Effect]) {
        // Cancelled (or never asked for) while it was being prepared: it must not play.
        guard let starting else { return effects.append(.discardSession) }
        self.starting = nil
        soundProblem = nil
        let (routine, byCommand) = (starting.routine, starting.byCommand)
        let plan = playing ?? starting.plan
        // `start` resumes paused reminders (a break taken by choice ends the pause), and says so.
        let remindersResumed = byCommand && timer.state == .paused
        if remindersResumed {
            timerEvents(timer.resume(now: now), &effects)
            effects.append(.log(.remindersResumed))
        }
        timerEvents(timer.startSession(now: now), &effects)
        phase = .session(routine, paused: false, thenPause: nil)
        effects.append(.record(.started(routine: routine.id)))
        effects.append(.log(.sessionStarted(routine: routine.id, length: plan.duration)))
        if byCommand {
            effects.append(.reply(.started(routine: routine.id, length: plan.duration, remindersResumed: remindersResumed)))
        }
    }

    private mutating func sessionCouldNotStart(_ reason: String, now: Moment, _ effects: inout [Effect]) {
        guard let starting else { return }
        self.starting = nil
        soundProblem = reason
        if starting.byCommand {
            effects.append(.reply(.cannotStart(reason: reason)))
        } else {
            effects.append(.log(.sessionCouldNotStart(reason: reason)))
            breakFailed(starting.routine, reason: reason, now: now, &effects)
        }
    }

    /// Drops the `.startSession` being prepared; a `start` that asked for it is answered.
    private mutating func cancelStart(_ starting: Starting, _ effects: inout [Effect]) {
        self.starting = nil
        effects.append(.cancelSessionStart(reply: starting.byCommand ? .cancelledByStop(routine: starting.routine.id) : nil))
        effects.append(.log(.sessionStartCancelled(routine: starting.routine.id)))
    }

    private mutating func sessionEnded(
        _ outcome: SessionOutcome, played: Duration, now: Moment, _ effects: inout [Effect]
    ) {
        guard case .session(let routine, _, let thenPause) = phase else { return }
        let minutes = (played.inSeconds / 60 * 100).rounded() / 100
        switch outcome {
        case .completed:
            effects.append(.record(.completed(routine: routine.id, minutes: minutes)))
        case .stopped(let step):
            effects.append(.record(.stopped(routine: routine.id, step: step + 1, minutes: minutes, bySuspend: false)))
        case .interrupted(let step):
            effects.append(.record(.stopped(routine: routine.id, step: step + 1, minutes: minutes, bySuspend: true)))
        }
        effects.append(.log(.sessionEnded(routine: routine.id, outcome, played: played)))
        // The session was the break that was due, whichever routine it played.
        openBreak = nil
        phase = .idle
        timerEvents(timer.finishSession(now: now), &effects)
        if let thenPause { pauseReminders(until: thenPause, now: now, &effects) }
        effects.append(.log(.nextBreak))
    }

    // MARK: Commands

    private mutating func command(_ command: Command<StartRoutine>, now: Moment, _ effects: inout [Effect]) {
        // Commands act on the present: first whatever became due since the last wake-up.
        catchUp(now: now, &effects)
        if let starting {
            // Only `stop` acts on a session being prepared.
            guard command == .stop else { return effects.append(.reply(.sessionStarting(routine: starting.routine.id))) }
            return stopStarting(starting, now: now, &effects)
        }
        switch command {
        case .start(let choice): start(choice, &effects)
        case .stop: stop(now: now, &effects)
        case .skip: skip(now: now, &effects)
        case .snooze(let length): snooze(length, now: now, &effects)
        case .pause(let length): pause(length, now: now, &effects)
        case .resume: resume(now: now, &effects)
        case .next:
            guard case .session(let routine, _, _) = phase else { return effects.append(.reply(.noSession)) }
            effects.append(.skipStep)
            effects.append(.log(.movedOn(routine: routine.id)))
            effects.append(.reply(.movedOn))
        }
    }

    private mutating func start(_ choice: StartRoutine, _ effects: inout [Effect]) {
        if case .session(let running, _, _) = phase {
            return effects.append(.reply(.alreadyRunning(routine: running.id)))
        }
        let routine: Routine
        switch (choice, phase) {
        case (.unavailable(let reason), _): return effects.append(.reply(.routineUnavailable(reason: reason)))
        case (.routine(let chosen), _): routine = chosen
        case (.offeredOrNext, .leadIn(let offered, _)), (.offeredOrNext, .waiting(let offered)): routine = offered
        case (.offeredOrNext, _): routine = openBreak ?? takeNextRoutine()
        }
        askToStart(routine, byCommand: true, &effects)
    }

    private mutating func stop(now: Moment, _ effects: inout [Effect]) {
        switch phase {
        case .session(let routine, _, _):
            effects.append(.stopSession)
            effects.append(.reply(.stopped(routine: routine.id)))
        case .leadIn(let routine, _), .waiting(let routine):
            skipBeforeStart(routine, now: now, &effects)
        case .idle:
            effects.append(.reply(.noSession))
        }
    }

    /// `stop` while a session is being prepared: it does not start. A break that was due is skipped, as `stop`
    /// in its lead-in would; a session started with no break due leaves nothing to record.
    private mutating func stopStarting(_ starting: Starting, now: Moment, _ effects: inout [Effect]) {
        cancelStart(starting, &effects)
        if openBreak != nil {
            skipBeforeStart(starting.routine, now: now, &effects)
        } else {
            effects.append(.reply(.startCancelled(routine: starting.routine.id)))
        }
    }

    private mutating func skipBeforeStart(_ routine: Routine, now: Moment, _ effects: inout [Effect]) {
        effects.append(.record(.skipped(routine: (openBreak ?? routine).id)))
        openBreak = nil
        phase = .idle
        timerEvents(timer.skip(now: now), &effects)
        effects.append(.log(.cancelledBeforeStart(routine: routine.id)))
        effects.append(.reply(.cancelled(routine: routine.id)))
    }

    private mutating func skip(now: Moment, _ effects: inout [Effect]) {
        var routine: String?
        switch phase {
        case .session: return effects.append(.reply(.sessionRunningUseStop))
        case .leadIn(let offered, _), .waiting(let offered): routine = offered.id
        case .idle: guard timer.state == .due else { return effects.append(.reply(.noBreakDue)) }
        }
        phase = .idle
        timerEvents(timer.skip(now: now), &effects)
        routine = routine ?? openBreak?.id
        openBreak = nil
        effects.append(.record(.skipped(routine: routine)))
        effects.append(.log(.breakSkipped(routine: routine)))
        effects.append(.reply(.skipped(nextBreak: timer.nextBreak())))
    }

    private mutating func snooze(_ length: Duration?, now: Moment, _ effects: inout [Effect]) {
        let duration = length ?? settings.snooze
        let routine: Routine
        switch phase {
        case .leadIn(let offered, _), .waiting(let offered): routine = offered
        case .session: return effects.append(.reply(.sessionRunningUsePauseOrStop))
        case .idle: return effects.append(.reply(.noBreakDue))
        }
        phase = .idle
        timerEvents(timer.snooze(now: now, for: duration), &effects)
        effects.append(.record(.snoozed(routine: routine.id)))
        effects.append(.log(.breakSnoozed(routine: routine.id, for: duration)))
        effects.append(.reply(.snoozed(duration)))
    }

    private mutating func pause(_ length: PauseLength?, now: Moment, _ effects: inout [Effect]) {
        if case .session(let routine, let paused, _) = phase {
            guard let length else {
                if !paused { effects.append(.pauseSession) }
                phase = .session(routine, paused: true, thenPause: nil)
                effects.append(.log(.sessionPaused(routine: routine.id)))
                return effects.append(.reply(.sessionPaused))
            }
            // Reminders pause once the session has ended, until the time asked for now.
            let until = end(of: length, now: now)
            phase = .session(routine, paused: paused, thenPause: until)
            effects.append(.stopSession)
            effects.append(.log(.remindersPaused(until: until)))
            return effects.append(.reply(.sessionStoppedRemindersPaused(routine: routine.id, until: until)))
        }
        phase = .idle
        pauseReminders(until: end(of: length, now: now), now: now, &effects)
        effects.append(.reply(.remindersPaused(until: end(of: length, now: now))))
    }

    private func end(of length: PauseLength?, now: Moment) -> CivilTime? {
        switch length {
        case nil: nil
        case .tomorrow: CivilTime(day: now.local.day + 1, time: .zero)
        case .duration(let duration): now.local.adding(duration)
        }
    }

    private mutating func pauseReminders(until: CivilTime?, now: Moment, _ effects: inout [Effect]) {
        timerEvents(timer.pause(now: now, until: until), &effects)
        effects.append(.log(.remindersPaused(until: until)))
    }

    private mutating func resume(now: Moment, _ effects: inout [Effect]) {
        if case .session(let routine, let paused, let thenPause) = phase {
            guard paused else { return effects.append(.reply(.sessionNotPaused)) }
            phase = .session(routine, paused: false, thenPause: thenPause)
            effects.append(.resumeSession)
            effects.append(.log(.sessionResumed(routine: routine.id)))
            return effects.append(.reply(.sessionResumed))
        }
        guard timer.state == .paused else { return effects.append(.reply(.nothingPaused)) }
        timerEvents(timer.resume(now: now), &effects)
        effects.append(.log(.remindersResumed))
        effects.append(.reply(.remindersResumed(nextBreak: timer.nextBreak())))
    }

    // MARK: Restart

    /// What of the cycle outlasts the process, to be saved and fed back with `.restore` by the next one: the timer
    /// (work done, snooze and pause deadlines), the break that was due, and the routine rotation.
    public struct Snapshot: Sendable, Hashable {
        /// When it was taken, in seconds since 1970: the wall clock is the one clock that runs across a reboot.
        public var savedAt: Double
        public var timer: BreakTimer.Saved
        /// The routine of the break that was due and had not ended, by id.
        public var openBreak: String?
        /// The routine a new break takes, by id.
        public var nextRoutine: String?

        public init(savedAt: Double, timer: BreakTimer.Saved, openBreak: String?, nextRoutine: String?) {
            self.savedAt = savedAt
            self.timer = timer
            self.openBreak = openBreak
            self.nextRoutine = nextRoutine
        }

        /// Whether this snapshot says something `other` does not, whenever each was taken: work time and time away
        /// to the second, everything else exactly. The owner saves only a snapshot that differs.
        public func differs(from other: Snapshot) -> Bool {
            func seconds(_ duration: Duration) -> Int64 { duration.components.seconds }
            var (mine, theirs) = (timer, other.timer)
            guard seconds(mine.worked) == seconds(theirs.worked), seconds(mine.away) == seconds(theirs.away) else {
                return true
            }
            (mine.worked, mine.away, theirs.worked, theirs.away) = (.zero, .zero, .zero, .zero)
            return mine != theirs || openBreak != other.openBreak || nextRoutine != other.nextRoutine
        }
    }

    /// The cycle as of `now`, for a later process (the work time counted up to now, not to the last input);
    /// `unixTime`: now, in seconds since 1970.
    public func snapshot(now: Moment, unixTime: Double) -> Snapshot {
        Snapshot(
            savedAt: unixTime, timer: timer.advanced(to: now).saved, openBreak: openBreak?.id,
            nextRoutine: settings.routines[nextRoutine % settings.routines.count].id)
    }

    /// Takes up an earlier process's state: the time since it was saved counts as time away, so a long enough gap
    /// ends the break that was due as missed; one still due is reminded again, not offered anew. Routines are found
    /// by id in the current settings; one no longer there leaves the rotation where it starts.
    private mutating func restore(_ snapshot: Snapshot, unixTime: Double, now: Moment, _ effects: inout [Effect]) {
        // Only into a cycle that has done nothing yet.
        guard phase == .idle, starting == nil, openBreak == nil else { return }
        if let id = snapshot.nextRoutine, let index = settings.routines.firstIndex(where: { $0.id == id }) {
            nextRoutine = index
        }
        if let id = snapshot.openBreak {
            openBreak = settings.routines.first { $0.id == id } ?? settings.routines[nextRoutine]
        }
        // A clock set back since: the gap is unknown, and taken as none.
        let gap = Duration.seconds(max(0, unixTime - snapshot.savedAt))
        effects.append(.log(.restored(away: gap)))
        timerEvents(timer.restore(snapshot.timer, gap: gap, now: now), &effects)
        // Still due: the reminder comes again (below, in `handle`), without a new `due` record.
        if timer.state == .due { remindPending = true }
    }

    // MARK: Questions

    /// When the owner should feed `.timePassed` next: after `after` of awake time or at the local time `at`,
    /// whichever comes first; neither: nothing is scheduled (no work hours at all).
    public func nextWake() -> BreakTimer.Wake {
        var wake = timer.nextWake()
        if let startsAt = leadInEnd {
            let left = max(.zero, startsAt - timer.lastReading.awake)
            wake.after = min(wake.after ?? left, left)
        }
        return wake
    }

    /// The state as `status` names it.
    public var state: State {
        switch phase {
        case .session: return .inSession
        case .leadIn, .waiting: return .breakDue
        case .idle:
            switch timer.state {
            case .offHours: return .offHours
            case .due: return deferredDue ? .deferred : .breakDue
            case .inSession: return .inSession
            case .paused: return .paused
            case .working: return timer.snoozed ? .snoozed : .working
            }
        }
    }

    /// The state in one line, as systemd shows it.
    public var summary: Summary {
        switch phase {
        case .session(let routine, _, _): .session(routine: routine.id)
        case .leadIn(let routine, _), .waiting(let routine): .breakDue(routine: routine.id)
        case .idle:
            if deferredDue, let reason = deferral { .deferred(reason) }
            else if timer.state == .paused { .paused }
            else { .nextBreak(timer.nextBreak()) }
        }
    }

    /// The routine of the session asked for with `.startSession` and not yet answered, if any.
    public var startingRoutine: Routine? { starting?.routine }

    /// The routine of the session running, if any.
    public var sessionRoutine: Routine? {
        if case .session(let routine, _, _) = phase { return routine }
        return nil
    }
}

extension BreakCycle.Command: Sendable where RoutineChoice: Sendable {}
extension BreakCycle.Command: Equatable where RoutineChoice: Equatable {}
extension BreakCycle.Command: Hashable where RoutineChoice: Hashable {}
