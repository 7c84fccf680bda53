/// Receives each cue of a session when its time comes.
public protocol CueOutput: Sendable {
    func play(_ cue: PlannedCue, of plan: SessionPlan) async
}

/// How a session ended.
public enum SessionOutcome: Sendable, Hashable {
    case completed
    /// Stopped before the end, during the step with this index.
    case stopped(atStep: Int)
}

/// Plays a session plan into an output on absolute deadlines of a clock.
///
/// Each cue is due at `anchor + offset`, where the anchor is the instant the plan started, moved later by
/// pauses and earlier by skips. Deadlines never depend on when the previous sleep happened to end, so late
/// wake-ups do not add up: a one-hour session ends on time to the clock's resolution.
///
/// The scheduler reports what it does through `events`; tests await `.sleeping(until:)` before advancing a test
/// clock, so they never race the scheduler's task.
public actor CueScheduler<C: Clock> where C.Duration == Duration {
    public enum Event: Sendable, Hashable {
        case sleeping(until: C.Instant)
        case played(PlannedCue)
        case paused
        case resumed
        /// Moved on to the cue at this index of the plan.
        case skipped(to: Int)
        case finished(SessionOutcome)
    }

    public let plan: SessionPlan
    public nonisolated let events: AsyncStream<Event>
    private let eventSink: AsyncStream<Event>.Continuation
    private let clock: C
    private let output: any CueOutput

    /// The instant that plan offset zero maps to.
    private var anchor: C.Instant
    /// Index of the next cue to play.
    private var next = 0
    private var pausedAt: C.Instant?
    private var stopped = false
    private var sleeper: Task<Void, any Error>?
    private var commandWaiter: CheckedContinuation<Void, Never>?

    public init(plan: SessionPlan, clock: C, output: any CueOutput) {
        self.plan = plan
        self.clock = clock
        self.output = output
        self.anchor = clock.now
        (events, eventSink) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Plays the plan from now until its end or `stop()`. Cancelling the calling task stops it too.
    public func run() async -> SessionOutcome {
        anchor = clock.now
        await withTaskCancellationHandler {
            await playUntilDone()
        } onCancel: {
            Task { await self.stop() }
        }
        let outcome: SessionOutcome =
            next >= plan.cues.count ? .completed : .stopped(atStep: plan.cues[next].step)
        eventSink.yield(.finished(outcome))
        eventSink.finish()
        return outcome
    }

    private func playUntilDone() async {
        while next < plan.cues.count, !stopped {
            if pausedAt != nil {
                await withCheckedContinuation { commandWaiter = $0 }
                continue
            }
            let cue = plan.cues[next]
            let deadline = anchor.advanced(by: cue.at)
            if clock.now >= deadline {
                next += 1
                eventSink.yield(.played(cue))
                await output.play(cue, of: plan)
                continue
            }
            eventSink.yield(.sleeping(until: deadline))
            let task = Task { [clock] in try await clock.sleep(until: deadline, tolerance: nil) }
            sleeper = task
            _ = try? await task.value
            sleeper = nil
        }
    }

    /// Holds the session; the rest of the plan moves later by the length of the pause.
    public func pause() {
        guard pausedAt == nil, !stopped else { return }
        pausedAt = clock.now
        eventSink.yield(.paused)
        interrupt()
    }

    public func resume() {
        guard let pausedAt else { return }
        anchor = anchor.advanced(by: pausedAt.duration(to: clock.now))
        self.pausedAt = nil
        eventSink.yield(.resumed)
        interrupt()
    }

    /// Ends the current step now: its `step-end` (or `session-end`) plays at once and the transition follows.
    /// Between steps, starts the next step's countdown at once instead.
    public func skipStep() {
        guard next < plan.cues.count, !stopped else { return }
        let inTransition = next > 0 && plan.cues[next - 1].cue == .stepEnd
        let target =
            inTransition
            ? next
            : plan.cues[next...].firstIndex { $0.cue == .stepEnd || $0.cue == .sessionEnd } ?? next
        next = target
        anchor = (pausedAt ?? clock.now).advanced(by: .zero - plan.cues[target].at)
        eventSink.yield(.skipped(to: target))
        interrupt()
    }

    public func stop() {
        guard !stopped else { return }
        stopped = true
        interrupt()
    }

    /// Where the session is now.
    public var progress: SessionProgress {
        plan.progress(at: anchor.duration(to: pausedAt ?? clock.now))
    }

    public var isPaused: Bool { pausedAt != nil }

    /// Wakes the run loop so it re-reads the state a command changed.
    private func interrupt() {
        sleeper?.cancel()
        commandWaiter?.resume()
        commandWaiter = nil
    }
}
