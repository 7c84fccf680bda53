import DBus
import EpollExecutor
import ServiceLifecycle

/// The one ordered stream a service that answers requests (`DesktopNotifications`, `SleepWatch`) runs on: its own
/// requests, which return at once, and its peer's events, handled one at a time by the state its `run()` keeps
/// (a `PeerClient`, owned by that one task).
final class PeerInbox<Request: Sendable>: Sendable {
    enum Input: Sendable {
        case request(Request)
        case peer(PeerEvent, generation: Int)
        /// A connection to the bus, as `BusConnections` makes each available (the bus came back).
        case connected(BusConnection)
        /// `settled()`: a round trip to the bus, so that the signals it sent before are queued; then `settled`, which
    /// is resumed once the client awaits no reply either.
        case barrier(CheckedContinuation<Void, Never>)
        /// Resumed once every input before it was handled.
        case settled(CheckedContinuation<Void, Never>)
        case shutdown
    }

    private let inputs: AsyncStream<Input>
    private let input: AsyncStream<Input>.Continuation

    init() {
        (inputs, input) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Queues `request`; returns at once (non-blocking, ordered: `run(_:)` handles the inputs in turn).
    func send(_ request: Request) {
        input.yield(.request(request))
    }

    /// Returns once every request made before, every signal the bus sent before, and the replies the client awaits
    /// have been handled (while `run(_:)` runs): for tests.
    func settled() async {
        await withCheckedContinuation { input.yield(.barrier($0)) }
    }

    /// A link to `peer` on `connection` whose events come into this inbox tagged with `generation`.
    fileprivate func link(
        _ connection: BusConnection, peer: String, matches: [SignalMatch], generation: Int
    ) async throws(BusError) -> PeerLink {
        let input = input
        return try await PeerLink(
            connection: connection, peer: peer, matches: matches,
            send: { input.yield(.peer($0, generation: generation)) })
    }

    /// Hands the inputs to `client`, after its first `connect()`, until cancelled or shut down (then its
    /// `shutDown()`); its link is cancelled on the way out. Each connection to the bus that comes (the bus came
    /// back) and that the link is not on is handed over as `.connected`: no request is needed to set it up again.
    func run<Client: PeerClient>(_ client: Client) async where Client.Request == Request {
        let buses = client.tie.buses, bus = client.tie.bus, input = input
        let follower = Task(executorPreference: buses.loop.taskExecutor) {
            for await connection in buses.connections(bus) { input.yield(.connected(connection)) }
        }
        defer {
            follower.cancel()
            client.tie.drop()
        }
        // `settled()` callers waiting for the client's replies in flight.
        var unsettled: [CheckedContinuation<Void, Never>] = []
        await withGracefulShutdownHandler {
            await client.connect()
            for await input in inputs {
                defer {
                    if !client.awaitsReplies, !unsettled.isEmpty {
                        for waiter in unsettled { waiter.resume() }
                        unsettled = []
                    }
                }
                switch input {
                case .request(let request):
                    await client.handle(request)
                case .peer(let event, let generation):
                    guard generation == client.tie.generation else { break }
                    await client.handle(event)
                case .connected(let connection):
                    guard client.tie.link?.connection !== connection else { break }
                    await client.handle(.connected)
                case .barrier(let continuation):
                    await client.tie.link?.sync()
                    self.input.yield(.settled(continuation))
                case .settled(let continuation):
                    unsettled.append(continuation)
                case .shutdown:
                    await client.shutDown()
                    return
                }
            }
        } onGracefulShutdown: { [input] in
            input.yield(.shutdown)
        }
    }
}

/// The state a `PeerInbox` hands its inputs to.
protocol PeerClient: AnyObject {
    associatedtype Request: Sendable
    /// Its link to the peer.
    var tie: PeerTie<Request> { get }
    /// Links to the peer if there is no link (and the bus is there).
    func connect() async
    func handle(_ request: Request) async
    func handle(_ event: PeerEvent) async
    /// A graceful shutdown began: the last input handled.
    func shutDown() async
    /// Whether a call the client made beside its inputs has yet to come back as one.
    var awaitsReplies: Bool { get }
}

extension PeerClient {
    var awaitsReplies: Bool { false }
}

/// A `PeerClient`'s link to its peer on one of the buses, whose events come into its inbox; opened when the bus is
/// there, dropped when the connection is lost, opened again on the next connection. Owned by the client's task.
final class PeerTie<Request: Sendable> {
    let inbox: PeerInbox<Request>
    let buses: BusConnections
    let bus: BusConnections.Bus
    let peer: String
    let matches: [SignalMatch]
    /// The link, while there is one.
    private(set) var link: PeerLink?
    /// How many links were opened: the events of earlier links, still queued, are dropped.
    private(set) var generation = 0

    init(
        inbox: PeerInbox<Request>, buses: BusConnections, bus: BusConnections.Bus, peer: String,
        matches: [SignalMatch]
    ) {
        self.inbox = inbox
        self.buses = buses
        self.bus = bus
        self.peer = peer
        self.matches = matches
    }

    /// Opens the link if there is none and the bus is there (its absence is logged once by `BusConnections`);
    /// returns the new link, nil if none was opened.
    func open() async throws(BusError) -> PeerLink? {
        guard link == nil, let connection = await buses.connection(bus) else { return nil }
        generation += 1
        let link = try await inbox.link(connection, peer: peer, matches: matches, generation: generation)
        self.link = link
        return link
    }

    /// Cancels the link, if any (the connection was lost, or the service ends).
    func drop() {
        link?.cancel()
        link = nil
    }
}
