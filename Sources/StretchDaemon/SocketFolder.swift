import StretchCore
import StretchSystem
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The folder that holds the control socket. Whoever can change that folder can put their own socket in its
/// place, and then answers `stretchctl` (and reads what it sends): it must be the user's alone.
public enum SocketFolder {
    public enum Policy: Sendable {
        /// The default folder, `$XDG_RUNTIME_DIR/stretchd`: created with mode 0700 when missing; otherwise it
        /// must be a folder (not a symbolic link) owned by this user with mode 0700. The folder above it must pass
        /// the `chosenFolder` rule.
        case privateFolder
        /// The folder of a socket given with `--socket`: created with mode 0700 when missing; otherwise it must
        /// be a folder (symbolic links followed) owned by this user or root that no other user can write to,
        /// unless it has the sticky bit, as `/tmp` has (then others cannot remove or rename what is ours).
        case chosenFolder
    }

    /// Why the folder cannot be used, and what to do about it.
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// Checks the folder that is to hold `socketPath` under `policy`, creating it when missing.
    public static func prepare(socketPath: String, policy: Policy) throws(Problem) {
        let folder = parent(of: socketPath)
        switch policy {
        case .privateFolder:
            try checkShared(parent(of: folder), named: "the runtime folder", create: false)
            try checkPrivate(folder)
        case .chosenFolder:
            try checkShared(folder, named: "the socket's folder", create: true)
        }
    }

    /// The folder part of a path: `/run/user/1000/stretchd` for `/run/user/1000/stretchd/control.sock`, `/` for
    /// `/x.sock`, `.` for `x.sock`.
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func checkPrivate(_ folder: String) throws(Problem) {
        let info = try status(
            of: folder, named: "the socket folder", followingLinks: false, create: true, cannotRead: "cannot inspect")
        let recreate = "remove it and start stretchd again, which creates the folder itself with mode 0700"
        switch info.st_mode & S_IFMT {
        case S_IFDIR: break
        case S_IFLNK:
            throw Problem("the socket folder \(folder) is a symbolic link, which could lead anywhere; \(recreate)")
        default:
            throw Problem("the socket folder \(folder) is not a folder; \(recreate)")
        }
        guard info.st_uid == geteuid() else {
            throw Problem(
                "the socket folder \(folder) belongs to another user (uid \(info.st_uid)), who could put their own "
                    + "socket in it; \(recreate) (removing it takes root or that user)")
        }
        guard info.st_mode & 0o777 == 0o700 else {
            throw Problem(
                "the socket folder \(folder) has mode \(modeText(info.st_mode)), but must be yours alone (0700): "
                    + "run chmod 700 \(folder), then start stretchd again")
        }
    }

    private static func checkShared(_ folder: String, named name: String, create: Bool) throws(Problem) {
        let info = try status(of: folder, named: name, followingLinks: true, create: create, cannotRead: "cannot use")
        let elsewhere = "choose a socket path (--socket) in a folder of your own"
        guard info.st_mode & S_IFMT == S_IFDIR else { throw Problem("\(name) \(folder) is not a folder; \(elsewhere)") }
        guard info.st_uid == geteuid() || info.st_uid == 0 else {
            throw Problem(
                "\(name) \(folder) belongs to another user (uid \(info.st_uid)), who could replace the "
                    + "socket; \(elsewhere)")
        }
        guard info.st_mode & 0o022 == 0 || info.st_mode & S_ISVTX != 0 else {
            throw Problem(
                "\(name) \(folder) has mode \(modeText(info.st_mode)): other users can write to it and "
                    + "it has no sticky bit, so they could replace the socket; \(elsewhere), or run chmod go-w \(folder)")
        }
    }

    /// `0777`, `1777`.
    private static func modeText(_ mode: mode_t) -> String {
        zeroPadded(mode & 0o7777, width: 4, radix: 8)
    }

    /// The status of `folder` (of a symbolic link itself unless `followingLinks`), created with mode 0700 first when
    /// it is missing and `create` is set. A failure says what could not be done to the folder (`cannotRead` it, or
    /// create it) and why.
    private static func status(
        of folder: String, named name: String, followingLinks: Bool, create: Bool, cannotRead: String
    ) throws(Problem) -> stat {
        var info = stat()
        func read() -> SystemCallError? {
            do {
                _ = try SystemCall.retrying(followingLinks ? "stat" : "lstat") {
                    followingLinks ? stat(folder, &info) : lstat(folder, &info)
                }
                return nil
            } catch {
                return error
            }
        }
        var failure = read()
        if let missing = failure, create, missing.errno == .noSuchFileOrDirectory {
            do {
                _ = try SystemCall.retrying("mkdir") { mkdir(folder, 0o700) }
            } catch where error.errno == .fileExists {
                // Made by someone else in between: checked as it is.
            } catch {
                throw Problem("cannot create \(name) \(folder): \(error)")
            }
            failure = read()
        }
        if let failure { throw Problem("\(cannotRead) \(name) \(folder): \(failure)") }
        return info
    }
}
