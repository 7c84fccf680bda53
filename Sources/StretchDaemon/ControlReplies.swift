import ControlProtocol
import StretchConfig
import StretchCore

/// The replies the control socket sends, worded: the break cycle says what happened, this says it in words.
enum ControlReplies {
    static func reply(to outcome: BreakCycle.Outcome?) -> ControlReply {
        guard let outcome else { return .failure(ControlError("the daemon did not act on the request")) }
        let text = words(outcome)
        return outcome.ok ? ControlReply(ok: true, message: text) : .failure(ControlError(text))
    }

    static func words(_ outcome: BreakCycle.Outcome) -> String {
        switch outcome {
        case .started(let routine, let length, let remindersResumed):
            "started \(routine) (\(DurationText.format(length)))" + (remindersResumed ? "; reminders resumed" : "")
        case .stopped(let routine): "stopped the session of \(routine)"
        case .cancelled(let routine): "cancelled the session of \(routine); break skipped"
        case .startCancelled(let routine): "cancelled the session of \(routine) before it started"
        case .skipped(let next): "skipped this break; next break \(nextBreak(next))"
        case .snoozed(let duration): "snoozed for \(DurationText.format(duration)) of work"
        case .sessionPaused: "session paused; resume continues it"
        case .remindersPaused(nil): "reminders paused until resume"
        case .remindersPaused(let end?): "reminders paused until \(shown(end))"
        case .sessionStoppedRemindersPaused(let routine, let end):
            "stopped the session of \(routine); reminders paused until \(end.map(shown) ?? "resume")"
        case .sessionResumed: "session resumed"
        case .remindersResumed(let next): "reminders resumed; next break \(nextBreak(next))"
        case .movedOn: "moved on to the next step"
        case .alreadyRunning(let routine): "a session of \(routine) is already running; stop it first"
        case .noSession: "no session is running"
        case .noBreakDue: "no break is due"
        case .sessionRunningUseStop: "a session is running; use stop to end it"
        case .sessionRunningUsePauseOrStop: "a session is running; use pause or stop"
        case .sessionNotPaused: "the session is not paused"
        case .nothingPaused: "nothing is paused"
        case .cancelledByStop(let routine): "stop cancelled the session of \(routine) before it started"
        case .sessionStarting(let routine): "a session of \(routine) is starting; stop cancels it"
        case .cannotStart(let reason), .routineUnavailable(let reason): reason
        }
    }

    /// `watch` reached the daemon's handler: the control server answers it itself.
    static let watchNotHere = "watch is answered by the control server"

    static func reloaded(nextBreak next: CivilTime?) -> ControlReply {
        ControlReply(ok: true, message: "config reloaded; next break \(nextBreak(next))")
    }

    static func notReloaded(_ error: ConfigError) -> ControlReply {
        ControlReply(ok: false, error: "config not reloaded; the running config is kept",
                     problems: error.problems.map(\.description))
    }

    /// The next break as the log, systemd's status and replies show it: `Mon 2026-11-23 09:50`.
    static func nextBreak(_ next: CivilTime?) -> String {
        guard let next else { return "none scheduled" }
        return "\(next.weekday.abbreviation) \(shown(next))"
    }

    /// A time as replies show it, to the second: a fraction rounds up, so it is never shown earlier than it is.
    static func shown(_ time: CivilTime) -> String {
        let (seconds, attoseconds) = time.time.components
        return CivilTime(day: time.day, time: .seconds(seconds + (attoseconds > 0 ? 1 : 0))).description
    }
}
