import DBus
@testable import EpollExecutor
import Foundation
import InMemoryLogging
import Logging
import ServiceLifecycle
import Synchronization
import TestSupport

/// A private bus with `BusConnections` pointed at it (as the session and the system bus), a loop the services run
/// on, the test's own connection to drive python-dbusmock peers (`mocks`), and a log to read; `stop()` ends them.
struct DesktopMockBus {
    let loop: EpollLoop
    let mocks: MockBus
    let buses: BusConnections
    let log = InMemoryLogHandler()

    init() throws {
        loop = EpollLoop()
        loop.startThread()
        mocks = try MockBus(on: loop)
        buses = .opening(mocks.address, loop: loop, logger: Logger(label: "buses") { [log] _ in log })
    }

    var logger: Logger { log.asLogger }

    /// The info lines logged so far.
    var infos: [String] { log.infos }

    /// A task on the loop that runs `service`, unless `runs` is false (the test runs it itself).
    func running(_ service: some Service, if runs: Bool = true) -> Task<Void, any Error> {
        Task(executorPreference: loop.taskExecutor) { if runs { try await service.run() } }
    }

    func stop() {
        mocks.stop()
        loop.stop()
    }

    /// Cancels `running` (a service that must return on cancellation), waits for it, then ends the rest.
    func stop(after running: Task<Void, any Error>) async {
        running.cancel()
        _ = await running.result
        stop()
    }
}

/// Runs `body` on a service made by `make` with `BusConnections` that find no bus at the address, while its `run()`
/// runs; then cancels it, which it returns from without an error. Returns the messages logged.
func withoutABus<S: Service>(
    _ make: (BusConnections, Logger) -> S, _ body: (S) async -> Void
) async throws -> [String] {
    let log = InMemoryLogHandler()
    let loop = EpollLoop()
    loop.startThread()
    defer { loop.stop() }
    let service = make(.opening("unix:path=/nonexistent/stretchd-test/bus", loop: loop, logger: log.asLogger), log.asLogger)
    let running = Task { try await service.run() }
    await body(service)
    running.cancel()
    try await running.value
    return log.entries.map(\.message.description)
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
