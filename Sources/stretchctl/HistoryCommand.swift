import ArgumentParser
import ControlProtocol
import StretchCore

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show breaks offered, taken and skipped per day, and your streak.",
        discussion: """
            Offered counts breaks that came due (a reminder again after a snooze is the same break). Missed: \
            time away from the desk was the break. Failed: its session could not make a sound (\
            `stretchctl status` says why). Minutes are time spent stretching. The streak counts work days in a row with at least the daily \
            goal of breaks taken (config: history.daily_goal); today counts once its goal is met.
            """
    )

    @Option(help: ArgumentHelp("How many days to show, today included.", valueName: "n"))
    var days = 7

    @OptionGroup var control: ControlOptions

    func validate() throws {
        let range = ControlProtocol.historyDays
        guard range.contains(days) else {
            throw ValidationError("--days must be from \(range.lowerBound) to \(range.upperBound).")
        }
    }

    func run() throws {
        let reply = try control.send(.history(days: days), quiet: true)
        guard !control.json, let history = reply.history else { return }
        for warning in history.warnings { printError("warning: \(warning)") }
        let rows = history.days.map { day in
            [day.date, String(day.offered), String(day.taken), String(day.skipped), String(day.snoozed),
             String(day.missed), String(day.failed), String((day.minutes * 10).rounded() / 10)]
        }
        printTable([["DATE", "OFFERED", "TAKEN", "SKIPPED", "SNOOZED", "MISSED", "FAILED", "MINUTES"]] + rows)
        print("Streak: \(history.streak) work day\(history.streak == 1 ? "" : "s") with at least \(history.goal) breaks taken")
    }
}
