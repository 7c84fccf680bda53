import EpollExecutor
import StretchSystem

/// Waits, without polling, for a bus socket file to (re)appear: each socket's folder watched (`FolderWatch`) for a
/// file of that name created, moved in, or given new attributes (a socket made elsewhere and renamed into place, or
/// whose mode is set after it was bound). It costs no wake-up while those folders do not change. One task uses it
/// at a time.
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
        case folder(String, SystemCallError)
        /// The socket's folder was removed (or moved, or its file system unmounted).
        case folderGone(String)
        /// inotify itself failed.
        case inotify(SystemCallError)

        var description: String {
            switch self {
            case .noAddress: "no address to watch"
            case .noSocketFile(let address): "\(address) names no socket file to watch"
            case .folder(let path, let error): "cannot watch \(path) for the bus socket (\(error.errno))"
            case .folderGone(let path): "\(path), the bus socket's folder, was removed"
            case .inotify(let error): "\(error)"
            }
        }
    }

    private let folders: FolderWatch

    private init(folders: FolderWatch) {
        self.folders = folders
    }

    /// Starts watching for the socket files that `address` names (see `BusAddress.socketPaths`); throws when
    /// there is none, or none of their folders can be watched.
    static func watching(_ address: String?) throws(Unwatchable) -> SocketWatch {
        guard let address else { throw .noAddress }
        let paths = BusAddress.socketPaths(address)
        guard !paths.isEmpty else { throw .noSocketFile(address: address) }
        let folders: FolderWatch
        do {
            folders = try FolderWatch()
        } catch {
            throw .inotify(error)
        }
        var failure = Unwatchable.noSocketFile(address: address)
        for path in paths {
            let slash = path.lastIndex(of: "/")
            let name = String(slash.map { path[path.index(after: $0)...] } ?? path[...])
            let folder = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
            guard !name.isEmpty else { continue }
            do {
                try folders.watch(folder, for: [.created, .movedIn, .attributesChanged], names: [name])
            } catch {
                failure = .folder(folder, error)
            }
        }
        guard folders.isWatching else { throw failure }
        return SocketWatch(folders: folders)
    }

    /// Waits for the next change that matters; nil when the task is cancelled.
    func next(on loop: EpollLoop) async -> Event? {
        while true {
            let changes: FolderWatch.Changes
            do {
                guard let next = try await folders.next(on: loop) else { return nil }
                changes = next
            } catch {
                return .unwatchable(.inotify(error))
            }
            if changes.overflowed || !changes.names.isEmpty { return .appeared }
            if !folders.isWatching { return .unwatchable(.folderGone(changes.foldersGone.last ?? "the folder")) }
        }
    }
}
