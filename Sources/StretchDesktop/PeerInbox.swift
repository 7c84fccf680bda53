import DBus
import ServiceLifecycle

/// The one ordered stream a service that answers requests (`DesktopNotifications`, `SleepWatch`) runs on: its own
/// requests, which return at once, and its peer's events, handled one at a time by the state its `run()` keeps
/// (a `PeerClient`, owned by that one task).
final class PeerInbox<Request: Sendable>: Sendable {
    enum Input: Sendable {
        case request(Request)
        case peer(PeerEvent, generation: Int)
        /// `settled()`: a round trip to the bus, so that the signals it sent before are queued; then `settled`.
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

    /// Returns once every request made before, and every signal the bus sent before, has been handled (while
    /// `run(_:)` runs): for tests.
    func settled() async {
        await withCheckedContinuation { input.yield(.barrier($0)) }
    }

    /// A link to `peer` on `connection` whose events come into this inbox tagged with `generation` (the client's
    /// count of its links, so that a replaced link's late events are told apart and dropped).
    func link(
        _ connection: BusConnection, peer: String, matches: [SignalMatch], generation: Int
    ) async throws(BusError) -> PeerLink {
        let input = input
        return try await PeerLink(
            connection: connection, peer: peer, matches: matches,
            send: { input.yield(.peer($0, generation: generation)) })
    }

    /// Hands the inputs to `client`, after its first `connect()`, until cancelled or shut down (then its
    /// `shutDown()`); its link is cancelled on the way out.
    func run<Client: PeerClient>(_ client: Client) async where Client.Request == Request {
        defer { client.link?.cancel() }
        await withGracefulShutdownHandler {
            await client.connect()
            for await input in inputs {
                switch input {
                case .request(let request):
                    await client.handle(request)
                case .peer(let event, let generation):
                    guard generation == client.generation else { break }
                    await client.handle(event)
                case .barrier(let continuation):
                    await client.link?.sync()
                    self.input.yield(.settled(continuation))
                case .settled(let continuation):
                    continuation.resume()
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
    /// The link to the peer, while there is one.
    var link: PeerLink? { get }
    /// The generation of `link`: the peer events of others are dropped.
    var generation: Int { get }
    /// Links to the peer if there is no link (and the bus is there).
    func connect() async
    func handle(_ request: Request) async
    func handle(_ event: PeerEvent) async
    /// A graceful shutdown began: the last input handled.
    func shutDown() async
}
