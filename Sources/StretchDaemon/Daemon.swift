import ControlProtocol
import EpollExecutor
import Logging
import ServiceLifecycle
import StretchConfig
import StretchCore
import StretchDesktop
import StretchSettings
import StretchSystem

/// The daemon: one loop over one ordered inbox around the pure `BreakCycle`.
///
/// Every input goes into the inbox (`DaemonInput`): control requests with the continuation that answers them,
/// desktop reports, the loop's own timer, wall clock changes, reloads, and the results of work done beside the
/// loop. `run()` takes them one at a time (`DaemonLoop`), hands each to the cycle and carries out the effects it
/// returns; no other code reads or changes the daemon's state, so nothing interleaves. Work that takes time
/// (history appends and reports, reading the config, resolving a routine file, preparing a session's speech and
/// opening the sound device, the reminder chime) runs in a task beside the loop and posts its result back as an
/// input. What the desktop is asked to show and hold leaves as one stream, `desktopRequests`.
///
/// Idle, it sleeps until the next thing that can change (a break coming due, work hours starting or ending, a
/// lead-in or a pause running out) on one timer, armed only when that moment changes; it never polls.
public final class Daemon<C: Clock>: Service, Sendable where C.Duration == Duration {
    /// What the loop is built from.
    struct Parts: Sendable {
        var settings: DaemonSettings
        var loadSettings: @Sendable () -> Result<DaemonSettings, ConfigError>
        var makeAudio: @Sendable (DaemonConfig) -> any BreakAudio
        var clock: C
        var time: any TimeSource
        var history: HistoryStore
        /// Where the timer's state is kept across restarts; nil: nowhere (tests that start afresh).
        var state: StateStore?
        var systemd: SystemdNotifier?
        var logger: Logger
    }

    /// The status for `watch`: published after each input and each cue of a session.
    public let statusFeed = StatusFeed()
    /// What the desktop is asked to do (show or withdraw the notification, hold or release the sleep lock), in
    /// order: the desktop's outputs follow it (see `DesktopRequest`).
    public let desktopRequests: AsyncStream<DesktopRequest>
    let desktopSink: AsyncStream<DesktopRequest>.Continuation
    let inbox: AsyncStream<DaemonInput>.Continuation
    private let inputs: AsyncStream<DaemonInput>
    private let parts: Parts
    let logger: Logger

    public init(
        settings: DaemonSettings, loadSettings: @escaping @Sendable () -> Result<DaemonSettings, ConfigError>,
        makeAudio: @escaping @Sendable (DaemonConfig) -> any BreakAudio, clock: C, time: any TimeSource,
        history: HistoryStore, state: StateStore? = nil, systemd: SystemdNotifier?, logger: Logger
    ) {
        parts = Parts(
            settings: settings, loadSettings: loadSettings, makeAudio: makeAudio, clock: clock, time: time,
            history: history, state: state, systemd: systemd, logger: logger)
        self.logger = logger
        (inputs, inbox) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        (desktopRequests, desktopSink) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Runs the loop until a graceful shutdown (SIGTERM, SIGINT) or cancellation: then a running session fades out
    /// and is recorded, every record is written, and every request still waiting is answered.
    public func run() async throws {
        let loop = DaemonLoop(parts: parts, inbox: inbox, desktop: desktopSink, feed: statusFeed)
        // In a task of its own: cancelling `run()` must not end the inbox's iteration mid-way (an AsyncStream ends
        // on cancellation); it asks the loop to shut down like SIGTERM, and the loop ends when that is done.
        let running = Task { [inputs] in await loop.run(inputs) }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await running.value
            } onCancel: { [inbox] in
                inbox.yield(.shutdown)
            }
        } onGracefulShutdown: { [inbox] in
            inbox.yield(.shutdown)
        }
        desktopSink.finish()
    }

    /// Posts `make(continuation)` and waits for the loop to answer it.
    func ask<Answer: Sendable>(_ make: (CheckedContinuation<Answer, Never>) -> DaemonInput) async -> Answer {
        await withCheckedContinuation { continuation in
            if case .terminated = inbox.yield(make(continuation)) {
                // The loop has ended: nothing will answer. Only requests can get here after the end.
                DaemonLoopEnd.answer(make(continuation))
            }
        }
    }

    // MARK: Control

    /// Carries out one control request, in turn with every other input.
    public func handle(_ request: ControlRequest) async -> ControlReply {
        await ask { .request(request, $0) }
    }

    /// The current status (what the `status` request answers).
    public func status() async -> StatusReport {
        // Nil only once the loop has ended.
        await handle(.status).status
            ?? StatusReport(
                state: .offHours, nextBreak: nil, nextBreakIn: nil, pausedUntil: nil, session: nil, breaksToday: 0,
                worked: 0)
    }

    /// Loads the config and routines again beside the loop; on any problem, reports it and keeps the running
    /// settings.
    public func reload() async -> ControlReply {
        await handle(.reload)
    }

    /// The control socket listens: the daemon has started.
    public func controlReady() async {
        await ask { .controlReady($0) }
    }

    /// The wall clock was set: work hours are recomputed from the new local time.
    public func wallClockChanged() async {
        await ask { .wallClockChanged($0) }
    }

    /// Returns once every input posted before has been handled, the records they made are written, and no timer of
    /// the loop is overdue; answers how long the loop then sleeps. For tests on a test clock.
    func settled() async -> Duration {
        await ask { .settled($0) }
    }
}

/// What the daemon asks of the desktop, as the cycle decides it.
public enum DesktopRequest: Sendable, Hashable {
    /// Show the break's notification (replacing the one shown).
    case notify(title: String, body: String)
    /// The break is no longer offered: close its notification.
    case withdrawNotification
    /// A session runs (true) or has ended (false): hold the sleep delay lock exactly then.
    case holdSleepLock(Bool)
}

/// The desktop's sources report to the daemon; each report is an input, and returns once the loop handled it.
extension Daemon: DesktopEvents {
    public func notificationAnswered(_ answer: NotificationAnswer) async {
        await ask { .desktop(.notificationAnswered(answer), $0) }
    }

    /// Returns once a running session has been stopped and its record written: only then may the machine sleep.
    public func aboutToSleep() async {
        await ask { .aboutToSleep($0) }
    }

    public func wokeUp() async {
        await ask { .desktop(.wokeUp, $0) }
    }

    public func lockChanged(_ locked: Bool) async {
        await ask { .desktop(.locked(locked), $0) }
    }

    public func idleChanged(since: Duration?) async {
        await ask { .desktop(.idle(since: since), $0) }
    }

    public func doNotDisturbChanged(source: String, on: Bool) async {
        await ask { .desktop(.doNotDisturb(source: source, on: on), $0) }
    }

    public func callChanged(source: String, on: Bool) async {
        await ask { .desktop(.call(source: source, on: on), $0) }
    }
}

extension DaemonSettings {
    /// What the break cycle needs of the settings.
    var cycleSettings: BreakCycle.Settings {
        BreakCycle.Settings(
            routines: routines, leadIn: config.autostart, snooze: config.snooze, notify: config.notify,
            schedule: config.schedule, timer: config.timerSettings, startWhenIdle: config.startWhenIdle,
            respectDoNotDisturb: config.respectDoNotDisturb, deferDuringCalls: config.deferDuringCalls)
    }
}
