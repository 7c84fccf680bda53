import ArgumentParser
import ControlProtocol
import StretchCore

struct SnoozeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snooze",
        abstract: "Remind again later.",
        discussion: "Works while a break is due; DURATION is work time (default: the config's reminder.snooze)."
    )

    @Argument(help: ArgumentHelp("How much more work time, e.g. 15m.", valueName: "duration"))
    var duration: String?

    @OptionGroup var control: ControlOptions

    /// Checked as the daemon checks it, with the same words: a bad one is a usage error.
    func validate() throws {
        if let duration, case .failure(let error) = ControlRequest.snoozeLength(duration) {
            throw ValidationError("\(error)")
        }
    }

    func run() throws {
        try control.send(.cycle(.snooze(duration.flatMap { try? ControlRequest.snoozeLength($0).get() })))
    }
}
