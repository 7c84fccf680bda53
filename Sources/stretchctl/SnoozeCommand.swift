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
        try control.send(ControlRequest(command: .snooze, duration: duration))
    }
}
