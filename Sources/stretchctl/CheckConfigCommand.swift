import ArgumentParser
import StretchConfig
import StretchCore
import StretchSettings
import StretchSystem

#if canImport(Glibc)
import Glibc
#endif

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a config file and the routines it names.",
        discussion: """
            Checks the file (default: $XDG_CONFIG_HOME/stretchd/config.toml) as the daemon would load it: TOML \
            syntax, keys, types and values, and that every routine in session.routines exists. Prints every \
            problem as file:line: key.path: message and exits 78 if there is any. With no file at the default \
            place, says that the built-in defaults are in use and exits 0.
            """
    )

    @Argument(help: ArgumentHelp("The config file to check.", valueName: "path"))
    var path: String?

    func run() throws {
        let paths = XDGPaths.current
        let file = path ?? paths.configFile
        // No file where the daemon looks is no problem: it runs on the built-in defaults. A file named on the
        // command line must exist.
        let absent = path == nil && Self.doesNotExist(file)
        switch DaemonSettings.load(configPath: absent ? nil : file, paths: paths) {
        case .success(let settings):
            for warning in settings.config.warnings { printError("warning: \(warning)") }
            for warning in settings.warnings { printError("warning: skipped routine file: \(warning)") }
            let summary = "breaks every \(DurationText.format(settings.config.every)), "
                + "routines \(settings.routines.map(\.id).joined(separator: ", "))"
            if absent {
                print("\(file): no config file; the built-in defaults are in use: \(summary)")
            } else {
                print("\(file): ok: \(summary)")
            }
        case .failure(let error):
            for problem in error.problems { printError(problem.description) }
            throw ExitCode.badConfig
        }
    }

    /// Nothing at all at `path`, not even a broken symbolic link.
    static func doesNotExist(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) != 0 && errno == ENOENT
    }
}
