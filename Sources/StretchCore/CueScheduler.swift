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

/// A spoken prompt placed on a session's stream: `at` is stream time, as for `StreamCue`.
public struct StreamPrompt: Sendable, Hashable {
    public var prompt: PlannedPrompt
    public var at: Duration

    public init(prompt: PlannedPrompt, at: Duration) {
        self.prompt = prompt
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
    /// The same, with the plan's spoken prompts that start in that stretch; a stream without a voice ignores them.
    func fill(through streamTime: Duration, starting cues: [StreamCue], speaking prompts: [StreamPrompt]) async
    /// The session is over: a completed one rings out, a stopped one fades out at once.
    func finish(_ outcome: SessionOutcome) async
}

extension StreamOutput {
    public func fill(through streamTime: Duration, starting cues: [StreamCue], speaking prompts: [StreamPrompt]) async {
        await fill(through: streamTime, starting: cues)
    }
}

/// How a session ended.
public enum SessionOutcome: Sendable, Hashable {
    case completed
    /// Stopped before the end, during the step with this index.
    case stopped(atStep: Int)
    /// Stopped because the machine was suspended past a cue's time: rather than play every missed cue at once,
    /// the session ends, during the step with this index.
    case interrupted(atStep: Int)
}

/// Why a wake-up came late, judged from two clocks read across the sleep: one that counts suspend
/// (`CLOCK_BOOTTIME`, the scheduler's clock) and one that stops in it (`CLOCK_MONOTONIC`, "awake" time).
public enum LateWake: Sendable, Hashable {
    /// The machine was suspended for about this long: the first clock advanced that much more than awake time.
    case suspended(Duration)
    /// The process did not run for this long past its deadline, with the machine awake: stopped (SIGSTOP, a
    /// debugger) or starved. Both clocks advanced alike.
    case stalled(Duration)

    /// Classifies a wake-up `late` past its deadline, over a sleep during which the scheduler's clock advanced by
    /// `elapsed` and awake time by `awake`; nil when it is not later than `threshold`.
    public static func classify(late: Duration, elapsed: Duration, awake: Duration, threshold: Duration) -> LateWake? {
        guard late > threshold else { return nil }
        let asleep = elapsed - awake
        return asleep > threshold ? .suspended(asleep) : .stalled(late)
    }
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
/// A wake-up more than `interruptionThreshold` late is judged with a second reading, awake time: a suspend ends
/// the session (`.interrupted`); a stall (the process stopped or starved while the machine was awake) is taken
/// out of the session like a pause, so it goes on where it was and the stalled time never counts as played.
///
/// The scheduler reports what it does through `events`; tests await `.sleeping(until:)` before advancing a test
/// clock, so they never race the scheduler's task. The stream keeps only the newest events when nobody reads it.
public actor CueScheduler<C: Clock> where C.Duration == Duration {
    public enum Event: Sendable, Hashable {
        case sleeping(until: C.Instant)
        case played(PlannedCue)
        case paused
        case resumed
        /// Moved on to the cue at this index of the plan.
        case skipped(to: Int)
        /// The process did not run for this long (see `LateWake.stalled`); the session goes on where it was.
        case stalled(for: Duration)
        case finished(SessionOutcome)
    }

    /// Events kept for a reader that falls behind; older ones are dropped.
    public static var eventBufferSize: Int { 256 }

    public nonisolated let plan: SessionPlan
    public nonisolated let events: AsyncStream<Event>
    private let eventSink: AsyncStream<Event>.Continuation
    private let clock: C
    private let output: any CueOutput
    private let stream: (any StreamOutput)?
    private let awakeTime: @Sendable () -> Duration

    /// The instant `run()` began.
    private var began: C.Instant
    /// The instant the session started: stream time zero. A stall moves it later, as the stream did not run.
    private var start: C.Instant
    /// The instant that plan offset zero maps to.
    private var anchor: C.Instant
    /// Index of the next cue to play.
    private var next = 0
    /// Index of the next cue to hand to the stream; cues are handed over up to `lead` before they play.
    private var handed = 0
    /// Index of the next spoken prompt to hand to the stream, handed over like the cues.
    private var spoken = 0
    /// Number of stream fills done; the next is due at `start + period * fills`.
    private var fills = 0
    /// Stream time up to which the stream has been written.
    private var filledThrough = Duration.zero
    private var pausedAt: C.Instant?
    /// Time spent paused, up to the last resume.
    private var pausedTotal = Duration.zero
    /// Time the session did not run though the clock went on: stalls, and the suspend that interrupted it.
    private var lost = Duration.zero
    private var stopped = false
    private var sleeper: Task<Void, any Error>?
    private var interrupted = false
    /// A wake-up this late means the machine slept (the session is not resumed mid-hold) or the process stalled.
    public static var interruptionThreshold: Duration { .seconds(5) }
    /// How long the session actually ran, once `run()` has returned: from its start to its end, less pauses and
    /// the time lost to stalls or the suspend that interrupted it. Skipped parts never ran, so they are not in it.
    public private(set) var timePlayed = Duration.zero
    private var commandWaiter: CheckedContinuation<Void, Never>?

    /// `awake` reads time the machine has been awake (`TimeSource.awake`: it stops in suspend, unlike `clock`).
    public init(
        plan: SessionPlan, clock: C, output: any CueOutput, stream: (any StreamOutput)? = nil,
        awake: @escaping @Sendable () -> Duration
    ) {
        self.plan = plan
        self.clock = clock
        self.output = output
        self.stream = stream
        self.awakeTime = awake
        self.began = clock.now
        self.start = clock.now
        self.anchor = clock.now
        (events, eventSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(Self.eventBufferSize))
    }

    /// Plays the plan from now until its end or `stop()`. Cancelling the calling task stops it too.
    public func run() async -> SessionOutcome {
        began = clock.now
        start = began
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
        let end = clock.now
        if let pausedAt { pausedTotal += max(.zero, pausedAt.duration(to: end)) }
        timePlayed = max(.zero, began.duration(to: end) - pausedTotal - lost)
        if outcome == .completed, let stream, spoken < plan.prompts.count {
            // The closing prompt comes after the last cue: handed over now, so the stream rings out through it.
            let offset = start.duration(to: anchor)
            let rest = plan.prompts[spoken...].map { StreamPrompt(prompt: $0, at: offset + $0.at) }
            spoken = plan.prompts.count
            await stream.fill(through: filledThrough, starting: [], speaking: rest)
        }
        await stream?.finish(outcome)
        eventSink.yield(.finished(outcome))
        eventSink.finish()
        return outcome
    }

    /// The clocks when the scheduler last handed control away (to a sleep, the stream or the output), and when it
    /// expected to run again: what lateness is measured against.
    private struct Checkpoint {
        var at: C.Instant
        var awake: Duration
        var due: C.Instant
    }

    private func playUntilDone() async {
        var checkpoint: Checkpoint?
        while true {
            if let checkpoint, !stopped { judgeLateness(since: checkpoint) }
            guard next < plan.cues.count, !stopped else { break }
            let now = clock.now
            checkpoint = Checkpoint(at: now, awake: awakeTime(), due: now)
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
                checkpoint = nil
                continue
            }
            checkpoint?.due = deadline
            eventSink.yield(.sleeping(until: deadline))
            let task = Task { [clock] in try await clock.sleep(until: deadline, tolerance: nil) }
            sleeper = task
            let slept = (try? await task.value) != nil
            sleeper = nil
            // Woken early by a command: not late.
            if !slept { checkpoint = nil }
        }
    }

