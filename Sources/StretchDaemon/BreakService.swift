import Logging
import ServiceLifecycle
import StretchCore

/// Decides when breaks happen and runs them; sleeps until the next thing can change, never polls.
///
/// The timing decisions are `BreakTimer`'s; this service feeds it readings of `time` and sleeps on `clock`
/// until the timer's next wake-up: a break coming due, or work hours starting or ending.
public actor BreakService<C: Clock>: Service where C.Duration == Duration {
    /// What the service did, in order; tests await `.sleeping` before advancing a test clock.
    public enum Activity: Sendable, Hashable {
        case sleeping(for: Duration)
        case reminded(routine: String)
    }

    public nonisolated let activity: AsyncStream<Activity>
    private let activitySink: AsyncStream<Activity>.Continuation
    private let clock: C
    private let time: any TimeSource
    private let logger: Logger
    private var timer: BreakTimer
    private let routines: [Routine]
    private let runner: any BreakRunner
    /// Index of the routine the next break offers; they take turns.
    private var nextRoutine = 0

    public init(
        schedule: WorkSchedule, settings: BreakTimer.Settings, routines: [Routine], runner: any BreakRunner, clock: C,
        time: any TimeSource, logger: Logger
    ) {
        precondition(!routines.isEmpty, "a break service needs at least one routine")
        self.clock = clock
        self.time = time
        self.logger = logger
        self.routines = routines
        self.runner = runner
        self.timer = BreakTimer(schedule: schedule, settings: settings, now: time.now())
        (activity, activitySink) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    public func run() async throws {
        logger.info("started", metadata: ["state": "\(timer.state.rawValue)", "next_break": "\(nextBreakText())"])
        do {
            try await cancelWhenGracefulShutdown { try await self.loop() }
        } catch is CancellationError {
            // Graceful shutdown.
        }
        activitySink.finish()
    }

    private func loop() async throws {
        while true {
            let wait = timeUntilNextWake()
            activitySink.yield(.sleeping(for: wait))
            try await clock.sleep(until: clock.now.advanced(by: wait), tolerance: nil)
            await update()
        }
    }

    /// Real time until the timer next needs to look: a break coming due, or work hours starting or ending.
    private func timeUntilNextWake() -> Duration {
        let wake = timer.nextWake()
        let now = time.now()
        let untilLocal = wake.at.map { time.duration(from: now, until: $0) }
        // With nothing to wait for (no work days at all), wake daily to re-read the wall clock.
        return [wake.after, untilLocal].compactMap { $0 }.min() ?? .seconds(86_400)
    }

    private func update() async {
        let now = time.now()
        for event in timer.process(now: now) {
            switch event {
            case .workStarted: logger.info("work hours started", metadata: ["next_break": "\(nextBreakText())"])
            case .workEnded: logger.info("work hours ended", metadata: ["next_break": "\(nextBreakText())"])
            case .naturalBreak(let away):
                logger.info("time away counted as a break", metadata: ["away": "\(DurationText.format(away))"])
            case .clockJumped(let jump):
                logger.notice("wall clock jumped; work hours recomputed", metadata: ["by": "\(DurationText.format(jump))"])
            case .breakDue:
                await takeBreak(now: now)
            }
        }
    }

    /// Announces the break and runs it; the interval restarts when it is over.
    private func takeBreak(now: Moment) async {
        let routine = routines[nextRoutine]
        nextRoutine = (nextRoutine + 1) % routines.count
        logger.notice(
            "break due: time to stretch", metadata: ["routine": "\(routine.id)", "worked": "\(DurationText.format(timer.worked))"])
        activitySink.yield(.reminded(routine: routine.id))
        _ = timer.startSession(now: now)
        await runner.takeBreak(routine: routine)
        _ = timer.finishSession(now: time.now())
        logger.info("next break", metadata: ["at": "\(nextBreakText())"])
    }

    private func nextBreakText() -> String {
        guard let next = timer.nextBreak() else { return "none scheduled" }
        return "\(next.weekday.abbreviation) \(next)"
    }
}
