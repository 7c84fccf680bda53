// SE-0466 (custom main and default executors, scheduling executors) is SPI in Swift 6.3.
@_spi(ExperimentalCustomExecutors) import _Concurrency
import CLinux
import StretchSystem
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A thread of its own for work that blocks (file reads, `fsync`, `waitpid`), so that it never holds up an
/// `EpollLoop`. Runs one piece of work at a time, in the order given; between them it blocks in `read` on an
/// eventfd, so an idle one never wakes.
///
/// `run(_:)` awaits a synchronous closure there; as a `TaskExecutor` (`Task(executorPreference:)`), whole async
/// functions run there.
public final class BlockingThread: TaskExecutor, @unchecked Sendable {
    // @unchecked: `work` is behind its lock; `eventFD` is written once in `init`.
    private enum Work {
        case job(UnownedJob)
        case closure(@Sendable () -> Void)
    }

    private let work = Mutex<[Work]>([])
    /// A semaphore-mode eventfd: one count per piece of work queued.
    private let eventFD: Int32

    /// The thread the process's blocking work shares; started on first use.
    public static let shared = BlockingThread()

    /// Starts the thread.
    public init() {
        eventFD = essential("eventfd") { eventfd(0, Int32(EFD_CLOEXEC | EFD_SEMAPHORE)) }
        // The thread holds the object: it runs for the life of the process.
        Self.spawn { [self] in serve() }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        submit(.job(UnownedJob(job)))
    }

    /// Runs `body` on this thread and returns what it returns or throws.
    public func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            submit(.closure { continuation.resume(returning: Result(catching: body)) })
        }
        return try result.get()
    }

    private func submit(_ item: Work) {
        work.withLock { $0.append(item) }
        var one: UInt64 = 1
        _ = write(eventFD, &one, 8)
    }

    private func serve() -> Never {
        let executor = asUnownedTaskExecutor()
        while true {
            var count: UInt64 = 0
            guard read(eventFD, &count, 8) == 8 else { continue }
            guard let next = work.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { continue }
            switch next {
            case .job(let job): job.runSynchronously(on: executor)
            case .closure(let body): body()
            }
        }
    }

    /// Runs `body` on a new thread that takes no signals (they go to the threads that wait for them).
    static func spawn(_ body: @escaping @Sendable () -> Void) {
        final class Box: @unchecked Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        var all = sigset_t()
        sigfillset(&all)
        var previous = sigset_t()
        // The new thread inherits the mask in force when it is created.
        pthread_sigmask(SIG_BLOCK, &all, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue().body()
            return nil
        }, Unmanaged.passRetained(Box(body)).toOpaque())
        precondition(result == 0, "cannot start a thread: \(SystemCallError("pthread_create", Errno(rawValue: result)))")
        pthread_detach(thread)
    }
}
