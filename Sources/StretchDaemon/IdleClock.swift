#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Dispatch
import Synchronization

/// `ContinuousClock`'s time, with sleeps that cost nothing while they last: the clock an idle daemon waits on.
///
/// On Linux, libdispatch re-arms its timer every second while any Swift sleep is pending, so a daemon waiting an
/// hour for its next break would still wake 3600 times. Here each sleep is a `timerfd` on `CLOCK_BOOTTIME` (the
/// clock `ContinuousClock` reads, which keeps counting through suspend) watched by a dispatch read source: the
/// kernel wakes the process once, at the deadline.
public struct IdleClock: Clock {
    public typealias Instant = ContinuousClock.Instant

    public init() {}

    public var now: Instant { ContinuousClock.now }
    public var minimumResolution: Duration { .nanoseconds(1) }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let delay = now.duration(to: deadline)
        guard delay > .zero else { return }
        guard let timer = TimerfdSleep(delay: delay) else {
            // No timerfd (unlikely): fall back to the ordinary clock.
            return try await ContinuousClock().sleep(until: deadline, tolerance: tolerance)
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { timer.start($0) }
        } onCancel: {
            timer.cancel()
        }
    }
}

/// Where the timerfds' dispatch sources run: a serial queue of our own, never a global concurrent queue, whose first
/// use would start libdispatch's once-a-second worker-pool monitor.
private let timerQueue = DispatchQueue(label: "stretchd.idle-clock")

/// One armed timerfd and the dispatch source waiting on it; resumes its continuation exactly once, with whichever
/// comes first: the deadline or cancellation.
private final class TimerfdSleep: @unchecked Sendable {
    // @unchecked: `source` is thread-safe (dispatch), and everything else is behind `state`'s lock.
    private let source: any DispatchSourceRead
    private let state = Mutex<(continuation: CheckedContinuation<Void, any Error>?, outcome: Result<Void, any Error>?)>(
        (nil, nil))

    init?(delay: Duration) {
        let fd = timerfd_create(CLOCK_BOOTTIME, Int32(TFD_CLOEXEC | TFD_NONBLOCK))
        guard fd >= 0 else { return nil }
        var spec = itimerspec()
        let (seconds, attoseconds) = delay.components
        spec.it_value.tv_sec = time_t(seconds)
        spec.it_value.tv_nsec = max(1, Int(attoseconds / 1_000_000_000))
        guard timerfd_settime(fd, 0, &spec, nil) == 0 else {
            close(fd)
            return nil
        }
        source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: timerQueue)
        source.setCancelHandler { close(fd) }
        source.setEventHandler { [weak self] in self?.complete(.success(())) }
        source.resume()
    }

    func start(_ continuation: CheckedContinuation<Void, any Error>) {
        let outcome = state.withLock { state in
            if state.outcome == nil { state.continuation = continuation }
            return state.outcome
        }
        if let outcome { continuation.resume(with: outcome) }
    }

    func cancel() { complete(.failure(CancellationError())) }

    /// Records the first outcome, and resumes the waiting task if there is one yet.
    private func complete(_ outcome: Result<Void, any Error>) {
        let waiting = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard state.outcome == nil else { return nil }
            state.outcome = outcome
            defer { state.continuation = nil }
            return state.continuation
        }
        source.cancel()
        waiting?.resume(with: outcome)
    }

    deinit { source.cancel() }
}
