import DBus
import EpollExecutor
import Foundation
import InMemoryLogging
import Logging
import Synchronization
import TestSupport

/// A private bus with `BusConnections` pointed at it (as the session and the system bus), a loop the services run
/// on, a connection of the test's own to drive python-dbusmock peers, and a log to read; `stop()` ends them.
struct DesktopMockBus {
    let bus: PrivateBus
    let loop: EpollLoop
    let driver: BusConnection
    let buses: BusConnections
    let log = InMemoryLogHandler()

    init() throws {
        bus = try PrivateBus()
        loop = EpollLoop()
        loop.startThread()
        driver = try BusConnection.connect(address: bus.address, loop: loop)
        let address = bus.address, log = log
        buses = BusConnections(loop: loop, logger: Logger(label: "buses") { _ in log }) { _, loop throws(BusError) in
            try BusConnection.connect(address: address, loop: loop)
        }
    }

    var logger: Logger { log.asLogger }

    /// The info lines logged so far.
    var infos: [String] { log.infos }

    /// Starts `python3 -m dbusmock` with `arguments` and returns once `name` has an owner (subscribed first: no
    /// sleeping, no polling).
    func startMock(_ arguments: [String], owning name: String) async throws {
        let (owner, changes) = try await driver.watchNameOwner(name)
        try bus.startMock(arguments)
        if owner == nil {
            for try await change in changes where change.newOwner != nil { break }
        }
    }

    /// A plain mock: `name` on the bus with an object at `path` whose interface is `interface`.
    func startMock(name: String, path: String, interface: String) async throws {
        try await startMock([name, path, interface], owning: name)
    }

    /// Waits until `name` has no owner any more, after `bus.stopMocks()`.
    func stopMocks(owning name: String) async throws {
        let (owner, changes) = try await driver.watchNameOwner(name)
        bus.stopMocks()
        if owner != nil {
            for try await change in changes where change.newOwner == nil { break }
        }
    }

    /// Calls a method of dbusmock's control interface (`AddMethod`, `AddProperty`, `UpdateProperties`,
    /// `EmitSignal`) on the mock's object.
    func mock(_ destination: String, _ path: String, _ member: String, _ arguments: [BusValue]) async throws {
        try await driver.call(
            MethodCall(
                destination: destination, path: path, interface: "org.freedesktop.DBus.Mock", member: member,
                arguments: arguments))
    }

    /// `EmitSignal(interface, name, signature, args)` on the mock's object.
    func emit(
        _ destination: String, _ path: String, interface: String, _ name: String, _ signature: String,
        _ arguments: [BusValue]
    ) async throws {
        try await mock(
            destination, path, "EmitSignal",
            [.string(interface), .string(name), .string(signature), .array(.variant, arguments.map { .variant($0) })])
    }

    func stop() {
        driver.close()
        bus.stop()
        loop.stop()
    }
}

/// Yields until `condition` holds, a bounded number of times (it never sleeps); false if it never did.
func yieldsUntil(_ condition: () -> Bool) async -> Bool {
    for _ in 0..<1_000_000 {
        if condition() { return true }
        await Task.yield()
    }
    return condition()
}

extension RecordedEvents {
    /// The next event, or nil once the waiting task is cancelled (as by a test's time limit): a source that never
    /// reports fails its test instead of hanging it.
    func nextUnlessCancelled() async -> Event? {
        let waiter = Mutex<(continuation: CheckedContinuation<Event?, Never>?, cancelled: Bool)>((nil, false))
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let cancelled = waiter.withLock { state in
                    state.continuation = continuation
                    return state.cancelled
                }
                if cancelled {
                    waiter.withLock { $0.continuation = nil }
                    continuation.resume(returning: nil)
                    return
                }
                Task {
                    let event = await self.next()
                    waiter.withLock { state in
                        defer { state.continuation = nil }
                        return state.continuation
                    }?.resume(returning: event)
                }
            }
        } onCancel: {
            waiter.withLock { state in
                state.cancelled = true
                defer { state.continuation = nil }
                return state.continuation
            }?.resume(returning: nil)
        }
    }
}
