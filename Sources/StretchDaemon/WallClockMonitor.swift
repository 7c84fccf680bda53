import CLinux
import EpollExecutor
import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Calls back when the wall clock is set (by hand, or stepped by NTP), so work hours can be recomputed at once.
/// A `Service`: it runs in the daemon's `ServiceGroup` and ends with it.
///
/// Daylight-saving changes do not set the clock (only the local offset moves), so they need no wake-up: the next
/// wake-up time is computed with `mktime`, which knows the offset in force then.
public struct WallClockMonitor: Service {
    /// Where clock changes come from: one element per change; nil when they cannot be watched.
    public typealias Changes = @Sendable () -> AsyncStream<Void>?

    private let changes: Changes
    private let onChange: @Sendable () async -> Void
    private let logger: Logger

    public init(
        logger: Logger, changes: @escaping Changes,
        onChange: @escaping @Sendable () async -> Void
    ) {
        self.changes = changes
        self.onChange = onChange
        self.logger = logger
    }

    public func run() async throws {
        guard let events = changes() else {
            logger.warning("cannot watch for wall clock changes; they are noticed at the next wake-up")
            // Returning would end the whole group: stay until it shuts down.
            try? await gracefulShutdown()
            return
        }
        for await _ in events.cancelOnGracefulShutdown() { await onChange() }
    }

    /// Each setting of `CLOCK_REALTIME`, from a `timerfd` armed with `TFD_TIMER_CANCEL_ON_SET`: it becomes
    /// readable, failing with `ECANCELED`, whenever the clock is set. A task waits for that on `loop` (the
    /// daemon's event loop), without polling; the descriptor is closed when the stream ends.
    @Sendable public static func clockSettings(on loop: EpollLoop) -> AsyncStream<Void>? {
        let fd = timerfd_create(CLOCK_REALTIME, Int32(TFD_CLOEXEC | TFD_NONBLOCK))
        guard fd >= 0 else { return nil }
        guard arm(fd) else {
            close(fd)
            return nil
        }
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let watcher = Task(executorPreference: loop.taskExecutor) {
            defer {
                close(fd)
                continuation.finish()
            }
            while (try? await loop.waitReadable(fd)) != nil {
                var expirations: UInt64 = 0
                if read(fd, &expirations, 8) < 0, errno == ECANCELED {
                    _ = arm(fd)
                    continuation.yield()
                }
            }
        }
        continuation.onTermination = { _ in watcher.cancel() }
        return stream
    }

    /// Arms the timer for the far future, so it only ever fires by being cancelled by a clock change.
    private static func arm(_ fd: Int32) -> Bool {
        var spec = itimerspec()
        spec.it_value.tv_sec = time_t(Int32.max)
        return timerfd_settime(fd, Int32(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET), &spec, nil) == 0
    }
}
