import StretchSystem
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// A socket call that failed, with the system's errno.
struct SocketError: Error, CustomStringConvertible {
    var call: String
    var errno: Errno
    var description: String { "\(call): \(errno)" }

    init(call: String, errno: Errno) {
        self.call = call
        self.errno = errno
    }

    /// The error of the call that just failed (from `errno`).
    init(_ call: String) {
        self.init(call: call, errno: Errno(rawValue: Glibc.errno))
    }
}

/// The control socket's listening end: a non-blocking Unix stream socket bound to a path, mode 0600.
/// Closing it removes the socket file.
final class ControlListener: Sendable {
    let fd: Int32
    let path: String

    /// Binds and listens on `path` (which must not exist).
    init(path: String, backlog: Int32 = 256) throws(SocketError) {
        let fd = socket(
            AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket") }
        // nil: the path does not fit in a socket address.
        let bound = withUnixSocketAddress(path) { bind(fd, $0, $1) == 0 }
        guard bound == true else {
            let error = bound == nil ? SocketError(call: "bind", errno: .fileNameTooLong) : SocketError("bind")
            Glibc.close(fd)
            throw error
        }
        // The socket file was created under a 077 umask; make its mode explicit.
        chmod(path, 0o600)
        guard listen(fd, backlog) == 0 else {
            let error = SocketError("listen")
            Glibc.close(fd)
            unlink(path)
            throw error
        }
        self.fd = fd
        self.path = path
    }

    /// A new connection (non-blocking, close-on-exec), or nil when none is waiting.
    func accept() throws(SocketError) -> Int32? {
        while true {
            let client = accept4(fd, nil, nil, Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue))
            if client >= 0 { return client }
            switch Glibc.errno {
            case EAGAIN, EWOULDBLOCK: return nil
            // The client gave up before it was accepted, or a signal came: the next one may be there.
            case EINTR, ECONNABORTED: continue
            default: throw SocketError("accept4")
            }
        }
    }

    /// A shortage that passes (descriptors, memory), after which accepting may work again.
    static func isShortage(_ error: SocketError) -> Bool {
        [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errno.rawValue)
    }

    /// Stops listening and removes the socket file.
    func close() {
        unlink(path)
        Glibc.close(fd)
    }
}
