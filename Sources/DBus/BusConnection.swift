import CSDBus
import EpollExecutor
import StretchSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A connection to a D-Bus bus, owned: closed when the last reference goes (or by `close()`).
///
/// Event-driven on an `EpollLoop`: a task on the loop waits for the bus socket (and, only while sd-bus has a
/// deadline, such as a call awaiting its reply, on the loop's clock), runs sd-bus's processing, and parks again.
/// An idle connection costs no wake-ups. Nothing here blocks: calls, replies and subscriptions are asynchronous.
///
/// When the bus goes away (the connection closes, the bus daemon exits), calls in flight fail, every signal stream
/// ends with a `BusError` whose `isDisconnection` is true, and `disconnected()` returns that error, once. Making a
/// new connection is the owner's choice.
public final class BusConnection: Sendable {
    let core: BusCore
    private let processor: Task<Void, Never>

    private init(bus: OpaquePointer, loop: EpollLoop) {
        core = BusCore(bus: bus, loop: loop)
        processor = Task(executorPreference: loop.taskExecutor) { [core] in await core.run() }
    }

    deinit {
        // First the processor, whose cancellation takes the bus socket out of the loop before it is closed.
        processor.cancel()
        core.end(nil)
    }

    /// Connects to the bus at `address` (a D-Bus address such as `unix:path=/run/user/1000/bus`), as a client
    /// of the bus (it says `Hello` and gets a unique name), without reading the environment (`BusConnections.standard`
    /// reads it).
    ///
    /// The corresponding C functions are `sd_bus_new`, `sd_bus_set_address`, `sd_bus_set_bus_client` and
    /// `sd_bus_start`.
    public static func connect(address: String, loop: EpollLoop) throws(BusError) -> BusConnection {
        var created: OpaquePointer?
        try check("sd_bus_new", sd_bus_new(&created))
        guard let bus = created else { throw BusError(function: "sd_bus_new", code: ENOMEM) }
        do {
            try check("sd_bus_set_address", sd_bus_set_address(bus, address))
            try check("sd_bus_set_bus_client", sd_bus_set_bus_client(bus, 1))
            try check("sd_bus_start", sd_bus_start(bus))
        } catch {
            sd_bus_unref(bus)
            throw error
        }
        return BusConnection(bus: bus, loop: loop)
    }

    /// Closes the connection now: calls in flight fail, signal streams finish (without an error). Messages not yet
    /// written are dropped (no flush: that would block).
    ///
    /// The corresponding C function is `sd_bus_close_unref`.
    public func close() {
        processor.cancel()
        core.end(nil)
    }

    /// A call timeout that never passes: the reply is awaited as long as the connection lasts (the bus answers
    /// with an error if the peer leaves without replying).
    public static let noTimeout = Duration.seconds(Int64.max)

    /// Calls a method and returns its reply; an error reply throws its D-Bus error name and message.
    ///
    /// - Parameter timeout: How long to wait for the reply; nil is sd-bus's default (25 s), `noTimeout` none. When
    ///   it passes, sd-bus's `org.freedesktop.DBus.Error.NoReply` ("Method call timed out", `ETIMEDOUT`) is thrown.
    ///
    /// The corresponding C functions are `sd_bus_message_new_method_call` and `sd_bus_call_async`.
    @discardableResult
    public func call(_ call: MethodCall, timeout: Duration? = nil) async throws(BusError) -> BusMessage {
        try await core.call(call, timeout: timeout)
    }

    /// Subscribes to the signals `match` selects; returns once the bus has installed the match, so a value read
    /// after this returns is never older than the signals the stream then delivers (subscribe, then read the
    /// current value). The subscription lasts as long as the stream is iterated or held.
    ///
    /// The stream ends with a `BusError` when the connection is lost, and without one when it is closed here. It
    /// holds at most 1,000 undelivered signals, dropping the oldest beyond that.
    ///
    /// The corresponding C function is `sd_bus_add_match_async`.
    public func signals(_ match: SignalMatch) async throws(BusError) -> AsyncThrowingStream<BusMessage, any Error> {
        try await core.subscribe(match) { $0 }
    }

