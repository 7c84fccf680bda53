import PropertyBased
import StretchCore
import Testing

/// Spoken prompts in the plan: what is said, where, and what happens when a prompt does not fit its gap.
@Suite struct SpeechPlacementTests {
    /// Tone lengths unlike the default second, different per sound, as a session's real sounds are.
    static let tones: [SoundName: Duration] = [
        .countdown: .milliseconds(80), .holdStart: .milliseconds(300), .halfway: .milliseconds(300),
        .holdEnd: .milliseconds(500), .repBeat: .milliseconds(100), .lastRep: .milliseconds(350),
        .repReturn: .milliseconds(90), .switchSide: .milliseconds(400), .stepEnd: .milliseconds(500),
        .sessionEnd: .milliseconds(1800), .reminder: .seconds(2),
    ]

    /// A fixed-rate estimate: `perCharacter` for each character, plus a fixed 0.3 s.
    static func speech(perCharacter: Duration = .milliseconds(50)) -> SpeechTiming {
        SpeechTiming(toneLength: { tones[$0]! }, length: { .milliseconds(300) + perCharacter * $0.count })
    }

    /// Random routines whose steps and parts have spoken texts of varied lengths (some empty: nothing said).
    static let spokenRoutine = zip(RoutineGen.routine, Gen.int(in: 0...4)).map { routine, seed in
        var routine = routine
        for index in routine.steps.indices {
            let words = String(repeating: " word", count: (index + seed) % 5)
            routine.steps[index].say = "Step \(index)" + words
            routine.steps[index].setup = seed == 0 ? "" : "Set up like this" + words
            if (index + seed) % 3 == 0 { routine.steps[index].sideSay = [.left: "Left" + words, .right: ""] }
            if case .hold(var parts) = routine.steps[index].exercise {
                for part in parts.indices { parts[part].say = part % 2 == 0 ? "Part \(part)" + words : nil }
                routine.steps[index].exercise = .hold(parts)
            }
        }
        routine.sayLastRep = seed == 4 ? "" : "Last one."
        return routine
    }

    /// The hips-for-back shape in small: a hold in two parts and a set of reps with return beats, both sides.
    static let hips = Routine(
        id: "hips", name: "Hips",
        timing: RoutineTiming(countdown: 3, switchTime: .seconds(10), transitionTime: .seconds(15), partTime: .seconds(5)),
        steps: [
            Step(
                name: "Hip 90/90 stretch", sides: .both(first: .right),
                exercise: .hold([
                    HoldPart(name: "lean forward", length: .time(.seconds(60))),
                    HoldPart(name: "rotate", length: .time(.seconds(60)), say: "Now rotate toward the back leg."),
                ]),
                say: "Hip ninety-ninety", setup: "sit on the floor",
                sideSay: [.right: "Right leg in front, left leg out to the side.", .left: "Left leg in front."]),
            Step(name: "Hamstring glide", sides: .both(first: .right),
                 exercise: .reps(Reps(count: 3, tempo: .seconds(4), returnBeat: true))),
        ])

    @Test func withoutAVoiceThePlanHasNoPromptsAndStartsWithTheFirstCountdown() async {
        await propertyCheck(input: Self.spokenRoutine) { routine in
            let plan = SessionPlanner.plan(routine)
            #expect(plan.prompts.isEmpty && plan.speechProblems.isEmpty && plan.leadIn == .zero)
            #expect(plan.cues.first?.at == .zero)
        }
    }

    @Test func aVoiceMovesNoToneButAddsALeadInOfTheTransitionTime() async {
        await propertyCheck(input: Self.spokenRoutine) { routine in
            let silent = SessionPlanner.plan(routine)
            let voiced = SessionPlanner.plan(routine, speech: Self.speech())
            #expect(voiced.leadIn == routine.timing.transitionTime)
            #expect(voiced.cues.map { $0.at - voiced.leadIn } == silent.cues.map(\.at))
            #expect(voiced.cues.map(\.cue) == silent.cues.map(\.cue))
            #expect(voiced.duration == silent.duration + voiced.leadIn)
        }
    }

    /// A text the voice could not speak leaves out just the prompts that say it: every other prompt, and every
    /// cue, is where it would have been.
    @Test func anUnspokenTextLeavesOutOnlyItsOwnPrompts() async {
        await propertyCheck(input: Self.spokenRoutine) { routine in
            let all = SessionPlanner.plan(routine, speech: Self.speech())
            guard let lost = all.prompts.first?.text else { return }
            var timing = Self.speech()
            timing.unspoken = [lost]
            let plan = SessionPlanner.plan(routine, speech: timing)
            #expect(plan.prompts == all.prompts.filter { $0.text != lost })
            #expect(plan.cues == all.cues)
        }
    }

