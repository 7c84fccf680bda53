import DBus
import Logging
import Synchronization

/// Says once at info that something a watch needs is missing (no peer, a call that fails), not at every try; once
/// it is there again, a later absence is said again.
final class AbsenceLog: Sendable {
    private let logger: Logger
    private let said = Mutex<Set<String>>([])

    init(logger: Logger) { self.logger = logger }

    /// Logs `message` unless the absence of `what` was already logged and not followed by `present(what)`.
    func missing(_ what: String, _ message: @autoclosure () -> String) {
        guard said.withLock({ $0.insert(what).inserted }) else { return }
        logger.info("\(message())")
    }

    /// `what` is there: its next absence is logged again.
    func present(_ what: String) {
        _ = said.withLock { $0.remove(what) }
    }
}

/// What a source last reported, so that only changes are reported, and a source that can no longer be read after it
/// was reported on is reported off.
final class LastReport: Sendable {
    private let report: @Sendable (Bool) async -> Void
    private let last = Mutex<Bool?>(nil)

    init(_ report: @escaping @Sendable (Bool) async -> Void) { self.report = report }

    /// Reports `on` if it differs from what was last reported (the first value is always reported); nil (no longer
    /// known: no peer, no property, the bus lost) ends an "on" with an "off".
    func update(_ on: Bool?) async {
        let changed = last.withLock { last -> Bool? in
            let now = on ?? (last == nil ? nil : false)
            guard let now, now != last else { return nil }
            last = now
            return now
        }
        if let changed { await report(changed) }
    }
}

/// A flag shared between tasks.
final class SharedFlag: Sendable {
    private let value = Mutex(false)

    var isSet: Bool { value.withLock { $0 } }

    func set(_ on: Bool = true) { value.withLock { $0 = on } }
}

/// One stream of what several producers yield, each running in a task of its own; it ends when the first producer
/// ends (with that producer's error, if it threw), and cancels the others. Dropping or cancelling the consumer
/// cancels every producer.
func mergedStreams<Element: Sendable>(
    _ producers: [@Sendable (AsyncThrowingStream<Element, any Error>.Continuation) async throws -> Void]
) -> AsyncThrowingStream<Element, any Error> {
    AsyncThrowingStream { continuation in
        let task = Task {
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for producer in producers { group.addTask { try await producer(continuation) } }
                    try await group.next()
                    group.cancelAll()
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
    }
}

/// A producer for `mergedStreams`: yields each element of `stream`, wrapped.
func relay<Element: Sendable, Event: Sendable>(
    _ stream: AsyncThrowingStream<Element, any Error>, _ wrap: @escaping @Sendable (Element) -> Event
) -> @Sendable (AsyncThrowingStream<Event, any Error>.Continuation) async throws -> Void {
    { continuation in
        for try await element in stream { continuation.yield(wrap(element)) }
    }
}

/// Returns when the calling task is cancelled, without a timer: a service whose sources are all gone waits here, as
/// only cancellation ends a service's `run()`.
func untilCancelled() async {
    let (never, keeper) = AsyncStream<Never>.makeStream()
    for await _ in never {}
    withExtendedLifetime(keeper) {}
}

/// Whether `error` only says the watch is ending: the task was cancelled, or the bus connection closed or was lost
/// (which `BusConnections` logs).
func isEnding(_ error: any Error) -> Bool {
    if Task.isCancelled { return true }
    guard let error = error as? BusError else { return false }
    return error.isDisconnection || error.isCancellation
}