    /// Subscribes to the signals `match` selects and hands each to `receive` as the connection reads it: in the
    /// bus's order with the replies to calls, so a caller resumed by a reply read after a signal finds that signal
    /// already received (a stream of `signals(_:)` would hand it over on another task, in no fixed order with the
    /// caller). `receive` runs while the connection is being processed and must not use the connection; it should
    /// only queue the signal (yield it to a stream). Returns once the match is installed.
    ///
    /// The subscription lasts as long as the returned stream is held; the stream never yields, and ends (with a
    /// `BusError` when the connection is lost) when the connection does.
    public func signals(_ match: SignalMatch, receive: @escaping @Sendable (BusMessage) -> Void) async throws(BusError)
        -> AsyncThrowingStream<Never, any Error>
    {
        try await core.subscribe(match) { message -> Never? in
            receive(message)
            return nil
        }
    }

    /// One property's value (the variant unwrapped).
    ///
    /// The corresponding D-Bus method is `org.freedesktop.DBus.Properties.Get`.
    public func property(destination: String, path: String, interface: String, name: String) async throws(BusError)
        -> BusValue
    {
        let reply = try await call(.getProperty(destination: destination, path: path, interface: interface, name: name))
        guard let value = reply.arguments.first else {
            throw BusError(function: "org.freedesktop.DBus.Properties.Get", code: EBADMSG)
        }
        return value.unwrapped
    }

    /// All properties of an interface, each variant unwrapped.
    ///
    /// The corresponding D-Bus method is `org.freedesktop.DBus.Properties.GetAll`.
    public func properties(destination: String, path: String, interface: String) async throws(BusError)
        -> [String: BusValue]
    {
        let reply = try await call(.getAllProperties(destination: destination, path: path, interface: interface))
        guard let properties = reply.arguments.first?.stringKeyed else {
            throw BusError(function: "org.freedesktop.DBus.Properties.GetAll", code: EBADMSG)
        }
        return properties.mapValues(\.unwrapped)
    }

    /// The unique name that owns `name` now; nil when nobody does.
    ///
    /// The corresponding D-Bus method is `org.freedesktop.DBus.GetNameOwner`.
    public func nameOwner(of name: String) async throws(BusError) -> String? {
        do {
            let reply = try await call(.getNameOwner(name))
            return reply.arguments.first?.string
        } catch where error.name == "org.freedesktop.DBus.Error.NameHasNoOwner" {
            return nil
        }
    }

    /// The owner of `name` now, and a stream of its changes from then on (subscribed first, so no change is
    /// missed): how a client notices a service that starts, exits or restarts.
    public func watchNameOwner(_ name: String) async throws(BusError)
        -> (owner: String?, changes: AsyncThrowingStream<NameOwnerChange, any Error>)
    {
        let changes = try await core.subscribe(.nameOwnerChanged(name)) { NameOwnerChange($0) }
        return (try await nameOwner(of: name), changes)
    }

    /// Tells `report` of every signal refused from now on (a forgery: see `SignalMatch`), as it is read. `report`
    /// runs while the connection is being processed: it must not use the connection, only log or count.
    public func reportRefusedSignals(to report: @escaping @Sendable (RefusedSignal) -> Void) {
        core.reportRefusals(to: report)
    }

    /// Our unique name on the bus (`:1.42`), which a unicast message to us is addressed to; nil once closed.
    ///
    /// The corresponding C function is `sd_bus_get_unique_name`.
    public var uniqueName: String? { core.uniqueName }

    /// Why the connection was lost, once it was (`isDisconnection`); nil while it is open or after `close()`.
    public var lostReason: BusError? { core.lostReason }

    /// Whether the bus ever accepted the connection (answered its `Hello`). One lost before that was turned away
    /// while connecting (sd-bus refused the server, or the server us), not lost by a bus that went away.
    ///
    /// The corresponding C function is `sd_bus_is_ready`.
    public var wasAccepted: Bool { core.wasAccepted }

