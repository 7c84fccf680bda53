/// One reading of the machine's clocks, taken together: what the break timer is fed.
public struct Moment: Sendable, Hashable {
    /// Time the machine has been awake, from any fixed origin; stops during suspend (`CLOCK_MONOTONIC`).
    public var awake: Duration
    /// Time including suspend, from the same kind of origin (`CLOCK_BOOTTIME`).
    public var elapsed: Duration
    /// The local wall-clock time.
    public var local: CivilTime

    public init(awake: Duration, elapsed: Duration, local: CivilTime) {
        self.awake = awake
        self.elapsed = elapsed
        self.local = local
    }
}

/// Decides when breaks are due, as a passive state machine: feed it `Moment`s, it returns what happened.
///
/// Breaks come after `interval` of work time: time awake inside the work windows. Time outside them pauses the
/// interval. Time away (a suspend, a stretch of off-hours, or time away from the desk: locked or idle, as the
/// desktop says) at least `naturalBreak` long counts as a break and restarts the interval, so nobody is reminded
/// right after lunch or right after opening the laptop. Time away from the desk counts as work until it reaches
/// `naturalBreak` (someone reading is idle, not resting); from then on it is the break.
/// The owner sleeps until `nextWake()` and calls `process(now:)` again; nothing polls.
public struct BreakTimer: Sendable, Hashable {
    public struct Settings: Sendable, Hashable {
        /// Work time between breaks.
        public var interval: Duration
        /// Time away that counts as a break.
        public var naturalBreak: Duration
        /// How much more work time a snoozed reminder waits.
        public var snooze: Duration

        public init(
            interval: Duration = .seconds(50 * 60), naturalBreak: Duration = .seconds(5 * 60),
            snooze: Duration = .seconds(10 * 60)
        ) {
            self.interval = interval
            self.naturalBreak = naturalBreak
            self.snooze = snooze
        }
    }

    public enum State: String, Sendable, Hashable {
        case offHours = "off-hours"
        case working
        /// A break is due and has not been taken, skipped or snoozed yet.
        case due
        case inSession = "in-session"
        /// Reminders paused by the user: no work time counts, no break comes due.
        case paused
    }

    public enum Event: Sendable, Hashable {
        case workStarted
        case workEnded
        case breakDue
        /// Time away (suspended, or off hours) long enough to count as a break.
        case naturalBreak(away: Duration)
        /// The wall clock moved by this much more than real time passed (a clock change or a DST change).
        case clockJumped(by: Duration)
    }

    /// When the owner should call `process(now:)` next: whichever comes first.
    public struct Wake: Sendable, Hashable {
        /// After this much real time.
        public var after: Duration?
        /// At this local time.
        public var at: CivilTime?

        public init(after: Duration?, at: CivilTime?) {
            self.after = after
            self.at = at
        }
    }

    public private(set) var schedule: WorkSchedule
    public private(set) var settings: Settings
    public private(set) var state: State
    /// Work time since the last break.
    public private(set) var worked: Duration = .zero
    /// The work time at which the next reminder is due: `interval`, or later when snoozed.
    public private(set) var dueAt: Duration
    public private(set) var snoozed = false
    /// While `paused`: the local time reminders come back on their own; nil for "until resumed".
    public private(set) var pausedUntil: CivilTime?
    private var last: Moment
    /// `elapsed` when work hours last ended, to tell whether the time off was long enough to be a break.
    private var leftWorkAt: Duration?
    /// `elapsed` when the user left the desk (locked the screen or stopped giving input); nil while they are there.
    public private(set) var awaySince: Duration?
    /// The time away has reached `naturalBreak`: it counted as a break, and work time stops until they are back.
    public private(set) var restedWhileAway = false

    /// The reading the timer was last brought up to.
    public var lastReading: Moment { last }

    /// A wall clock difference from real time below this is drift or rounding, not a jump.
    static let jumpTolerance = Duration.seconds(2)

