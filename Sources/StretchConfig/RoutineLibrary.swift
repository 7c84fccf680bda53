import StretchCore
import StretchSystem

/// The routines a user can run: the built-in ones, then the user's own files, each id and name used once.
public struct RoutineLibrary: Sendable {
    /// A routine with where it came from, for listings and duplicate messages.
    public struct Entry: Sendable, Hashable {
        public var routine: Routine
        /// The file it was read from; nil for a built-in routine.
        public var path: String?
    }

    public private(set) var entries: [Entry]

    public var routines: [Routine] { entries.map(\.routine) }

    /// The built-in routines. They are parsed from their TOML text on first use; tests keep them valid.
    public static let builtIn: [Routine] = BuiltInRoutines.files.map { id, text in
        switch RoutineFile.parse(text, file: "built-in \(id)", defaultID: id) {
        case .success(let routine): return routine
        case .failure(let error): fatalError("built-in routine \(id) is invalid:\n\(error)")
        }
    }

    /// A library of the built-in routines only.
    public init() {
        entries = Self.builtIn.map { Entry(routine: $0, path: nil) }
    }

    /// The built-in routines plus every `*.toml` in `directory` (a missing directory is not an error).
    /// Files that fail to load are left out and their problems returned; the rest load.
    public static func load(directory: String) -> (library: RoutineLibrary, problems: [ConfigProblem]) {
        var library = RoutineLibrary()
        let paths = (Files.list(directory, suffix: ".toml") ?? []).map { directory + "/" + $0 }
        let problems = library.add(files: paths)
        return (library, problems)
    }

    /// Loads routine files into the library, rejecting any whose id or name is already taken.
    public mutating func add(files paths: [String]) -> [ConfigProblem] {
        var problems: [ConfigProblem] = []
        for path in paths {
            switch Self.loadFile(path) {
            case .success(let routine):
                if let problem = duplicateProblem(routine, path: path) {
                    problems.append(problem)
                } else {
                    entries.append(Entry(routine: routine, path: path))
                }
            case .failure(let error):
                problems += error.problems
            }
        }
        return problems
    }

    /// Reads and parses one routine file; its id defaults to the file name without `.toml`.
    public static func loadFile(_ path: String) -> Result<Routine, ConfigError> {
        switch Files.readBytes(path, limit: Files.maximumSize) {
        case .failure(let error):
            return .failure(ConfigError([ConfigProblem(error)]))
        case .success(let bytes):
            return RoutineFile.parse(bytes, file: path, defaultID: Files.stem(path, suffix: ".toml"))
        }
    }

    public func routine(id: String) -> Routine? { entries.first { $0.routine.id == id }?.routine }

    /// Whether a ROUTINE reference names a file (anything with a `/` or ending in `.toml`) rather than an id.
    public static func isPath(_ reference: String) -> Bool {
        reference.contains("/") || reference.hasSuffix(".toml")
    }

    /// Looks a routine up by id, or loads it from a path.
    public func resolve(_ reference: String) -> Result<Routine, ConfigError> {
        if Self.isPath(reference) { return Self.loadFile(reference) }
        if let routine = routine(id: reference) { return .success(routine) }
        let known = entries.map(\.routine.id).joined(separator: ", ")
        return .failure(ConfigError([ConfigProblem(
            file: reference, message: "no routine with this id; known routines: \(known)")]))
    }

    private func duplicateProblem(_ routine: Routine, path: String) -> ConfigProblem? {
        for entry in entries {
            let origin = entry.path ?? "the built-in routine"
            if entry.routine.id == routine.id {
                return ConfigProblem(
                    file: path, keyPath: "id",
                    message: "duplicate routine id \"\(routine.id)\": already used by \(origin); set a different id")
            }
            if entry.routine.name.lowercased() == routine.name.lowercased() {
                return ConfigProblem(
                    file: path, keyPath: "name",
                    message: "duplicate routine name \"\(routine.name)\": already used by \(origin)")
            }
        }
        return nil
    }
}
