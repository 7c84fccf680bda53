import ControlProtocol
import StretchAudio
import StretchConfig
import StretchCore
import StretchHistory
import StretchSettings

/// Everything the daemon's loop acts on, in the order it came. Inputs that someone waits for carry the
/// continuation the loop answers.
enum DaemonInput: Sendable {
    // From outside.
    case request(ControlRequest, CheckedContinuation<ControlReply, Never>)
    case desktop(DesktopReport, CheckedContinuation<Void, Never>)
    /// Answered once a running session was stopped and recorded.
    case aboutToSleep(CheckedContinuation<Void, Never>)
    case wallClockChanged(CheckedContinuation<Void, Never>)
    case controlReady(CheckedContinuation<Void, Never>)
    case settled(CheckedContinuation<Duration, Never>)
    case shutdown

    // Posted back by the loop's own timer and the work it started beside it.
    /// The timer armed as `generation` went off.
    case timePassed(generation: Int)
    /// `start ROUTINE`'s routine, read from its file.
    case resolved(BreakCycle.StartRoutine, CheckedContinuation<ControlReply, Never>)
    case settingsLoaded(Result<DaemonSettings, ConfigError>, CheckedContinuation<ControlReply, Never>)
    /// A session asked for as `token` is ready to play (or cannot: why).
    case sessionPrepared(token: Int, Result<PreparedSession, SessionProblem>)
    /// The session started as `token` ended.
    case sessionEnded(token: Int, SessionOutcome, played: Duration)
    /// A cue of the running session played: the status a watcher sees may have changed.
    case cuePlayed
    /// The reminder's chime played (nil), or could not: why (no sound device).
    case chimed(String?)
    /// Today's counts, read from the end of the history file at start.
    case historyLoaded(HistoryTally)
    case recorded(HistoryRecord)
    /// Every record queued before was written: the waiters may go on.
    case recordsWritten([Waiter])
}

/// One who waits for the records queued so far to be written.
enum Waiter: Sendable {
    case sleep(CheckedContinuation<Void, Never>)
    case settled(CheckedContinuation<Duration, Never>)
}

/// What a desktop source reported.
enum DesktopReport: Sendable, Hashable {
    case notificationAnswered(NotificationAnswer)
    case wokeUp
    case locked(Bool)
    case idle(since: Duration?)
    case doNotDisturb(source: String, on: Bool)
    case call(source: String, on: Bool)
}

/// A session ready to play: its plan (voiced, when there is a voice) and the open sound device.
struct PreparedSession: @unchecked Sendable {
    // `any StreamOutput` is Sendable by its protocol; the plan is a value.
    var plan: SessionPlan
    var stream: any StreamOutput
}

/// Why a session could not be prepared, in words for the reply and the log.
struct SessionProblem: Error, Sendable {
    var reason: String
}
