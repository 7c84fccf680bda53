import ControlProtocol
import StretchCore
import Synchronization

/// Hands the daemon's status to the clients that `watch` it, each time what it shows changes.
///
/// The daemon publishes where things happen (each pass of its loop, each command, each cue of a session); each
/// watcher gets a status only when its `StatusReport.Visible` differs from the last one that watcher got, so time
/// passing (counters, the process report) pushes nothing. Each watcher's queue holds one status at most, the newest:
/// a watcher that reads slowly skips statuses that were already out of date, never piles them up. (The control
/// server drops a watcher whose socket stays full; see `ControlServer`.) Publishing costs nothing while nobody
/// watches: check `isWatched` before building a status.
///
/// Statuses can be built concurrently (building one waits on the session, and the daemon may meanwhile change
/// and publish again), so each carries a `Ticket` taken before it was built: a watcher is never given a status
/// older than one it already got, and the last change is always the last thing it sees.
public final class StatusFeed: Sendable {
    /// When a status was begun: later tickets describe later moments.
    public struct Ticket: Comparable, Sendable {
        let value: Int
        public static func < (a: Ticket, b: Ticket) -> Bool { a.value < b.value }
    }

    private struct Watcher {
        var continuation: AsyncStream<StatusReport>.Continuation
        /// What this watcher was last given.
        var shown: StatusReport.Visible?
        /// The newest ticket offered to this watcher.
        var seen: Ticket?
    }

    private struct State {
        var nextID = 0
        var watchers: [Int: Watcher] = [:]
    }

    private let state = Mutex(State())
    private let tickets = Atomic<Int>(0)

    public init() {}

    /// Whether anyone watches: otherwise there is no need to build a status to publish.
    public var isWatched: Bool { state.withLock { !$0.watchers.isEmpty } }

    public var watcherCount: Int { state.withLock { $0.watchers.count } }

    /// Take one before building a status to publish.
    public func ticket() -> Ticket { Ticket(value: tickets.add(1, ordering: .relaxed).newValue) }

    /// Offers `status`, begun at `ticket`, to every watcher; each gets it only if it shows something new to them
    /// and is not older than what they got.
    public func publish(_ status: StatusReport, ticket: Ticket) {
        let visible = status.visible
        state.withLock { state in
            for id in state.watchers.keys { Self.offer(status, visible: visible, ticket: ticket, to: id, in: &state) }
        }
    }

    /// A new watcher. Its statuses end when the subscription's stream is dropped or its task is cancelled.
    public func subscribe() -> Subscription {
        let (stream, continuation) = AsyncStream.makeStream(
            of: StatusReport.self, bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.watchers[id] = Watcher(continuation: continuation)
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
        }
        return Subscription(statuses: stream, id: id, feed: self)
    }

    /// One watcher's statuses.
    public struct Subscription: Sendable {
        public let statuses: AsyncStream<StatusReport>
        let id: Int
        let feed: StatusFeed

        /// Offers `status`, begun at `ticket`, to this watcher alone (its first status, when it subscribes).
        /// Ends the watch: `statuses` yields what waits in it, then ends.
        public func end() {
            let continuation = feed.state.withLock { $0.watchers[id]?.continuation }
            // Outside the lock: finishing runs `onTermination`, which takes it.
            continuation?.finish()
        }

        public func offer(_ status: StatusReport, ticket: Ticket) {
            let visible = status.visible
            feed.state.withLock { StatusFeed.offer(status, visible: visible, ticket: ticket, to: id, in: &$0) }
        }
    }

    private static func offer(
        _ status: StatusReport, visible: StatusReport.Visible, ticket: Ticket, to id: Int, in state: inout State
    ) {
        guard var watcher = state.watchers[id], watcher.seen.map({ $0 < ticket }) ?? true else { return }
        watcher.seen = ticket
        let changed = watcher.shown != visible
        watcher.shown = visible
        state.watchers[id] = watcher
        // Replaces a status the watcher has not taken yet: at most one waits.
        if changed { watcher.continuation.yield(status) }
    }
}

/// Passes each cue on, then has the status published: a step, side, part or phase may have begun.
struct StatusPublishingOutput: CueOutput {
    let base: any CueOutput
    let publish: @Sendable () async -> Void

    init(_ base: any CueOutput, publish: @escaping @Sendable () async -> Void) {
        self.base = base
        self.publish = publish
    }

    func play(_ cue: PlannedCue, of plan: SessionPlan) async {
        await base.play(cue, of: plan)
        await publish()
    }
}
