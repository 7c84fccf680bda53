import ArgumentParser

@main
struct Stretchctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stretchctl",
        abstract: "Control the stretchd daemon; plan, check and play stretch routines.",
        discussion: """
            Routines are the built-in ones (hips-for-back, desk-basics) plus your own TOML files in \
            $XDG_CONFIG_HOME/stretchd/routines/ (usually ~/.config/stretchd/routines/). Wherever a ROUTINE is \
            asked for, give its id or the path to a routine file. Exit status: 0 success, 1 refused or \
            invalid, 2 the daemon cannot be reached.
            """,
        groupedSubcommands: [
            CommandGroup(
                name: "Control the daemon",
                subcommands: [
                    StatusCommand.self, StartCommand.self, StopCommand.self, SkipCommand.self, SnoozeCommand.self,
                    PauseCommand.self, ResumeCommand.self, NextCommand.self, ReloadCommand.self, HistoryCommand.self,
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
}
