import ArgumentParser
import ControlProtocol
import StretchCore

struct SkipCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skip",
        abstract: "Skip this break.",
        discussion: "Restarts the break interval as if the break had been taken; recorded as skipped. Refused when no break is due."
    )

    @OptionGroup var control: ControlOptions

    func run() throws {
        try control.send(.cycle(.skip))
    }
}