    public init(schedule: WorkSchedule, settings: Settings = .init(), now: Moment) {
        self.schedule = schedule
        self.settings = settings
        self.dueAt = settings.interval
        self.last = now
        self.state = schedule.isWorking(at: now.local) ? .working : .offHours
    }

    /// Brings the timer up to `now` and returns what happened since the last call, in order.
    public mutating func process(now: Moment) -> [Event] {
        var events: [Event] = []
        let awake = max(.zero, now.awake - last.awake)
        let elapsed = max(.zero, now.elapsed - last.elapsed)
        let away = elapsed - awake
        let jump = last.local.duration(to: now.local) - elapsed
        let jumped = jump > Self.jumpTolerance || jump < .zero - Self.jumpTolerance
        if jumped { events.append(.clockJumped(by: jump)) }

        if state != .inSession && state != .paused {
            if let awaySince, !restedWhileAway, now.elapsed - awaySince >= settings.naturalBreak {
                restedWhileAway = true
                restartInterval()
                events.append(.naturalBreak(away: now.elapsed - awaySince))
                if state == .due { state = .working }
            } else if away >= settings.naturalBreak, !restedWhileAway {
                restartInterval()
                events.append(.naturalBreak(away: away))
                if state == .due { state = .working }
            }
            if !restedWhileAway {
                worked += min(awake, workTime(from: last.local, to: now.local, jumped: jumped))
            }
        }
        last = now
        updateState(now: now, events: &events)
        return events
    }

    /// Work time between two readings; after a clock jump, the rest of the window the user was last seen in.
    private func workTime(from: CivilTime, to: CivilTime, jumped: Bool) -> Duration {
        guard jumped else { return schedule.workTime(from: from, to: to) }
        guard let window = schedule.window(containing: from) else { return .zero }
        return from.duration(to: window.end)
    }

    private mutating func updateState(now: Moment, events: inout [Event]) {
        let working = schedule.isWorking(at: now.local)
        switch state {
        case .offHours where working:
            state = .working
            events.append(.workStarted)
            if let leftWorkAt, now.elapsed - leftWorkAt >= settings.naturalBreak {
                restartInterval()
                events.append(.naturalBreak(away: now.elapsed - leftWorkAt))
            }
            leftWorkAt = nil
        case .working where !working, .due where !working:
            state = .offHours
            leftWorkAt = now.elapsed
            events.append(.workEnded)
        default:
            break
        }
        if state == .working && worked >= dueAt {
            state = .due
            events.append(.breakDue)
        }
    }

    private mutating func restartInterval() {
        worked = .zero
        dueAt = settings.interval
        snoozed = false
    }

    /// Reminds again after `settings.snooze` more work time (or `duration`, when given).
    public mutating func snooze(now: Moment, for duration: Duration? = nil) -> [Event] {
        var events = process(now: now)
        dueAt = worked + (duration ?? settings.snooze)
        snoozed = true
        if state == .due { state = .working }
        updateState(now: now, events: &events)
        return events
    }

    /// Skips this break: the interval restarts as if it had been taken.
    public mutating func skip(now: Moment) -> [Event] {
        var events = process(now: now)
        restartInterval()
        if state == .due { state = .working }
        updateState(now: now, events: &events)
        return events
    }

    /// A session started: work time stops counting until it ends.
    public mutating func startSession(now: Moment) -> [Event] {
        let events = process(now: now)
        state = .inSession
        return events
    }

    /// A session ended, completed or not: that was a break, so the interval restarts.
    public mutating func finishSession(now: Moment) -> [Event] {
        let events = process(now: now)
        restartInterval()
        // Still away after the session: the time away counts from its end.
        if awaySince != nil {
            awaySince = now.elapsed
            restedWhileAway = false
        }
        if schedule.isWorking(at: now.local) {
            state = .working
        } else {
            state = .offHours
            leftWorkAt = now.elapsed
        }
        return events
    }

    /// Stops counting work time and stops reminders until `resume(now:)`; `until` is when the owner should
    /// resume them on its own (`nextWake()` wakes it then).
    public mutating func pause(now: Moment, until: CivilTime? = nil) -> [Event] {
        let events = process(now: now)
        if state != .inSession {
            state = .paused
            pausedUntil = until
        }
        return events
    }