    /// Waits until the connection ends and returns why: the bus went away (`isDisconnection`), or nil when it was
    /// closed here (or the waiting task was cancelled).
    public func disconnected() async -> BusError? {
        await core.disconnected()
    }
}

// MARK: - The connection's state, behind one lock

/// The sd-bus connection and what waits on it. sd-bus is not thread-safe: every call into it holds `lock`, and its
/// callbacks (which run inside `sd_bus_process`, under the lock) touch the fields directly.
final class BusCore: @unchecked Sendable {
    // @unchecked: every field but `loop` and `kick` (themselves Sendable) is touched only while `lock` is held.
    private let lock = Mutex(())
    private var bus: OpaquePointer?
    private var calls: [UInt64: PendingCall] = [:]
    private var subscriptions: [UInt64: Subscription] = [:]
    private var nextID: UInt64 = 0
    /// Set once the connection ended: `.some(nil)` closed here, `.some(error)` lost.
    private var ending: BusError??
    /// Set once the bus answered `Hello`.
    private var accepted = false
    private var endWaiters: [UInt64: CheckedContinuation<BusError?, Never>] = [:]
    /// `disconnected()` calls cancelled before they waited.
    private var cancelledEndWaiters: Set<UInt64> = []
    let loop: EpollLoop
    /// Tells the processor to look again at what sd-bus waits for (after a call queued output or set a deadline).
    let kick = Kick()

    init(bus: OpaquePointer, loop: EpollLoop) {
        self.bus = bus
        self.loop = loop
    }

    private func next() -> UInt64 {
        nextID += 1
        return nextID
    }

    /// The error for work on a connection that has ended.
    private func endedError(_ function: String) -> BusError {
        if case .some(.some(let error)) = ending { return error }
        return BusError(function: function, code: ENOTCONN)
    }

    // MARK: Processing

    enum Step {
        case wait(fd: Int32, readiness: [EpollLoop.Readiness], deadline: ContinuousClock.Instant?)
        case again
        case stop
        case lost(BusError)
    }

