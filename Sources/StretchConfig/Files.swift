#if canImport(Glibc)
import Glibc
#endif

/// Small file-system reads for config and routine files, with the OS's own error text.
public enum Files {
    /// Files larger than this are not config files; refusing them avoids reading something huge by mistake.
    public static let maximumSize = 1 << 20

    /// Reads a whole UTF-8 text file of at most `maximumSize` bytes.
    public static func readText(_ path: String) -> Result<String, ConfigProblem> {
        readBytes(path, limit: maximumSize).flatMap { bytes in
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return .failure(ConfigProblem(file: path, message: "not UTF-8 text"))
            }
            return .success(text)
        }
    }

    /// Reads a whole regular file, refusing one larger than `limit` bytes before reading it.
    public static func readBytes(_ path: String, limit: Int) -> Result<[UInt8], ConfigProblem> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(problem(path, "cannot open")) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(problem(path, "cannot read")) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            return .failure(ConfigProblem(file: path, message: "not a regular file"))
        }
        let tooLarge = ConfigProblem(file: path, message: "too large (more than \(limit) bytes)")
        guard info.st_size <= limit else { return .failure(tooLarge) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(problem(path, "cannot read"))
            }
            if count == 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
            if bytes.count > limit { return .failure(tooLarge) }
        }
        return .success(bytes)
    }

    /// Writes `bytes` to `path` through a temporary file and a rename, so a reader never sees half a file.
    public static func writeBytes(_ bytes: [UInt8], to path: String) -> Result<Void, ConfigProblem> {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return .failure(problem(path, "cannot create")) }
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0 {
                if errno == EINTR { continue }
                let failure = problem(path, "cannot write")
                close(fd)
                unlink(temporary)
                return .failure(failure)
            }
            offset += count
        }
        guard fsync(fd) == 0, close(fd) == 0, rename(temporary, path) == 0 else {
            let failure = problem(path, "cannot write")
            unlink(temporary)
            return .failure(failure)
        }
        return .success(())
    }

    /// Creates a directory and its parents, like `mkdir -p`.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o755) -> Result<Void, ConfigProblem> {
        var built = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            built += "/" + component
            if mkdir(built, mode) != 0, errno != EEXIST { return .failure(problem(built, "cannot create directory")) }
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

    /// The last path component without `suffix`: `/a/lunch-hips.toml` -> `lunch-hips`.
    public static func stem(_ path: String, suffix: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return name.hasSuffix(suffix) ? String(name.dropLast(suffix.count)) : name
    }

    private static func problem(_ path: String, _ what: String) -> ConfigProblem {
        ConfigProblem(file: path, message: "\(what): \(String(cString: strerror(errno)))")
    }
}

/// Where stretchd keeps its files, after the XDG Base Directory specification.
public struct XDGPaths: Sendable, Hashable {
    public var configHome: String
    public var stateHome: String
    public var dataHome: String
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
        runtimeDirectory = environment["XDG_RUNTIME_DIR"].flatMap { $0.hasPrefix("/") ? $0 : nil }
    }

    /// The paths for the current process's environment.
    public static var current: XDGPaths { XDGPaths(environment: Environment.variables) }

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
