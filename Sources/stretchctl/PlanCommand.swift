import ArgumentParser
import StretchCore

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show a routine's session: its steps and every cue with its time.",
        discussion: """
            For people, the steps with their instructions, then a timeline where runs of countdown beats and \
            rep beats are shown on one line. With --json, every cue:
            {"routine": ID, "duration": SECONDS, "cues": [{"at": SECONDS, "cue": NAME, "step": STEP_NAME, \
            "side": "left"|"right"|null, "part": PART_NAME|null, "rep": N|null, "of": N|null}, ...]}
            """
    )

    @OptionGroup var routineOptions: RoutineOptions

    @Argument(help: ArgumentHelp("A routine id or the path to a routine file.", valueName: "routine"))
    var routine: String

    @Flag(help: "Print every cue as JSON.")
    var json = false

    func run() throws {
        let plan = SessionPlanner.plan(try routineOptions.routine(routine))
        if json {
            try printJSON(PlanJSON(plan))
        } else {
            print(PlanText.render(plan), terminator: "")
        }
    }
}

/// The `plan --json` document.
struct PlanJSON: Encodable {
    struct CueJSON: Encodable {
        var at: Double
        var cue: Cue
        var step: String
        var side: Side?
        var part: String?
        var rep: Int?
        var of: Int?

        enum CodingKeys: String, CodingKey { case at, cue, step, side, part, rep, of }

        // Written out so absent values are `null` rather than missing keys.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(at, forKey: .at)
            try container.encode(cue, forKey: .cue)
            try container.encode(step, forKey: .step)
            try container.encode(side?.rawValue, forKey: .side)
            try container.encode(part, forKey: .part)
            try container.encode(rep, forKey: .rep)
            try container.encode(of, forKey: .of)
        }
    }

    var routine: String
    var duration: Double
    var cues: [CueJSON]

    init(_ plan: SessionPlan) {
        routine = plan.routine.id
        duration = plan.duration.inSeconds
        cues = plan.cues.map { cue in
            CueJSON(
                at: cue.at.inSeconds, cue: cue.cue, step: plan.stepName(of: cue), side: cue.side,
                part: plan.partName(step: cue.step, part: cue.part), rep: cue.rep, of: cue.of)
        }
    }
}
