import ArgumentParser
import StretchConfig
import StretchCore
import StretchDaemon

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a config file and the routines it names.",
        discussion: """
            Checks the file (default: $XDG_CONFIG_HOME/stretchd/config.toml) as the daemon would load it: TOML \
            syntax, keys, types and values, and that every routine in session.routines exists. Prints every \
            problem as file:line: key.path: message and exits 1 if there is any.
            """
    )

    @Argument(help: ArgumentHelp("The config file to check.", valueName: "path"))
    var path: String?

    func run() throws {
        let paths = XDGPaths.current
        switch DaemonSettings.load(configPath: path ?? paths.configFile, paths: paths) {
        case .success(let settings):
            for warning in settings.warnings { printError("warning: skipped routine file: \(warning)") }
            print("\(path ?? paths.configFile): ok: breaks every \(DurationText.format(settings.config.every)), "
                + "routines \(settings.routines.map(\.id).joined(separator: ", "))")
        case .failure(let error):
            for problem in error.problems { printError(problem.description) }
            throw ExitCode(1)
        }
    }
}