    /// Ends the session after a suspend, or takes a stall out of it, when the scheduler runs much later than it
    /// expected to.
    private func judgeLateness(since checkpoint: Checkpoint) {
        let now = clock.now
        let late = checkpoint.due.duration(to: now)
        switch LateWake.classify(
            late: late, elapsed: checkpoint.at.duration(to: now), awake: awakeTime() - checkpoint.awake,
            threshold: Self.interruptionThreshold)
        {
        case .suspended?:
            lost += late
            interrupted = true
            stopped = true
        case .stalled(let stall)?:
            skipOver(stall)
        case nil:
            break
        }
    }

    /// Takes a stall out of the session: everything still to come, the stream included, moves later by its length.
    private func skipOver(_ stall: Duration) {
        start = start.advanced(by: stall)
        anchor = anchor.advanced(by: stall)
        pausedAt = pausedAt?.advanced(by: stall)
        lost += stall
        eventSink.yield(.stalled(for: stall))
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
        var speaking: [StreamPrompt] = []
        while pausedAt == nil, spoken < plan.prompts.count, offset + plan.prompts[spoken].at < through {
            speaking.append(StreamPrompt(prompt: plan.prompts[spoken], at: offset + plan.prompts[spoken].at))
            spoken += 1
        }
        // Skips fills missed while busy; the stream itself has no gap, as `through` only moves forward.
        fills = Int(start.duration(to: now) / stream.period) + 1
        filledThrough = max(filledThrough, through)
        await stream.fill(through: through, starting: starting, speaking: speaking)
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
        let length = pausedAt.duration(to: commandTime)
        anchor = anchor.advanced(by: length)
        pausedTotal += length
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
        // The skipped stretch's prompts are skipped with it; the transition's own are still said.
        spoken = max(spoken, plan.prompts.firstIndex { $0.at >= plan.cues[target].at } ?? plan.prompts.count)
        anchor = (pausedAt ?? commandTime).advanced(by: .zero - plan.cues[target].at)
        eventSink.yield(.skipped(to: target))
        interrupt()
    }

    public func stop() {
        guard !stopped else { return }
        stopped = true
        interrupt()
    }

    /// Stops the session because the machine is about to sleep: it fades out like a stopped one and ends as
    /// `.interrupted`, as one the suspend cut short would.
    public func stopForSleep() {
        guard !stopped else { return }
        interrupted = true
        stop()
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
