import ArgumentParser
import ControlProtocol
import StretchCore

struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Resume a paused session, or paused reminders."
    )

    @OptionGroup var control: ControlOptions

    func run() throws {
        try control.send(.cycle(.resume))
    }
}