    /// Processes what sd-bus has to do, then waits on the loop for the socket, sd-bus's deadline or a kick; until
    /// the connection ends or the task is cancelled.
    ///
    /// The corresponding C functions are `sd_bus_process` (until it returns 0), `sd_bus_get_fd`,
    /// `sd_bus_get_events` and `sd_bus_get_timeout`.
    func run() async {
        let clock = LoopClock(loop: loop)
        while !Task.isCancelled {
            let step = lock.withLock { _ -> Step in
                guard let bus, ending == nil else { return .stop }
                while true {
                    let result = sd_bus_process(bus, nil)
                    if result < 0 { return .lost(.lost(code: -result)) }
                    if result == 0 { break }
                }
                guard sd_bus_is_open(bus) > 0 else { return .lost(.lost(code: ECONNRESET)) }
                if !accepted, sd_bus_is_ready(bus) > 0 { accepted = true }
                kick.reset()
                let fd = sd_bus_get_fd(bus)
                let events = sd_bus_get_events(bus)
                var timeout: UInt64 = 0
                guard fd >= 0, events >= 0, sd_bus_get_timeout(bus, &timeout) >= 0 else {
                    return .lost(BusError(function: "sd_bus_get_events", code: fd < 0 ? -fd : max(-events, EIO)))
                }
                var readiness: [EpollLoop.Readiness] = []
                if events & Int32(POLLIN) != 0 { readiness.append(.readable) }
                if events & Int32(POLLOUT) != 0 { readiness.append(.writable) }
                // sd-bus's deadline is on CLOCK_MONOTONIC in microseconds, UINT64_MAX for none: taken as a delay
                // from now on the loop's clock (which counts through suspend, so it can only come early).
                guard timeout != .max else { return .wait(fd: fd, readiness: readiness, deadline: nil) }
                var now = timespec()
                clock_gettime(CLOCK_MONOTONIC, &now)
                let nowMicroseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec / 1_000)
                guard timeout > nowMicroseconds else { return .again }
                let delay = Duration.microseconds(Int64(clamping: timeout - nowMicroseconds))
                return .wait(fd: fd, readiness: readiness, deadline: clock.now + delay)
            }
            switch step {
            case .stop: return
            case .again: continue
            case .lost(let error):
                end(error)
                return
            case .wait(let fd, let readiness, let deadline):
                if let failure = await wait(fd: fd, readiness: readiness, deadline: deadline, clock: clock) {
                    end(failure)
                    return
                }
            }
        }
    }

    /// Waits for the first of: the socket ready, the deadline, a kick; returns an error only when the socket
    /// cannot be watched.
    private func wait(
        fd: Int32, readiness: [EpollLoop.Readiness], deadline: ContinuousClock.Instant?, clock: LoopClock
    ) async -> BusError? {
        let loop = loop, kick = kick
        return await withTaskGroup(of: BusError?.self) { group in
            // Readable and, while output is queued, writable: one waiter each, the first ends the wait.
            for each in readiness {
                group.addTask {
                    do {
                        try await loop.wait(fd, for: each)
                    } catch let error as SystemCallError {
                        return BusError(error)
                    } catch {}
                    return nil
                }
            }
            if let deadline { group.addTask { try? await clock.sleep(until: deadline); return nil } }
            group.addTask { await kick.wait(); return nil }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// Ends the connection once: calls in flight fail, streams finish (with `error`, or cleanly when nil: closed
    /// here), the bus is closed and released. Continuations are resumed outside the lock, since a finished stream
    /// calls back into `unsubscribe`.
    func end(_ error: BusError?) {
        let (calls, subscriptions, waiters) = lock.withLock { _ -> ([PendingCall], [Subscription], [CheckedContinuation<BusError?, Never>]) in
            guard ending == nil else { return ([], [], []) }
            ending = .some(error)
            let calls = Array(self.calls.values), subscriptions = Array(self.subscriptions.values)
            self.calls = [:]
            self.subscriptions = [:]
            for call in calls { call.release() }
            for subscription in subscriptions { subscription.release() }
            if let bus { sd_bus_close_unref(bus) }
            bus = nil
            defer { endWaiters = [:] }
            return (calls, subscriptions, Array(endWaiters.values))
        }
        let failure = error ?? BusError(function: "sd_bus_close", code: ENOTCONN)
        for call in calls { call.finish(.failure(failure)) }
        for subscription in subscriptions { subscription.finish(error) }
        for waiter in waiters { waiter.resume(returning: error) }
    }

    var uniqueName: String? {
        lock.withLock { _ in
            var name: UnsafePointer<CChar>?
            guard let bus, sd_bus_get_unique_name(bus, &name) >= 0, let name else { return nil }
            return String(cString: name)
        }
    }

    /// Calls awaiting their reply, for tests.
    var pendingCallCount: Int { lock.withLock { _ in calls.count } }
    /// Signal subscriptions installed, for tests.
    var subscriptionCount: Int { lock.withLock { _ in subscriptions.count } }

    var lostReason: BusError? {
        lock.withLock { _ in
            if case .some(.some(let error)) = ending { return error }
            return nil
        }
    }

    var wasAccepted: Bool { lock.withLock { _ in accepted } }

    func disconnected() async -> BusError? {
        let id = lock.withLock { _ in next() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ended = lock.withLock { _ -> BusError?? in
                    if let ending { return .some(ending) }
                    if cancelledEndWaiters.remove(id) != nil { return .some(nil) }
                    endWaiters[id] = continuation
                    return nil
                }
                if let ended { continuation.resume(returning: ended) }
            }
        } onCancel: {
            let waiting = lock.withLock { _ -> CheckedContinuation<BusError?, Never>? in
                if let waiting = endWaiters.removeValue(forKey: id) { return waiting }
                if ending == nil { cancelledEndWaiters.insert(id) }
                return nil
            }
            waiting?.resume(returning: nil)
        }
    }

    // MARK: Calls

    func call(_ call: MethodCall, timeout: Duration?) async throws(BusError) -> BusMessage {
        let pending = PendingCall(core: self, function: "\(call.interface).\(call.member)")
        // 0 is sd-bus's default; UINT64_MAX (what a duration too long to count in microseconds comes to) none.
        let microseconds: UInt64 = timeout.map { duration in
            let (seconds, attoseconds) = duration.components
            let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000)
            guard !overflow else { return .max }
            return UInt64(clamping: max(1, whole + attoseconds / 1_000_000_000_000))
        } ?? 0
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<BusMessage, BusError>, Never>) in
                guard pending.start(continuation) else {
                    return continuation.resume(returning: .failure(.cancelled("sd_bus_call_async")))
                }
                let failure: BusError? = lock.withLock { _ in
                    guard let bus, ending == nil else { return endedError("sd_bus_call_async") }
                    do throws(BusError) {
                        let message = try newMethodCall(bus, call)
                        defer { sd_bus_message_unref(message) }
                        var slot: OpaquePointer?
                        try check(
                            "sd_bus_call_async",
                            sd_bus_call_async(
                                bus, &slot, message, replyHandler, Unmanaged.passUnretained(pending).toOpaque(),
                                microseconds))
                        pending.id = next()
                        pending.slot = slot
                        calls[pending.id] = pending
                        return nil
                    } catch {
                        return error
                    }
                }
                if let failure { pending.finish(.failure(failure)) } else { kick.signal() }
            }
        } onCancel: {
            let removed = lock.withLock { _ in
                guard calls.removeValue(forKey: pending.id) != nil else { return false }
                pending.release()
                return true
            }
            pending.finish(.failure(.cancelled("sd_bus_call_async")))
            if removed { kick.signal() }
        }
        return try result.get()
    }

    /// Called by sd-bus (inside `sd_bus_process`, so under the lock) with a call's reply.
    fileprivate func replied(_ pending: PendingCall, _ message: OpaquePointer) {
        calls[pending.id] = nil
        pending.release()
        if let error = replyError(message, function: pending.function) {
            pending.finish(.failure(error))
        } else {
            do throws(BusError) {
                pending.finish(.success(try read(message)))
            } catch {
                pending.finish(.failure(error))
            }
        }
    }

    // MARK: Signals

    /// Installs `match` and returns the stream of its signals, each turned into an `Element` by `transform`
    /// (signals it returns nil for are left out). Only the signals `match` accepts are delivered (see `received`).
    ///
    /// For a well-known sender, the bus's `NameOwnerChanged` for it is matched first and its owner asked after the
    /// match (`GetNameOwner`): the bus answers in order, so from then on every signal is checked against the owner
    /// as of that signal. Returns once all three are answered.
    func subscribe<Element: Sendable>(
        _ match: SignalMatch, _ transform: @escaping @Sendable (BusMessage) -> Element?
    ) async throws(BusError) -> AsyncThrowingStream<Element, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(
            of: Element.self, throwing: (any Error).self, bufferingPolicy: .bufferingNewest(1_000))
        let subscription = Subscription(
            core: self, match: match,
            deliver: { message in
                if let element = transform(message) { continuation.yield(element) }
            },
            end: { error in
                if let error { continuation.finish(throwing: error) } else { continuation.finish() }
            })
        let installed = await withTaskCancellationHandler {
            await withCheckedContinuation { (waiting: CheckedContinuation<BusError?, Never>) in
                guard subscription.start(waiting) else {
                    return waiting.resume(returning: .cancelled("sd_bus_add_match_async"))
                }
                let failure: BusError? = lock.withLock { _ in
                    guard let bus, ending == nil else { return endedError("sd_bus_add_match_async") }
                    let userdata = Unmanaged.passUnretained(subscription).toOpaque()
                    do throws(BusError) {
                        if let name = match.sender, match.followsOwner {
                            try check(
                                "sd_bus_add_match_async",
                                sd_bus_add_match_async(
                                    bus, &subscription.ownerSlot, SignalMatch.nameOwnerChanged(name).rule,
                                    ownerChangedHandler, matchInstalledHandler, userdata))
                            subscription.pendingReplies += 1
                        }
                        try check(
                            "sd_bus_add_match_async",
                            sd_bus_add_match_async(
                                bus, &subscription.slot, match.rule, signalHandler, matchInstalledHandler, userdata))
                        subscription.pendingReplies += 1
                        if let name = match.sender, match.followsOwner {
                            let query = try newMethodCall(bus, .getNameOwner(name))
                            defer { sd_bus_message_unref(query) }
                            try check(
                                "sd_bus_call_async",
                                sd_bus_call_async(bus, &subscription.ownerQuerySlot, query, ownerReplyHandler, userdata, 0))
                            subscription.pendingReplies += 1
                        }
                    } catch {
                        subscription.release()
                        return error
                    }
                    subscription.id = next()
                    subscriptions[subscription.id] = subscription
                    return nil
                }
                if let failure { subscription.installed(failure) } else { kick.signal() }
            }
        } onCancel: {
            subscription.installed(.cancelled("sd_bus_add_match_async"))
        }
        if let installed {
            unsubscribe(subscription)
            continuation.finish(throwing: installed)
            throw installed
        }
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(subscription) }
        return stream
    }

    /// The stream's consumer is gone, or the match failed: the match is removed (sd-bus sends `RemoveMatch`).
    private func unsubscribe(_ subscription: Subscription) {
        let removed = lock.withLock { _ in
            guard subscriptions.removeValue(forKey: subscription.id) != nil else { return false }
            subscription.release()
            return true
        }
        if removed { kick.signal() }
    }

    /// Called by sd-bus (under the lock) when the bus has answered `AddMatch` (or, for a followed owner,
    /// `GetNameOwner`); `subscribe` goes on (and on an error removes the subscription and finishes its stream)
    /// outside the lock, after the last answer.
    fileprivate func answered(_ subscription: Subscription, _ message: OpaquePointer, function: String) {
        if let error = replyError(message, function: function) { return subscription.installed(error) }
        subscription.replied()
    }

    /// Called by sd-bus (under the lock) with the bus's answer to `GetNameOwner` for a followed owner: the owner as
    /// of this point in the bus's order (a `NameOwnerChanged` after it overrides it).
    fileprivate func ownerAnswered(_ subscription: Subscription, _ message: OpaquePointer) {
        subscription.ownerQuerySlot = sd_bus_slot_unref(subscription.ownerQuerySlot)
        if let error = replyError(message, function: "org.freedesktop.DBus.GetNameOwner") {
            guard error.name == "org.freedesktop.DBus.Error.NameHasNoOwner" else {
                return subscription.installed(error)
            }
            subscription.owner = .some(nil)
        } else {
            subscription.owner = .some((try? read(message))?.arguments.first?.string)
        }
        subscription.replied()
    }

    /// Called by sd-bus (under the lock) with a `NameOwnerChanged` for a followed owner: counted only from the bus.
    fileprivate func ownerChanged(_ subscription: Subscription, _ message: OpaquePointer) {
        guard let name = subscription.match.sender, let signal = try? read(message) else { return }
        let match = SignalMatch.nameOwnerChanged(name)
        guard match.accepts(signal, owner: nil) else { return refused(signal, match) }
        guard let change = NameOwnerChange(signal), change.name == name else { return }
        subscription.owner = .some(change.newOwner)
    }

    /// Called by sd-bus (under the lock) with a matching signal: delivered only if the match accepts it from its
    /// sender (as of this point in the bus's order); a forgery is handed to `refusals`.
    fileprivate func received(_ subscription: Subscription, _ message: OpaquePointer) {
        // A signal that cannot be read (malformed arguments) is dropped rather than ending the subscription.
        guard let signal = try? read(message) else { return }
        let match = subscription.match
        if match.followsOwner, subscription.owner == nil { return }  // not known yet: only before `subscribe` returns
        guard match.accepts(signal, owner: subscription.owner ?? nil) else { return refused(signal, match) }
        subscription.deliver(signal)
    }

    /// Hands a signal that did not come from where `match` trusts to `refusals` (under the lock).
    private func refused(_ signal: BusMessage, _ match: SignalMatch) {
        refusals?(RefusedSignal(signal: signal, expected: match))
    }

    /// Told of each signal refused (under the lock: it must only log or count).
    private var refusals: (@Sendable (RefusedSignal) -> Void)?

    func reportRefusals(to report: @escaping @Sendable (RefusedSignal) -> Void) {
        lock.withLock { _ in refusals = report }
    }
}

