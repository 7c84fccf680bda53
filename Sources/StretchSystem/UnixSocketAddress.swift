#if canImport(Glibc)
import Glibc
#endif

/// A Unix domain socket address (`sockaddr_un`, unix(7)): a path in the file system, or a name in the abstract
/// namespace. The one place that builds one, for `connect`, `bind` and `sendto`.
public struct UnixSocketAddress: Sendable {
    private var storage: sockaddr_un
    private let length: socklen_t

    /// The socket at `path`; nil when the path is too long for `sun_path` (107 bytes and its NUL on Linux) or
    /// holds a NUL byte.
    public init?(path: String) {
        let bytes = Array(path.utf8)
        guard !bytes.contains(0) else { return nil }
        self.init(bytes: bytes, terminated: true)
    }

    /// A socket in the abstract namespace: `sun_path` starts with a NUL byte, then `name`; nil when too long.
    public init?(abstract name: String) {
        self.init(bytes: [0] + Array(name.utf8), terminated: false)
    }

    /// An address written as systemd writes one (`$NOTIFY_SOCKET`, sd_notify(3)): a path, or `@name` for an
    /// abstract socket. Nil for anything else.
    public init?(systemdNotation text: String) {
        if text.hasPrefix("@") {
            self.init(abstract: String(text.dropFirst()))
        } else if text.hasPrefix("/") {
            self.init(path: text)
        } else {
            return nil
        }
    }

    private init?(bytes: [UInt8], terminated: Bool) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard bytes.count + (terminated ? 1 : 0) <= MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        storage = address
        // A path's length may cover the whole structure (the NUL ends it); an abstract name's bytes are all
        // significant, so its length counts exactly them.
        length = terminated
            ? socklen_t(MemoryLayout<sockaddr_un>.size)
            : socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
    }

    /// Calls `body` with the address and its length, as `connect`, `bind` and `sendto` take them.
    public func withSocketAddress<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> Result) rethrows -> Result {
        var address = storage
        return try withUnsafePointer(to: &address) {
            try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, length) }
        }
    }
}

/// Calls `body` with a `sockaddr_un` for `path`, the form `connect` and `bind` take; nil when the path is too
/// long for one (108 bytes on Linux).
public func withUnixSocketAddress<Result>(
    _ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Result
) -> Result? {
    UnixSocketAddress(path: path)?.withSocketAddress(body)
}
