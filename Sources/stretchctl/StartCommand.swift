import ArgumentParser
import ControlProtocol
import StretchConfig
import StretchCore
import StretchSystem

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
        var reference = routine
        // The daemon runs in another working folder: a relative path means nothing to it.
        if let path = routine, RoutineLibrary.isPath(path) {
            guard let absolute = Files.absolute(path) else {
                printError("error: cannot resolve \(path): the current folder cannot be read; give an absolute path")
                throw ExitCode(1)
            }
            reference = absolute
        }
        try control.send(.cycle(.start(reference)))
    }
}
