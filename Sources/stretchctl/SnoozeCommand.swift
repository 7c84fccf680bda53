import ArgumentParser
import ControlProtocol

struct SnoozeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snooze",
        abstract: "Remind again later.",
        discussion: "Works while a break is due; DURATION is work time (default: the config's reminder.snooze)."
    )

    @Argument(help: ArgumentHelp("How much more work time, e.g. 15m.", valueName: "duration"))
    var duration: String?

    @OptionGroup var control: ControlOptions

    func run() throws {
        var length: Duration?
        if let duration {
            // Checked as the daemon checks it, with the same words.
            switch ControlRequest.snoozeLength(duration) {
            case .success(let parsed): length = parsed
            case .failure(let error): throw ValidationError("\(error)")
            }
        }
        try control.send(.snooze(length))
    }
}
