import ArgumentParser
import StretchAudio
import StretchCore

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show a routine's session: its steps and every cue with its time.",
        discussion: """
            For people, the steps with their instructions, then a timeline where runs of countdown beats and \
            rep beats are shown on one line. The length shown (and --json's "duration") is the session's as \
            `play` plays it and `render` writes it: until the last sound has rung out, past session-end (and \
            the closing prompt). With --json, every cue:
            {"routine": ID, "duration": SECONDS, "cues": [{"at": SECONDS, "cue": NAME, "step": STEP_NAME, \
            "side": "left"|"right"|null, "part": PART_NAME|null, "rep": N|null, "of": N|null}, ...]}
            With a voice (--voice on, or by default where the voice loads and the config's [voice] enabled is \
            true), the spoken prompts too, as cues among the others: {"at": SECONDS, "cue": "speech", \
            "text": TEXT, "duration": SECONDS, "prompt": "step"|"side"|"part"|"last-rep"|"closing", "step": ..., \
            "side": ..., "part": ..., "rep": null, "of": null}. Their lengths are the synthesized speech's. A \
            prompt too long for its gap is left out and reported on stderr.
            """
    )

    @OptionGroup var routineOptions: RoutineOptions

    @Argument(help: ArgumentHelp("A routine id or the path to a routine file.", valueName: "routine"))
    var routine: String

    @Flag(help: "Print every cue as JSON.")
    var json = false

    @Option(help: ArgumentHelp(
        "Spoken prompts in the plan: on or off (default: as render and play).", valueName: "on|off"))
    var voice: VoiceSetting?

    func run() async throws {
        let (routine, library) = try routineOptions.resolve(routine)
        let sounds = AudioOptions.defaultSounds()
        let session = try await VoicedSession.prepare(routine, voice: voice, sounds: sounds)
        let plan = session.plan
        for warning in session.speechWarnings(of: routine, in: library, reference: self.routine) {
            printError(warning)
        }
        let length = session.length(sounds: sounds)
        if json {
            try printJSON(PlanJSON(plan, length: length))
        } else {
            print(PlanText.render(plan, length: length), terminator: "")
        }
    }
}

/// The `plan --json` document.
struct PlanJSON: Encodable {
    struct CueJSON: Encodable {
        var at: Double
        /// A `Cue`'s name, or `speech`.
        var cue: String
        var step: String
        var side: Side?
        var part: String?
        var rep: Int?
        var of: Int?
        /// For speech: what is said, for how long, and which prompt it is.
        var text: String?
        var duration: Double?
        var prompt: String?

        enum CodingKeys: String, CodingKey { case at, cue, step, side, part, rep, of, text, duration, prompt }

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
            try container.encodeIfPresent(text, forKey: .text)
            try container.encodeIfPresent(duration, forKey: .duration)
            try container.encodeIfPresent(prompt, forKey: .prompt)
        }
    }

    var routine: String
    /// The session's length as it sounds (`VoicedSession.length`), not the `session-end` cue's time.
    var duration: Double
    var cues: [CueJSON]

    init(_ plan: SessionPlan, length: Duration) {
        routine = plan.routine.id
        duration = length.inSeconds
        let tones = plan.cues.map { cue in
            (cue.at, CueJSON(
                at: cue.at.inSeconds, cue: cue.cue.rawValue, step: plan.stepName(of: cue), side: cue.side,
                part: plan.partName(step: cue.step, part: cue.part), rep: cue.rep, of: cue.of))
        }
        let speech = plan.prompts.map { prompt in
            (prompt.at, CueJSON(
                at: prompt.at.inSeconds, cue: "speech", step: plan.routine.steps[prompt.step].name, side: prompt.side,
                part: plan.partName(step: prompt.step, part: prompt.part), text: prompt.text,
                duration: prompt.length.inSeconds, prompt: prompt.kind.rawValue))
        }
        // In order of time; the prompts sit in the silences between tones, so no two start together.
        cues = (tones + speech).enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }
            .map(\.element.1)
    }
}
