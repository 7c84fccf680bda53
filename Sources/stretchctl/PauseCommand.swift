import ArgumentParser
import ControlProtocol
import StretchCore

struct PauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Pause the running session, or pause reminders.",
        discussion: """
            During a session, `pause` holds it where it is until `resume`. Otherwise it pauses reminders: for \
            a DURATION (`pause 1h`), until midnight (`pause until tomorrow`), or until `resume`; given a \
            duration during a session, it also stops the session. No work time counts while reminders are paused.
            """
    )

    @Argument(help: ArgumentHelp("A duration such as 1h, or `until tomorrow`.", valueName: "duration"))
    var duration: [String] = []

    @OptionGroup var control: ControlOptions

    /// The duration as the request takes it: "tomorrow" for `until tomorrow`.
    var text: String? { duration.isEmpty ? nil : duration.last == "tomorrow" ? "tomorrow" : duration.first }

    /// Checked as the daemon checks it, with the same words: a bad one is a usage error.
    func validate() throws {
        guard duration.count <= 2, duration.count < 2 || duration == ["until", "tomorrow"] else {
            throw ValidationError("Give a duration such as 1h, or `until tomorrow`.")
        }
        if let text, case .failure(let error) = ControlRequest.pauseLength(text) { throw ValidationError("\(error)") }
    }

    func run() throws {
        try control.send(.cycle(.pause(text.flatMap { try? ControlRequest.pauseLength($0).get() })))
    }
}