    /// The prompts sit in the silences: each starts a pause after every earlier tone has rung out and ends a pause
    /// before the next tone (a countdown beat or otherwise); prompts do not overlap each other.
    @Test func noPromptOverlapsAToneACountdownOrAnotherPrompt() async {
        await propertyCheck(input: Self.spokenRoutine, Gen.int(in: 10...150)) { routine, milliseconds in
            let speech = Self.speech(perCharacter: .milliseconds(milliseconds))
            let plan = SessionPlanner.plan(routine, speech: speech)
            for prompt in plan.prompts {
                #expect(prompt.length == speech.length(prompt.text))
                for cue in plan.cues {
                    if cue.at <= prompt.at {
                        #expect(cue.at + Self.tones[cue.sound]! + speech.pause <= prompt.at, "\(prompt) after \(cue)")
                    } else {
                        #expect(prompt.end + speech.pause <= cue.at, "\(prompt) before \(cue)")
                    }
                }
            }
            for (earlier, later) in zip(plan.prompts, plan.prompts.dropFirst()) {
                #expect(earlier.end <= later.at, "\(earlier) overlaps \(later)")
            }
            for problem in plan.speechProblems {
                #expect(problem.prompt.length > problem.room, "\(problem)")
                #expect(!plan.prompts.contains { $0.kind == problem.prompt.kind && $0.at == problem.prompt.at })
            }
        }
    }

    /// Every place that has something to say gets a prompt or a problem: each step, each later side, each later
    /// part with text, each set's last repetition, and the end.
    @Test func everyPromptIsPlacedOrReported() async {
        await propertyCheck(input: Self.spokenRoutine) { routine in
            let plan = SessionPlanner.plan(routine, speech: Self.speech())
            var expected: [PlannedPrompt.Kind: Int] = [.step: routine.steps.count, .closing: 1]
            for step in routine.steps {
                let sides = step.sides.order
                expected[.side, default: 0] += sides.dropFirst().filter { !step.spoken(side: $0).isEmpty }.count
                switch step.exercise {
                case .hold(let parts):
                    expected[.part, default: 0] += parts.dropFirst().filter { !$0.spoken.isEmpty }.count * sides.count
                    if !parts[0].spoken.isEmpty {
                        let silentSides = sides.dropFirst().filter { step.spoken(side: $0).isEmpty }.count
                        expected[.side, default: 0] += silentSides
                    }
                case .reps(let reps):
                    if reps.count > 1, !routine.sayLastRep.isEmpty { expected[.lastRep, default: 0] += sides.count }
                }
            }
            var found: [PlannedPrompt.Kind: Int] = [:]
            for prompt in plan.prompts + plan.speechProblems.map(\.prompt) { found[prompt.kind, default: 0] += 1 }
            #expect(found.filter { $0.value > 0 } == expected.filter { $0.value > 0 })
        }
    }

