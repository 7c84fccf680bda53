import DBus

/// What a service hears from its peer over one connection.
enum PeerEvent: Sendable {
    /// A signal of the subscribed matches.
    case signal(BusMessage)
    /// The peer's bus name changed owner: the peer started (a unique name), exited (nil) or was replaced.
    case ownerChanged(String?)
    /// The connection to the bus was lost.
    case lost
    /// A new connection to the bus is there (the bus came back) and the link is not on it: everything is to be
    /// set up again on it, as after `lost`.
    case connected
}

/// One bus connection watched for a service: the signals `matches` select and the owner of the peer's name (each
/// counted only from the peer's current owner, and the owner's changes only from the bus: see `SignalMatch`),
/// subscribed before `init` returns (so the service reads current values after, and misses no change), each handed
/// to `send` as the connection reads it (in the bus's order with the replies to the service's calls: see `sync()`).
/// The service consumes them in one stream with its own requests, in order (`PeerInbox`); a later link's events are
/// told from an earlier one's by the generation `PeerTie` gives each link.
final class PeerLink: Sendable {
    let connection: BusConnection
    let peer: String
    /// The peer's owner when the link was opened; nil when it was not running.
    let owner: String?
    /// Holds the subscriptions and reports the connection's loss.
    private let watcher: Task<Void, Never>

    init(
        connection: BusConnection, peer: String, matches: [SignalMatch],
        send: @escaping @Sendable (PeerEvent) -> Void
    ) async throws(BusError) {
        var subscriptions: [AsyncThrowingStream<Never, any Error>] = []
        for match in matches {
            subscriptions.append(try await connection.signals(match) { send(.signal($0)) })
        }
        subscriptions.append(
            try await connection.signals(.nameOwnerChanged(peer)) { message in
                guard let change = NameOwnerChange(message) else { return }
                send(.ownerChanged(change.newOwner))
            })
        self.connection = connection
        self.peer = peer
        owner = try await connection.nameOwner(of: peer)
        watcher = Task { [subscriptions] in
            // nil: closed here, or the link was cancelled; neither is news to the service.
            if await connection.disconnected() != nil { send(.lost) }
            _ = subscriptions
        }
    }

    /// Returns after a round trip to the bus: every signal the bus sent this connection before then has been
    /// handed to `send`. (Nothing is thrown: a lost connection is reported through `send`.)
    func sync() async {
        _ = try? await connection.nameOwner(of: peer)
    }

    /// Stops watching; the subscriptions end with it.
    func cancel() { watcher.cancel() }

    deinit { watcher.cancel() }
}
