import ArgumentParser
import ControlProtocol
import StretchConfig
import StretchSystem
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// How to reach the daemon; shared by the commands that talk to it.
struct ControlOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The daemon's control socket (default: $XDG_RUNTIME_DIR/stretchd/control.sock).", valueName: "path"))
    var socket: String?

    @Flag(help: "Print the daemon's reply as JSON.")
    var json = false

    /// Sends `request`, prints the outcome (a sentence, or JSON with --json) and fails unless the daemon agreed.
    /// Returns the reply for commands that show more.
    @discardableResult
    func send(_ request: ControlRequest, quiet: Bool = false) throws -> ControlReply {
        let reply = try ControlClient.send(request, socket: try socketPath())
        if json {
            print(String(decoding: reply.encoded().dropLast(), as: UTF8.self))
        } else if let error = reply.error {
            printError("error: \(error)")
            for problem in reply.problems ?? [] { printError(problem) }
        } else if let message = reply.message, !quiet {
            print(message)
        }
        // A reload refused for the config's problems is a config error, as it is for check-config and stretchd.
        if !reply.ok { throw reply.problems == nil ? ExitCode(1) : ExitCode.badConfig }
        return reply
    }

    func socketPath() throws -> String {
        if let socket { return socket }
        guard let runtime = XDGPaths.current.runtimeDirectory else {
            printError("error: XDG_RUNTIME_DIR is not set, so the daemon's socket cannot be found; it is set in a "
                + "normal login session, or pass --socket PATH")
            throw ExitCode(ControlClient.unreachable)
        }
        return runtime + "/stretchd/control.sock"
    }
}

/// The one client of the control socket, blocking: a request line out, reply lines back. Every failure says why
/// on stderr and exits 2 (`unreachable`).
struct ControlClient {
    /// Exit status when the daemon cannot be reached.
    static let unreachable: Int32 = 2
    /// How long a one-shot request waits for its reply; the daemon answers within 100 ms.
    static let replyTimeout = 30

    let path: String
    private let fd: Int32
    private var buffered: [UInt8] = []
    /// Why the request could not be sent, kept until a reply is missing: a daemon that refuses us (another user,
    /// too many clients) replies and closes at once, so the send may fail while its reply is there to read.
    private var sendError: SystemCallError?

    /// Connects to the daemon at `path`; with `timeout` (seconds), a reply that takes longer is a failure.
    init(socket path: String, timeout: Int?) throws {
        self.path = path
        fd = try Self.connect(socket: path)
        if let timeout {
            var limit = timeval(tv_sec: timeout, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    func close() { Glibc.close(fd) }

    /// Sends one request; the socket stays open for the replies.
    mutating func send(_ request: ControlRequest) {
        let line = Array(request.encoded())
        var sent = 0
        do {
            while sent < line.count {
                // MSG_NOSIGNAL: a daemon that refused us and closed must not kill this process with SIGPIPE.
                sent += try SystemCall.retrying("send") {
                    line.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
                }
            }
        } catch {
            sendError = error
        }
    }

    /// The next reply line; `closed` says what the daemon closing the connection means here.
    mutating func nextLine(closed: String = "the daemon closed the connection without replying") throws -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffered[..<newline])
                buffered.removeSubrange(...newline)
                return line
            }
            let count: Int
            do {
                count = try SystemCall.retrying("read") {
                    chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                }
            } catch where error.errno == .resourceTemporarilyUnavailable {
                // SO_RCVTIMEO ran out.
                throw Self.failure("timed out: the daemon did not reply within \(Self.replyTimeout) s")
            } catch {
                throw Self.failure("cannot read from \(path): \(error.errno)")
            }
            guard count > 0 else {
                throw Self.failure(sendError.map { "cannot send to \(path): \($0.errno)" } ?? closed)
            }
            buffered += chunk[..<count]
        }
    }

    /// Decodes a reply line.
    static func reply(_ line: [UInt8]) throws -> ControlReply {
        do {
            return try ControlReply.decode(line)
        } catch {
            throw failure("unreadable reply from the daemon: \(String(decoding: line, as: UTF8.self))")
        }
    }

    /// One request and its reply, waiting at most `replyTimeout`.
    static func send(_ request: ControlRequest, socket path: String) throws -> ControlReply {
        var client = try ControlClient(socket: path, timeout: replyTimeout)
        defer { client.close() }
        client.send(request)
        return try reply(client.nextLine())
    }

    /// A socket connected to the daemon; the caller closes it. Says why on stderr and exits 2 when it cannot.
    private static func connect(socket path: String) throws -> Int32 {
        let fd: Int32
        do {
            fd = try SystemCall.retrying("socket") {
                Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            }
        } catch {
            throw failure("cannot create a socket: \(error.errno)")
        }
        guard let connected = withUnixSocketAddress(path, { Glibc.connect(fd, $0, $1) }) else {
            Glibc.close(fd)
            throw failure("socket path too long")
        }
        guard connected == 0 else {
            let error = SystemCallError.last("connect")
            Glibc.close(fd)
            if error.errno == .noSuchFileOrDirectory || error.errno == .connectionRefused {
                printError("error: stretchd is not running (no daemon at \(path): \(error.errno)); start it with "
                    + "`systemctl --user start stretchd` or `make run`")
                throw ExitCode(unreachable)
            }
            throw failure("cannot connect to \(path): \(error.errno)")
        }
        return fd
    }

    static func failure(_ message: String) -> ExitCode {
        printError("error: \(message)")
        return ExitCode(unreachable)
    }
}