    /// Counts work time again; the work time before the pause is kept.
    public mutating func resume(now: Moment) -> [Event] {
        var events = process(now: now)
        guard state == .paused else { return events }
        pausedUntil = nil
        state = .offHours
        leftWorkAt = nil
        updateState(now: now, events: &events)
        events.removeAll { $0 == .workStarted }
        if state == .offHours { leftWorkAt = now.elapsed }
        return events
    }

    /// Applies new settings and work hours; work time done so far is kept.
    public mutating func reconfigure(schedule: WorkSchedule, settings: Settings, now: Moment) -> [Event] {
        var events = process(now: now)
        self.schedule = schedule
        self.settings = settings
        if !snoozed { dueAt = settings.interval }
        // A longer interval can make a due break not due yet.
        if state == .due, worked < dueAt { state = .working }
        // The usual transitions apply the new work hours.
        updateState(now: now, events: &events)
        return events
    }

    /// The user left the desk at `since` (a time of the awake clock, as `Moment.awake`; it may be earlier than
    /// now, as idleness is known only after a while), or is back (nil). Time away counts as a break once it reaches
    /// `naturalBreak`; `nextWake()` wakes the owner then.
    public mutating func away(since: Duration?, now: Moment) -> [Event] {
        let events = process(now: now)
        guard let since else {
            awaySince = nil
            restedWhileAway = false
            return events
        }
        guard awaySince == nil else { return events }
        awaySince = now.elapsed - max(.zero, now.awake - since)
        // Away long enough already (a late report): the break is taken now.
        return events + process(now: now)
    }

    /// What of the timer outlasts the process: work time and deadlines, in terms that survive a reboot (durations
    /// of work and civil times; the awake and elapsed clocks restart at boot).
    public struct Saved: Sendable, Hashable {
        /// Work time since the last break.
        public var worked: Duration
        /// The work time the next reminder is due at (later than `interval` when snoozed).
        public var dueAt: Duration
        public var snoozed: Bool
        /// Reminders were paused, until `pausedUntil` (nil: until resumed).
        public var paused: Bool
        public var pausedUntil: CivilTime?
        /// Time already away (from the desk, or off hours) and not yet counted as a break.
        public var away: Duration

        public init(
            worked: Duration, dueAt: Duration, snoozed: Bool, paused: Bool, pausedUntil: CivilTime?, away: Duration
        ) {
            self.worked = worked
            self.dueAt = dueAt
            self.snoozed = snoozed
            self.paused = paused
            self.pausedUntil = pausedUntil
            self.away = away
        }
    }

    /// The timer as of its last reading, to restore in a later process.
    public var saved: Saved {
        var away = Duration.zero
        if let awaySince, !restedWhileAway { away = last.elapsed - awaySince }
        if state == .offHours, let leftWorkAt { away = max(away, last.elapsed - leftWorkAt) }
        return Saved(
            worked: worked, dueAt: dueAt, snoozed: snoozed, paused: state == .paused, pausedUntil: pausedUntil,
            away: away)
    }

    /// Takes up what an earlier process saved; `gap`: the time since, when no process counted. The gap is time
    /// away: with the time away before it, at least `naturalBreak` is a break. A pause holds across it.
    public mutating func restore(_ saved: Saved, gap: Duration, now: Moment) -> [Event] {
        var events: [Event] = []
        last = now
        worked = max(.zero, saved.worked)
        dueAt = max(.zero, saved.dueAt)
        snoozed = saved.snoozed
        awaySince = nil
        restedWhileAway = false
        let away = saved.away + max(.zero, gap)
        if saved.paused {
            state = .paused
            pausedUntil = saved.pausedUntil
            return events
        }
        if away >= settings.naturalBreak {
            restartInterval()
            events.append(.naturalBreak(away: away))
        }
        state = schedule.isWorking(at: now.local) ? .working : .offHours
        // Off hours now: the time off counts from when the saved process last saw work (or the user).
        if state == .offHours { leftWorkAt = now.elapsed - away }
        updateState(now: now, events: &events)
        return events
    }

