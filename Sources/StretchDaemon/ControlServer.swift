#if canImport(Glibc)
import Glibc
#endif
import CLinux
import ControlProtocol
import EpollExecutor
import Logging
import ServiceLifecycle
import StretchSystem
import Synchronization

/// What the control server asks of the daemon.
public protocol ControlHandler: Sendable {
    func handle(_ request: ControlRequest) async -> ControlReply
    /// The socket listens; called once.
    func controlReady() async
    /// Where the handler publishes its status for `watch`.
    var statusFeed: StatusFeed { get }
}

extension Daemon: ControlHandler {}

/// The Unix socket `stretchctl` talks to: one JSON request per line, one JSON reply per line.
///
/// It protects the daemon from its clients: a peer with another uid is refused (`SO_PEERCRED`; logged once per
/// uid per minute), a line over `ControlProtocol.maximumLineLength` gets an error and the connection is closed, a
/// client that sends nothing for `idleTimeout` is dropped, one that takes longer than `lineTimeout` from the first
/// byte of a line to its newline gets an error and is dropped, and past `maximumClients` connections new ones are
/// turned away with an error. No timer runs while a request is being handled. A client may half-close after its
/// request: it still gets its reply (a last line without a newline counts), then the connection is closed.
///
/// `watch` turns a connection into a watcher: it gets a `status` reply at once and another each time what it shows
/// changes (see `StatusFeed`), until it closes its side of the connection; lines it sends meanwhile are ignored.
/// A watcher takes a client's place like any other and is not timed out for being silent. One that stops reading
/// is never buffered without bound: it has at most one status waiting in the feed (the newest) and one being
/// written; once the socket is full, the client has `idleTimeout` to read before it is dropped.
///
/// It runs on the daemon's own `EpollLoop`, with no thread of its own: a non-blocking listening socket
/// (`ControlListener`) accepted from when readable, and each client a task whose reads and writes wait on the
/// loop (`ControlConnection`); nothing it does blocks the loop.
public struct ControlServer: Service {
    public let path: String
    private let handler: any ControlHandler
    private let logger: Logger
    private let folderPolicy: SocketFolder.Policy
    private let loop: EpollLoop
    public var maximumClients = 64
    /// How long a client may stay silent, from connecting or from its last reply, before it is dropped.
    public var idleTimeout = Duration.seconds(10)
    /// How long a client may take to send one request line, from its first byte to its newline.
    public var lineTimeout = Duration.seconds(10)
    /// The clock the two timeouts run on. The daemon's is a `LoopClock`, whose cancelled sleeps leave no deadline
    /// behind: a client answered before its timeout does not wake the idle daemon later.
    public var timeoutClock: any Clock<Duration> = ContinuousClock()

    /// `folderPolicy`: what the socket's folder must be (see `SocketFolder.Policy`). `loop`: where the socket is
    /// served (the server's tasks prefer the loop's executor, and wait for their descriptors there).
    public init(
        path: String, handler: any ControlHandler, logger: Logger, loop: EpollLoop,
        folderPolicy: SocketFolder.Policy = .chosenFolder
    ) {
        self.path = path
        self.handler = handler
        self.logger = logger
        self.loop = loop
        self.folderPolicy = folderPolicy
    }

    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    public func run() async throws {
        // The services started before this one (the daemon, with its `started` line) run their first job first,
        // so the log reads `started`, then `listening`.
        await Task.yield()
        try prepareSocketPath()
        let listener: ControlListener
        do {
            listener = try ControlListener(path: path)
        } catch {
            throw StartError(description: "cannot listen on \(path): \(error)")
        }
        defer { listener.close() }
        logger.info("listening", metadata: ["socket": "\(path)"])
        await handler.controlReady()
        try await withTaskExecutorPreference(loop.taskExecutor) {
            try await serve(listener)
        }
        logger.info("control socket closed", metadata: ["socket": "\(path)"])
    }

    /// Accepts clients until a graceful shutdown (or cancellation), then waits for those being served.
    private func serve(_ listener: ControlListener) async throws {
        let shared = SharedState(warnings: ControlWarnings(logger: logger))
        try await withThrowingDiscardingTaskGroup { group in
            while let fd = try await nextClient(listener) {
                group.addTask { await serve(fd, shared: shared, clock: timeoutClock) }
            }
        }
    }