/// A signal that did not come from where a subscription trusts: not from the current owner of the name, or sent to
/// us alone when only broadcasts count. It changed nothing.
public struct RefusedSignal: Sendable {
    public var signal: BusMessage
    /// The match it came in on: `expected.sender` is the name it should have come from.
    public var expected: SignalMatch
}

// MARK: - Waiting things and sd-bus's callbacks

/// A method call awaiting its reply. `id`, `slot` and `state` change only under the core's lock; `finish` resumes
/// the caller once, whoever comes first (the reply, a failure, the task's cancellation).
final class PendingCall: @unchecked Sendable {
    unowned(unsafe) let core: BusCore
    let function: String
    var id: UInt64 = 0
    var slot: OpaquePointer?
    private let continuation = Mutex<Resumable?>(.notStarted)

    enum Resumable {
        case notStarted
        case waiting(CheckedContinuation<Result<BusMessage, BusError>, Never>)
    }

    init(core: BusCore, function: String) {
        self.core = core
        self.function = function
    }

    /// Stores the caller's continuation; false if the call already finished (cancelled before it started).
    func start(_ waiting: CheckedContinuation<Result<BusMessage, BusError>, Never>) -> Bool {
        continuation.withLock { state in
            guard case .notStarted = state else { return false }
            state = .waiting(waiting)
            return true
        }
    }

