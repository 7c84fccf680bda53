/// Receives each cue of a session when its time comes.
public protocol CueOutput: Sendable {
    func play(_ cue: PlannedCue, of plan: SessionPlan) async
}

/// A cue placed on a session's stream: `at` is stream time, the time since the session started, pauses included.
public struct StreamCue: Sendable, Hashable {
    public var cue: PlannedCue
    public var at: Duration

    public init(cue: PlannedCue, at: Duration) {
        self.cue = cue
        self.at = at
    }
}

/// An output that is a continuous stream kept a little ahead of the clock, such as a sound card.
///
/// The scheduler calls `fill` every `period` on absolute deadlines, asking for the stream through `lead` past
/// now, and hands over each cue once its start falls in that stretch, with its exact stream time. So where a
/// cue lands in the stream depends only on the plan and on pauses and skips, never on when a wake-up happened.
public protocol StreamOutput: Sendable {
    var period: Duration { get }
    var lead: Duration { get }
    /// Extends the stream through `streamTime`, with `cues` starting at their stream times.
    func fill(through streamTime: Duration, starting cues: [StreamCue]) async
    /// The session is over: a completed one rings out, a stopped one fades out at once.
    func finish(_ outcome: SessionOutcome) async
}

/// How a session ended.
public enum SessionOutcome: Sendable, Hashable {
    case completed
    /// Stopped before the end, during the step with this index.
    case stopped(atStep: Int)
    /// Stopped because the clock jumped far past a cue's time (the machine slept): rather than play every
    /// missed cue at once, the session ends, during the step with this index.
    case interrupted(atStep: Int)
}

/// Plays a session plan into an output on absolute deadlines of a clock.
///
/// Each cue is due at `anchor + offset`, where the anchor is the instant the plan started, moved later by
/// pauses and earlier by skips. Deadlines never depend on when the previous sleep happened to end, so late
/// wake-ups do not add up: a one-hour session ends on time to the clock's resolution.
///
/// With a `StreamOutput`, the scheduler also keeps that stream filled ahead of the clock, silence included while
/// paused, so the stream is the session's timeline: a cue at offset `t` starts `t` (plus pauses) into it.
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

    public nonisolated let plan: SessionPlan
    public nonisolated let events: AsyncStream<Event>
    private let eventSink: AsyncStream<Event>.Continuation
    private let clock: C
    private let output: any CueOutput
    private let stream: (any StreamOutput)?

    /// The instant the session started: stream time zero.
    private var start: C.Instant
    /// The instant that plan offset zero maps to.
    private var anchor: C.Instant
    /// Index of the next cue to play.
    private var next = 0
    /// Index of the next cue to hand to the stream; cues are handed over up to `lead` before they play.
    private var handed = 0
    /// Number of stream fills done; the next is due at `start + period * fills`.
    private var fills = 0
    /// Stream time up to which the stream has been written.
    private var filledThrough = Duration.zero
    private var pausedAt: C.Instant?
    private var stopped = false
    private var sleeper: Task<Void, any Error>?
    private var interrupted = false
    /// A wake-up this late means the machine slept or stalled; the session is not resumed mid-hold.
    public static var interruptionThreshold: Duration { .seconds(5) }
    private var commandWaiter: CheckedContinuation<Void, Never>?

    public init(plan: SessionPlan, clock: C, output: any CueOutput, stream: (any StreamOutput)? = nil) {
        self.plan = plan
        self.clock = clock
        self.output = output
        self.stream = stream
        self.start = clock.now
        self.anchor = clock.now
        (events, eventSink) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Plays the plan from now until its end or `stop()`. Cancelling the calling task stops it too.
    public func run() async -> SessionOutcome {
        start = clock.now
        anchor = start
        await withTaskCancellationHandler {
            await playUntilDone()
        } onCancel: {
            Task { await self.stop() }
        }
        let outcome: SessionOutcome =
            next >= plan.cues.count
            ? .completed
            : interrupted ? .interrupted(atStep: plan.cues[next].step) : .stopped(atStep: plan.cues[next].step)
        await stream?.finish(outcome)
        eventSink.yield(.finished(outcome))
        eventSink.finish()
        return outcome
    }

    private func playUntilDone() async {
        while next < plan.cues.count, !stopped {
            let now = clock.now
            if let stream, now >= fillDeadline(stream) {
                await fill(stream, now: now)
                continue
            }
            let cue = plan.cues[next]
            let cueDeadline = anchor.advanced(by: cue.at)
            // While paused, only cues before the pause point are still due (with a stream, that point can lie a
            // little ahead: the audio already written up to it plays out).
            let cueIsDue = pausedAt.map { cueDeadline < $0 } ?? true
            if cueIsDue, now >= cueDeadline {
                next += 1
                eventSink.yield(.played(cue))
                await output.play(cue, of: plan)
                continue
            }
            var deadline: C.Instant? = cueIsDue ? cueDeadline : nil
            if let stream {
                let fillAt = fillDeadline(stream)
                deadline = deadline.map { min($0, fillAt) } ?? fillAt
            }
            guard let deadline else {
                // Paused without a stream: nothing happens until a command.
                await withCheckedContinuation { commandWaiter = $0 }
                continue
            }
            eventSink.yield(.sleeping(until: deadline))
            let task = Task { [clock] in try await clock.sleep(until: deadline, tolerance: nil) }
            sleeper = task
            let slept = (try? await task.value) != nil
            sleeper = nil
            if slept, deadline.duration(to: clock.now) > Self.interruptionThreshold {
                interrupted = true
                stopped = true
            }
        }
    }

    private func fillDeadline(_ stream: any StreamOutput) -> C.Instant {
        start.advanced(by: stream.period * fills)
    }

    /// Tops the stream up to `lead` past now, handing over the cues that start in that stretch.
    private func fill(_ stream: any StreamOutput, now: C.Instant) async {
        let through = start.duration(to: now) + stream.lead
        var starting: [StreamCue] = []
        let offset = start.duration(to: anchor)
        while pausedAt == nil, handed < plan.cues.count, offset + plan.cues[handed].at < through {
            starting.append(StreamCue(cue: plan.cues[handed], at: offset + plan.cues[handed].at))
            handed += 1
        }
        // Skips fills missed while busy; the stream itself has no gap, as `through` only moves forward.
        fills = Int(start.duration(to: now) / stream.period) + 1
        filledThrough = max(filledThrough, through)
        await stream.fill(through: through, starting: starting)
    }

    /// When a command takes effect: now, or with a stream, the first moment not yet written to it, so that
    /// nothing a command moves lands in audio already sent.
    private var commandTime: C.Instant {
        guard stream != nil else { return clock.now }
        return max(clock.now, start.advanced(by: filledThrough))
    }

    /// Holds the session; the rest of the plan moves later by the length of the pause.
    public func pause() {
        guard pausedAt == nil, !stopped else { return }
        pausedAt = commandTime
        eventSink.yield(.paused)
        interrupt()
    }

    public func resume() {
        guard let pausedAt else { return }
        anchor = anchor.advanced(by: pausedAt.duration(to: commandTime))
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
        handed = max(handed, target)
        anchor = (pausedAt ?? commandTime).advanced(by: .zero - plan.cues[target].at)
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
        let now = clock.now
        return plan.progress(at: anchor.duration(to: pausedAt.map { min($0, now) } ?? now))
    }

    public var isPaused: Bool { pausedAt != nil }

    /// Wakes the run loop so it re-reads the state a command changed.
    private func interrupt() {
        sleeper?.cancel()
        commandWaiter?.resume()
        commandWaiter = nil
    }
}
