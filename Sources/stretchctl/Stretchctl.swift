import ArgumentParser
import BuildVersion
import StretchCore

@main
struct Stretchctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stretchctl",
        abstract: "Control the stretchd daemon; plan, check and play stretch routines.",
        discussion: """
            Routines are the built-in ones (hips-for-back, desk-basics) plus your own TOML files in \
            $XDG_CONFIG_HOME/stretchd/routines/ (usually ~/.config/stretchd/routines/). Wherever a ROUTINE is \
            asked for, give its id or the path to a routine file. Exit status: 0 success, 1 refused or \
            failed, 2 the daemon cannot be reached, 64 a usage error (unknown command or option, bad value), \
            78 a config or routine file with problems, 130 play stopped by Ctrl-C.
            """,
        version: "stretchctl \(BuildVersion.current)",
        groupedSubcommands: [
            CommandGroup(
                name: "Control the daemon",
                subcommands: [
                    StatusCommand.self, StartCommand.self, StopCommand.self, SkipCommand.self, SnoozeCommand.self,
                    PauseCommand.self, ResumeCommand.self, NextCommand.self, ReloadCommand.self, HistoryCommand.self,
                    WatchCommand.self,
                ]),
            CommandGroup(
                name: "Routines and sounds (no daemon needed)",
                subcommands: [
                    RoutinesCommand.self, PlanCommand.self, CheckCommand.self, PlayCommand.self, RenderCommand.self,
                    SoundsCommand.self,
                ]),
            CommandGroup(name: "Configuration", subcommands: [ConfigCommand.self, CheckConfigCommand.self]),
        ]
    )

    /// ArgumentParser's `main`, except that `help` about a command that does not exist is a usage error (exit
    /// 64), where ArgumentParser shows the top-level help and exits 0.
    static func main() async {
        let arguments = CommandLine.arguments.dropFirst()
        if arguments.first == "help", let unknown = unknownCommand(arguments.dropFirst()) {
            exit(withError: ValidationError("Unknown command '\(unknown)'."))
        }
        await main(nil)
    }

    /// The first of `names` that is not a subcommand of the one before it.
    static func unknownCommand(_ names: some Sequence<String>) -> String? {
        var command: any ParsableCommand.Type = Stretchctl.self
        for name in names where !name.hasPrefix("-") && name != "help" {
            guard let subcommand = command.configuration.subcommands.first(where: {
                $0._commandName == name || $0.configuration.aliases.contains(name)
            }) else { return name }
            command = subcommand
        }
        return nil
    }
}