    /// Resumes the caller with `result`, the first time only.
    func finish(_ result: Result<BusMessage, BusError>) {
        let waiting = continuation.withLock { state -> CheckedContinuation<Result<BusMessage, BusError>, Never>? in
            defer { state = nil }
            if case .waiting(let waiting) = state { return waiting }
            return nil
        }
        waiting?.resume(returning: result)
    }

    /// Drops sd-bus's side (the reply callback): under the core's lock.
    func release() {
        slot = sd_bus_slot_unref(slot)
    }
}

/// A signal subscription: its match slot and the stream it feeds. `id` and `slot` change only under the core's
/// lock.
final class Subscription: @unchecked Sendable {
    unowned(unsafe) let core: BusCore
    let match: SignalMatch
    /// Hands a signal to the stream (under the core's lock: it only yields).
    let deliver: @Sendable (BusMessage) -> Void
    /// Finishes the stream, with an error when the connection was lost (outside the lock: finishing calls
    /// `onTermination`, which takes it).
    private let end: @Sendable (BusError?) -> Void
    var id: UInt64 = 0
    var slot: OpaquePointer?
    /// For a well-known sender: the match of its `NameOwnerChanged`, and the `GetNameOwner` call until answered.
    var ownerSlot: OpaquePointer?
    var ownerQuerySlot: OpaquePointer?
    /// The sender's current owner: `.some(nil)` while it has none, nil until known.
    var owner: String??
    /// Answers the bus still owes before the subscription is in place.
    var pendingReplies = 0
    private let install = Mutex<Resumable?>(.notStarted)

