import ALSA
import ControlProtocol
import Logging
import ServiceLifecycle
import StretchAudio
import StretchConfig
import StretchCore
import StretchSettings
import StretchSystem

/// The daemon's state and decisions: when breaks are due, the session running, pauses, and every command.
///
/// One actor owns all of it, so commands from the socket, signals and the timer never race. It sleeps until
/// the next thing that can change (a break coming due, work hours starting or ending, a lead-in ending, a pause
/// running out) and is woken early by commands and wall clock changes; it never polls.
public actor Daemon<C: Clock>: Service where C.Duration == Duration {
    /// What the daemon did, in order; tests await `.sleeping` before advancing a test clock. Only the newest
    /// `activityBufferSize` are kept for a reader that falls behind (nobody reads them outside tests).
    public enum Activity: Sendable, Hashable {
        case sleeping(for: Duration)
        case reminded(routine: String)
        case sessionStarted(routine: String)
        case sessionEnded(SessionOutcome)
    }

    /// Where the current break stands.
    enum Phase {
        case idle
        /// Reminded; the session starts at `startsAt` unless the user acts first.
        case leadIn(routine: Routine, startsAt: C.Instant)
        /// Reminded, waiting for `stretchctl start` (autostart is off).
        case waiting(routine: Routine)
        case session(Session)
    }

    struct Session {
        var routine: Routine
        var scheduler: CueScheduler<C>
        /// Runs the scheduler, then records how the session ended.
        var task: Task<Void, Never>
    }

    enum Pause: Equatable {
        case indefinitely
        case until(CivilTime)
    }

    /// The status for `watch`: published after each pass of the loop, each command and each cue of a session.
    public nonisolated let statusFeed = StatusFeed()
    public nonisolated let activity: AsyncStream<Activity>
    private let activitySink: AsyncStream<Activity>.Continuation
    private let clock: C
    private let time: any TimeSource
    private let logger: Logger
    private let history: HistoryStore
    private let loadSettings: @Sendable () -> Result<DaemonSettings, ConfigError>
    private let makeAudio: @Sendable (DaemonConfig) -> any BreakAudio
    private let notifier: (any DesktopNotifier)?
    private let systemd: SystemdNotifier?

    private var settings: DaemonSettings
    private var audio: any BreakAudio
    private var timer: BreakTimer
    private var phase = Phase.idle
    private var pause: Pause?
    private var nextRoutine = 0
    private var sleeper: Task<Void, any Error>?
    /// The timer said a break is due; the loop reminds on its next pass.
    private var reminderPending = false
    /// The last `STATUS=` sent to systemd, so it is sent again only when it changes.
    private var sentStatus: String?
    /// The history's per-day counts, once read; `status` and `history` answer from it.
    private var tally: HistoryTally?
    /// Reads the history file at start, off this actor.
    private var tallyLoad: Task<HistoryTally, Never>?
    /// Today's counts from the end of the file, read first: enough for `status` while the whole file is read.
    private var recentLoad: Task<HistoryTally?, Never>?
    /// Records appended while the file was being read: the reading stops where the file ended when it began.
    private var appendedWhileLoading: [HistoryRecord] = []

    public static var activityBufferSize: Int { 256 }

    public init(
        settings: DaemonSettings, loadSettings: @escaping @Sendable () -> Result<DaemonSettings, ConfigError>,
        makeAudio: @escaping @Sendable (DaemonConfig) -> any BreakAudio, clock: C, time: any TimeSource,
        history: HistoryStore, notifier: (any DesktopNotifier)?, systemd: SystemdNotifier?, logger: Logger
    ) {
        self.settings = settings
        self.loadSettings = loadSettings
        self.makeAudio = makeAudio
        self.audio = makeAudio(settings.config)
        self.clock = clock
        self.time = time
        self.history = history
        self.notifier = notifier
        self.systemd = systemd
        self.logger = logger
        self.timer = BreakTimer(
            schedule: settings.config.schedule, settings: settings.config.timerSettings, now: time.now())
        (activity, activitySink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(Self.activityBufferSize))
    }

    // MARK: Running

    public func run() async throws {
        logger.info("started", metadata: ["state": "\(timer.state.rawValue)", "next_break": "\(nextBreakText())"])
        loadHistory()
        do {
            try await cancelWhenGracefulShutdown { try await self.loop() }
        } catch is CancellationError {
            // Graceful shutdown.
        }
        if case .session(let session) = phase {
            logger.info("stopping the session for shutdown")
            await session.scheduler.stop()
            await session.task.value
        }
        activitySink.finish()
    }

    private func loop() async throws {
        while true {
            await refresh()
            let wait = timeUntilNextWake()
            activitySink.yield(.sleeping(for: wait))
            let deadline = clock.now.advanced(by: wait)
            let task = Task { [clock] in try await clock.sleep(until: deadline, tolerance: nil) }
            sleeper = task
            await withTaskCancellationHandler {
                _ = try? await task.value
            } onCancel: {
                task.cancel()
            }
            sleeper = nil
            try Task.checkCancellation()
        }
    }

    /// Wakes the loop to look at the state again: a command changed it, or the wall clock moved.
    private func poke() {
        sleeper?.cancel()
    }

    /// Reads the history file in the background: a large one must hold up neither start-up nor commands.
    private func loadHistory() {
        guard tallyLoad == nil else { return }
        let store = history, today = time.now().local
        // Taken here, on the actor, between appends: what is appended from now on is counted separately.
        let size = store.size()
        recentLoad = Task.detached { store.recentTally(today: today, limit: size) }
        let load = Task.detached { await store.tally(around: today, limit: size) }
        tallyLoad = load
        Task { self.historyLoaded(await load.value) }
    }

    private func historyLoaded(_ loaded: HistoryTally) {
        guard tally == nil else { return }
        var loaded = loaded
        for record in appendedWhileLoading { loaded.add(record) }
        appendedWhileLoading = []
        tally = loaded
        for warning in loaded.warnings { logger.warning("history: \(warning)") }
    }

    /// The history's counts, waiting for the first reading when it is still going on (without holding the actor).
    private func historyTally() async -> HistoryTally {
        loadHistory()
        if tally == nil, let tallyLoad { historyLoaded(await tallyLoad.value) }
        return tally ?? HistoryTally(keepingDaysAround: time.now().local)
    }

    /// Today's counts: from the whole history once read, before that from its end (without waiting for the rest).
    private func todayCounts() async -> HistoryReport.Day? {
        loadHistory()
        if tally == nil, let recentLoad, var recent = await recentLoad.value, tally == nil {
            for record in appendedWhileLoading { recent.add(record) }
            return recent.report(today: time.now().local, days: 1, goal: 1, workDays: []).days.last
        }
        return await historyReport(days: 1).days.last
    }

    /// The wall clock was set: work hours are recomputed from the new local time.
    public func wallClockChanged() {
        logger.info("wall clock changed")
        poke()
    }

    /// The control socket listens: tell systemd we are ready.
    public func controlReady() {
        sentStatus = statusLine()
        systemd?.send("READY=1\nSTATUS=\(statusLine())")
    }

    private func timeUntilNextWake() -> Duration {
        var waits: [Duration] = []
        let wake = timer.nextWake()
        if let after = wake.after { waits.append(after) }
        if let at = wake.at { waits.append(time.duration(until: at)) }
        if case .leadIn(_, let startsAt) = phase { waits.append(clock.now.duration(to: startsAt)) }
        if case .until(let end) = pause { waits.append(time.duration(until: end)) }
        // With nothing to wait for (no work days at all), look again daily.
        return max(.zero, waits.min() ?? .seconds(86_400))
    }

    /// Brings everything up to now: the timer's events, a lead-in ending, a pause running out.
    private func refresh() async {
        let now = time.now()
        if case .until(let end) = pause, now.local >= end {
            pause = nil
            log(timer.resume(now: now))
            logger.info("reminders resumed", metadata: ["next_break": "\(nextBreakText())"])
        }
        log(timer.process(now: now))
        if reminderPending {
            reminderPending = false
            await remind(now: now)
        }
        if case .leadIn(let routine, let startsAt) = phase, clock.now >= startsAt {
            if case .failure(let error) = startSession(routine) {
                logger.warning("the session could not start; the break counts as offered",
                               metadata: ["reason": "\(error)"])
                phase = .idle
                _ = timer.skip(now: time.now())
            }
        }
        let line = statusLine()
        if line != sentStatus, sentStatus != nil {
            sentStatus = line
            systemd?.send("STATUS=\(line)")
        }
        await publishStatus()
    }

    private func log(_ events: [BreakTimer.Event]) {
        for event in events {
            switch event {
            case .workStarted: logger.info("work hours started", metadata: ["next_break": "\(nextBreakText())"])
            case .workEnded: logger.info("work hours ended", metadata: ["next_break": "\(nextBreakText())"])
            case .naturalBreak(let away):
                logger.info("time away counted as a break", metadata: ["away": "\(DurationText.format(away))"])
            case .clockJumped(let jump):
                logger.notice("wall clock jumped; work hours recomputed", metadata: ["by": "\(DurationText.format(jump))"])
            case .breakDue:
                reminderPending = true
            }
        }
    }

    // MARK: Breaks and sessions

    private func remind(now: Moment) async {
        let routine = settings.routines[nextRoutine % settings.routines.count]
        nextRoutine = (nextRoutine + 1) % settings.routines.count
        logger.notice("break due: time to stretch",
                      metadata: ["routine": "\(routine.id)", "worked": "\(DurationText.format(timer.worked))"])
        record(.reminded, routine: routine.id)
        activitySink.yield(.reminded(routine: routine.id))
        if settings.config.notify {
            notifier?.notify(title: "Time to stretch", body: "\(routine.name): \(routine.steps.count) stretches")
        }
        if let leadIn = settings.config.autostart {
            phase = .leadIn(routine: routine, startsAt: clock.now.advanced(by: leadIn))
        } else {
            phase = .waiting(routine: routine)
        }
        do {
            try await audio.chime()
        } catch {
            logger.warning("cannot open audio device; reminding without sound, trying again next break",
                           metadata: ["device": "\(settings.config.device)", "error": "\(error.explanation)", "hint": "\(AudioDeviceProblem.advice)"])
            if case .leadIn = phase {
                // Without sound there is no hands-free session: the reminder was the break.
                phase = .idle
                _ = timer.skip(now: time.now())
            }
        }
    }

    private func startSession(_ routine: Routine) -> Result<Void, ControlError> {
        let stream: any StreamOutput
        do {
            stream = try audio.sessionStream()
        } catch {
            return .failure(ControlError(AudioDeviceProblem.cannotOpen(settings.config.device, error) + "; " + AudioDeviceProblem.advice))
        }
        let plan = SessionPlanner.plan(routine)
        var sessionLogger = logger
        sessionLogger[metadataKey: "session.routine"] = "\(routine.id)"
        let scheduler = CueScheduler(
            plan: plan, clock: clock,
            output: StatusPublishingOutput(StepLogOutput(logger: sessionLogger)) { await self.publishStatus() },
            stream: stream,
            awake: { [time] in time.awake() })
        log(timer.startSession(now: time.now()))
        record(.started, routine: routine.id)
        sessionLogger.info("session started", metadata: ["length": "\(DurationText.format(plan.duration))"])
        activitySink.yield(.sessionStarted(routine: routine.id))
        let task = Task {
            let outcome = await scheduler.run()
            await self.sessionEnded(scheduler, outcome: outcome)
        }
        phase = .session(Session(routine: routine, scheduler: scheduler, task: task))
        return .success(())
    }

    private func sessionEnded(_ scheduler: CueScheduler<C>, outcome: SessionOutcome) async {
        guard case .session(let session) = phase, session.scheduler === scheduler else { return }
        // The time the session actually ran: not pauses, skipped parts, or time the process or machine was stopped.
        let timePlayed = await scheduler.timePlayed
        let minutes = timePlayed.inSeconds / 60
        let played = "\(DurationText.format(timePlayed))"
        let routine = session.routine.id
        switch outcome {
        case .completed:
            record(.completed, routine: routine, minutes: minutes)
            logger.info("session completed", metadata: ["session.routine": "\(routine)", "played": "\(played)"])
        case .stopped(let step):
            record(.stopped, routine: routine, step: step + 1, minutes: minutes, reason: "stopped")
            logger.info("session stopped",
                        metadata: ["session.routine": "\(routine)", "step": "\(step + 1)", "played": "\(played)"])
        case .interrupted(let step):
            record(.stopped, routine: routine, step: step + 1, minutes: minutes, reason: "suspend")
            logger.notice("session interrupted (the machine slept); not resuming mid-hold",
                          metadata: ["session.routine": "\(routine)", "step": "\(step + 1)", "played": "\(played)"])
        }
        phase = .idle
        log(timer.finishSession(now: time.now()))
        logger.info("next break", metadata: ["at": "\(nextBreakText())"])
        activitySink.yield(.sessionEnded(outcome))
        poke()
        await publishStatus()
    }

    private func record(
        _ event: HistoryRecord.Event, routine: String? = nil, step: Int? = nil, minutes: Double? = nil,
        reason: String? = nil
    ) {
        let now = time.now()
        let record = HistoryRecord(
            time: time.unixTime(), date: HistoryStore.dateText(now.local), event: event, routine: routine, step: step,
            minutes: minutes.map { ($0 * 100).rounded() / 100 }, reason: reason)
        do {
            try history.append(record)
        } catch {
            logger.error("cannot record history", metadata: ["error": "\(error)"])
            return
        }
        if tally != nil { tally?.add(record) } else { appendedWhileLoading.append(record) }
    }

    // MARK: Commands

    /// Carries out one control request.
    public func handle(_ request: ControlRequest) async -> ControlReply {
        let result: Result<ControlReply, ControlError>
        switch request.command {
        case .status: result = .success(ControlReply(ok: true, status: await status()))
        case .start: result = start(request.routine)
        case .stop: result = await stop()
        case .skip: result = skip()
        case .snooze: result = snooze(request.duration)
        case .pause: result = await pauseCommand(request.duration)
        case .resume: result = await resume()
        case .next: result = await next()
        case .reload: result = .success(reload())
        case .history: result = .success(ControlReply(ok: true, history: await historyReport(days: request.days ?? 7)))
        case .watch: result = .failure(ControlError("watch is answered by the control server"))
        }
        // Anything but a question may have changed what the loop waits for.
        if request.command != .status && request.command != .history { poke() }
        await publishStatus()
        switch result {
        case .success(let reply): return reply
        case .failure(let error): return .failure(error)
        }
    }

    private func start(_ reference: String?) -> Result<ControlReply, ControlError> {
        if case .session(let session) = phase {
            return .failure(ControlError("a session of \(session.routine.id) is already running; stop it first"))
        }
        let routine: Routine
        if let reference {
            if RoutineLibrary.isPath(reference), !reference.hasPrefix("/") {
                return .failure(ControlError(
                    "routine path \"\(reference)\" is relative; the daemon needs an absolute path (stretchctl start sends one)"))
            }
            let (library, _) = RoutineLibrary.load(directory: XDGPaths.current.routinesDirectory)
            switch library.resolve(reference) {
            case .success(let found): routine = found
            case .failure(let error): return .failure(ControlError(error.description))
            }
        } else if case .leadIn(let offered, _) = phase {
            routine = offered
        } else if case .waiting(let offered) = phase {
            routine = offered
        } else {
            routine = settings.routines[nextRoutine % settings.routines.count]
            nextRoutine = (nextRoutine + 1) % settings.routines.count
        }
        if pause != nil {
            pause = nil
            log(timer.resume(now: time.now()))
        }
        return startSession(routine).map {
            ControlReply(ok: true, message: "started \(routine.id) (\(DurationText.format(SessionPlanner.plan(routine).duration)))")
        }
    }

    private func stop() async -> Result<ControlReply, ControlError> {
        switch phase {
        case .session(let session):
            await session.scheduler.stop()
            return .success(ControlReply(ok: true, message: "stopped the session of \(session.routine.id)"))
        case .leadIn(let routine, _), .waiting(let routine):
            phase = .idle
            log(timer.skip(now: time.now()))
            record(.skipped, routine: routine.id)
            logger.info("session cancelled before it started; break skipped", metadata: ["routine": "\(routine.id)", "next_break": "\(nextBreakText())"])
            return .success(ControlReply(ok: true, message: "cancelled the session of \(routine.id); break skipped"))
        case .idle:
            return .failure(ControlError("no session is running"))
        }
    }

    private func skip() -> Result<ControlReply, ControlError> {
        var routine: String?
        switch phase {
        case .session: return .failure(ControlError("a session is running; use stop to end it"))
        case .leadIn(let offered, _), .waiting(let offered): routine = offered.id
        case .idle: guard timer.state == .due else { return .failure(ControlError("no break is due")) }
        }
        phase = .idle
        log(timer.skip(now: time.now()))
        record(.skipped, routine: routine)
        logger.info("break skipped", metadata: ["routine": "\(routine ?? "none")", "next_break": "\(nextBreakText())"])
        return .success(ControlReply(ok: true, message: "skipped this break; next break \(nextBreakText())"))
    }

    private func snooze(_ text: String?) -> Result<ControlReply, ControlError> {
        var duration = settings.config.snooze
        if let text {
            guard let parsed = DurationText.parse(text), parsed > .zero, parsed <= .seconds(86_400) else {
                return .failure(ControlError("snooze takes a duration such as 10m or 1h30m, got \"\(text)\""))
            }
            duration = parsed
        }
        let routine: String
        switch phase {
        case .leadIn(let offered, _), .waiting(let offered): routine = offered.id
        case .session: return .failure(ControlError("a session is running; use pause or stop"))
        case .idle: return .failure(ControlError("no break is due"))
        }
        phase = .idle
        log(timer.snooze(now: time.now(), for: duration))
        record(.snoozed, routine: routine)
        logger.info("break snoozed", metadata: ["routine": "\(routine)", "for": "\(DurationText.format(duration))", "next_break": "\(nextBreakText())"])
        return .success(ControlReply(ok: true, message: "snoozed for \(DurationText.format(duration)) of work"))
    }

    private func pauseCommand(_ text: String?) async -> Result<ControlReply, ControlError> {
        let now = time.now()
        if case .session(let session) = phase, text == nil {
            await session.scheduler.pause()
            logger.info("session paused", metadata: ["session.routine": "\(session.routine.id)"])
            return .success(ControlReply(ok: true, message: "session paused; resume continues it"))
        }
        var until: Pause = .indefinitely
        if let text {
            if text == "tomorrow" {
                until = .until(CivilTime(day: now.local.day + 1, time: .zero))
            } else if let duration = DurationText.parse(text), duration > .zero, duration <= .seconds(7 * 86_400) {
                until = .until(now.local.adding(duration))
            } else {
                return .failure(ControlError("pause takes a duration such as 1h, or \"tomorrow\", got \"\(text)\""))
            }
        }
        if case .session(let session) = phase { await session.scheduler.stop() }
        if case .leadIn = phase { phase = .idle }
        if case .waiting = phase { phase = .idle }
        pause = until
        log(timer.pause(now: now))
        logger.info("reminders paused", metadata: ["until": "\(until)"])
        switch until {
        case .indefinitely: return .success(ControlReply(ok: true, message: "reminders paused until resume"))
        case .until(let end): return .success(ControlReply(ok: true, message: "reminders paused until \(end)"))
        }
    }

    private func resume() async -> Result<ControlReply, ControlError> {
        if case .session(let session) = phase {
            guard await session.scheduler.isPaused else { return .failure(ControlError("the session is not paused")) }
            await session.scheduler.resume()
            logger.info("session resumed", metadata: ["session.routine": "\(session.routine.id)"])
            return .success(ControlReply(ok: true, message: "session resumed"))
        }
        guard pause != nil else { return .failure(ControlError("nothing is paused")) }
        pause = nil
        log(timer.resume(now: time.now()))
        logger.info("reminders resumed", metadata: ["next_break": "\(nextBreakText())"])
        return .success(ControlReply(ok: true, message: "reminders resumed; next break \(nextBreakText())"))
    }

    private func next() async -> Result<ControlReply, ControlError> {
        guard case .session(let session) = phase else { return .failure(ControlError("no session is running")) }
        await session.scheduler.skipStep()
        logger.info("skipped to the next step", metadata: ["session.routine": "\(session.routine.id)"])
        return .success(ControlReply(ok: true, message: "moved on to the next step"))
    }

    /// Loads the config and routines again; on any problem, reports it and keeps the running settings.
    public func reload() -> ControlReply {
        switch loadSettings() {
        case .failure(let error):
            for problem in error.problems { logger.error("config not reloaded: \(problem)") }
            return ControlReply(ok: false, error: "config not reloaded; the running config is kept",
                                problems: error.problems.map(\.description))
        case .success(let loaded):
            for warning in loaded.warnings { logger.warning("skipped routine file: \(warning)") }
            settings = loaded
            audio = makeAudio(loaded.config)
            log(timer.reconfigure(schedule: loaded.config.schedule, settings: loaded.config.timerSettings, now: time.now()))
            logger.info("config reloaded", metadata: ["next_break": "\(nextBreakText())"])
            poke()
            return ControlReply(ok: true, message: "config reloaded; next break \(nextBreakText())")
        }
    }

    // MARK: Reports

    public func status() async -> StatusReport {
        // First, as it may wait for the history's first reading: the rest then describes one moment.
        let today = await todayCounts()
        var session: SessionReport?
        let state: StatusReport.State
        switch phase {
        case .session(let running):
            state = .inSession
            session = await sessionReport(running)
        case .leadIn, .waiting:
            state = .breakDue
        case .idle:
            if pause != nil {
                state = .paused
            } else {
                switch timer.state {
                case .offHours: state = .offHours
                case .due: state = .breakDue
                case .inSession: state = .inSession
                case .paused: state = .paused
                case .working: state = timer.snoozed ? .snoozed : .working
                }
            }
        }
        // The timer as of now, not as of its last wake-up: work time has been counting since.
        let current = timer.advanced(to: time.now())
        let next = current.forecast()
        var pausedUntil: String?
        if case .until(let end) = pause { pausedUntil = end.description }
        return StatusReport(
            state: state, nextBreak: next?.at.description,
            // From the timer's own work time, not a wall clock subtraction that a DST change would throw off.
            nextBreakIn: next.map { $0.timeUntil(time.duration(until:)).inSeconds }, pausedUntil: pausedUntil,
            session: session, breaksToday: today?.taken ?? 0, worked: current.worked.inSeconds,
            process: processReport())
    }

    private func sessionReport(_ session: Session) async -> SessionReport {
        let progress = await session.scheduler.progress
        let steps = session.routine.steps
        return SessionReport(
            routine: session.routine.id, step: progress.step + 1, steps: steps.count,
            stepName: steps[progress.step].name, side: progress.side?.rawValue, part: progress.part,
            phase: progress.phase.rawValue, phaseRemaining: progress.phaseRemaining.inSeconds,
            remaining: progress.sessionRemaining.inSeconds, paused: await session.scheduler.isPaused)
    }

    private func historyReport(days: Int) async -> HistoryReport {
        await historyTally().report(
            today: time.now().local, days: days, goal: settings.config.dailyGoal, workDays: settings.config.schedule.days)
    }

    private func statusLine() -> String {
        switch phase {
        case .session(let session): return "In a session of \(session.routine.id)"
        case .leadIn(let routine, _), .waiting(let routine): return "Break due: \(routine.id)"
        case .idle:
            if pause != nil { return "Reminders paused" }
            return "Next break \(nextBreakText())"
        }
    }

    private func nextBreakText() -> String {
        guard let next = timer.nextBreak() else { return "none scheduled" }
        return "\(next.weekday.abbreviation) \(next)"
    }
}

extension Daemon.Pause: CustomStringConvertible {
    /// For the log: when reminders come back on their own.
    var description: String {
        switch self {
        case .indefinitely: "resume"
        case .until(let end): "\(end)"
        }
    }
}
