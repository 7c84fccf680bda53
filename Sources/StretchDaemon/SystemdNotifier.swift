import CLinux
import StretchSystem

#if canImport(Glibc)
import Glibc
#endif

/// Tells systemd about the daemon's state (sd_notify(3)): `READY=1` once the socket listens, `STATUS=` lines.
///
/// The protocol is one datagram to the socket in `$NOTIFY_SOCKET`; writing it directly spares a dependency on
/// libsystemd. Without `NOTIFY_SOCKET` (not started by systemd) there is nothing to do.
public struct SystemdNotifier: Sendable {
    private let address: UnixSocketAddress

    public init?(environment: [String: String]) {
        guard let text = environment["NOTIFY_SOCKET"], let address = UnixSocketAddress(systemdNotation: text) else {
            return nil
        }
        self.address = address
    }

    public func send(_ message: String) {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        // Never block the daemon on systemd: if its queue is full, this status line is dropped.
        _ = message.withCString { text in
            address.withSocketAddress { sendto(fd, text, strlen(text), Int32(MSG_DONTWAIT | MSG_NOSIGNAL), $0, $1) }
        }
    }
}
