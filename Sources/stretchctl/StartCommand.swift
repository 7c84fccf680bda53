import ArgumentParser
import ControlProtocol

struct StartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start a stretch session now.",
        discussion: """
            Without ROUTINE: the routine of the break that is due, or the next one in turn. Reminders that were \
            paused resume.
            """
    )

    @Argument(help: ArgumentHelp("A routine id or the path to a routine file.", valueName: "routine"))
    var routine: String?

    @OptionGroup var control: ControlOptions

    func run() throws {
        try control.send(ControlRequest(command: .start, routine: routine))
    }
}
