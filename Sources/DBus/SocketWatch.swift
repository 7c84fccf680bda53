import EpollExecutor
import StretchSystem
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Waits, without polling, for a bus socket file to (re)appear: inotify on each socket's folder, for a file of that
/// name created, moved in, or given new attributes (a socket made elsewhere and renamed into place, or whose mode
/// is set after it was bound). Its descriptor waits on the loop: it costs no wake-up while those folders do not
/// change. One task uses it at a time.
///
/// The corresponding C functions are `inotify_init1` and `inotify_add_watch`.
final class SocketWatch {
    enum Event {
        /// One of the socket files was created, moved in or changed (or the kernel's queue overflowed, so it may
        /// have been): try to connect.
        case appeared
        /// Nothing can be watched any more (the folders were removed).
        case unwatchable(Unwatchable)
    }

    /// Why a bus's return cannot be watched for.
    enum Unwatchable: Error, CustomStringConvertible {
        /// No address at all (the environment gives none).
        case noAddress
        /// The address names no socket file (`unix:abstract=`, `tcp:`).
        case noSocketFile(address: String)
        /// The socket's folder cannot be watched (missing, not a folder, not readable).
        case folder(String, errno: Int32)
        /// The socket's folder was removed (or its file system unmounted).
        case folderGone(String)
        /// inotify itself failed.
        case inotify(call: String, errno: Int32)

        var description: String {
            switch self {
            case .noAddress: "no address to watch"
            case .noSocketFile(let address): "\(address) names no socket file to watch"
            case .folder(let path, let code): "cannot watch \(path) for the bus socket (\(String(cString: strerror(code))))"
            case .folderGone(let path): "\(path), the bus socket's folder, was removed"
            case .inotify(let call, let code): "\(call): \(String(cString: strerror(code)))"
            }
        }
    }

    private let fd: Int32
    /// Per watch descriptor: its folder, and the socket names looked for there.
    private var watches: [Int32: (folder: String, names: Set<String>)]

    private init(fd: Int32, watches: [Int32: (folder: String, names: Set<String>)]) {
        self.fd = fd
        self.watches = watches
    }

    deinit {
        close(fd)
    }

    /// Starts watching for the socket files that `address` names (see `BusAddress.socketPaths`); throws when
    /// there is none, or none of their folders can be watched.
    static func watching(_ address: String?) throws(Unwatchable) -> SocketWatch {
        guard let address else { throw .noAddress }
        let paths = BusAddress.socketPaths(address)
        guard !paths.isEmpty else { throw .noSocketFile(address: address) }
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw .inotify(call: "inotify_init1", errno: errno) }
        var watches: [Int32: (folder: String, names: Set<String>)] = [:]
        var failure = Unwatchable.noSocketFile(address: address)
        for path in paths {
            let slash = path.lastIndex(of: "/")
            let name = String(slash.map { path[path.index(after: $0)...] } ?? path[...])
            let folder = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
            guard !name.isEmpty else { continue }
            let descriptor = inotify_add_watch(fd, folder, UInt32(IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_ONLYDIR))
            guard descriptor >= 0 else {
                failure = .folder(folder, errno: errno)
                continue
            }
            watches[descriptor, default: (folder, [])].names.insert(name)
        }
        guard !watches.isEmpty else {
            close(fd)
            throw failure
        }
        return SocketWatch(fd: fd, watches: watches)
    }

    /// Waits for the next change that matters; nil when the task is cancelled.
    func next(on loop: EpollLoop) async -> Event? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            do {
                try await loop.waitReadable(fd)
            } catch let error as SystemCallError {
                return .unwatchable(.inotify(call: error.function, errno: error.errno.rawValue))
            } catch {
                return nil
            }
            if let event = readEvents(into: &buffer) { return event }
        }
    }

    /// Reads every queued event; what they amount to, or nil when none concerns a socket.
    private func readEvents(into buffer: inout [UInt8]) -> Event? {
        var appeared = false
        var gone: String?
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { break }
                return .unwatchable(.inotify(call: "read", errno: errno))
            }
            guard count > 0 else { break }
            buffer.withUnsafeBytes { raw in
                // struct inotify_event: int wd; uint32_t mask, cookie, len; char name[len] (NUL-padded).
                var offset = 0
                while offset + 16 <= count {
                    let descriptor = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                    let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let length = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    let name = raw[(offset + 16)..<min(count, offset + 16 + length)].prefix { $0 != 0 }
                    offset += 16 + length
                    if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                        appeared = true
                    } else if mask & UInt32(IN_IGNORED) != 0 {
                        gone = watches.removeValue(forKey: descriptor)?.folder ?? gone
                    } else if watches[descriptor]?.names.contains(String(decoding: name, as: UTF8.self)) == true {
                        appeared = true
                    }
                }
            }
        }
        if appeared { return .appeared }
        if watches.isEmpty { return .unwatchable(.folderGone(gone ?? "the folder")) }
        return nil
    }
}
