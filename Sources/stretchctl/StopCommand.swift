import ArgumentParser
import ControlProtocol
import StretchCore

struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop the running session (or cancel the one about to start).",
        discussion: "Stops the session; its progress is recorded as stopped at the current step."
    )

    @OptionGroup var control: ControlOptions

    func run() throws {
        try control.send(.cycle(.stop))
    }
}
