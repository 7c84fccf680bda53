import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Why a file could not be read or written. The system's error stays a typed `Errno`, so callers ask
/// `isMissing` rather than matching the text of `strerror`.
public struct FileError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        /// A system call failed: `operation` is what we were doing ("cannot open"), `errno` why.
        case system(operation: String, errno: Errno)
        /// Not a regular file: reading a FIFO or a device can block forever, a directory has no contents to read.
        case notRegularFile(FileType)
        case tooLarge(limit: Int)
        case notUTF8
    }

    public var path: String
    public var reason: Reason

    public init(path: String, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    /// A failed system call; swift-system's calls throw `Errno` (anything else would be a bug there).
    init(_ path: String, _ operation: String, _ error: any Error) {
        self.init(path: path, reason: .system(operation: operation, errno: (error as? Errno) ?? .ioError))
    }

    /// The file (or a folder on its path) does not exist: usually not an error, as every file is optional.
    public var isMissing: Bool {
        if case .system(_, .noSuchFileOrDirectory) = reason { return true }
        return false
    }

    /// What is wrong, without the path: `cannot open: Permission denied`, `a FIFO (named pipe), not a regular file`.
    public var message: String {
        switch reason {
        case .system(let operation, let errno): "\(operation): \(errno)"
        case .notRegularFile(let type): "\(Self.describe(type)), not a regular file"
        case .tooLarge(let limit): "too large (more than \(limit) bytes)"
        case .notUTF8: "not UTF-8 text"
        }
    }

    public var description: String { "\(path): \(message)" }

    private static func describe(_ type: FileType) -> String {
        switch type {
        case .directory: "a directory"
        case .fifo: "a FIFO (named pipe)"
        case .characterSpecial, .blockSpecial: "a device"
        case .socket: "a socket"
        case .symbolicLink: "a symbolic link"
        default: "a special file"
        }
    }
}

/// Reading and writing the project's files safely: the one place that opens them.
///
/// Every path here may be something a user typed or dropped in a folder, so reads never block and never read
/// without bound: files are opened `O_NONBLOCK | O_CLOEXEC`, checked with `fstat` to be regular files, and read
/// up to a size limit.
public enum Files {
    /// Files larger than this are not config files; refusing them avoids reading something huge by mistake.
    public static let maximumSize = 1 << 20

