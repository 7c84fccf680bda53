// SE-0466 (custom main and default executors, scheduling executors) is SPI in Swift 6.3.
@_spi(ExperimentalCustomExecutors) @_spi(ExperimentalScheduling) import _Concurrency
import CLinux
import StretchSystem
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A run loop on one thread that costs nothing while it has nothing to do: it parks in `epoll_wait` with no
/// timeout and is woken by the kernel only for work.
///
/// - Jobs enqueued from other threads wake it through an `eventfd`, written only while it is parked.
/// - Timed jobs (`Task.sleep` and `clock.sleep` on `ContinuousClock` and `SuspendingClock`, when this loop is the
///   executor) wait in one list per clock; one `timerfd` per clock (`CLOCK_BOOTTIME` for `ContinuousClock`,
///   which counts through suspend; `CLOCK_MONOTONIC` for `SuspendingClock`) is armed, absolute, to the earliest
///   deadline, and re-armed only when that changes.
/// - `waitReadable(_:)` suspends a task until a file descriptor is readable (a timerfd, a pidfd, a socket).
///
/// `taskExecutor` runs tasks on it (`Task(executorPreference:)`); with `EpollExecutorFactory` it is the process's
/// main and default executor. Whatever runs on it must not block: blocking work goes to a `BlockingThread`.
public final class EpollLoop: @unchecked Sendable {
    // @unchecked: everything shared is behind a lock or written once in `init`; `armed` is touched only by the
    // loop's own thread.

    /// The clocks the loop keeps timers for, each with its own timerfd.
    enum TimerClock: Int, CaseIterable {
        /// `ContinuousClock`: `CLOCK_BOOTTIME`, counting through suspend.
        case continuous
        /// `SuspendingClock`: `CLOCK_MONOTONIC`, stopped during suspend.
        case suspending

        var id: clockid_t { self == .continuous ? CLOCK_BOOTTIME : CLOCK_MONOTONIC }

        /// The clock's reading in nanoseconds.
        var now: Int64 {
            var spec = timespec()
            clock_gettime(id, &spec)
            return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
        }
    }

    /// A job and the serial executor it was enqueued on (nil: the loop as the default executor).
    struct Entry {
        var job: UnownedJob
        var serial: UnownedSerialExecutor?
    }

    /// What a timer does when due: run a job (a `Task.sleep`), or resume a `sleep(until:)`, whose timer is
    /// removed when it is cancelled.
    enum Payload {
        case job(Entry)
        case sleeper
    }

    struct Timer {
        /// Nanoseconds on the timer's clock.
        var deadline: Int64
        /// Keeps jobs with the same deadline in the order they came; a sleeper's key in `sleepers`.
        var sequence: UInt64
        var payload: Payload

        func isBefore(_ other: Timer) -> Bool { (deadline, sequence) < (other.deadline, other.sequence) }
    }

    enum Waiter {
        case waiting(CheckedContinuation<Void, any Error>)
        /// Cancelled before its continuation was stored: the continuation resumes with `CancellationError` at once.
        case cancelled
    }

    struct State {
        var ready: [Entry] = []
        /// Per `TimerClock`, sorted latest first, so the earliest is `last`.
        var timers: [[Timer]] = [[], []]
        var sequence: UInt64 = 0
        /// In `epoll_wait`, or about to be: work from now on must write the eventfd.
        var parked = false
        /// The eventfd was written since the loop parked (it is written once per parking).
        var signalled = false
        var stopping = false
        var waiters: [WaitKey: Waiter] = [:]
        /// Descriptors registered with epoll for waiters (one-shot, so possibly disabled since).
        var registered: Set<Int32> = []
        /// `sleep(until:)`s, by their timer's sequence number.
        var sleepers: [UInt64: Waiter] = [:]

