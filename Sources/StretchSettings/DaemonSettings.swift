import StretchConfig
import StretchCore
import StretchSystem

/// The config file with its routines resolved: everything `reload` must load before it changes anything.
public struct DaemonSettings: Sendable {
    public var config: DaemonConfig
    /// `session.routines`, resolved, in order.
    public var routines: [Routine]
    /// User routine files that were skipped, for the log.
    public var warnings: [String]

    public init(config: DaemonConfig, routines: [Routine], warnings: [String]) {
        self.config = config
        self.routines = routines
        self.warnings = warnings
    }

    /// Reads `path` (or the XDG config file, built-in defaults when it is absent) and resolves its routines
    /// against the built-in ones and the user's routine folder. Any problem fails the whole load.
    public static func load(configPath: String?, paths: XDGPaths) -> Result<DaemonSettings, ConfigError> {
        let file = configPath ?? paths.configFile
        let config: DaemonConfig
        switch DaemonConfig.load(file, required: configPath != nil) {
        case .success(let loaded): config = loaded
        case .failure(let error): return .failure(error)
        }
        let (library, skipped) = RoutineLibrary.load(directory: paths.routinesDirectory)
        var routines: [Routine] = []
        var problems: [ConfigProblem] = []
        for (index, reference) in config.routines.enumerated() {
            switch library.resolve(reference) {
            case .success(let routine): routines.append(routine)
            case .failure(let error):
                let reasons = error.problems.map { $0.file == reference ? $0.message : $0.description }
                problems.append(ConfigProblem(
                    file: file, keyPath: "session.routines[\(index + 1)]",
                    message: "\"\(reference)\": " + reasons.joined(separator: "; ")))
            }
        }
        guard problems.isEmpty else { return .failure(ConfigError(problems)) }
        return .success(DaemonSettings(config: config, routines: routines, warnings: skipped.map(\.description)))
    }
}
