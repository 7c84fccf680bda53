import BuildVersion
import Logging
import StretchCore

/// The daemon's command line: three options, `--version` and `--help`.
///
/// Parsed here rather than by ArgumentParser, which `stretchctl` keeps: a parser that grows a help generator,
/// completions and a reflection-based decoder was about half a MiB of the idle daemon's memory (its code pages),
/// for a command line that systemd starts without arguments. Messages and exit statuses are the ones
/// ArgumentParser gave: usage errors exit 64 with `Error: ...` and the usage line on stderr.
struct DaemonArguments: Equatable {
    var config: String?
    var socket: String?
    var logLevel: Logger.Level = .info

    /// What the command line asks for.
    enum Request: Equatable {
        case run(DaemonArguments)
        case help
        case version
    }

    struct UsageError: Error, Equatable {
        var message: String
        /// The option's own help line, shown under the error for a bad or missing value.
        var help: String?
    }

    static let usage = "stretchd [--config <path>] [--socket <path>] [--log-level <log-level>]"

    static let helpText = """
        OVERVIEW: The stretchd daemon: stretch breaks during work hours, cued by sound.

        Reads ~/.config/stretchd/config.toml (built-in defaults when there is none;
        `stretchctl config --default` prints a documented one), reminds you when a
        break is due, and runs a stretch session hands-free. `stretchctl` controls it
        through a Unix socket. Logs go to stderr (with journal level prefixes under
        systemd). SIGHUP reloads the config; SIGINT or SIGTERM stops it. Exit status: 0
        stopped by a signal, 1 cannot start, 64 a bad command line, 78 a bad config
        (systemd then stops restarting it).

        USAGE: \(usage)

        OPTIONS:
          --config <path>         Config file (default:
                                  $XDG_CONFIG_HOME/stretchd/config.toml).
          --socket <path>         Control socket (default:
                                  $XDG_RUNTIME_DIR/stretchd/control.sock).
          --log-level <log-level> Lowest level to log. (values: trace, debug, info,
                                  notice, warning, error, critical; default: info)
          --version               Show the version.
          -h, --help              Show help information.

        """

    private static let optionHelp = [
        "--config": "--config <path>  Config file (default: $XDG_CONFIG_HOME/stretchd/config.toml).",
        "--socket": "--socket <path>  Control socket (default: $XDG_RUNTIME_DIR/stretchd/control.sock).",
        "--log-level": "--log-level <log-level>  Lowest level to log.",
    ]

    /// The arguments after the program name. `--help` and `--version` win wherever they are, as they did.
    static func parse(_ arguments: [String]) -> Result<Request, UsageError> {
        if arguments.contains(where: { $0 == "--help" || $0 == "-h" }) { return .success(.help) }
        if arguments.contains("--version") { return .success(.version) }
        var parsed = DaemonArguments()
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            guard argument.hasPrefix("-"), argument != "-" else {
                return .failure(UsageError(message: "Unexpected argument '\(argument)'"))
            }
            // `--name value` or `--name=value`.
            var name = argument
            var value: String?
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            }
            guard let help = optionHelp[name] else {
                return .failure(UsageError(message: "Unknown option '\(name)'"))
            }
            if value == nil, let next = remaining.first, !next.hasPrefix("-") || next == "-" {
                value = next
                remaining.removeFirst()
            }
            guard let value else {
                return .failure(UsageError(message: "Missing value for '\(name) \(valueName(name))'", help: help))
            }
            switch name {
            case "--config": parsed.config = value
            case "--socket": parsed.socket = value
            default:
                guard let level = Logger.Level(rawValue: value) else {
                    let levels = Logger.Level.allCases.map { "  - \($0.rawValue)" }.joined(separator: "\n")
                    return .failure(UsageError(
                        message: "The value '\(value)' is invalid for '--log-level <log-level>'. Please provide one "
                            + "of the following:\n\(levels)",
                        help: help))
                }
                parsed.logLevel = level
            }
        }
        return .success(.run(parsed))
    }

    private static func valueName(_ option: String) -> String {
        option == "--log-level" ? "<log-level>" : "<path>"
    }

    /// What is printed on stderr for a usage error.
    static func message(for error: UsageError) -> String {
        var lines = ["Error: \(error.message)"]
        if let help = error.help { lines.append("Help:  \(help)") }
        lines.append("Usage: \(usage)")
        lines.append("  See 'stretchd --help' for more information.")
        return lines.joined(separator: "\n") + "\n"
    }

    static var versionText: String { "stretchd \(BuildVersion.current)\n" }
}
