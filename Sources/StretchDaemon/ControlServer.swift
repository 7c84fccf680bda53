#if canImport(Glibc)
import Glibc
#endif
import CLinux
import ControlProtocol
import Logging
import NIOCore
import NIOPosix
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
/// is never buffered without bound: it has at most one status waiting in the feed (the newest), the rest waits
/// in the socket and in NIO's write buffer up to its high-water mark, past which the channel is unwritable and
/// the client has `idleTimeout` to read before it is dropped.
public struct ControlServer: Service {
    public let path: String
    private let handler: any ControlHandler
    private let logger: Logger
    private let folderPolicy: SocketFolder.Policy
    public var maximumClients = 64
    /// How long a client may stay silent, from connecting or from its last reply, before it is dropped.
    public var idleTimeout = Duration.seconds(10)
    /// How long a client may take to send one request line, from its first byte to its newline.
    public var lineTimeout = Duration.seconds(10)
    /// The clock the two timeouts run on. Not NIO's timers: NIO leaves its timerfd armed when a timer is cancelled,
    /// so every connection would wake the idle daemon once more, `idleTimeout` later.
    public var timeoutClock: any Clock<Duration> = ContinuousClock()

    /// `folderPolicy`: what the socket's folder must be (see `SocketFolder.Policy`).
    public init(
        path: String, handler: any ControlHandler, logger: Logger,
        folderPolicy: SocketFolder.Policy = .chosenFolder
    ) {
        self.path = path
        self.handler = handler
        self.logger = logger
        self.folderPolicy = folderPolicy
    }

    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    public func run() async throws {
        try prepareSocketPath()
        // One event-loop thread is plenty for one user's clients; NIO's shared group would start one per core.
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            try await listen(on: loops)
        } catch {
            try? await loops.shutdownGracefully()
            throw error
        }
        try await loops.shutdownGracefully()
    }

    private func listen(on loops: MultiThreadedEventLoopGroup) async throws {
        let server: NIOAsyncChannel<Connection, Never>
        do {
            server = try await ServerBootstrap(group: loops)
                .serverChannelOption(.backlog, value: 256)
                // A client that half-closes after its request still gets the reply.
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .bind(unixDomainSocketPath: path) { [idleTimeout, lineTimeout, timeoutClock] channel in
                    Self.setUp(channel, idleTimeout: idleTimeout, lineTimeout: lineTimeout, clock: timeoutClock)
                }
        } catch {
            throw StartError(description: "cannot listen on \(path): \(error)")
        }
        // The socket file was created under a 077 umask; make its mode explicit.
        chmod(path, 0o600)
        defer { unlink(path) }
        logger.info("listening", metadata: ["socket": "\(path)"])
        await handler.controlReady()

        let shared = SharedState()
        try await withGracefulShutdownHandler {
            try await server.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in connections {
                        group.addTask { await serve(connection, shared: shared) }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
        logger.info("control socket closed", metadata: ["socket": "\(path)"])
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

    /// A connection with the uid of the process at the other end.
    struct Connection: Sendable {
        var channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        var peerUID: uid_t
    }

    private static func setUp(
        _ channel: any Channel, idleTimeout: Duration, lineTimeout: Duration, clock: any Clock<Duration>
    ) -> EventLoopFuture<Connection> {
        let credentials: EventLoopFuture<clinux_peer_credentials> =
            (channel as? any SocketOptionProvider)?.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
            ?? channel.eventLoop.makeSucceededFuture(clinux_peer_credentials(pid: 0, uid: uid_t.max, gid: gid_t.max))
        return credentials.flatMapThrowing { credentials in
            try channel.pipeline.syncOperations.addHandler(
                RequestLineHandler(idleTimeout: idleTimeout, lineTimeout: lineTimeout, clock: clock))
            return Connection(
                channel: try NIOAsyncChannel(wrappingChannelSynchronously: channel), peerUID: credentials.uid)
        }
    }

    private func serve(_ connection: Connection, shared: SharedState) async {
        let ownUser = connection.peerUID == getuid()
        // Refused peers never take a place; the others take one if there is one free.
        let admitted = ownUser && shared.admit(upTo: maximumClients)
        defer { if admitted { shared.leave() } }
        do {
            try await connection.channel.executeThenClose { requests, replies in
                func send(_ reply: ControlReply) async throws {
                    let line: [UInt8]
                    switch reply.encode() {
                    case .success(let encoded): line = encoded
                    case .failure(let error):
                        logger.error("cannot send a reply", metadata: ["error": "\(error)"])
                        line = ControlReply.failure(error).encoded()
                    }
                    try await replies.write(ByteBuffer(bytes: line))
                }
                if !ownUser {
                    if let unlogged = shared.refusals.withLock({ $0.shouldLog(connection.peerUID, at: .now) }) {
                        var metadata: Logger.Metadata = ["uid": "\(connection.peerUID)"]
                        if unlogged > 0 { metadata["refused_since_last_logged"] = "\(unlogged)" }
                        logger.warning("refused a client of another user", metadata: metadata)
                    }
                    return try await send(.failure(ControlError("permission denied: stretchd serves only its own user")))
                }
                if !admitted {
                    return try await send(.failure(ControlError("too many clients (at most \(maximumClients)); try again")))
                }
                do {
                    try await withThrowingDiscardingTaskGroup { group in
                        var watching = false
                        for try await line in requests {
                            // A watcher's further lines are read (so its closing is seen) and ignored.
                            guard !watching else { continue }
                            switch ControlRequest.decode(line.readableBytesView) {
                            case .success(let request) where request.command == .watch:
                                watching = true
                                let subscription = handler.statusFeed.subscribe()
                                // No more idle timer: a watcher is silent by design.
                                try await connection.channel.channel.triggerUserOutboundEvent(
                                    RequestLineHandler.Watching()).get()
                                let ticket = handler.statusFeed.ticket()
                                let first = await handler.handle(.status)
                                guard let status = first.status else {
                                    try await send(first)
                                    return
                                }
                                subscription.offer(status, ticket: ticket)
                                let channel = connection.channel.channel
                                group.addTask {
                                    // Watching never ends by itself: shutting down closes the connection.
                                    try await withGracefulShutdownHandler {
                                        for await status in subscription.statuses {
                                            try await send(ControlReply(ok: true, status: status))
                                        }
                                    } onGracefulShutdown: {
                                        channel.close(promise: nil)
                                    }
                                }
                            case .success(let request): try await send(await handler.handle(request))
                            case .failure(let error): try await send(.failure(error))
                            }
                        }
                        // The client closed its side: the watch, if any, ends.
                        group.cancelAll()
                    }
                } catch is RequestLineHandler.LineTooLong {
                    try await send(.failure(ControlError(
                        "request line longer than \(ControlProtocol.maximumLineLength) bytes")))
                }
            }
        } catch {
            logger.debug("control connection ended", metadata: ["error": "\(error)"])
        }
    }
}

/// What the accept loop shares with the connection tasks: the count of clients being served, and which refused
/// peers were logged when.
private final class SharedState: Sendable {
    private let clients = Atomic<Int>(0)
    let refusals = Mutex(LogRateLimiter<uid_t, ContinuousClock.Instant>(interval: .seconds(60)))

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

/// Splits a connection's bytes into request lines, and bounds how long a client may take to send one.
///
/// Timers run only while the daemon waits for the client: from accepting it, or from its last reply, the client
/// has `idleTimeout` to send the first byte of a request; from that byte, `lineTimeout` to send its newline (a
/// trickle of bytes does not extend it). No timer runs from a line's newline to its reply, so a slow command such
/// as `reload` is never cut off by its own processing time; but a client whose replies pile up unread (the socket
/// stays unwritable) has `idleTimeout` to read them. Empty lines are skipped. A line longer than
/// `ControlProtocol.maximumLineLength` ends the stream of lines with `LineTooLong`. When the client half-closes,
/// what it sent after its last newline still counts as a request, and the stream of lines ends after it.
final class RequestLineHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct LineTooLong: Error {}
    /// The connection became a watcher (an outbound user event): it may stay silent for as long as it likes.
    struct Watching: Sendable {}

    private enum Wait { case forRequest, forNewline, forReader }

    private let idleTimeout: Duration
    private let lineTimeout: Duration
    /// The bytes of the line being received.
    private var pending = ByteBuffer()
    /// How many of `pending`'s bytes are known to hold no newline.
    private var scanned = 0
    /// Lines passed on whose reply has not been written yet.
    private var awaitingReplies = 0
    /// Input ended (half-close) or was refused (line too long): nothing more is read or timed.
    private var done = false
    /// A watcher: no timer for its silence, only for replies it leaves unread.
    private var watching = false
    private let clock: any Clock<Duration>
    /// The timer running: what it waits for, the task sleeping until it expires, and its number (an expiry that
    /// reaches the event loop after its timer was replaced is ignored).
    private var timer: (wait: Wait, task: Task<Void, Never>, number: Int)?
    private var timersStarted = 0

    init(idleTimeout: Duration, lineTimeout: Duration, clock: any Clock<Duration>) {
        self.idleTimeout = idleTimeout
        self.lineTimeout = lineTimeout
        self.clock = clock
    }

    func handlerAdded(context: ChannelHandlerContext) { updateTimer(context: context) }

    func handlerRemoved(context: ChannelHandlerContext) { cancelTimer() }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        updateTimer(context: context)
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        var bytes = unwrapInboundIn(data)
        pending.writeBuffer(&bytes)
        while let newline = pending.readableBytesView.dropFirst(scanned).firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - pending.readableBytesView.startIndex
            guard length <= ControlProtocol.maximumLineLength else { return refuse(context: context) }
            let line = pending.readSlice(length: length)!
            pending.moveReaderIndex(forwardBy: 1)
            scanned = 0
            if length > 0 { pass(line, context: context) }
        }
        guard pending.readableBytes <= ControlProtocol.maximumLineLength else { return refuse(context: context) }
        scanned = pending.readableBytes
        pending.discardReadBytes()
        updateTimer(context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed, !done {
            // The client half-closed: what it sent after its last newline is its last request.
            done = true
            if pending.readableBytes > 0 { pass(pending.readSlice(length: pending.readableBytes)!, context: context) }
            pending = ByteBuffer()
            cancelTimer()
            context.fireChannelReadComplete()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is Watching else { return context.triggerUserOutboundEvent(event, promise: promise) }
        watching = true
        updateTimer(context: context)
        promise?.succeed(())
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        awaitingReplies = max(0, awaitingReplies - 1)
        context.write(data, promise: promise)
        updateTimer(context: context)
    }

    private func pass(_ line: ByteBuffer, context: ChannelHandlerContext) {
        awaitingReplies += 1
        context.fireChannelRead(wrapInboundOut(line))
    }

    private func refuse(context: ChannelHandlerContext) {
        done = true
        pending = ByteBuffer()
        cancelTimer()
        context.fireErrorCaught(LineTooLong())
    }

    /// Runs the timer that fits what the daemon waits for: none while a request is being handled.
    private func updateTimer(context: ChannelHandlerContext) {
        let wait: Wait?
        if !context.channel.isWritable {
            // Replies pile up unread: the client has as long as it may stay silent to read them.
            wait = .forReader
        } else if done || watching || awaitingReplies > 0 {
            wait = nil
        } else {
            wait = pending.readableBytes > 0 ? .forNewline : .forRequest
        }
        guard wait != timer?.wait else { return }
        cancelTimer()
        guard let wait else { return }
        timersStarted += 1
        let number = timersStarted, eventLoop = context.eventLoop, clock = clock
        let length = wait == .forNewline ? lineTimeout : idleTimeout
        let handler = NIOLoopBound(self, eventLoop: eventLoop), boundContext = NIOLoopBound(context, eventLoop: eventLoop)
        let task = Self.run(after: length, on: clock, in: eventLoop) {
            guard handler.value.timer?.number == number else { return }
            handler.value.timer = nil
            handler.value.expired(wait, context: boundContext.value)
        }
        timer = (wait, task, number)
    }

    /// Runs `expire` on `eventLoop` after `length` on `clock`, unless the returned task is cancelled first.
    private static func run(
        after length: Duration, on clock: any Clock<Duration>, in eventLoop: any EventLoop,
        _ expire: @escaping @Sendable () -> Void
    ) -> Task<Void, Never> {
        Task {
            guard (try? await sleep(on: clock, for: length)) != nil else { return }
            eventLoop.execute(expire)
        }
    }

    private static func sleep<C: Clock<Duration>>(on clock: C, for length: Duration) async throws {
        try await clock.sleep(for: length)
    }

    private func cancelTimer() {
        timer?.task.cancel()
        timer = nil
    }

    private func expired(_ wait: Wait, context: ChannelHandlerContext) {
        done = true
        if wait == .forNewline {
            let error = ControlError("request line not finished within \(Self.text(lineTimeout)); closing the connection")
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: ControlReply.failure(error).encoded())), promise: nil)
        }
        context.close(promise: nil)
    }

    /// `10 s`, `250 ms`.
    private static func text(_ time: Duration) -> String {
        let (seconds, attoseconds) = time.components
        return attoseconds == 0 ? "\(seconds) s" : "\(seconds * 1000 + attoseconds / 1_000_000_000_000_000) ms"
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
