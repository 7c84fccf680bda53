import ALSA
import ControlProtocol
import EpollExecutor
import Logging
import ServiceLifecycle
import StretchAudio
import StretchConfig
import StretchCore
import StretchDesktop
import StretchHistory
import StretchSettings
import Speech
import StretchSystem

/// The one owner of the break cycle: it feeds the `BreakCycle` its inputs (commands, time passing, a session
/// ending, wall clock changes) and carries out the effects it returns (chimes, sessions, history, notifications,
/// systemd's status); every decision is the cycle's. It parses no request and words no reply.
///
/// One actor owns all of it, so commands from the socket, signals and the timer never race. It sleeps until
/// the next thing that can change (a break coming due, work hours starting or ending, a lead-in ending, a pause
/// running out) and is woken early by commands and wall clock changes; it never polls. `statusChanged()` is the
/// one place that learns what a person would see has changed; `statusChanges` yields then.
public actor Daemon<C: Clock>: Service where C.Duration == Duration {
    /// What the daemon did, in order; tests await `.sleeping` before advancing a test clock. Only the newest
    /// `activityBufferSize` are kept for a reader that falls behind (nobody reads them outside tests).
    public enum Activity: Sendable, Hashable {
        case sleeping(for: Duration)
        case reminded(routine: String)
        case sessionStarted(routine: String)
        case sessionEnded(SessionOutcome)
    }

    /// The session running: the cue scheduler that plays it and the task that runs it.
    struct Session {
        var routine: Routine
        var scheduler: CueScheduler<C>
        /// Its log lines carry `session.routine`.
        var logger: Logger
        /// Runs the scheduler, then reports how the session ended.
        var task: Task<Void, Never>
    }

    /// What a person would see in `status`: the state, the next break, and where a session is.
    struct VisibleStatus: Equatable {
        var state: BreakCycle.State
        var nextBreak: CivilTime?
        var pausedUntil: CivilTime?
        var step: Int?
        var side: Side?
        var part: String?
        var sessionPaused = false
    }

    /// The status for `watch`: published after each pass of the loop, each command and each cue of a session.
    public nonisolated let statusFeed = StatusFeed()
    public nonisolated let activity: AsyncStream<Activity>
    private let activitySink: AsyncStream<Activity>.Continuation
    private let clock: C
    private let time: any TimeSource
    let logger: Logger
    private let history: HistoryStore
    private let loadSettings: @Sendable () -> Result<DaemonSettings, ConfigError>
    private let makeAudio: @Sendable (DaemonConfig) -> any BreakAudio
    /// The desktop's notification and sleep lock, once attached (`attach(notifier:sleepLock:)`).
    private var notifier: (any DesktopNotifier)?
    private var sleepLock: (any SleepLock)?
    private let systemd: SystemdNotifier?

    /// Yields each time what a person would see changes (`statusChanged()`); holds only the newest.
    public nonisolated let statusChanges: AsyncStream<Void>
    private let statusChangeSink: AsyncStream<Void>.Continuation

    private var settings: DaemonSettings
    private var audio: any BreakAudio
    /// The break cycle: every decision; this actor feeds it and carries out what it says.
    private var cycle: BreakCycle
    var session: Session?
    private var sleeper: Task<Void, any Error>?
    private var visible: VisibleStatus?
    /// What the desktop's sources last said of the user, each kept up to date by `DesktopEvents`.
    var desktop = DesktopState()
    /// The last `STATUS=` sent to systemd, so it is sent again only when it changes.
    private var sentStatus: String?
    /// Today's counts from the history, once read, and every record appended since: `status` answers from it,
    /// never reading the file.
    private var tally: HistoryTally?
    /// The day `tally` was read for: its counts are whole for that day and later ones.
    private var tallyDay: Int?
    /// Reads today's records from the end of the history file, off this actor.
    private var tallyLoad: Task<HistoryTally, Never>?
    /// Records appended while the file was being read: the reading stops where the file ended when it began.
    private var appendedWhileLoading: [HistoryRecord] = []
    /// While a session's prompts are synthesized (between the cycle's `.startSession` and the answer it waits
    /// for), other inputs wait here, so that the cycle's steps are never interleaved.
    private var startingSession = false
    private var waitingForStart: [CheckedContinuation<Void, Never>] = []

    // MARK: State across restarts (StateStore): read at init, fed first in `run`, saved after inputs and at stop.
    private let stateStore: StateStore?
    /// What the state file held at init, fed to the cycle as its first input.
    private var savedState: StateStore.Loaded = .none
    /// The snapshot last handed to the writer, so that an unchanged one is not written again.
    private var lastSaved: BreakCycle.Snapshot?
    /// The one write in progress; writes follow each other in order.
    private var stateWrite: Task<Void, Never>?

    public static var activityBufferSize: Int { 256 }

    public init(
        settings: DaemonSettings, loadSettings: @escaping @Sendable () -> Result<DaemonSettings, ConfigError>,
        makeAudio: @escaping @Sendable (DaemonConfig) -> any BreakAudio, clock: C, time: any TimeSource,
        history: HistoryStore, state: StateStore? = nil, systemd: SystemdNotifier?, logger: Logger
    ) {
        self.settings = settings
        self.loadSettings = loadSettings
        self.makeAudio = makeAudio
        self.audio = makeAudio(settings.config)
        self.clock = clock
        self.time = time
        self.history = history
        self.systemd = systemd
        self.logger = logger
        self.cycle = BreakCycle(settings: settings.cycleSettings, now: time.now())
        // State: one small file, read before the loop runs (nothing else waits on it yet).
        self.stateStore = state
        self.savedState = state?.load() ?? .none
        (activity, activitySink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(Self.activityBufferSize))
        (statusChanges, statusChangeSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: Running

    /// Gives the daemon the desktop's notification and sleep lock: they are services that report to the daemon,
    /// so they are made after it, and attached before it runs.
    public func attach(notifier: (any DesktopNotifier)?, sleepLock: (any SleepLock)?) {
        self.notifier = notifier
        self.sleepLock = sleepLock
    }

    public func run() async throws {
        // State: the earlier run's, taken up before anything else is fed.
        switch savedState {
        case .state(let snapshot): await feed(.restore(snapshot, unixTime: time.unixTime()))
        case .ignored(let why): logger.warning("state file ignored; starting afresh: \(why)")
        case .none: break
        }
        logger.info("started", metadata: ["state": "\(cycle.timer.state.rawValue)", "next_break": "\(nextBreakText())"])
        loadHistory()
        do {
            try await cancelWhenGracefulShutdown { try await self.loop() }
        } catch is CancellationError {
            // Graceful shutdown.
        }
        if let session {
            logger.info("stopping the session for shutdown")
            await session.scheduler.stop()
            await session.task.value
        }
        // State: saved last, after the session's end was recorded.
        saveState()
        await stateWrite?.value
        activitySink.finish()
        statusChangeSink.finish()
    }

    private func loop() async throws {
        while true {
            await feed(.timePassed)
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
    func poke() {
        sleeper?.cancel()
    }

    /// Reads today's records from the end of the history file in the background (only as far back as they go), on
    /// the blocking-work thread, never on the event loop that runs everything else.
    private func loadHistory() {
        guard tallyLoad == nil else { return }
        let store = history, today = time.now().local
        // Taken here, on the actor, between appends: what is appended from now on is counted separately.
        let size = store.size()
        tallyDay = today.day
        let load = Task.detached(executorPreference: BlockingThread.shared) {
            store.todayTally(today: today, limit: size)
        }
        tallyLoad = load
        Task { self.historyLoaded(await load.value, from: load) }
    }

    private func historyLoaded(_ loaded: HistoryTally, from load: Task<HistoryTally, Never>) {
        guard tally == nil, tallyLoad == load else { return }
        var loaded = loaded
        for record in appendedWhileLoading { loaded.add(record) }
        appendedWhileLoading = []
        tally = loaded
        for warning in loaded.warnings { logger.warning("history: \(warning)") }
    }

    /// Today's counts, from memory: waits only for the reading at start when it has not finished (without holding
    /// the actor). Read again only when the clock went back to a day before the one read.
    private func todayCounts() async -> HistoryReport.Day {
        let today = time.now().local
        if let tallyDay, today.day < tallyDay {
            tally = nil
            tallyLoad = nil
            appendedWhileLoading = []
        }
        loadHistory()
        if tally == nil, let tallyLoad { historyLoaded(await tallyLoad.value, from: tallyLoad) }
        return (tally ?? HistoryTally(keepingDaysAround: today)).counts(today: today)
    }

    /// The wall clock was set: work hours are recomputed from the new local time.
    public func wallClockChanged() async {
        logger.info("wall clock changed")
        await feed(.wallClockChanged)
        poke()
    }

    /// The control socket listens: tell systemd we are ready.
    public func controlReady() {
        sentStatus = statusLine()
        systemd?.send("READY=1\nSTATUS=\(statusLine())")
    }

    private func timeUntilNextWake() -> Duration {
        var waits: [Duration] = []
        let wake = cycle.nextWake()
        if let after = wake.after { waits.append(after) }
        if let at = wake.at { waits.append(time.duration(until: at)) }
        // With nothing to wait for (no work days at all), look again daily.
        return max(.zero, waits.min() ?? .seconds(86_400))
    }

    // MARK: Feeding the cycle

    /// Hands `input` to the cycle and carries out what it says, feeding back what came of it (a session that
    /// could not start, a chime without sound); returns the reply to a command. The cycle's own steps run without
    /// a suspension in between; the steps that wait on the session or the sound card come after them.
    @discardableResult
    func feed(_ input: BreakCycle.Input) async -> BreakCycle.Outcome? {
        while startingSession { await withCheckedContinuation { waitingForStart.append($0) } }
        var reply: BreakCycle.Outcome?
        var inputs = [input]
        while !inputs.isEmpty {
            var waiting: [BreakCycle.Effect] = []
            var records: [BreakCycle.Record] = []
            while !inputs.isEmpty {
                for effect in cycle.handle(inputs.removeFirst(), now: time.now()) {
                    switch effect {
                    case .reply(let outcome): reply = outcome
                    case .startSession(let routine, let plan): inputs.append(await startSession(routine, plan: plan))
                    case .chime, .stopSession, .stopSessionForSleep, .pauseSession, .resumeSession, .skipStep:
                        waiting.append(effect)
                    case .notify(let routine):
                        notifier?.show(title: "Time to stretch", body: "\(routine.name): \(routine.steps.count) stretches")
                    case .withdrawNotification: notifier?.withdraw()
                    case .notifyNoSound(let routine, let reason):
                        notifier?.show(title: "Break missed: no sound", body: "\(routine.name): \(reason)")
                    // Only `stop` while a session is being prepared, or a start that comes after it: neither
                    // happens here, as inputs wait while a session starts (`startingSession`).
                    case .cancelSessionStart: break
                    case .discardSession: await session?.scheduler.stop()
                    case .record(let record): records.append(record)
                    case .log(let note): log(note)
                    case .systemdStatus(let summary): sendStatus(summary)
                    }
                }
            }
            // Written (and fsynced) off the event loop, in order, before anything that waits on the sound card.
            for record in records { await self.record(record) }
            for effect in waiting {
                if let next = await perform(effect) { inputs.append(next) }
            }
        }
        // State: written when it changed.
        saveState()
        await statusChanged()
        return reply
    }

    /// Writes the cycle's snapshot when it changed since the last write, on the blocking-work thread, after the
    /// write before it.
    private func saveState() {
        guard let stateStore else { return }
        let snapshot = cycle.snapshot(now: time.now(), unixTime: time.unixTime())
        if let lastSaved, !snapshot.differs(from: lastSaved) { return }
        lastSaved = snapshot
        let previous = stateWrite
        stateWrite = Task.detached(executorPreference: BlockingThread.shared) { [logger] in
            await previous?.value
            if case .failure(let error) = stateStore.save(snapshot) {
                logger.error("cannot save the timer state", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Carries out an effect that waits on the session or the sound card.
    private func perform(_ effect: BreakCycle.Effect) async -> BreakCycle.Input? {
        switch effect {
        case .chime(let routine):
            activitySink.yield(.reminded(routine: routine.id))
            do {
                try await audio.chime()
            } catch {
                logger.warning("cannot open audio device; reminding without sound, trying again next break",
                               metadata: ["device": "\(settings.config.device)", "error": "\(error.explanation)", "hint": "\(AudioDeviceProblem.advice)"])
                return .reminderHadNoSound(AudioDeviceProblem.cannotOpen(settings.config.device, error))
            }
        case .stopSession: await session?.scheduler.stop()
        case .stopSessionForSleep: await session?.scheduler.stopForSleep()
        case .pauseSession: await session?.scheduler.pause()
        case .resumeSession: await session?.scheduler.resume()
        case .skipStep: await session?.scheduler.skipStep()
        default: break
        }
        return nil
    }

    /// The one place that learns what a person would see may have changed: after every input the cycle
    /// handled, and at every cue of a running session that moves its step, side or part. Yields to
    /// `statusChanges` only when the visible status did change.
    func statusChanged() async {
        // `watch`: the feed builds a status only when someone watches, and pushes it only when it differs.
        await publishStatus()
        var now = VisibleStatus(
            state: cycle.state, nextBreak: cycle.timer.nextBreak(),
            pausedUntil: cycle.timer.state == .paused ? cycle.timer.pausedUntil : nil)
        if let session {
            let progress = await session.scheduler.progress
            now.step = progress.step
            now.side = progress.side
            now.part = progress.part
            now.sessionPaused = await session.scheduler.isPaused
        }
        guard now != visible else { return }
        visible = now
        statusChangeSink.yield()
    }

    private func sendStatus(_ summary: BreakCycle.Summary) {
        let line = statusLine(summary)
        if line != sentStatus, sentStatus != nil {
            sentStatus = line
            systemd?.send("STATUS=\(line)")
        }
    }

    private func log(_ note: BreakCycle.Note) {
        switch note {
        case .timer(.workStarted): logger.info("work hours started", metadata: ["next_break": "\(nextBreakText())"])
        case .timer(.workEnded): logger.info("work hours ended", metadata: ["next_break": "\(nextBreakText())"])
        case .timer(.naturalBreak(let away)):
            logger.info("time away counted as a break", metadata: ["away": "\(DurationText.format(away))"])
        case .timer(.clockJumped(let jump)):
            logger.notice("wall clock jumped; work hours recomputed", metadata: ["by": "\(DurationText.format(jump))"])
        case .timer(.breakDue): break
        case .breakDeferred(let reason):
            logger.notice("break due; it waits, as \(reason)", metadata: ["worked": "\(DurationText.format(cycle.timer.worked))"])
        case .takenAwayFromDesk(let routine):
            logger.info("the break on offer was taken away from the desk", metadata: ["routine": "\(routine)"])
        case .breakDue(let routine, let worked):
            logger.notice("break due: time to stretch",
                          metadata: ["routine": "\(routine)", "worked": "\(DurationText.format(worked))"])
        case .breakFailed(let routine, let reason):
            logger.warning("break failed: its session could not make a sound", metadata: ["routine": "\(routine)", "reason": "\(reason)"])
        case .sessionStartCancelled(let routine):
            logger.info("session cancelled while it was being prepared", metadata: ["routine": "\(routine)"])
        case .restored(let away):
            logger.info("timer state restored", metadata: ["away": "\(DurationText.format(away))", "worked": "\(DurationText.format(cycle.timer.worked))"])
        case .sessionCouldNotStart(let reason):
            logger.warning("the session could not start; the break counts as offered", metadata: ["reason": "\(reason)"])
        case .sessionStarted(let routine, let length):
            (session?.logger ?? logger).info("session started", metadata: ["length": "\(DurationText.format(length))"])
            activitySink.yield(.sessionStarted(routine: routine))
        case .sessionEnded(let routine, .completed, let played):
            logger.info("session completed",
                        metadata: ["session.routine": "\(routine)", "played": "\(DurationText.format(played))"])
        case .sessionEnded(let routine, .stopped(let step), let played):
            logger.info("session stopped", metadata: [
                "session.routine": "\(routine)", "step": "\(step + 1)", "played": "\(DurationText.format(played))"])
        case .sessionEnded(let routine, .interrupted(let step), let played):
            logger.notice("session interrupted (the machine slept); not resuming mid-hold", metadata: [
                "session.routine": "\(routine)", "step": "\(step + 1)", "played": "\(DurationText.format(played))"])
        case .nextBreak: logger.info("next break", metadata: ["at": "\(nextBreakText())"])
        case .cancelledBeforeStart(let routine):
            logger.info("session cancelled before it started; break skipped", metadata: ["routine": "\(routine)", "next_break": "\(nextBreakText())"])
        case .breakSkipped(let routine):
            logger.info("break skipped", metadata: ["routine": "\(routine ?? "none")", "next_break": "\(nextBreakText())"])
        case .breakSnoozed(let routine, let duration):
            logger.info("break snoozed", metadata: ["routine": "\(routine)", "for": "\(DurationText.format(duration))", "next_break": "\(nextBreakText())"])
        case .sessionPaused(let routine): logger.info("session paused", metadata: ["session.routine": "\(routine)"])
        case .sessionResumed(let routine): logger.info("session resumed", metadata: ["session.routine": "\(routine)"])
        case .movedOn(let routine): logger.info("skipped to the next step", metadata: ["session.routine": "\(routine)"])
        case .remindersPaused(let until): logger.info("reminders paused", metadata: ["until": "\(until.map { "\($0)" } ?? "resume")"])
        case .remindersResumed: logger.info("reminders resumed", metadata: ["next_break": "\(nextBreakText())"])
        }
    }

    // MARK: Sessions

    /// Synthesizes the routine's prompts (with a voice), opens the sound device and starts playing `plan` with
    /// them; says which, for the cycle. Other inputs wait until it has: the cycle is waiting for the answer.
    private func startSession(_ routine: Routine, plan: SessionPlan) async -> BreakCycle.Input {
        startingSession = true
        defer {
            startingSession = false
            for waiter in waitingForStart { waiter.resume() }
            waitingForStart = []
        }
        // The voiced plan: the same tones after a lead-in, and the prompts placed by their real lengths.
        let (plan, speech) = await audio.voiced(plan)
        let stream: any StreamOutput
        do {
            stream = try await audio.sessionStream(speaking: speech)
        } catch {
            return .sessionCouldNotStart(AudioDeviceProblem.cannotOpen(settings.config.device, error) + "; " + AudioDeviceProblem.advice)
        }
        var sessionLogger = logger
        sessionLogger[metadataKey: "session.routine"] = "\(routine.id)"
        let output = StatusPublishingOutput(StepLogOutput(logger: sessionLogger)) { [weak self] in await self?.statusChanged() }
        let scheduler = CueScheduler(
            plan: plan, clock: clock, output: output, stream: stream, awake: { [time] in time.awake() })
        let task = Task {
            let outcome = await scheduler.run()
            await self.sessionEnded(scheduler, outcome: outcome)
        }
        session = Session(routine: routine, scheduler: scheduler, logger: sessionLogger, task: task)
        sleepLock?.holdSleepLock(true)
        return .sessionStartedPlaying(plan)
    }

    private func sessionEnded(_ scheduler: CueScheduler<C>, outcome: SessionOutcome) async {
        guard let session, session.scheduler === scheduler else { return }
        // The time the session actually ran: not pauses, skipped parts, or time the process or machine was stopped.
        let played = await scheduler.timePlayed
        self.session = nil
        // The session's prompts are freed with it; malloc would keep their pages (about 3.5 MiB) in its arenas.
        SpeechSynthesizer.releaseFreedMemory()
        await feed(.sessionEnded(outcome, played: played))
        // Recorded: the machine may sleep now.
        sleepLock?.holdSleepLock(false)
        activitySink.yield(.sessionEnded(outcome))
        poke()
    }

    private func record(_ record: BreakCycle.Record) async {
        switch record {
        case .due(let routine): await self.record(.due, routine: routine)
        case .missed(let routine): await self.record(.missed, routine: routine)
        case .failed(let routine, let reason): await self.record(.failed, routine: routine, reason: reason)
        case .started(let routine): await self.record(.started, routine: routine)
        case .completed(let routine, let minutes): await self.record(.completed, routine: routine, minutes: minutes)
        case .stopped(let routine, let step, let minutes, let bySuspend):
            await self.record(.stopped, routine: routine, step: step, minutes: minutes, reason: bySuspend ? "suspend" : "stopped")
        case .skipped(let routine): await self.record(.skipped, routine: routine)
        case .snoozed(let routine): await self.record(.snoozed, routine: routine)
        }
    }

    private func record(
        _ event: HistoryRecord.Event, routine: String? = nil, step: Int? = nil, minutes: Double? = nil,
        reason: String? = nil
    ) async {
        let now = time.now()
        let record = HistoryRecord(
            time: time.unixTime(), date: HistoryRecord.dateText(now.local), event: event, routine: routine, step: step,
            minutes: minutes.map { ($0 * 100).rounded() / 100 }, reason: reason)
        do {
            // On the blocking-work thread: fsync can take long, and must not hold up the event loop.
            try await BlockingThread.shared.run { [history] () throws(HistoryStore.WriteError) in try history.append(record) }
        } catch {
            logger.error("cannot record history", metadata: ["error": "\(error)"])
            return
        }
        if tally != nil { tally?.add(record) } else { appendedWhileLoading.append(record) }
    }

    // MARK: Commands

    /// Carries out one control request.
    public func handle(_ request: ControlRequest) async -> ControlReply {
        let command: BreakCycle.Command
        switch request {
        case .status: return ControlReply(ok: true, status: await status())
        case .history(let days): return ControlReply(ok: true, history: await historyReport(days: days))
        case .reload:
            let reply = await reload()
            poke()
            return reply
        case .start(let reference): command = .start(await resolve(reference))
        case .stop: command = .stop
        case .skip: command = .skip
        case .snooze(let length): command = .snooze(length)
        case .pause(let length): command = .pause(length)
        case .resume: command = .resume
        case .next: command = .next
        case .watch: return .failure(ControlError(ControlReplies.watchNotHere))
        }
        let outcome = await feed(.command(command))
        // A command may have changed what the loop waits for.
        poke()
        return ControlReplies.reply(to: outcome)
    }

    /// The routine `start` names, read from the routine folder on the blocking-work thread (a slow file system must
    /// not hold up the event loop).
    private func resolve(_ reference: String?) async -> BreakCycle.StartRoutine {
        guard let reference else { return .offeredOrNext }
        if RoutineLibrary.isPath(reference), !reference.hasPrefix("/") {
            return .unavailable(
                "routine path \"\(reference)\" is relative; the daemon needs an absolute path (stretchctl start sends one)")
        }
        let found = await BlockingThread.shared.run {
            RoutineLibrary.load(directory: XDGPaths.current.routinesDirectory).library.resolve(reference)
        }
        switch found {
        case .success(let found): return .routine(found)
        case .failure(let error): return .unavailable(error.description)
        }
    }

    /// Loads the config and routines again (on the blocking-work thread, off the event loop); on any problem,
    /// reports it and keeps the running settings.
    public func reload() async -> ControlReply {
        switch await BlockingThread.shared.run(loadSettings) {
        case .failure(let error):
            for problem in error.problems { logger.error("config not reloaded: \(problem)") }
            return ControlReplies.notReloaded(error)
        case .success(let loaded):
            for warning in loaded.warnings { logger.warning("skipped routine file: \(warning)") }
            settings = loaded
            audio = makeAudio(loaded.config)
            await feed(.reconfigured(loaded.cycleSettings))
            logger.info("config reloaded", metadata: ["next_break": "\(nextBreakText())"])
            poke()
            return ControlReplies.reloaded(nextBreak: cycle.timer.nextBreak())
        }
    }

    // MARK: Reports

    public func status() async -> StatusReport {
        // First, as it may wait for the history's first reading: the rest then describes one moment.
        let today = await todayCounts()
        var report: SessionReport?
        if let session { report = await sessionReport(session) }
        let state: StatusReport.State
        switch cycle.state {
        case .working: state = .working
        case .breakDue: state = .breakDue
        case .deferred: state = .deferred
        case .inSession: state = .inSession
        case .snoozed: state = .snoozed
        case .paused: state = .paused
        case .offHours: state = .offHours
        }
        // The timer as of now, not as of its last wake-up: work time has been counting since.
        let current = cycle.timer.advanced(to: time.now())
        let next = current.forecast()
        return StatusReport(
            state: state, nextBreak: next?.at.description,
            // From the timer's own work time, not a wall clock subtraction that a DST change would throw off.
            nextBreakIn: next.map { $0.timeUntil(time.duration(until:)).inSeconds },
            pausedUntil: cycle.timer.state == .paused ? cycle.timer.pausedUntil?.description : nil,
            session: report, breaksToday: today.taken, worked: current.worked.inSeconds,
            process: processReport(), deferredBecause: cycle.state == .deferred ? cycle.deferral?.description : nil,
            soundProblem: cycle.soundProblem)
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

    /// Read from the file now, backwards from its end only as far as the days asked for and the streak need; on the
    /// blocking-work thread, off this actor and the event loop.
    private func historyReport(days: Int) async -> HistoryReport {
        let store = history, today = time.now().local
        let goal = settings.config.dailyGoal, workDays = settings.config.schedule.days
        return await Task.detached(executorPreference: BlockingThread.shared) {
            store.report(today: today, days: days, goal: goal, workDays: workDays)
        }.value
    }

    private func statusLine(_ summary: BreakCycle.Summary? = nil) -> String {
        switch summary ?? cycle.summary {
        case .session(let routine): "In a session of \(routine)"
        case .breakDue(let routine): "Break due: \(routine)"
        case .deferred(let reason): "Break due; it waits, as \(reason)"
        case .paused: "Reminders paused"
        case .nextBreak(let next): "Next break \(ControlReplies.nextBreak(next))"
        }
    }

    private func nextBreakText() -> String { ControlReplies.nextBreak(cycle.timer.nextBreak()) }
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