    /// Opens a regular file for reading without blocking (a FIFO opened for reading waits for a writer) and
    /// refuses anything else. The caller closes the descriptor.
    public static func openRegularFile(_ path: String) -> Result<FileDescriptor, FileError> {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path, .readOnly, options: [.nonBlocking, .closeOnExec])
        } catch {
            return .failure(FileError(path, "cannot open", error))
        }
        do {
            let type = try fd.stat().type
            guard type == .regular else {
                try? fd.close()
                return .failure(FileError(path: path, reason: .notRegularFile(type)))
            }
        } catch {
            try? fd.close()
            return .failure(FileError(path, "cannot read", error))
        }
        return .success(fd)
    }

    /// Reads a whole UTF-8 text file of at most `maximumSize` bytes.
    public static func readText(_ path: String) -> Result<String, FileError> {
        readBytes(path, limit: maximumSize).flatMap { bytes in
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return .failure(FileError(path: path, reason: .notUTF8))
            }
            return .success(text)
        }
    }

    /// Reads a whole regular file, refusing one larger than `limit` bytes before reading it (and while reading,
    /// for files that grow, such as those in /proc that report size 0).
    public static func readBytes(_ path: String, limit: Int) -> Result<[UInt8], FileError> {
        let fd: FileDescriptor
        switch openRegularFile(path) {
        case .success(let opened): fd = opened
        case .failure(let error): return .failure(error)
        }
        defer { try? fd.close() }
        let tooLarge = FileError(path: path, reason: .tooLarge(limit: limit))
        do {
            guard try fd.stat().size <= limit else { return .failure(tooLarge) }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = try buffer.withUnsafeMutableBytes { try fd.read(into: $0) }
                if count == 0 { break }
                bytes.append(contentsOf: buffer[0..<count])
                if bytes.count > limit { return .failure(tooLarge) }
            }
            return .success(bytes)
        } catch {
            return .failure(FileError(path, "cannot read", error))
        }
    }

    /// Writes `bytes` to `path` through a temporary file and a rename, so a reader never sees half a file. Only a
    /// regular file is replaced, keeping its permissions: renaming over a device, a FIFO or a symbolic link would
    /// replace it (as root, `/dev/null` itself) instead of writing into it.
    public static func writeBytes(_ bytes: [UInt8], to path: String) -> Result<Void, FileError> {
        write(to: path) { fd in _ = try fd.writeAll(bytes) }
    }

    /// Writes `path` as `produce` writes to the descriptor it is given, piece by piece, through a temporary file
    /// beside it (`path.tmp-PID`), synced and then renamed over `path`: a reader never sees half a file, and if
    /// anything fails (`produce` throws, the disk fills) the temporary file is removed and whatever was at `path`
    /// stays as it was. Only a regular file is replaced, keeping its permissions, as in `writeBytes`.
    public static func write(to path: String, _ produce: (FileDescriptor) throws -> Void) -> Result<Void, FileError> {
        var permissions: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]
        if let existing = try? FilePath(path).stat(followTargetSymlink: false) {
            guard existing.type == .regular else { return .failure(FileError(path: path, reason: .notRegularFile(existing.type))) }
            permissions = existing.permissions
        }
        let temporary = path + ".tmp-\(getpid())"
        var operation = "cannot create"
        do {
            let fd = try FileDescriptor.open(
                temporary, .writeOnly, options: [.create, .truncate, .closeOnExec], permissions: permissions)
            do {
                operation = "cannot write"
                try produce(fd)
                guard fsync(fd.rawValue) == 0 else { throw Errno(rawValue: errno) }
                try fd.close()
            } catch {
                try? fd.close()
                throw error
            }
            guard rename(temporary, path) == 0 else { throw Errno(rawValue: errno) }
            return .success(())
        } catch {
            unlink(temporary)
            return .failure(FileError(path, operation, error))
        }
    }

    /// Creates a directory and its parents, like `mkdir -p`.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o755) -> Result<Void, FileError> {
        var built = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            built += "/" + component
            if mkdir(built, mode) != 0, errno != EEXIST {
                return .failure(FileError(built, "cannot create directory", Errno(rawValue: errno)))
            }
        }
        return .success(())
    }

    /// The names in a directory ending in `suffix`, sorted; nil when the directory does not exist.
    public static func list(_ directory: String, suffix: String) -> [String]? {
        guard let dir = opendir(directory) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasSuffix(suffix), !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }

    /// A regular file's size in bytes and last modification (seconds since the epoch); nil when it is missing or
    /// not a regular file.
    public static func sizeAndAge(_ path: String) -> (size: Int, modified: Int)? {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
        return (Int(status.st_size), Int(status.st_mtim.tv_sec))
    }

    /// Removes a file; true when it is gone (also when it was missing).
    @discardableResult
    public static func remove(_ path: String) -> Bool {
        unlink(path) == 0 || errno == ENOENT
    }

    /// The last path component without `suffix`: `/a/lunch-hips.toml` -> `lunch-hips`.
    public static func stem(_ path: String, suffix: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return name.hasSuffix(suffix) ? String(name.dropLast(suffix.count)) : name
    }

    /// `path` made absolute against the current working folder, for handing to a process that has another one
    /// (the daemon). Nil when the working folder cannot be read.
    public static func absolute(_ path: String) -> String? {
        if path.hasPrefix("/") { return path }
        guard let cwd = getcwd(nil, 0) else { return nil }
        defer { free(cwd) }
        let base = String(cString: cwd)
        return (base.hasSuffix("/") ? base : base + "/") + path
    }
}

/// Where stretchd keeps its files, after the XDG Base Directory specification.
public struct XDGPaths: Sendable, Hashable {
    public var configHome: String
    public var stateHome: String
    public var dataHome: String
    public var cacheHome: String
    /// Nil when `XDG_RUNTIME_DIR` is unset: there is no safe place for the control socket then.
    public var runtimeDirectory: String?

    /// Reads the XDG variables, falling back to the specification's defaults under `$HOME`.
    public init(environment: [String: String]) {
        let home = environment["HOME"] ?? "/"
        func directory(_ variable: String, default fallback: String) -> String {
            // The specification says relative paths are invalid and must be ignored.
            if let value = environment[variable], value.hasPrefix("/") { return value }
            return home + fallback
        }
        configHome = directory("XDG_CONFIG_HOME", default: "/.config")
        stateHome = directory("XDG_STATE_HOME", default: "/.local/state")
        dataHome = directory("XDG_DATA_HOME", default: "/.local/share")
        cacheHome = directory("XDG_CACHE_HOME", default: "/.cache")
        runtimeDirectory = environment["XDG_RUNTIME_DIR"].flatMap { $0.hasPrefix("/") ? $0 : nil }
    }

    /// The paths for the current process's environment.
    public static var current: XDGPaths { XDGPaths(environment: Environment.variables) }

    /// `$XDG_CACHE_HOME/stretchd/speech`: spoken prompts, kept so each is synthesized once.
    public var speechCacheDirectory: String { cacheHome + "/stretchd/speech" }
    /// `$XDG_CONFIG_HOME/stretchd/routines`: the user's own routine files.
    public var routinesDirectory: String { configHome + "/stretchd/routines" }
    public var configFile: String { configHome + "/stretchd/config.toml" }
    /// `$XDG_DATA_HOME/stretchd/sounds`: WAV files here replace built-in sounds of the same name.
    public var soundsDirectory: String { dataHome + "/stretchd/sounds" }
}

/// The process environment as a dictionary, read without Foundation.
public enum Environment {
    public static var variables: [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}
