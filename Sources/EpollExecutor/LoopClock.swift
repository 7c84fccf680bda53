/// `ContinuousClock`'s time, with sleeps on an `EpollLoop`'s `CLOCK_BOOTTIME` timer that leave nothing behind
/// when cancelled (`EpollLoop.sleep(until:)`): the clock for code that often cancels its sleeps, like a daemon
/// woken early by commands, so that the cancelled deadlines do not wake the idle process later.
public struct LoopClock: Clock {
    public typealias Instant = ContinuousClock.Instant

    public let loop: EpollLoop

    public init(loop: EpollLoop) { self.loop = loop }

    public var now: Instant { ContinuousClock.now }
    public var minimumResolution: Duration { .nanoseconds(1) }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try await loop.sleep(until: deadline)
    }
}
