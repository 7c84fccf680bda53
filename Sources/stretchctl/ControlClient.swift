import ArgumentParser
import ControlProtocol
import StretchConfig
import StretchSystem

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
        if !reply.ok { throw ExitCode(1) }
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

/// A blocking client for the control socket: one request line out, one reply line back.
enum ControlClient {
    /// Exit status when the daemon cannot be reached.
    static let unreachable: Int32 = 2

    static func send(_ request: ControlRequest, socket path: String) throws -> ControlReply {
        let fd = try connect(socket: path)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let line = request.encoded()
        // A daemon that refuses us (another user, too many clients) replies and closes at once; the send may
        // then fail, but its reply is still there to read.
        let sent = line.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        let sendError = sent == line.count ? nil : String(cString: strerror(errno))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !received.contains(UInt8(ascii: "\n")) {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                throw failure(sendError.map { "cannot send to \(path): \($0)" }
                    ?? "the daemon closed the connection without replying")
            }
            received += buffer[0..<count]
        }
        let replyLine = received.prefix { $0 != UInt8(ascii: "\n") }
        do {
            return try ControlReply.decode(replyLine)
        } catch {
            throw failure("unreadable reply from the daemon: \(String(decoding: replyLine, as: UTF8.self))")
        }
    }

    /// A socket connected to the daemon; the caller closes it. Says why on stderr and exits 2 when it cannot.
    static func connect(socket path: String) throws -> Int32 {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw failure("cannot create a socket") }
        guard let connected = withUnixSocketAddress(path, { Glibc.connect(fd, $0, $1) }) else {
            close(fd)
            throw failure("socket path too long")
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            let code = errno
            close(fd)
            if code == ENOENT || code == ECONNREFUSED {
                printError("error: stretchd is not running (no daemon at \(path): \(reason)); start it with "
                    + "`systemctl --user start stretchd` or `make run`")
                throw ExitCode(unreachable)
            }
            throw failure("cannot connect to \(path): \(reason)")
        }
        return fd
    }

    static func failure(_ message: String) -> ExitCode {
        printError("error: \(message)")
        return ExitCode(unreachable)
    }
}
