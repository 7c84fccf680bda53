import ArgumentParser
import StretchCore

struct PlayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "play",
        abstract: "Run a routine's session now, printing each cue as it comes.",
        discussion: "Runs on the real clock from the first countdown to session-end. Ctrl-C stops it."
    )

    @OptionGroup var routineOptions: RoutineOptions

    @Argument(help: ArgumentHelp("A routine id or the path to a routine file.", valueName: "routine"))
    var routine: String

    func run() async throws {
        let plan = SessionPlanner.plan(try routineOptions.routine(routine))
        print("\(plan.routine.name): \(DurationText.format(plan.duration))")
        let scheduler = CueScheduler(plan: plan, clock: ContinuousClock(), output: ConsoleCueOutput())
        _ = await scheduler.run()
    }
}

/// Prints each cue as a line: time into the session, cue, and where in the routine it belongs.
struct ConsoleCueOutput: CueOutput {
    func play(_ cue: PlannedCue, of plan: SessionPlan) async {
        var line = "\(DurationText.clock(cue.at))  \(cue.cue.rawValue)"
        if let rep = cue.rep, let count = cue.of { line += " \(rep)/\(count)" }
        let details = [cue.side?.rawValue, plan.partName(step: cue.step, part: cue.part)].compactMap { $0 }
        line += "  \(plan.stepName(of: cue))" + (details.isEmpty ? "" : " (\(details.joined(separator: ", ")))")
        print(line)
    }
}
