import ALSA
import ControlProtocol
import EpollExecutor
import Logging
import Speech
import StretchAudio
import StretchConfig
import StretchCore
import StretchHistory
import StretchSettings
import StretchSystem

/// The daemon's state and the loop that owns it: one input at a time, from `Daemon`'s inbox. Owned by the one
/// task that runs `run(_:)`; nothing else touches it.
final class DaemonLoop<C: Clock> where C.Duration == Duration {
    /// The session running: the scheduler that plays it and the task that runs it.
    struct Session {
        var token: Int
        var routine: Routine
        var scheduler: CueScheduler<C>
        /// Its log lines carry `session.routine`.
        var logger: Logger
        var task: Task<Void, Never>
    }

    /// A session being prepared beside the loop (speech, the sound device).
    struct Preparing {
        var token: Int
        var task: Task<Void, Never>
    }

    private let parts: Daemon<C>.Parts
    private let inbox: AsyncStream<DaemonInput>.Continuation
    private let desktopRequests: AsyncStream<DesktopRequest>.Continuation
    private let statusFeed: StatusFeed
    private let clock: C
    private let time: any TimeSource
    private let logger: Logger
    private let writer: HistoryWriter

    private var settings: DaemonSettings
    private var audio: any BreakAudio
    /// Every decision: this loop feeds it and carries out what it says.
    private var cycle: BreakCycle
    private var session: Session?
    private var preparing: Preparing?
    /// Numbers the sessions asked for, so that a late result of an abandoned one is told apart.
    private var tokens = 0

    /// The timer: the instant it is armed for and its generation (a fired timer of an older one is stale).
    private var timer: (deadline: C.Instant, generation: Int, task: Task<Void, Never>)?
    private var timerGeneration = 0

    /// The command being fed, answered by the cycle's `.reply`.
    private var replying: CheckedContinuation<ControlReply, Never>?
    /// A `start` whose reply waits for the session to be prepared.
    private var startWaiting: CheckedContinuation<ControlReply, Never>?
    /// Requests waiting for today's counts (status, while the history's first reading runs).
    private var waitingForCounts: [CheckedContinuation<ControlReply, Never>] = []
    /// Machines about to sleep, waiting for the running session to end and be recorded.
    private var waitingForSessionEnd: [CheckedContinuation<Void, Never>] = []
    /// Tests waiting for the loop to settle: until the timer that is due has fired and the work begun beside the
    /// loop has posted back.
    private var waitingToSettle: [CheckedContinuation<Duration, Never>] = []
    /// Tasks begun beside the loop whose result has not come back yet.
    private var besideWork = 0

    /// Today's counts from the history, once read, and every record written since: `status` answers from it.
    private var tally: HistoryTally?
    /// The day `tally` was read for.
    private var tallyDay: Int?
    /// Records written while the file was being read (the reading stops where the file ended when it began).
    private var writtenWhileLoading: [HistoryRecord] = []
    private var loadingTally = false

    /// The snapshot of the cycle last handed to `stateWrite`, so an unchanged one is not written again.
    private var lastSaved: BreakCycle.Snapshot?
    /// The state file's writes, one after the other, beside the loop.
    private var stateWrite: Task<Void, Never>?

    /// The last `STATUS=` sent to systemd.
    private var sentStatus: String?
    private var shuttingDown = false

    init(
        parts: Daemon<C>.Parts, inbox: AsyncStream<DaemonInput>.Continuation,
        desktop: AsyncStream<DesktopRequest>.Continuation, feed: StatusFeed
    ) {
        self.parts = parts
        self.inbox = inbox
        self.desktopRequests = desktop
        self.statusFeed = feed
        clock = parts.clock
        time = parts.time
        logger = parts.logger
        settings = parts.settings
        audio = parts.makeAudio(parts.settings.config)
        cycle = BreakCycle(settings: parts.settings.cycleSettings, now: parts.time.now())
        writer = HistoryWriter(store: parts.history, inbox: inbox, logger: parts.logger)
    }

    // MARK: The loop

