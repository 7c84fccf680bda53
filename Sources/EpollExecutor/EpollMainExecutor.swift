// SE-0466 (custom main and default executors, scheduling executors) is SPI in Swift 6.3.
@_spi(ExperimentalCustomExecutors) @_spi(ExperimentalScheduling) import _Concurrency

/// An `EpollLoop` as a task executor: jobs of tasks without an actor, and their sleeps.
final class LoopTaskExecutor: TaskExecutor, SchedulingExecutor, @unchecked Sendable {
    // @unchecked: `loop` is set once, by the loop's `init`, before the executor is handed out.
    unowned(unsafe) var loop: EpollLoop!

    func enqueue(_ job: consuming ExecutorJob) {
        loop.enqueue(EpollLoop.Entry(job: UnownedJob(job), serial: nil))
    }

    func enqueue<C: Clock>(_ job: consuming ExecutorJob, at instant: C.Instant, tolerance: C.Duration?, clock: C) {
        loop.schedule(EpollLoop.Entry(job: UnownedJob(job), serial: nil), at: instant, clock: clock)
    }
}

/// An `EpollLoop` as the main actor's executor: its jobs run on the loop's thread, isolated to the main actor,
/// between the loop's other jobs. `run()` runs the loop on the calling thread (the process's main thread).
final class LoopMainExecutor: MainExecutor, SchedulingExecutor, @unchecked Sendable {
    // @unchecked: `loop` is set once, by the loop's `init`, before the executor is handed out.
    unowned(unsafe) var loop: EpollLoop!

    func enqueue(_ job: consuming ExecutorJob) {
        loop.enqueue(EpollLoop.Entry(job: UnownedJob(job), serial: asUnownedSerialExecutor()))
    }

    func enqueue<C: Clock>(_ job: consuming ExecutorJob, at instant: C.Instant, tolerance: C.Duration?, clock: C) {
        loop.schedule(EpollLoop.Entry(job: UnownedJob(job), serial: asUnownedSerialExecutor()), at: instant, clock: clock)
    }

    func run() throws { loop.run() }

    func stop() { loop.stop() }

    var isMainExecutor: Bool { true }

    func checkIsolated() {
        precondition(loop.isLoopThread, "expected to run on the main actor, the event loop's thread")
    }
}

/// The process's executors, as one `EpollLoop` on the main thread: the main actor's jobs, every task without an
/// actor of its own, and `Task.sleep` on `ContinuousClock` and `SuspendingClock` all run there, and an idle
/// process sleeps in `epoll_wait` without waking. (Swift's default executors on Linux are libdispatch's, whose
/// worker pool monitor wakes the process every second once any task has run.)
///
/// An executable installs it with `typealias DefaultExecutorFactory = EpollExecutorFactory` at module level
/// (SE-0466, SPI in Swift 6.3: `@_spi(ExperimentalCustomExecutors) import EpollExecutor`).
@_spi(ExperimentalCustomExecutors) public struct EpollExecutorFactory: ExecutorFactory {
    /// The loop both executors run on.
    public static let loop = EpollLoop()

    public static var mainExecutor: any MainExecutor { loop.mainExecutor }

    public static var defaultExecutor: any TaskExecutor { loop.taskExecutor }
}

extension EpollLoop {
    /// The loop the process's executors run on, when its `DefaultExecutorFactory` is `EpollExecutorFactory`;
    /// otherwise nil.
    public static var installed: EpollLoop? {
        (MainActor.executor as? LoopMainExecutor)?.loop
    }
}
