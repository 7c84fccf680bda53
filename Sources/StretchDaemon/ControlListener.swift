import StretchSystem
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// The control socket's listening end: a non-blocking Unix stream socket bound to a path, mode 0600.
/// Closing it removes the socket file.
final class ControlListener: Sendable {
    let fd: Int32
    let path: String

    /// Binds and listens on `path` (which must not exist).
    init(path: String, backlog: Int32 = 256) throws(SystemCallError) {
        let fd = try SystemCall.retrying("socket") {
            socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        }
        // nil: the path does not fit in a socket address.
        let bound = withUnixSocketAddress(path) { bind(fd, $0, $1) == 0 }
        guard bound == true else {
            let error = bound == nil ? SystemCallError("bind", .fileNameTooLong) : SystemCallError.last("bind")
            Glibc.close(fd)
            throw error
        }
        // The socket file was created under a 077 umask; make its mode explicit.
        chmod(path, 0o600)
        guard listen(fd, backlog) == 0 else {
            let error = SystemCallError.last("listen")
            Glibc.close(fd)
            unlink(path)
            throw error
        }
        self.fd = fd
        self.path = path
    }

    /// A new connection (non-blocking, close-on-exec), or nil when none is waiting.
    func accept() throws(SystemCallError) -> Int32? {
        while true {
            do {
                return try SystemCall.retrying("accept4") {
                    accept4(fd, nil, nil, Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue))
                }
            } catch where error.errno == .resourceTemporarilyUnavailable {
                return nil
            } catch where error.errno == .connectionAbort {
                // The client gave up before it was accepted: the next one may be there.
                continue
            }
        }
    }

    /// A shortage that passes (descriptors, memory), after which accepting may work again.
    static func isShortage(_ error: SystemCallError) -> Bool {
        [.tooManyOpenFiles, .tooManyOpenFilesInSystem, .noBufferSpace, .noMemory].contains(error.errno)
    }

    /// Stops listening and removes the socket file.
    func close() {
        unlink(path)
        Glibc.close(fd)
    }
}