    enum Resumable {
        case notStarted
        case waiting(CheckedContinuation<BusError?, Never>)
    }

    init(
        core: BusCore, match: SignalMatch, deliver: @escaping @Sendable (BusMessage) -> Void,
        end: @escaping @Sendable (BusError?) -> Void
    ) {
        self.core = core
        self.match = match
        self.deliver = deliver
        self.end = end
    }

    /// Stores `subscribe`'s continuation; false if it was cancelled before.
    func start(_ waiting: CheckedContinuation<BusError?, Never>) -> Bool {
        install.withLock { state in
            guard case .notStarted = state else { return false }
            state = .waiting(waiting)
            return true
        }
    }

    /// The match is installed (nil) or failed: resumes `subscribe`, the first time only.
    func installed(_ error: BusError?) {
        let waiting = install.withLock { state -> CheckedContinuation<BusError?, Never>? in
            defer { state = nil }
            if case .waiting(let waiting) = state { return waiting }
            return nil
        }
        waiting?.resume(returning: error)
    }

    /// One of the bus's answers came, and was no error: after the last, `subscribe` goes on. Under the core's lock.
    func replied() {
        pendingReplies -= 1
        if pendingReplies == 0 { installed(nil) }
    }

    /// Under the core's lock.
    func release() {
        slot = sd_bus_slot_unref(slot)
        ownerSlot = sd_bus_slot_unref(ownerSlot)
        ownerQuerySlot = sd_bus_slot_unref(ownerQuerySlot)
    }

