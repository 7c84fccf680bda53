@testable import EpollExecutor
import StretchSystem
import Synchronization
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What tasks on other threads write down, in order.
final class Record<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])
    func append(_ value: Value) { values.withLock { $0.append(value) } }
    var all: [Value] { values.withLock { $0 } }
}

/// Each test runs its own loop on a thread of its own; tasks run on it through `Task(executorPreference:)`.
@Suite(.timeLimit(.minutes(1))) struct EpollLoopTests {
    let loop: EpollLoop

    init() {
        loop = EpollLoop()
        loop.startThread()
    }

    /// Yields until `condition` holds, a bounded number of times (it never sleeps); false if it never did.
    func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<1_000_000 {
            if condition() { return true }
            await Task.yield()
        }
        return condition()
    }

    @Test func runsTasksInTheOrderTheyWereEnqueued() async {
        let order = Record<Int>()
        let loop = loop
        let tasks = (0..<50).map { index in
            Task(executorPreference: loop.taskExecutor) {
                #expect(loop.isLoopThread)
                order.append(index)
            }
        }
        for task in tasks { await task.value }
        #expect(order.all == Array(0..<50))
        loop.stop()
    }

    @Test func aJobFromAnotherThreadWakesTheParkedLoop() async {
        #expect(await eventually { loop.isParked })
        let ran = await Task(executorPreference: loop.taskExecutor) { loop.isLoopThread }.value
        #expect(ran)
        // And again, once it has parked a second time.
        #expect(await eventually { loop.isParked })
        #expect(await Task(executorPreference: loop.taskExecutor) { loop.isLoopThread }.value)
        loop.stop()
    }

    @Test func sleepsOnBothClocksWakeInDeadlineOrderThroughTheLoopsTimers() async throws {
        let woken = Record<String>()
        let loop = loop
        let continuous = ContinuousClock(), suspending = SuspendingClock()
        let start = (continuous.now, suspending.now)
        func sleeper(_ name: String, _ sleep: @escaping @Sendable () async throws -> Void) -> Task<Void, any Error> {
            Task(executorPreference: loop.taskExecutor) {
                try await sleep()
                #expect(loop.isLoopThread)
                woken.append(name)
            }
        }
        // Started latest deadline first, so the order they wake in is not the order they started in. The deadlines
        // are far enough apart that the three start before the first is due, even on a loaded machine.
        let tasks = [
            sleeper("third (continuous)") { try await continuous.sleep(until: start.0 + .milliseconds(300)) },
            sleeper("second (suspending)") { try await suspending.sleep(until: start.1 + .milliseconds(200)) },
            sleeper("first (Task.sleep)") { try await Task.sleep(until: start.0 + .milliseconds(100), clock: continuous) },
        ]
        // All three wait on the loop's timers, not on another thread's.
        #expect(await eventually { loop.pendingTimerCount == 3 || !woken.all.isEmpty })
        for task in tasks { try await task.value }
        #expect(woken.all == ["first (Task.sleep)", "second (suspending)", "third (continuous)"])
        #expect(loop.pendingTimerCount == 0)
        loop.stop()
    }

    @Test(arguments: ["continuous", "suspending"])
    func aCancelledSleepEndsAtOnceWithCancellationError(clock: String) async {
        let task = Task(executorPreference: loop.taskExecutor) {
            if clock == "continuous" {
                try await ContinuousClock().sleep(for: .seconds(3600))
            } else {
                try await SuspendingClock().sleep(for: .seconds(3600))
            }
        }
        #expect(await eventually { loop.pendingTimerCount == 1 })
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        loop.stop()
    }

    @Test func loopClockSleepsWakeInDeadlineOrder() async throws {
        let woken = Record<Int>()
        let clock = LoopClock(loop: loop)
        let start = clock.now
        // On the loop, so they go on in the order the loop resumes them; started latest deadline first.
        let tasks = [300, 100, 200].map { milliseconds in
            Task(executorPreference: loop.taskExecutor) {
                try await clock.sleep(until: start + .milliseconds(milliseconds))
                woken.append(milliseconds)
            }
        }
        for task in tasks { try await task.value }
        #expect(woken.all == [100, 200, 300])
        #expect(loop.pendingTimerCount == 0)
        loop.stop()
    }

    @Test func aCancelledLoopClockSleepTakesItsDeadlineOffTheTimer() async {
        let clock = LoopClock(loop: loop)
        let task = Task { try await clock.sleep(for: .seconds(3600)) }
        #expect(await eventually { loop.pendingTimerCount == 1 })
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        // Nothing is left to wake the loop in an hour.
        #expect(loop.pendingTimerCount == 0)
        // Cancelled before it starts, it ends at once too.
        let cancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await clock.sleep(for: .seconds(3600))
        }
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(loop.pendingTimerCount == 0)
        loop.stop()
    }

    @Test func waitsUntilADescriptorIsReadable() async throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let readEnd = fds[0], writeEnd = fds[1]
        let readable = Record<Bool>()
        let loop = loop
        let task = Task(executorPreference: loop.taskExecutor) {
            try await loop.waitReadable(readEnd)
            readable.append(true)
        }
        #expect(await eventually { loop.waiterCount == 1 })
        #expect(await eventually { loop.isParked })
        #expect(readable.all.isEmpty)
        var byte: UInt8 = 1
        #expect(write(writeEnd, &byte, 1) == 1)
        try await task.value
        #expect(readable.all == [true])
        #expect(loop.waiterCount == 0)
        loop.stop()
    }

    @Test func aCancelledDescriptorWaitEndsAndTheDescriptorCanBeWaitedForAgain() async throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let readEnd = fds[0], writeEnd = fds[1]
        let first = Task(executorPreference: loop.taskExecutor) { try await loop.waitReadable(readEnd) }
        #expect(await eventually { loop.waiterCount == 1 })
        first.cancel()
        await #expect(throws: CancellationError.self) { try await first.value }
        #expect(loop.waiterCount == 0)
        let second = Task(executorPreference: loop.taskExecutor) { try await loop.waitReadable(readEnd) }
        #expect(await eventually { loop.waiterCount == 1 })
        var byte: UInt8 = 1
        #expect(write(writeEnd, &byte, 1) == 1)
        try await second.value
        loop.stop()
    }

    /// A connected pair of stream sockets, `ours` non-blocking and filled until the kernel takes no more; how many
    /// bytes that took. The caller closes both.
    private func fullSocketPair() -> (ours: Int32, peer: Int32, written: Int) {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        #expect(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0)
        var chunk = [UInt8](repeating: 0, count: 4096)
        var written = 0
        while true {
            let count = send(fds[0], &chunk, chunk.count, Int32(MSG_NOSIGNAL))
            guard count > 0 else { break }
            written += count
        }
        #expect(errno == EAGAIN)
        return (fds[0], fds[1], written)
    }

    @Test func waitsUntilAFullSocketHasRoomToWriteAgain() async throws {
        let (ours, peer, written) = fullSocketPair()
        defer { close(ours); close(peer) }
        var chunk = [UInt8](repeating: 0, count: 4096)
        let writable = Record<Bool>()
        let loop = loop
        let task = Task(executorPreference: loop.taskExecutor) {
            try await loop.waitWritable(ours)
            writable.append(true)
        }
        #expect(await eventually { loop.waiterCount == 1 })
        #expect(await eventually { loop.isParked })
        #expect(writable.all.isEmpty)
        // The peer reads everything: there is room again.
        var drained = 0
        while drained < written {
            let count = recv(peer, &chunk, chunk.count, 0)
            guard count > 0 else { break }
            drained += count
        }
        try await task.value
        #expect(writable.all == [true])
        #expect(loop.waiterCount == 0)
        loop.stop()
    }

    @Test func oneTaskWaitsToReadWhileAnotherWaitsToWriteTheSameDescriptor() async throws {
        let (ours, peer, _) = fullSocketPair()
        defer { close(ours); close(peer) }
        var chunk = [UInt8](repeating: 0, count: 4096)
        let order = Record<String>()
        let loop = loop
        let reader = Task(executorPreference: loop.taskExecutor) {
            try await loop.waitReadable(ours)
            order.append("readable")
        }
        let writer = Task(executorPreference: loop.taskExecutor) {
            try await loop.waitWritable(ours)
            order.append("writable")
        }
        #expect(await eventually { loop.waiterCount == 2 })
        #expect(await eventually { loop.isParked })
        // The peer writes a byte: only the reader wakes; the writer still waits, for room.
        var byte: UInt8 = 1
        #expect(send(peer, &byte, 1, 0) == 1)
        try await reader.value
        #expect(order.all == ["readable"])
        #expect(await eventually { loop.waiterCount == 1 && loop.isParked })
        while recv(peer, &chunk, chunk.count, Int32(MSG_DONTWAIT)) > 0 {}
        try await writer.value
        #expect(order.all == ["readable", "writable"])
        #expect(loop.waiterCount == 0)
        loop.stop()
    }

    @Test func aDescriptorThatCannotBeWatchedIsAnError() async {
        let fd = open("/dev/null", O_RDONLY)
        defer { close(fd) }
        await #expect(throws: SystemCallError("epoll_ctl", .notPermitted)) {
            try await loop.waitReadable(fd)
        }
        loop.stop()
    }
}

@Suite(.timeLimit(.minutes(1))) struct BlockingThreadTests {
    @Test func runsWorkOnItsOwnThreadInOrderAndReturnsWhatItReturnsOrThrows() async throws {
        let thread = BlockingThread()
        let order = Record<Int>()
        let caller = pthread_self()
        let elsewhere: Bool = await thread.run {
            order.append(1)
            return pthread_equal(pthread_self(), caller) == 0
        }
        #expect(elsewhere)
        let count: Int = await thread.run {
            order.append(2)
            return order.all.count
        }
        #expect(count == 2)
        #expect(order.all == [1, 2])
        struct Failure: Error, Equatable {}
        await #expect(throws: Failure()) { try await thread.run { () throws(Failure) -> Int in throw Failure() } }
    }

    @Test func runsTasksThatPreferIt() async {
        let thread = BlockingThread()
        let result = await Task(executorPreference: thread) { () async -> Int in
            await Task.yield()
            return 42
        }.value
        #expect(result == 42)
    }
}