    /// The next client's socket; nil once the daemon shuts down.
    private func nextClient(_ listener: ControlListener) async throws -> Int32? {
        do {
            return try await cancelWhenGracefulShutdown { [loop, logger] in
                while true {
                    do {
                        if let fd = try listener.accept() { return fd }
                        try await loop.waitReadable(listener.fd)
                    } catch let error as SystemCallError where ControlListener.isShortage(error) {
                        // Out of descriptors or memory for now: the socket stays readable, so pause, not spin.
                        logger.error("cannot accept a control client", metadata: ["error": "\(error)"])
                        try await loop.sleep(until: .now + .milliseconds(100))
                    }
                }
            }
        } catch is CancellationError {
            return nil
        }
    }

    private func serve<C: Clock<Duration>>(_ fd: Int32, shared: SharedState, clock: C) async {
        defer { close(fd) }
        let connection = ControlConnection(
            fd: fd, loop: loop, clock: clock, idleTimeout: idleTimeout, lineTimeout: lineTimeout, logger: logger,
            warnings: shared.warnings)
        let peerUID = connection.peerUID ?? uid_t.max
        let ownUser = peerUID == getuid()
        // Refused peers never take a place; the others take one if there is one free.
        let admitted = ownUser && shared.admit(upTo: maximumClients)
        defer { if admitted { shared.leave() } }
        do {
            if !ownUser {
                shared.warnings.warn(.otherUser(peerUID), "refused a client of another user", metadata: ["uid": "\(peerUID)"])
                return try await connection.send(
                    .failure(ControlError("permission denied: stretchd serves only its own user")))
            }
            if !admitted {
                return try await connection.send(
                    .failure(ControlError("too many clients (at most \(maximumClients)); try again")))
            }
            try await connection.serveRequests(handler)
        } catch {
            logger.debug("control connection ended", metadata: ["error": "\(error)"])
        }
    }

    /// Checks (or creates) the socket's folder, and clears a socket left by a daemon that died; refuses to start
    /// when another daemon is listening there.
    private func prepareSocketPath() throws {
        do {
            try SocketFolder.prepare(socketPath: path, policy: folderPolicy)
        } catch {
            throw StartError(description: error.description)
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw StartError(description: "\(path) exists and is not a socket; remove it or choose another --socket")
        }
        if ControlClientProbe.isListening(path) {
            throw StartError(description: "another stretchd is already listening on \(path)")
        }
        unlink(path)
    }
}

/// What the accept loop shares with the connection tasks: the count of clients being served, and which warnings
/// were logged when.
private final class SharedState: Sendable {
    private let clients = Atomic<Int>(0)
    let warnings: ControlWarnings

    init(warnings: ControlWarnings) { self.warnings = warnings }

    /// Takes a place if fewer than `limit` clients are being served.
    func admit(upTo limit: Int) -> Bool {
        var current = clients.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = clients.compareExchange(
                expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func leave() { clients.subtract(1, ordering: .relaxed) }
}

/// Warnings about what clients of the control socket did. A client can repeat them as fast as it can connect, so
/// each kind is logged at most once a minute, saying how many were left out (`LogRateLimiter`); what it sent goes
/// into a line only escaped and cut (`LogText`), so it can neither flood the log nor fake a line of its own.
final class ControlWarnings: Sendable {
    enum Kind: Hashable, Sendable {
        /// A client of another user (per uid).
        case otherUser(uid_t)
        /// A line that is not a request.
        case badRequest
        case lineTooLong
        case lineTooSlow
    }

    private let logger: Logger
    private let limiter = Mutex(LogRateLimiter<Kind, ContinuousClock.Instant>(interval: .seconds(60)))

    init(logger: Logger) { self.logger = logger }

    /// Logs `message` at warning unless a warning of `kind` was logged less than a minute before `now`.
    func warn(
        _ kind: Kind, _ message: String, metadata: Logger.Metadata = [:], at now: ContinuousClock.Instant = .now
    ) {
        guard let leftOut = limiter.withLock({ $0.shouldLog(kind, at: now) }) else { return }
        logger.warning(
            "\(message)\(LogRateLimiter<Kind, ContinuousClock.Instant>.suffix(leftOut))", metadata: metadata)
    }

    /// A line that is not a request: why (which may quote the client's text), and the line's start.
    func badRequest(_ line: [UInt8], _ error: ControlError) {
        warn(
            .badRequest, "bad control request: \(LogText.escaping(error.description))",
            metadata: ["line": "\(LogText.escaping(bytes: line))"])
    }
}

/// Whether something accepts connections on a Unix socket path.
enum ControlClientProbe {
    static func isListening(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return withUnixSocketAddress(path) { connect(fd, $0, $1) == 0 } ?? false
    }
}
