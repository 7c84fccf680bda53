import ArgumentParser
import ControlProtocol
import StretchCore

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show what the daemon is doing and when the next break is.",
        discussion: """
            States: working, break-due, deferred (due, but waiting: screen locked, do-not-disturb, a call), \
            in-session, snoozed, paused, off-hours. Exit status: 0 when the daemon \
            answered, 2 when it cannot be reached.
            """
    )

    @OptionGroup var control: ControlOptions

    func run() throws {
        let reply = try control.send(.status, quiet: true)
        guard !control.json, let status = reply.status else { return }
        print("State: \(status.state.rawValue)")
        if let next = status.nextBreak {
            let inText = status.nextBreakIn.map { " (in \(DurationText.format(.seconds(Int($0.rounded())))))" } ?? ""
            print("Next break: \(next)\(inText)")
        }
        if let until = status.pausedUntil { print("Paused until: \(until)") }
        if let why = status.deferredBecause { print("Break waits: \(why); it is announced once that ends") }
        if let problem = status.soundProblem { print("No sound: \(problem)") }
        print("Worked since the last break: \(DurationText.format(.seconds(Int(status.worked))))")
        print("Breaks today: \(status.breaksToday)")
        if let session = status.session {
            let details = [session.side, session.part].compactMap { $0 }.joined(separator: ", ")
            let what = session.phase == "working" ? "now" : "get ready"
            print("Session: \(session.routine), step \(session.step)/\(session.steps) \(session.stepName)"
                + (details.isEmpty ? "" : " (\(details))")
                + ", \(what) \(DurationText.clock(.seconds(session.phaseRemaining))), "
                + "\(DurationText.clock(.seconds(session.remaining))) left" + (session.paused ? " [paused]" : ""))
        }
    }
}