    func run(_ inputs: AsyncStream<DaemonInput>) async {
        // The earlier run's state, taken up before anything else: one small file, read before the loop runs.
        switch parts.state?.load() ?? .none {
        case .state(let snapshot): await feed(.restore(snapshot, unixTime: time.unixTime()))
        case .ignored(let why): logger.warning("state file ignored; starting afresh: \(why)")
        case .none: break
        }
        loadTally()
        await feed(.timePassed)
        saveState()
        arm()
        var ended = false
        for await input in inputs {
            if ended {
                // Posted before the inbox closed: answered, not acted on.
                DaemonLoopEnd.answer(input)
                continue
            }
            if await handle(input) {
                ended = true
                answerEveryoneWaiting()
                timer?.task.cancel()
                await writer.finish()
                // Saved last, after the session's end was recorded.
                saveState()
                await stateWrite?.value
                inbox.finish()
                continue
            }
            saveState()
            await publishStatus()
            arm()
            if !waitingToSettle.isEmpty, isSettled {
                for done in waitingToSettle { settle(done) }
                waitingToSettle = []
            }
        }
    }

    /// Handles one input; true when the loop is to end.
    private func handle(_ input: DaemonInput) async -> Bool {
        switch input {
        case .request(let request, let reply): await handle(request, reply)
        case .resolved(let routine, let reply):
            besideWork -= 1
            await command(.start(routine), reply)
        case .desktop(let report, let done):
            await handle(report)
            done.resume()
        case .aboutToSleep(let done):
            logger.info("the machine is about to sleep")
            await feed(.aboutToSleep)
            if session != nil { waitingForSessionEnd.append(done) } else { done.resume() }
        case .wallClockChanged(let done):
            logger.info("wall clock changed")
            await feed(.wallClockChanged)
            done.resume()
        case .controlReady(let done):
            logger.info("started", metadata: ["state": "\(cycle.timer.state.rawValue)", "next_break": "\(nextBreakText())"])
            sentStatus = statusLine()
            parts.systemd?.send("READY=1\nSTATUS=\(statusLine())")
            done.resume()
        case .settled(let done):
            writer.flush(then: .settled(done))
        case .shutdown:
            return await shutDown()
        case .timePassed(let generation):
            guard generation == timer?.generation else { break }
            timer = nil
            await feed(.timePassed)
        case .settingsLoaded(let loaded, let reply):
            besideWork -= 1
            await reloaded(loaded, reply)
        case .sessionPrepared(let token, let result):
            besideWork -= 1
            await prepared(token, result)
        case .sessionEnded(let token, let outcome, let played): await sessionEnded(token, outcome, played)
        case .cuePlayed: break
        case .chimed(let problem):
            besideWork -= 1
            if let problem { await feed(.reminderHadNoSound(problem)) }
        case .historyLoaded(let loaded): tallyLoaded(loaded)
        case .recorded(let record):
            if tally != nil { tally?.add(record) } else { writtenWhileLoading.append(record) }
        case .recordsWritten(let waiters):
            for waiter in waiters {
                switch waiter {
                case .sleep(let done): done.resume()
                case .settled(let done): settle(done)
                }
            }
        }
        return false
    }

    /// The loop ends: whoever still waits for it is answered.
    private func answerEveryoneWaiting() {
        for reply in waitingForCounts + [startWaiting, replying].compactMap({ $0 }) {
            reply.resume(returning: .failure(ControlError("the daemon is stopping")))
        }
        for done in waitingForSessionEnd { done.resume() }
        for done in waitingToSettle { done.resume(returning: .zero) }
        (waitingForCounts, startWaiting, replying, waitingForSessionEnd, waitingToSettle) = ([], nil, nil, [], [])
    }

    /// Nothing is under way: no timer is overdue, nothing begun beside the loop is still to post back.
    private var isSettled: Bool {
        besideWork == 0 && tally != nil && !(timer.map { clock.now >= $0.deadline } ?? false)
    }