    /// Work time left before the next reminder.
    public var remaining: Duration { max(.zero, dueAt - worked) }

    /// This timer brought up to `now`, this one unchanged: for questions asked between wake-ups, such as
    /// `status`, which must not act on what it finds (a break coming due is the owner's to handle).
    public func advanced(to now: Moment) -> BreakTimer {
        var timer = self
        _ = timer.process(now: now)
        return timer
    }

    /// Work time since the last break, as of `now` rather than the last `process(now:)`.
    public func worked(at now: Moment) -> Duration { advanced(to: now).worked }

    /// When `process(now:)` should next be called for anything to change.
    public func nextWake() -> Wake {
        switch state {
        case .working where restedWhileAway:
            Wake(after: nil, at: schedule.window(containing: last.local)?.end)
        case .working:
            Wake(after: min(remaining, restedAfter ?? remaining), at: schedule.window(containing: last.local)?.end)
        case .due:
            Wake(after: restedAfter, at: schedule.window(containing: last.local)?.end)
        case .offHours:
            Wake(after: nil, at: schedule.nextWindowStart(after: last.local))
        case .paused:
            Wake(after: nil, at: pausedUntil)
        case .inSession:
            Wake(after: nil, at: nil)
        }
    }

    /// Real time until time away reaches `naturalBreak`, while the user is away and it has not yet.
    private var restedAfter: Duration? {
        guard let awaySince, !restedWhileAway else { return nil }
        return max(.zero, awaySince + settings.naturalBreak - last.elapsed)
    }

    /// When the next reminder is expected if work goes on as scheduled.
    public struct Forecast: Sendable, Hashable {
        /// The local time of the reminder, in the civil terms work hours are written in.
        public var at: CivilTime
        /// Where the work still to do starts: nil for now, in the current stretch of work; otherwise the start of a
        /// later work window.
        public var from: CivilTime?
        /// The work time still to do from there: real time, as work time is time awake.
        public var work: Duration

        public init(at: CivilTime, from: CivilTime?, work: Duration) {
            self.at = at
            self.from = from
            self.work = work
        }

        /// Real time until the reminder, given how to turn a local time into real time from now. Only the start
        /// of a later window goes through the wall clock; the work is counted as it is, so a DST change between
        /// now and `at` cannot add or remove an hour of it.
        public func timeUntil(_ durationUntil: (CivilTime) -> Duration) -> Duration {
            (from.map(durationUntil) ?? .zero) + work
        }
    }

    /// The next reminder, if work goes on as scheduled; nil when not predictable (a break is due or running, or
    /// there are no work hours).
    public func forecast() -> Forecast? {
        var left = remaining
        var time = last.local
        var from: CivilTime?
        switch state {
        case .working: break
        case .offHours:
            guard let start = schedule.nextWindowStart(after: time) else { return nil }
            if let leftWorkAt, last.elapsed - leftWorkAt + last.local.duration(to: start) >= settings.naturalBreak {
                left = settings.interval
            }
            time = start
            from = start
        case .due, .inSession, .paused: return nil
        }
        // At most one window per day for a week of windows: enough to find any break.
        for _ in 0..<(8 * max(1, schedule.windows.count)) {
            guard let window = schedule.window(containing: time) else { return nil }
            let available = time.duration(to: window.end)
            if left <= available { return Forecast(at: time.adding(left), from: from, work: left) }
            left -= available
            guard let next = schedule.nextWindowStart(after: window.end) else { return nil }
            if window.end.duration(to: next) >= settings.naturalBreak { left = settings.interval }
            time = next
            from = next
        }
        return nil
    }

    /// The local time the next reminder is expected, if work goes on as scheduled; nil when not predictable
    /// (a break is due or running, or there are no work hours).
    public func nextBreak() -> CivilTime? { forecast()?.at }
}
