@testable import EpollExecutor
import InMemoryLogging
import Logging
import ServiceLifecycle
import StretchDaemon
import Synchronization
import Testing

/// The wall clock monitor is one service of the group: a change reaches the daemon, and shutdown ends it.
@Suite(.timeLimit(.minutes(1))) struct WallClockMonitorTests {
    @Test func eachClockChangeCallsBackAndTheMonitorEndsWithTheGroup() async throws {
        let (changes, change) = AsyncStream.makeStream(of: Void.self)
        let (calls, call) = AsyncStream.makeStream(of: Void.self)
        let monitor = WallClockMonitor(logger: Logger(label: "test"), changes: { changes }) { call.yield() }
        let group = ServiceGroup(services: [monitor], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var received = calls.makeAsyncIterator()
            change.yield()
            #expect(await received.next() != nil)
            change.yield()
            #expect(await received.next() != nil)
            await group.triggerGracefulShutdown()
            // The group ends only once the monitor has returned.
            try await tasks.waitForAll()
        }
    }

    @Test func withoutAWatchItWarnsAndStaysUntilTheGroupShutsDown() async throws {
        let log = InMemoryLogHandler()
        let monitor = WallClockMonitor(logger: Logger(label: "test") { _ in log }, changes: { nil }) {}
        let other = Ended()
        let group = ServiceGroup(services: [other, monitor], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            await other.started.first { _ in true }
            while log.entries.isEmpty { await Task.yield() }
            // Had the monitor returned, the group would have cancelled the other service already.
            #expect(!other.cancelled.withLock { $0 })
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(log.entries.map(\.message.description)
            == ["cannot watch for wall clock changes; they are noticed at the next wake-up"])
        #expect(!other.cancelled.withLock { $0 })
    }

    @Test func theClockWatchWaitsOnTheEventLoopAndStopsWhenItsStreamEnds() async throws {
        let loop = EpollLoop()
        loop.startThread()
        defer { loop.stop() }
        let changes = try #require(WallClockMonitor.clockSettings(on: loop))
        // The timerfd is waited for on the loop (setting the clock here would disturb the whole machine).
        for _ in 0..<1_000_000 where loop.waiterCount == 0 { await Task.yield() }
        #expect(loop.waiterCount == 1)
        let consumer = Task { for await _ in changes {} }
        consumer.cancel()
        await consumer.value
        // The stream ended: the wait is cancelled and the descriptor closed.
        for _ in 0..<1_000_000 where loop.waiterCount == 1 { await Task.yield() }
        #expect(loop.waiterCount == 0)
    }

    /// A service that runs until graceful shutdown, and notes whether it was cancelled instead.
    final class Ended: Service {
        let (started, start) = AsyncStream.makeStream(of: Void.self)
        let cancelled = Mutex(false)

        func run() async throws {
            start.yield()
            do {
                try await gracefulShutdown()
            } catch {
                cancelled.withLock { $0 = true }
            }
        }
    }
}
