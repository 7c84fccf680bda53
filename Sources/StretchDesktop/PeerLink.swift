import DBus

/// What a service hears from its peer over one connection.
enum PeerEvent: Sendable {
    /// A signal of the subscribed matches.
    case signal(BusMessage)
    /// The peer's bus name changed owner: the peer started (a unique name), exited (nil) or was replaced.
    case ownerChanged(String?)
    /// The connection to the bus was lost.
    case lost
}

/// One bus connection watched for a service: the signals `matches` select and the owner of the peer's name,
/// subscribed before `open` returns (so the service reads current values after, and misses no change), then handed
/// to `send` from a task of their own until `cancel()` or the connection ends. The service consumes them in one
/// stream with its own requests, in order; a `generation` tells a later link's events from an earlier one's.
final class PeerLink: Sendable {
    let connection: BusConnection
    /// The peer's owner when the link was opened; nil when it was not running.
    let owner: String?
    private let forwarder: Task<Void, Never>

    init(
        connection: BusConnection, peer: String, matches: [SignalMatch],
        send: @escaping @Sendable (PeerEvent) -> Void
    ) async throws(BusError) {
        var streams: [AsyncThrowingStream<BusMessage, any Error>] = []
        for match in matches { streams.append(try await connection.signals(match)) }
        let (owner, changes) = try await connection.watchNameOwner(peer)
        self.connection = connection
        self.owner = owner
        forwarder = Task { [streams] in
            await withTaskGroup(of: Void.self) { group in
                for stream in streams {
                    group.addTask {
                        // Ends with the connection (the loss is reported below) or the link's cancellation.
                        do { for try await signal in stream { send(.signal(signal)) } } catch {}
                    }
                }
                group.addTask {
                    do { for try await change in changes { send(.ownerChanged(change.newOwner)) } } catch {}
                }
                group.addTask {
                    // nil: closed here, or the link was cancelled; neither is news to the service.
                    if await connection.disconnected() != nil { send(.lost) }
                }
            }
        }
    }

    /// Stops forwarding; the subscriptions end with it.
    func cancel() { forwarder.cancel() }

    deinit { forwarder.cancel() }
}
