import ArgumentParser
import ControlProtocol
import StretchCore

struct NextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "next",
        abstract: "Skip to the next step of the running session.",
        discussion: "The current step ends now with its step-end cue, and the transition to the next step follows; between steps, the next step starts at once."
    )

    @OptionGroup var control: ControlOptions

    func run() throws {
        try control.send(.cycle(.next))
    }
}