        /// Inserts `timer` in its clock's list, which is kept latest first.
        mutating func insert(_ timer: Timer, on clock: TimerClock) {
            var list = timers[clock.rawValue]
            timers[clock.rawValue] = []
            var low = 0, high = list.count
            while low < high {
                let middle = (low + high) / 2
                if timer.isBefore(list[middle]) { low = middle + 1 } else { high = middle }
            }
            list.insert(timer, at: low)
            timers[clock.rawValue] = list
        }
    }

    private let state = Mutex(State())
    private let epollFD: Int32
    private let eventFD: Int32
    private let timerFDs: [Int32]
    /// The deadline each timerfd is armed to (nil: disarmed). Only the loop's thread touches it.
    private var armed: [Int64?] = [nil, nil]
    private let owner = Mutex<pthread_t?>(nil)
    /// The loop as a task executor: tasks that prefer it, and their sleeps on the standard clocks, run here.
    public var taskExecutor: any TaskExecutor { loopExecutor }
    let loopExecutor: LoopTaskExecutor
    /// The loop as the main actor's executor (its jobs run here, isolated to the main actor).
    @_spi(ExperimentalCustomExecutors) public var mainExecutor: any MainExecutor { mainActorExecutor }
    let mainActorExecutor: LoopMainExecutor

    /// Creates the loop; it runs when a thread calls `run()` (or `startThread()`).
    public init() {
        loopExecutor = LoopTaskExecutor()
        mainActorExecutor = LoopMainExecutor()
        epollFD = essential("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        eventFD = essential("eventfd") { eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK)) }
        timerFDs = TimerClock.allCases.map { clock in
            essential("timerfd_create") { timerfd_create(clock.id, Int32(TFD_CLOEXEC | TFD_NONBLOCK)) }
        }
        for fd in [eventFD] + timerFDs {
            var event = epoll_event()
            event.events = EPOLLIN.rawValue
            event.data.fd = fd
            _ = essential("epoll_ctl") { [epollFD] in epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) }
        }
        loopExecutor.loop = self
        mainActorExecutor.loop = self
    }

    deinit {
        for fd in [epollFD, eventFD] + timerFDs { close(fd) }
    }