    @Test func eachPromptStartsAPauseAfterTheToneBeforeItsGap() throws {
        let speech = Self.speech()
        let plan = SessionPlanner.plan(Self.hips, speech: speech)
        #expect(plan.speechProblems.isEmpty, "\(plan.speechProblems)")
        func cue(_ kind: Cue, _ step: Int, _ side: Side?, part: Int? = nil, rep: Int? = nil) throws -> PlannedCue {
            try #require(plan.cues.first {
                $0.cue == kind && $0.step == step && $0.side == side && (part == nil || $0.part == part)
                    && (rep == nil || $0.rep == rep)
            })
        }
        let pause = speech.pause
        let expected: [(PlannedPrompt.Kind, Duration, String)] = [
            (.step, .zero, "Hip ninety-ninety. Sit on the floor. Right leg in front, left leg out to the side. Lean forward."),
            (.part, try cue(.holdEnd, 0, .right, part: 0).at + .milliseconds(500) + pause, "Now rotate toward the back leg."),
            (.side, try cue(.switchSide, 0, .left).at + .milliseconds(400) + pause, "Left leg in front. Lean forward."),
            (.part, try cue(.holdEnd, 0, .left, part: 0).at + .milliseconds(500) + pause, "Now rotate toward the back leg."),
            (.step, try cue(.stepEnd, 0, nil).at + .milliseconds(500) + pause, "Hamstring glide. Right side."),
            (.lastRep, try cue(.repReturn, 1, .right, rep: 2).at + .milliseconds(90) + pause, "Last one."),
            (.side, try cue(.switchSide, 1, .left).at + .milliseconds(400) + pause, "Left side."),
            (.lastRep, try cue(.repReturn, 1, .left, rep: 2).at + .milliseconds(90) + pause, "Last one."),
            (.closing, plan.duration + .milliseconds(1800) + pause, "Session complete. Well done."),
        ]
        #expect(plan.prompts.map(\.kind) == expected.map(\.0))
        #expect(plan.prompts.map(\.at) == expected.map(\.1))
        #expect(plan.prompts.map(\.text) == expected.map(\.2))
        #expect(plan.prompts.map(\.side) == [.right, .right, .left, .left, .right, .right, .left, .left, nil])
        #expect(plan.prompts.map(\.part) == [0, 1, 0, 1, nil, nil, nil, nil, nil])
        #expect(plan.promptsEnd == plan.prompts.last?.end)
        #expect(plan.leadIn == .seconds(15))
    }

    @Test func aPromptTooLongForItsGapIsLeftOutAndSaysWhatToChange() throws {
        var routine = Self.hips
        routine.timing.partTime = .seconds(2)
        let plan = SessionPlanner.plan(routine, speech: Self.speech())
        // "Now rotate toward the back leg." is 31 characters: 0.3 s + 1.55 s; the gap leaves 2 s - 0.5 s - 0.5 s.
        #expect(plan.speechProblems.map(\.description) == [
            "step[1].parts[2]: (Hip 90/90 stretch, right side) the part prompt \"Now rotate toward the back leg.\" takes "
                + "1.85s, but its gap leaves 1s for speech: lengthen part_time (now 2s) or shorten the part's say",
            "step[1].parts[2]: (Hip 90/90 stretch, left side) the part prompt \"Now rotate toward the back leg.\" takes "
                + "1.85s, but its gap leaves 1s for speech: lengthen part_time (now 2s) or shorten the part's say",
        ])
        #expect(!plan.prompts.contains { $0.kind == .part })
        #expect(plan.prompts.count == 7)
    }

    @Test func aSetsLastRepetitionTooQuickForLastOneIsReportedAgainstTheTempo() {
        var routine = Self.hips
        routine.steps[1].exercise = .reps(Reps(count: 3, tempo: .seconds(1), returnBeat: true))
        let plan = SessionPlanner.plan(routine, speech: Self.speech())
        #expect(plan.speechProblems.map(\.prompt.kind) == [.lastRep, .lastRep])
        #expect(plan.speechProblems.first?.message.hasSuffix(
            "lengthen tempo (now 1s) or shorten say_last_rep (\"\" says nothing)") == true)
        routine.sayLastRep = ""
        #expect(SessionPlanner.plan(routine, speech: Self.speech()).speechProblems.isEmpty)
    }

    @Test func theFirstStepsPromptNeedsTheLeadIn() {
        var routine = Self.hips
        routine.timing.transitionTime = .seconds(2)
        let problems = SessionPlanner.plan(routine, speech: Self.speech()).speechProblems
        #expect(problems.map(\.keyPath) == ["step[1]", "step[2]"])
        #expect(problems.first?.message.contains("lengthen transition_time (now 2s) or shorten say, setup, say_right, "
            + "the first part's say") == true)
    }

    @Test func stepsWithoutSpokenTextSayTheirNameAndDefaultSides() {
        let routine = Routine(
            id: "plain", name: "Plain", steps: [
                Step(name: "Couch stretch", sides: .both(first: .left), exercise: .hold([HoldPart(length: .time(.seconds(30)))])),
                Step(name: "Reach", sides: .none, exercise: .hold([HoldPart(length: .time(.seconds(30)))]), say: ""),
            ], sayClosing: "")
        let plan = SessionPlanner.plan(routine, speech: Self.speech())
        #expect(plan.prompts.map(\.text) == ["Couch stretch. Left side.", "Right side."])
    }

    @Test func spokenTextsListsEachTextOnceInOrder() {
        #expect(SessionPlanner.spokenTexts(Self.hips) == [
            "Hip ninety-ninety. Sit on the floor. Right leg in front, left leg out to the side. Lean forward.",
            "Now rotate toward the back leg.", "Left leg in front. Lean forward.", "Hamstring glide. Right side.",
            "Last one.", "Left side.", "Session complete. Well done.",
        ])
    }
}