    /// The connection ended: outside the core's lock.
    func finish(_ error: BusError?) {
        installed(error ?? BusError(function: "sd_bus_close", code: ENOTCONN))
        end(error)
    }
}

/// sd-bus's reply callback for `sd_bus_call_async`; `userdata` is the `PendingCall`, kept alive by the core's
/// `calls` until this runs or the call is given up (which unrefs the slot first, so this never runs after).
private let replyHandler: sd_bus_message_handler_t = { message, userdata, _ in
    guard let message, let userdata else { return 0 }
    let pending = Unmanaged<PendingCall>.fromOpaque(userdata).takeUnretainedValue()
    pending.core.replied(pending, message)
    return 0
}

/// sd-bus's match callback: a signal for a `Subscription`. Returns 0 so that other subscriptions matching the same
/// signal get it too.
private let signalHandler: sd_bus_message_handler_t = { message, userdata, _ in
    guard let message, let userdata else { return 0 }
    let subscription = Unmanaged<Subscription>.fromOpaque(userdata).takeUnretainedValue()
    subscription.core.received(subscription, message)
    return 0
}

/// sd-bus's install callback: the bus's reply to `AddMatch`.
private let matchInstalledHandler: sd_bus_message_handler_t = { message, userdata, _ in
    guard let message, let userdata else { return 0 }
    let subscription = Unmanaged<Subscription>.fromOpaque(userdata).takeUnretainedValue()
    subscription.core.answered(subscription, message, function: "sd_bus_add_match_async")
    return 0
}

/// sd-bus's match callback for the `NameOwnerChanged` of a subscription's well-known sender.
private let ownerChangedHandler: sd_bus_message_handler_t = { message, userdata, _ in
    guard let message, let userdata else { return 0 }
    let subscription = Unmanaged<Subscription>.fromOpaque(userdata).takeUnretainedValue()
    subscription.core.ownerChanged(subscription, message)
    return 0
}

/// sd-bus's reply callback for the `GetNameOwner` of a subscription's well-known sender.
private let ownerReplyHandler: sd_bus_message_handler_t = { message, userdata, _ in
    guard let message, let userdata else { return 0 }
    let subscription = Unmanaged<Subscription>.fromOpaque(userdata).takeUnretainedValue()
    subscription.core.ownerAnswered(subscription, message)
    return 0
}

/// Wakes the processor's wait so it reads sd-bus's events and deadline again. One waiter (the processor).
final class Kick: Sendable {
    enum State {
        case idle
        case kicked
        case waiting(CheckedContinuation<Void, Never>)
        case cancelled
    }

    private let state = Mutex(State.idle)

    func signal() { wake(orLeave: .kicked) }

    /// Resumes the waiting task; with none waiting, leaves `mark` for the next `wait` to find.
    private func wake(orLeave mark: State) {
        let waiting = state.withLock { state -> CheckedContinuation<Void, Never>? in
            switch state {
            case .waiting(let continuation):
                state = .idle
                return continuation
            case .idle:
                state = mark
                return nil
            case .kicked, .cancelled:
                return nil
            }
        }
        waiting?.resume()
    }

    /// Forgets a kick: the processor is about to look at sd-bus anyway.
    func reset() {
        state.withLock { state in
            if case .kicked = state { state = .idle }
        }
    }

    /// Returns at the next kick (or at once if one came since the last `reset`), or when the task is cancelled.
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    switch state {
                    case .kicked, .cancelled, .waiting:
                        state = .idle
                        return true
                    case .idle:
                        state = .waiting(continuation)
                        return false
                    }
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            wake(orLeave: .cancelled)
        }
    }
}
