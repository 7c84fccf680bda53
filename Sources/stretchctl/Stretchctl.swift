import ArgumentParser

@main
struct Stretchctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stretchctl",
        abstract: "Plan, check and run stretch routines; control the stretchd daemon.",
        discussion: """
            Routines are the built-in ones (hips-for-back, desk-basics) plus your own TOML files in \
            $XDG_CONFIG_HOME/stretchd/routines/ (usually ~/.config/stretchd/routines/). Wherever a ROUTINE is \
            asked for, give its id or the path to a routine file.
            """,
        subcommands: [
            RoutinesCommand.self, PlanCommand.self, CheckCommand.self, PlayCommand.self, RenderCommand.self,
            SoundsCommand.self,
        ]
    )
}
