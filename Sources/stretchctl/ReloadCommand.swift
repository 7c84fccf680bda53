import ArgumentParser
import ControlProtocol

struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Make the daemon read its config and routines again.",
        discussion: """
            Like SIGHUP (`systemctl --user reload stretchd`), but reports the outcome: with a bad config, prints \
            every problem, exits 78, and the daemon keeps running with the config it had.
            """
    )

    @OptionGroup var control: ControlOptions

    func run() throws {
        try control.send(.reload)
    }
}
