import StretchCore
import StretchDesktop

/// A `DesktopEvents` that records what the sources say, for tests to await in order.
actor RecordedEvents: DesktopEvents {
    enum Event: Sendable, Hashable {
        case answered(NotificationAnswer)
        case aboutToSleep
        case wokeUp
        case locked(Bool)
        case idle(since: Duration?)
        case doNotDisturb(source: String, on: Bool)
        case call(source: String, on: Bool)
    }

    private var events: [Event] = []
    private var waiters: [CheckedContinuation<Event, Never>] = []

    /// The next event not yet taken, waiting for it if need be.
    func next() async -> Event {
        if !events.isEmpty { return events.removeFirst() }
        return await withCheckedContinuation { waiters.append($0) }
    }

    /// The events not yet taken, without waiting.
    func pending() -> [Event] { events }

    /// The events recorded and not yet taken, taken.
    func taken() -> [Event] {
        defer { events = [] }
        return events
    }

    private func record(_ event: Event) {
        if waiters.isEmpty { events.append(event) } else { waiters.removeFirst().resume(returning: event) }
    }

    func notificationAnswered(_ answer: NotificationAnswer) { record(.answered(answer)) }
    func aboutToSleep() { record(.aboutToSleep) }
    func wokeUp() { record(.wokeUp) }
    func lockChanged(_ locked: Bool) { record(.locked(locked)) }
    func idleChanged(since: Duration?) { record(.idle(since: since)) }
    func doNotDisturbChanged(source: String, on: Bool) { record(.doNotDisturb(source: source, on: on)) }
    func callChanged(source: String, on: Bool) { record(.call(source: source, on: on)) }
}
