import Clocks
import Synchronization

/// Awake time on a test clock: the clock's time less what the test declares was spent suspended.
public final class TestAwakeTime: Sendable {
    public let clock: TestClock<Duration>
    private let suspended = Mutex(Duration.zero)

    public init(clock: TestClock<Duration>) { self.clock = clock }

    @Sendable public func read() -> Duration {
        TestClock<Duration>.Instant().duration(to: clock.now) - suspended.withLock { $0 }
    }

    /// Time from now on until the next reading passes with the machine asleep.
    public func willSuspend(for duration: Duration) { suspended.withLock { $0 += duration } }
}
