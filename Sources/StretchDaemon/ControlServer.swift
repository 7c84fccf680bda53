#if canImport(Glibc)
import Glibc
#endif
import CLinux
import ControlProtocol
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// What the control server asks of the daemon.
public protocol ControlHandler: Sendable {
    func handle(_ request: ControlRequest) async -> ControlReply
    /// The socket listens; called once.
    func controlReady() async
}

extension Daemon: ControlHandler {}

/// The Unix socket `stretchctl` talks to: one JSON request per line, one JSON reply per line.
///
/// It protects the daemon from its clients: a peer with another uid is refused (`SO_PEERCRED`), a line over
/// `ControlProtocol.maximumLineLength` gets an error and the connection is closed, a client that says nothing
/// for `idleTimeout` is dropped, and past `maximumClients` connections new ones are turned away.
public struct ControlServer: Service {
    public let path: String
    private let handler: any ControlHandler
    private let logger: Logger
    public var maximumClients = 64
    public var idleTimeout = TimeAmount.seconds(10)

    public init(path: String, handler: any ControlHandler, logger: Logger) {
        self.path = path
        self.handler = handler
        self.logger = logger
    }

    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    public func run() async throws {
        try prepareSocketPath()
        let server: NIOAsyncChannel<Connection, Never>
        do {
            server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 256)
                .bind(unixDomainSocketPath: path) { [idleTimeout] channel in
                    Self.setUp(channel, idleTimeout: idleTimeout)
                }
        } catch {
            throw StartError(description: "cannot listen on \(path): \(error)")
        }
        // The socket file was created under a 077 umask; make its mode explicit.
        chmod(path, 0o600)
        defer { unlink(path) }
        logger.info("listening", metadata: ["socket": "\(path)"])
        await handler.controlReady()

        let active = ConnectionCount()
        try await withGracefulShutdownHandler {
            try await server.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in connections {
                        let (count, _) = active.value.add(1, ordering: .relaxed)
                        group.addTask {
                            defer { active.value.subtract(1, ordering: .relaxed) }
                            await serve(connection, turnAway: count > maximumClients)
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
        logger.info("control socket closed", metadata: ["socket": "\(path)"])
    }

    /// Creates the socket's folder (0700) when missing, and clears a socket left by a daemon that died; refuses
    /// to start when another daemon is listening there.
    private func prepareSocketPath() throws {
        let folder = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !folder.isEmpty, mkdir(folder, 0o700) != 0, errno != EEXIST {
            throw StartError(description: "cannot create \(folder): \(String(cString: strerror(errno)))")
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

    private static func setUp(_ channel: any Channel, idleTimeout: TimeAmount) -> EventLoopFuture<Connection> {
        let credentials: EventLoopFuture<clinux_peer_credentials> =
            (channel as? any SocketOptionProvider)?.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
            ?? channel.eventLoop.makeSucceededFuture(clinux_peer_credentials(pid: 0, uid: uid_t.max, gid: gid_t.max))
        return credentials.flatMapThrowing { credentials in
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(IdleStateHandler(readTimeout: idleTimeout))
            try pipeline.addHandler(CloseWhenIdle())
            try pipeline.addHandler(ByteToMessageHandler(
                NIOSplitLinesMessageDecoder(omittingEmptySubsequences: true),
                maximumBufferSize: ControlProtocol.maximumLineLength))
            return Connection(
                channel: try NIOAsyncChannel(wrappingChannelSynchronously: channel), peerUID: credentials.uid)
        }
    }

    private func serve(_ connection: Connection, turnAway: Bool) async {
        do {
            try await connection.channel.executeThenClose { requests, replies in
                func send(_ reply: ControlReply) async throws {
                    try await replies.write(ByteBuffer(bytes: reply.encoded()))
                }
                if connection.peerUID != getuid() {
                    logger.warning("refused a client of another user", metadata: ["uid": "\(connection.peerUID)"])
                    return try await send(.failure(ControlError("permission denied: stretchd serves only its own user")))
                }
                if turnAway {
                    return try await send(.failure(ControlError("too many clients (at most \(maximumClients)); try again")))
                }
                do {
                    for try await line in requests {
                        switch ControlRequest.decode(line.readableBytesView) {
                        case .success(let request): try await send(await handler.handle(request))
                        case .failure(let error): try await send(.failure(error))
                        }
                    }
                } catch is ByteToMessageDecoderError.PayloadTooLargeError {
                    try await send(.failure(ControlError(
                        "request line longer than \(ControlProtocol.maximumLineLength) bytes")))
                }
            }
        } catch {
            logger.debug("control connection ended", metadata: ["error": "\(error)"])
        }
    }
}

/// Connections being served, shared by the accept loop and the connection tasks.
private final class ConnectionCount: Sendable {
    let value = Atomic<Int>(0)
}

/// Closes a connection that has been silent for the idle timeout.
private final class CloseWhenIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
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