    /// Answers a test waiting for the loop to settle with the time until the timer goes off, once settled.
    private func settle(_ done: CheckedContinuation<Duration, Never>) {
        guard isSettled else { return waitingToSettle.append(done) }
        done.resume(returning: timer.map { clock.now.duration(to: $0.deadline) } ?? .zero)
    }

    /// Writes the cycle's snapshot when it changed since the last write, beside the loop, after the write before.
    private func saveState() {
        guard let store = parts.state else { return }
        let snapshot = cycle.snapshot(now: time.now(), unixTime: time.unixTime())
        if let lastSaved, !snapshot.differs(from: lastSaved) { return }
        lastSaved = snapshot
        let previous = stateWrite, logger = logger
        stateWrite = Task {
            await previous?.value
            if case .failure(let error) = await BlockingThread.shared.run({ store.save(snapshot) }) {
                logger.error("cannot save the timer state", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Arms the timer for the next thing that can change, unless it is armed for that moment already.
    private func arm() {
        guard !shuttingDown else { return }
        let deadline = clock.now.advanced(by: timeUntilNextWake())
        // The same moment read again a little later (the clocks are read apart) is not a new one.
        if let timer {
            let apart = timer.deadline.duration(to: deadline)
            if apart < .milliseconds(1), apart > .milliseconds(-1) { return }
        }
        timer?.task.cancel()
        timerGeneration += 1
        let generation = timerGeneration
        let task = Task { [clock, inbox] in
            // Cancelled: a newer timer replaced it (the clock takes the deadline off its timer).
            guard (try? await clock.sleep(until: deadline, tolerance: nil)) != nil else { return }
            inbox.yield(.timePassed(generation: generation))
        }
        timer = (deadline, generation, task)
    }

    private func timeUntilNextWake() -> Duration {
        var waits: [Duration] = []
        let wake = cycle.nextWake()
        // `after` counts from the cycle's last reading; inputs that did not feed it (a status) came later.
        if let after = wake.after { waits.append(after - (time.awake() - cycle.timer.lastReading.awake)) }
        if let at = wake.at { waits.append(time.duration(until: at)) }
        // With nothing to wait for (no work days at all), look again daily.
        return max(.zero, waits.min() ?? .seconds(86_400))
    }

    /// SIGTERM or SIGINT: a running session fades out and is recorded; what is being prepared is abandoned; every
    /// record is written. True once there is nothing left to wait for.
    private func shutDown() async -> Bool {
        if !shuttingDown {
            shuttingDown = true
            parts.systemd?.send("STOPPING=1")
            timer?.task.cancel()
            timer = nil
            preparing?.task.cancel()
            preparing = nil
            startWaiting?.resume(returning: .failure(ControlError("the daemon is stopping")))
            startWaiting = nil
            if let session {
                session.logger.info("stopping the session for shutdown")
                await session.scheduler.stop()
            }
        }
        // With a session, its end (an input) comes first; the loop ends after it.
        return session == nil
    }

    // MARK: Feeding the cycle

    /// Hands `input` to the cycle and carries out what it says, feeding back what came of it at once.
    private func feed(_ input: BreakCycle.Input) async {
        var queue = [input]
        while !queue.isEmpty {
            for effect in cycle.handle(queue.removeFirst(), now: time.now()) {
                if let next = await perform(effect) { queue.append(next) }
            }
        }
    }

    private func perform(_ effect: BreakCycle.Effect) async -> BreakCycle.Input? {
        switch effect {
        case .reply(let outcome):
            let reply = ControlReplies.reply(to: outcome)
            if let replying {
                self.replying = nil
                replying.resume(returning: reply)
            } else if let startWaiting {
                self.startWaiting = nil
                startWaiting.resume(returning: reply)
            }
        case .startSession(let routine, let plan): prepare(routine, plan)
        case .chime:
            let audio = audio, inbox = inbox, logger = logger, device = settings.config.device
            // Beside the loop: playing the chime takes as long as the chime.
            besideWork += 1
            Task {
                do throws(ALSAError) {
                    try await audio.chime()
                    inbox.yield(.chimed(nil))
                } catch {
                    logger.warning(
                        "cannot open audio device; reminding without sound, trying again next break",
                        metadata: ["device": "\(device)", "error": "\(error.explanation)", "hint": "\(AudioDeviceProblem.advice)"])
                    inbox.yield(.chimed(AudioDeviceProblem.cannotOpen(device, error)))
                }
            }
        case .notify(let routine):
            desktopRequests.yield(.notify(title: "Time to stretch", body: "\(routine.name): \(routine.steps.count) stretches"))
        case .withdrawNotification: desktopRequests.yield(.withdrawNotification)
        case .notifyNoSound(let routine, let reason):
            desktopRequests.yield(.notify(title: "Break missed: no sound", body: "\(routine.name): \(reason)"))
        case .cancelSessionStart(let reply):
            // Its result, when it comes, is told apart by its token and dropped.
            preparing?.task.cancel()
            preparing = nil
            if let startWaiting {
                self.startWaiting = nil
                startWaiting.resume(returning: ControlReplies.reply(to: reply))
            }
        case .discardSession:
            // `prepared` plays a session only while the cycle waits for it, so none is started to discard.
            break
        case .record(let record): writer.append(historyRecord(record))
        case .log(let note): log(note)
        case .systemdStatus(let summary): sendStatus(summary)
        case .stopSession: await session?.scheduler.stop()
        case .stopSessionForSleep: await session?.scheduler.stopForSleep()
        case .pauseSession: await session?.scheduler.pause()
        case .resumeSession: await session?.scheduler.resume()
        case .skipStep: await session?.scheduler.skipStep()
        }
        return nil
    }

    // MARK: Requests

    private func handle(_ request: ControlRequest, _ reply: CheckedContinuation<ControlReply, Never>) async {
        switch request {
        case .status:
            readTallyAgainIfTheDayWentBack()
            if tally == nil { return waitingForCounts.append(reply) }
            reply.resume(returning: ControlReply(ok: true, status: await status()))
        case .history(let days):
            let store = parts.history, today = time.now().local
            let goal = settings.config.dailyGoal, workDays = settings.config.schedule.days
            // Read from the file, backwards only as far as needed, on the blocking-work thread.
            Task {
                let report = await BlockingThread.shared.run {
                    store.report(today: today, days: days, goal: goal, workDays: workDays)
                }
                reply.resume(returning: ControlReply(ok: true, history: report))
            }
        case .reload:
            let load = parts.loadSettings, inbox = inbox
            parts.systemd?.send("RELOADING=1\nMONOTONIC_USEC=\(time.awake().inMicroseconds)")
            besideWork += 1
            Task { inbox.yield(.settingsLoaded(await BlockingThread.shared.run(load), reply)) }
        case .cycle(.start(let reference?)):
            // Found beside the loop; the cycle gets the routine (or why not) as `.resolved`.
            resolve(reference, reply)
        case .cycle(let command):
            // `start` without a routine: the one the break offers, or the next in turn.
            await self.command(command.map { _ in .offeredOrNext }, reply)
        case .watch: reply.resume(returning: .failure(ControlError(ControlReplies.watchNotHere)))
        }
    }

    private func command(
        _ command: BreakCycle.Command<BreakCycle.StartRoutine>, _ reply: CheckedContinuation<ControlReply, Never>
    ) async {
        replying = reply
        await feed(.command(command))
        guard let replying else { return }
        self.replying = nil
        // Only `start` answers later, once its session is prepared.
        if let startWaiting { startWaiting.resume(returning: .failure(ControlError("a session is starting already"))) }
        startWaiting = replying
    }

    /// Reads the routine `start` names from the routine folder beside the loop, then starts it.
    private func resolve(_ reference: String, _ reply: CheckedContinuation<ControlReply, Never>) {
        besideWork += 1
        if RoutineLibrary.isPath(reference), !reference.hasPrefix("/") {
            inbox.yield(.resolved(.unavailable(
                "routine path \"\(reference)\" is relative; the daemon needs an absolute path (stretchctl start sends one)"),
                reply))
            return
        }
        let inbox = inbox
        Task {
            let found = await BlockingThread.shared.run {
                RoutineLibrary.load(directory: XDGPaths.current.routinesDirectory).library.resolve(reference)
            }
            switch found {
            case .success(let routine): inbox.yield(.resolved(.routine(routine), reply))
            case .failure(let error): inbox.yield(.resolved(.unavailable(error.description), reply))
            }
        }
    }

    private func reloaded(
        _ loaded: Result<DaemonSettings, ConfigError>, _ reply: CheckedContinuation<ControlReply, Never>
    ) async {
        switch loaded {
        case .failure(let error):
            for problem in error.problems { logger.error("config not reloaded: \(problem)") }
            let first = error.problems.first.map { "\($0)" } ?? "unknown problem"
            parts.systemd?.send("READY=1\nSTATUS=Config not reloaded: \(first)")
            sentStatus = nil
            reply.resume(returning: ControlReplies.notReloaded(error))
        case .success(let loaded):
            for warning in loaded.config.warnings { logger.warning("config: \(warning)") }
            for warning in loaded.warnings { logger.warning("skipped routine file: \(warning)") }
            settings = loaded
            audio = parts.makeAudio(loaded.config)
            await feed(.reconfigured(loaded.cycleSettings))
            logger.info("config reloaded", metadata: ["next_break": "\(nextBreakText())"])
            sentStatus = statusLine()
            parts.systemd?.send("READY=1\nSTATUS=\(statusLine())")
            reply.resume(returning: ControlReplies.reloaded(nextBreak: cycle.timer.nextBreak()))
        }
    }

    // MARK: The desktop

    private func handle(_ report: DesktopReport) async {
        // The cycle keeps what the desktop says; a report changes one part of it.
        var desktop = cycle.desktop
        switch report {
        case .notificationAnswered(let answer):
            logger.info("notification answered", metadata: ["answer": "\(answer)"])
            return await feed(.notificationAnswered(answer))
        case .wokeUp:
            logger.info("the machine woke up")
            return await feed(.slept)
        case .locked(let locked):
            guard desktop.locked != locked else { return }
            logger.info(locked ? "screen locked" : "screen unlocked")
            desktop.locked = locked
        case .idle(let since):
            guard desktop.idleSince != since else { return }
            logger.debug(since == nil ? "user active" : "user idle")
            desktop.idleSince = since
        case .doNotDisturb(let source, let on):
            guard desktop.doNotDisturb.contains(source) != on else { return }
            logger.info(on ? "do-not-disturb on" : "do-not-disturb off", metadata: ["source": "\(source)"])
            if on { desktop.doNotDisturb.insert(source) } else { desktop.doNotDisturb.remove(source) }
        case .call(let source, let on):
            guard desktop.calls.contains(source) != on else { return }
            logger.info(on ? "call started" : "call ended", metadata: ["source": "\(source)"])
            if on { desktop.calls.insert(source) } else { desktop.calls.remove(source) }
        }
        await feed(.desktop(desktop))
    }

    // MARK: Sessions

    /// Prepares the session beside the loop: the voiced plan (speech synthesized on the blocking-work thread), then
    /// the sound device; the result comes back as `.sessionPrepared`.
    private func prepare(_ routine: Routine, _ plan: SessionPlan) {
        preparing?.task.cancel()
        besideWork += 1
        tokens += 1
        let token = tokens, audio = audio, inbox = inbox, device = settings.config.device
        let task = Task {
            // The voiced plan: the same tones after a lead-in, and the prompts placed by their real lengths.
            let (plan, speech) = await audio.voiced(plan)
            do throws(ALSAError) {
                let stream = try await audio.sessionStream(speaking: speech)
                inbox.yield(.sessionPrepared(token: token, .success(PreparedSession(plan: plan, stream: stream))))
            } catch {
                inbox.yield(.sessionPrepared(
                    token: token,
                    .failure(SessionProblem(reason: AudioDeviceProblem.cannotOpen(device, error) + "; " + AudioDeviceProblem.advice))))
            }
        }
        preparing = Preparing(token: token, task: task)
    }

    private func prepared(_ token: Int, _ result: Result<PreparedSession, SessionProblem>) async {
        guard let preparing, preparing.token == token, !shuttingDown else {
            // Abandoned (stopped, replaced, or the daemon is stopping): never played.
            if case .success(let prepared) = result { await prepared.stream.finish(.stopped(atStep: 0)) }
            return
        }
        self.preparing = nil
        let prepared: PreparedSession
        switch result {
        case .failure(let problem): return await feed(.sessionCouldNotStart(problem.reason))
        case .success(let ready): prepared = ready
        }
        guard let routine = cycle.startingRoutine else {
            // The cycle no longer wants it.
            return await prepared.stream.finish(.stopped(atStep: 0))
        }
        var sessionLogger = logger
        sessionLogger[metadataKey: "session.routine"] = "\(routine.id)"
        let inbox = inbox
        let output = StatusPublishingOutput(StepLogOutput(logger: sessionLogger)) { inbox.yield(.cuePlayed) }
        let scheduler = CueScheduler(
            plan: prepared.plan, clock: clock, output: output, stream: prepared.stream, awake: time.awake)
        let task = Task {
            let outcome = await scheduler.run()
            let played = await scheduler.timePlayed
            inbox.yield(.sessionEnded(token: token, outcome, played: played))
        }
        session = Session(token: token, routine: routine, scheduler: scheduler, logger: sessionLogger, task: task)
        desktopRequests.yield(.holdSleepLock(true))
        await feed(.sessionStartedPlaying(prepared.plan))
    }

    private func sessionEnded(_ token: Int, _ outcome: SessionOutcome, _ played: Duration) async {
        guard let session, session.token == token else { return }
        self.session = nil
        // The session's prompts are freed with it; malloc would keep their pages (about 3.5 MiB) in its arenas.
        SpeechSynthesizer.releaseFreedMemory()
        await feed(.sessionEnded(outcome, played: played))
        desktopRequests.yield(.holdSleepLock(false))
        // A machine about to sleep waits until the session's record is written.
        for waiter in waitingForSessionEnd { writer.flush(then: .sleep(waiter)) }
        waitingForSessionEnd = []
        if shuttingDown { inbox.yield(.shutdown) }
    }

    // MARK: History

    private func historyRecord(_ record: BreakCycle.Record) -> HistoryRecord {
        let (event, routine, step, minutes, reason): (HistoryRecord.Event, String?, Int?, Double?, String?) =
            switch record {
            case .due(let routine): (.due, routine, nil, nil, nil)
            case .missed(let routine): (.missed, routine, nil, nil, nil)
            case .failed(let routine, let reason): (.failed, routine, nil, nil, reason)
            case .started(let routine): (.started, routine, nil, nil, nil)
            case .completed(let routine, let minutes): (.completed, routine, nil, minutes, nil)
            case .stopped(let routine, let step, let minutes, let bySuspend):
                (.stopped, routine, step, minutes, bySuspend ? "suspend" : "stopped")
            case .skipped(let routine): (.skipped, routine, nil, nil, nil)
            case .snoozed(let routine): (.snoozed, routine, nil, nil, nil)
            }
        return HistoryRecord(
            time: time.unixTime(), date: HistoryRecord.dateText(time.now().local), event: event, routine: routine,
            step: step, minutes: minutes.map { ($0 * 100).rounded() / 100 }, reason: reason)
    }

    /// Reads today's records from the end of the history file on the blocking-work thread (only as far back as
    /// they go).
    private func loadTally() {
        guard !loadingTally else { return }
        loadingTally = true
        let store = parts.history, today = time.now().local, inbox = inbox
        // Taken here, between appends: what is written from now on is counted as it is written.
        let size = store.size()
        tallyDay = today.day
        Task {
            inbox.yield(.historyLoaded(await BlockingThread.shared.run { store.todayTally(today: today, limit: size) }))
        }
    }

    private func tallyLoaded(_ loaded: HistoryTally) {
        guard tally == nil else { return }
        loadingTally = false
        var loaded = loaded
        for record in writtenWhileLoading { loaded.add(record) }
        writtenWhileLoading = []
        tally = loaded
        for warning in loaded.warnings { logger.warning("history: \(warning)") }
        let waiting = waitingForCounts
        waitingForCounts = []
        for reply in waiting { reply.resume(returning: ControlReply(ok: true, status: statusNow())) }
    }

    // MARK: Reports

    /// The status, with the running session's progress.
    private func status() async -> StatusReport {
        var report = statusNow()
        if let session { report.session = await sessionReport(session) }
        return report
    }

    /// The clock went back to an earlier day than the one today's counts were read for: read them again.
    private func readTallyAgainIfTheDayWentBack() {
        guard let tallyDay, tally != nil, time.now().local.day < tallyDay else { return }
        tally = nil
        loadTally()
    }

    /// The status without the session's progress (which needs the scheduler).
    private func statusNow() -> StatusReport {
        let today = time.now().local
        let counts = (tally ?? HistoryTally(keepingDaysAround: today)).counts(today: today)
        let state: StatusReport.State =
            switch cycle.state {
            case .working: .working
            case .breakDue: .breakDue
            case .deferred: .deferred
            case .inSession: .inSession
            case .snoozed: .snoozed
            case .paused: .paused
            case .offHours: .offHours
            }
        // The timer as of now, not as of its last wake-up: work time has been counting since.
        let current = cycle.timer.advanced(to: time.now())
        let next = current.forecast()
        return StatusReport(
            state: state, nextBreak: next.map { ControlReplies.shown($0.at) },
            // From the timer's own work time, not a wall clock subtraction that a DST change would throw off.
            nextBreakIn: next.map { $0.timeUntil(time.duration(until:)).inSeconds },
            pausedUntil: cycle.timer.state == .paused ? cycle.timer.pausedUntil?.description : nil,
            session: nil, breaksToday: counts.taken, worked: current.worked.inSeconds,
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

    /// Publishes the status to the watchers, if any: a status is built only when someone watches, and reaches a
    /// watcher only when what it shows changed.
    private func publishStatus() async {
        guard statusFeed.isWatched, tally != nil else { return }
        let ticket = statusFeed.ticket()
        statusFeed.publish(await status(), ticket: ticket)
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

    private func sendStatus(_ summary: BreakCycle.Summary) {
        let line = statusLine(summary)
        if line != sentStatus, sentStatus != nil {
            sentStatus = line
            parts.systemd?.send("STATUS=\(line)")
        }
    }

    private func nextBreakText() -> String { ControlReplies.nextBreak(cycle.timer.nextBreak()) }

    // MARK: Logs

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
        case .sessionStarted(_, let length):
            (session?.logger ?? logger).info("session started", metadata: ["length": "\(DurationText.format(length))"])
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
}

extension Duration {
    /// Whole microseconds, as sd_notify's `MONOTONIC_USEC` takes them.
    var inMicroseconds: Int64 {
        components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000
    }
}

/// What an input gets when the loop has ended: a request is told the daemon is stopping; anyone else who waits goes
/// on.
enum DaemonLoopEnd {
    static func answer(_ input: DaemonInput) {
        switch input {
        case .request(_, let reply), .resolved(_, let reply), .settingsLoaded(_, let reply):
            reply.resume(returning: .failure(ControlError("the daemon is stopping")))
        case .desktop(_, let done), .aboutToSleep(let done), .wallClockChanged(let done), .controlReady(let done):
            done.resume()
        case .settled(let done): done.resume(returning: .zero)
        case .recordsWritten(let waiters):
            for waiter in waiters {
                switch waiter {
                case .sleep(let done): done.resume()
                case .settled(let done): done.resume(returning: .zero)
                }
            }
        default: break
        }
    }

}