    /// Whether the calling thread is the one running the loop.
    public var isLoopThread: Bool {
        owner.withLock { owner in owner.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    /// Parked in `epoll_wait` (or about to be), for tests.
    var isParked: Bool { state.withLock { $0.parked } }
    /// Timed jobs not yet due, for tests.
    var pendingTimerCount: Int { state.withLock { $0.timers.reduce(0) { $0 + $1.count } } }
    /// Descriptors waited for, for tests.
    var waiterCount: Int { state.withLock { $0.waiters.count } }

    // MARK: Jobs

    func enqueue(_ entry: Entry) {
        let wake = state.withLock { state in
            state.ready.append(entry)
            return state.wakeIfParked()
        }
        if wake { signal() }
    }

    /// Runs `entry` at `instant` on `clock`: on its timerfd for the standard clocks; any other clock's deadline is
    /// taken as a delay from now on `ContinuousClock`.
    func schedule<C: Clock>(_ entry: Entry, at instant: C.Instant, clock: C) {
        let timerClock: TimerClock
        let deadline: Int64
        if let instant = instant as? ContinuousClock.Instant {
            timerClock = .continuous
            deadline = Self.nanoseconds(ContinuousClock().systemEpoch.duration(to: instant))
        } else if let instant = instant as? SuspendingClock.Instant {
            timerClock = .suspending
            deadline = Self.nanoseconds(SuspendingClock().systemEpoch.duration(to: instant))
        } else if let delay = clock.now.duration(to: instant) as? Duration {
            timerClock = .continuous
            deadline = TimerClock.continuous.now.addingReportingOverflow(Self.nanoseconds(delay)).partialValue
        } else {
            // A clock whose durations are not `Duration`: there is no way to tell when; run it now.
            return enqueue(entry)
        }
        let wake = state.withLock { state in
            state.sequence += 1
            state.insert(Timer(deadline: deadline, sequence: state.sequence, payload: .job(entry)), on: timerClock)
            return state.wakeIfParked()
        }
        // Parked, the loop must re-arm its timerfd for a deadline that may be earlier than the armed one.
        if wake { signal() }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return whole.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }

    private func signal() {
        var one: UInt64 = 1
        _ = write(eventFD, &one, 8)
    }

    // MARK: Sleeping

    /// Suspends until `deadline` on `ContinuousClock`, on the loop's `CLOCK_BOOTTIME` timer; throws
    /// `CancellationError` at once when the task is cancelled first. Unlike `Task.sleep`, whose timer stays
    /// scheduled until its deadline after a cancellation, a cancelled sleep here takes its deadline off the timer,
    /// so a loop whose sleeps were cancelled is not woken at their deadlines for nothing.
    public func sleep(until deadline: ContinuousClock.Instant) async throws {
        let nanoseconds = Self.nanoseconds(ContinuousClock().systemEpoch.duration(to: deadline))
        let id = state.withLock { state in
            state.sequence += 1
            return state.sequence
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let (cancelled, wake) = state.withLock { state -> (Bool, Bool) in
                    if case .cancelled = state.sleepers[id] {
                        state.sleepers[id] = nil
                        return (true, false)
                    }
                    state.sleepers[id] = .waiting(continuation)
                    state.insert(Timer(deadline: nanoseconds, sequence: id, payload: .sleeper), on: .continuous)
                    return (false, state.wakeIfParked())
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
                if wake { signal() }
            }
        } onCancel: {
            let (waiting, wake) = state.withLock { state -> (CheckedContinuation<Void, any Error>?, Bool) in
                switch state.sleepers[id] {
                case .waiting(let continuation):
                    state.sleepers[id] = nil
                    state.timers[TimerClock.continuous.rawValue].removeAll { $0.sequence == id }
                    // Parked, the loop re-arms (or disarms) its timer now rather than waking at this deadline.
                    return (continuation, state.wakeIfParked())
                case .cancelled:
                    return (nil, false)
                case nil:
                    state.sleepers[id] = .cancelled
                    return (nil, false)
                }
            }
            if wake { signal() }
            waiting?.resume(throwing: CancellationError())
        }
    }

    // MARK: Waiting for descriptors

    /// What a task waits for on a descriptor.
    public enum Readiness: Sendable, Hashable {
        /// Something to read, or an error or hang-up to report.
        case readable
        /// Room to write, or an error or hang-up to report.
        case writable

        /// The epoll events asked for.
        var interest: UInt32 { self == .readable ? EPOLLIN.rawValue : EPOLLOUT.rawValue }
        /// The epoll events that end a wait for it.
        var satisfiedBy: UInt32 { interest | EPOLLERR.rawValue | EPOLLHUP.rawValue }
    }

    /// A waiter's key: one task per descriptor and readiness at a time.
    struct WaitKey: Hashable {
        var fd: Int32
        var readiness: Readiness
    }

    /// Suspends until `fd` is readable (or has an error or hang-up to report); throws `CancellationError` when
    /// the task is cancelled first, and `SystemCallError` when the descriptor cannot be watched (a regular file,
    /// a closed one). One waiter per descriptor at a time.
    public func waitReadable(_ fd: Int32) async throws {
        try await wait(fd, for: .readable)
    }

    /// Suspends until `fd` has room to write (or has an error or hang-up to report); as `waitReadable(_:)`. A task
    /// may wait for `fd` to be writable while another waits for it to be readable.
    public func waitWritable(_ fd: Int32) async throws {
        try await wait(fd, for: .writable)
    }

    /// Suspends until `fd` is ready for `readiness`; see `waitReadable(_:)`. One waiter per descriptor and
    /// readiness at a time.
    public func wait(_ fd: Int32, for readiness: Readiness) async throws {
        let key = WaitKey(fd: fd, readiness: readiness)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let failure: (any Error)? = state.withLock { state in
                    if case .cancelled = state.waiters[key] {
                        state.waiters[key] = nil
                        return CancellationError()
                    }
                    guard state.waiters[key] == nil else { return SystemCallError("epoll_ctl", .fileExists) }
                    state.waiters[key] = .waiting(continuation)
                    if let failure = watch(fd, in: &state) {
                        state.waiters[key] = nil
                        return failure
                    }
                    return nil
                }
                if let failure { continuation.resume(throwing: failure) }
            }
        } onCancel: {
            let waiting = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                switch state.waiters[key] {
                case .waiting(let continuation):
                    state.waiters[key] = nil
                    _ = watch(fd, in: &state)
                    return continuation
                case .cancelled:
                    return nil
                case nil:
                    state.waiters[key] = .cancelled
                    return nil
                }
            }
            waiting?.resume(throwing: CancellationError())
        }
    }

    /// Makes the epoll registration of `fd` match its waiters: one-shot, for the readiness they wait for, or
    /// none when nobody waits. Called with the lock held.
    private func watch(_ fd: Int32, in state: inout State) -> SystemCallError? {
        var interest: UInt32 = 0
        for readiness in [Readiness.readable, .writable] {
            if case .waiting = state.waiters[WaitKey(fd: fd, readiness: readiness)] { interest |= readiness.interest }
        }
        guard interest != 0 else {
            if state.registered.remove(fd) != nil { _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil) }
            return nil
        }
        var event = epoll_event()
        event.events = interest | EPOLLONESHOT.rawValue
        event.data.fd = fd
        if state.registered.contains(fd) {
            do {
                _ = try SystemCall.retrying("epoll_ctl") { epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event) }
                return nil
            } catch where error.errno == .noSuchFileOrDirectory {
                // Closed and reopened since (closing takes a descriptor out of epoll): register it afresh.
                state.registered.remove(fd)
            } catch {
                return error
            }
        }
        do {
            _ = try SystemCall.retrying("epoll_ctl") { epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) }
        } catch {
            return error
        }
        state.registered.insert(fd)
        return nil
    }

    /// Takes the waiters that `events` on `fd` satisfy, and re-registers `fd` for the others.
    private func ready(_ fd: Int32, events: UInt32) -> [CheckedContinuation<Void, any Error>] {
        state.withLock { state in
            var woken: [CheckedContinuation<Void, any Error>] = []
            for readiness in [Readiness.readable, .writable] where events & readiness.satisfiedBy != 0 {
                let key = WaitKey(fd: fd, readiness: readiness)
                if case .waiting(let continuation) = state.waiters[key] {
                    state.waiters[key] = nil
                    woken.append(continuation)
                }
            }
            // One-shot: the descriptor is disabled until re-armed for whoever still waits. Should that fail, the
            // waiter is woken rather than stranded: its next call reports the error.
            if watch(fd, in: &state) != nil {
                for readiness in [Readiness.readable, .writable] {
                    if case .waiting(let continuation) = state.waiters.removeValue(forKey: WaitKey(fd: fd, readiness: readiness)) {
                        woken.append(continuation)
                    }
                }
            }
            return woken
        }
    }

    // MARK: Running

    /// Runs jobs, timers and descriptor waits on the calling thread until `stop()`.
    public func run() {
        owner.withLock { $0 = pthread_self() }
        defer { owner.withLock { $0 = nil } }
        var events = [epoll_event](repeating: epoll_event(), count: 16)
        while true {
            runReady()
            moveDueTimers()
            let next = state.withLock { state -> Bool? in
                if state.stopping { return nil }
                if !state.ready.isEmpty { return false }
                state.parked = true
                return true
            }
            guard let park = next else { break }
            guard park else { continue }
            armTimers()
            let count = events.withUnsafeMutableBufferPointer {
                epoll_wait(epollFD, $0.baseAddress, Int32($0.count), -1)
            }
            state.withLock { state in
                state.parked = false
                state.signalled = false
            }
            var woken: [CheckedContinuation<Void, any Error>] = []
            for event in events.prefix(max(0, Int(count))) {
                let fd = event.data.fd
                if fd == eventFD || timerFDs.contains(fd) {
                    // Clears the readiness; a timerfd's expiry count and the eventfd's counter are not needed.
                    var value: UInt64 = 0
                    _ = read(fd, &value, 8)
                } else {
                    woken += ready(fd, events: event.events)
                }
            }
            for continuation in woken { continuation.resume() }
        }
    }

    /// Ends `run()` after the job running now.
    public func stop() {
        let wake = state.withLock { state in
            state.stopping = true
            return state.wakeIfParked()
        }
        if wake { signal() }
    }

    /// Runs the loop on a new thread of its own (tests, and a process whose executors are not this loop's).
    public func startThread() {
        BlockingThread.spawn { [self] in run() }
    }

    /// Runs the jobs ready now, in the order they came; jobs they enqueue run in the next round.
    private func runReady() {
        let batch = state.withLock { state in
            defer { state.ready.removeAll(keepingCapacity: true) }
            return state.ready
        }
        let task = loopExecutor.asUnownedTaskExecutor()
        for entry in batch {
            if let serial = entry.serial {
                entry.job.runSynchronously(isolatedTo: serial, taskExecutor: task)
            } else {
                entry.job.runSynchronously(on: task)
            }
        }
    }

    /// Moves the timers whose deadline has passed to the ready jobs, earliest first on each clock.
    private func moveDueTimers() {
        let now = TimerClock.allCases.map(\.now)
        let sleepers = state.withLock { state in
            var sleepers: [CheckedContinuation<Void, any Error>] = []
            for clock in TimerClock.allCases {
                while let last = state.timers[clock.rawValue].last, last.deadline <= now[clock.rawValue] {
                    let timer = state.timers[clock.rawValue].removeLast()
                    switch timer.payload {
                    case .job(let entry): state.ready.append(entry)
                    case .sleeper:
                        if case .waiting(let continuation) = state.sleepers.removeValue(forKey: timer.sequence) {
                            sleepers.append(continuation)
                        }
                    }
                }
            }
            return sleepers
        }
        // Outside the lock: resuming enqueues the sleeping task's job.
        for sleeper in sleepers { sleeper.resume() }
    }

    /// Arms each clock's timerfd to its earliest deadline, or disarms it when it has none; only on a change.
    private func armTimers() {
        let earliest = state.withLock { state in TimerClock.allCases.map { state.timers[$0.rawValue].last?.deadline } }
        for clock in TimerClock.allCases where earliest[clock.rawValue] != armed[clock.rawValue] {
            var spec = itimerspec()
            if let deadline = earliest[clock.rawValue] {
                // 0 would disarm: a deadline at or before the clock's zero fires at once instead.
                let at = max(1, deadline)
                spec.it_value.tv_sec = time_t(at / 1_000_000_000)
                spec.it_value.tv_nsec = Int(at % 1_000_000_000)
            }
            if timerfd_settime(timerFDs[clock.rawValue], Int32(TFD_TIMER_ABSTIME), &spec, nil) == 0 {
                armed[clock.rawValue] = earliest[clock.rawValue]
            }
        }
    }
}

extension EpollLoop.State {
    /// Whether the caller must write the eventfd: the loop is parked and nobody has written it yet.
    mutating func wakeIfParked() -> Bool {
        guard parked, !signalled else { return false }
        signalled = true
        return true
    }
}

/// Makes a call the executor cannot do without (for its own descriptors): without them no Swift task
/// could ever be scheduled, so a failure stops the process with the reason.
func essential(_ function: String, _ body: () -> Int32) -> Int32 {
    do {
        return try SystemCall.retrying(function, body)
    } catch {
        fatalError("the executor cannot start: \(error)")
    }
}
