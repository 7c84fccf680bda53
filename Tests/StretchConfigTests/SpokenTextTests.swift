import StretchConfig
import StretchCore
import Testing

/// The spoken texts of routine files: read into the routine, checked like every other value.
@Suite struct SpokenTextTests {
    func parse(_ text: String) -> Result<Routine, ConfigError> {
        RoutineFile.parse(text, file: "lunch.toml", defaultID: "lunch")
    }

    func problems(_ text: String) -> [String] {
        guard case .failure(let error) = parse(text) else {
            Issue.record("expected the file to be rejected")
            return []
        }
        return error.problems.map(\.description)
    }

    @Test func readsEverySpokenText() throws {
        let routine = try parse("""
            name = "Lunch hips"
            say_last_rep = "Final one."
            say_closing = ""

            [[step]]
            name = "Hip 90/90"
            say = "Hip ninety-ninety"
            setup = "Sit on the floor, both legs bent."
            say_right = "Right leg in front, left leg out to the side."
            say_left = "Left leg in front."
            kind = "hold"
            sides = "both"
            parts = [ { name = "lean", hold = "1m" }, { name = "rotate", hold = "1m", say = "Now rotate toward the back leg." } ]

            [[step]]
            name = "Glide"
            kind = "reps"
            reps = 5
            """).get()
        #expect(routine.sayLastRep == "Final one.")
        #expect(routine.sayClosing == "")
        let hip = routine.steps[0]
        #expect(hip.say == "Hip ninety-ninety" && hip.spokenName == "Hip ninety-ninety")
        #expect(hip.setup == "Sit on the floor, both legs bent.")
        #expect(hip.sideSay == [.right: "Right leg in front, left leg out to the side.", .left: "Left leg in front."])
        #expect(hip.exercise == .hold([
            HoldPart(name: "lean", length: .time(.seconds(60))),
            HoldPart(name: "rotate", length: .time(.seconds(60)), say: "Now rotate toward the back leg."),
        ]))
        // Nothing written: the name is said, and the routine's default lines.
        let glide = routine.steps[1]
        #expect(glide.say == nil && glide.spokenName == "Glide" && glide.setup.isEmpty && glide.sideSay.isEmpty)
        let plain = try parse("name = \"x\"\n[[step]]\nname = \"a\"\nkind = \"hold\"\nhold = \"1m\"\n").get()
        #expect(plain.sayLastRep == "Last one." && plain.sayClosing == "Session complete. Well done.")
    }

    @Test func badSpokenTextIsReportedWhereItIsWritten() {
        let long = String(repeating: "a", count: 301)
        #expect(problems("""
            name = "x"
            say_closing = "\(long)"
            say_last_rep = "..."
            [[step]]
            name = "a"
            say = "Line one\\nline two"
            setup = 5
            say_left = "Left."
            kind = "hold"
            parts = [ { name = "p", hold = "1m", say = "\\u001b[2J" } ]
            """) == [
                "lunch.toml:3:16: say_last_rep: expected words to speak (or \"\" to say nothing), got \"...\"",
                "lunch.toml:2:15: say_closing: spoken text of at most 300 characters, got 301: say less here",
                "lunch.toml:6:7: step[1].say: the control character U+000A is not allowed here; remove it",
                "lunch.toml:7:9: step[1].setup: expected a string, got the number 5",
                "lunch.toml:8:12: step[1].say_left: applies only to a step with sides = \"both\"",
                "lunch.toml:10:44: step[1].parts[1].say: the control character U+001B is not allowed here; remove it",
            ])
    }

    @Test func aNameTooLongToSpeakNeedsASay() throws {
        let long = String(repeating: "n", count: 301)
        let text = "name = \"x\"\n[[step]]\nname = \"\(long)\"\nkind = \"hold\"\n"
            + "parts = [ { name = \"\(long)\", hold = \"1m\" } ]\n"
        #expect(problems(text) == [
            "lunch.toml:3:8: step[1].name: longer than 300 characters (301), too long to speak: add a shorter say",
            "lunch.toml:5:20: step[1].parts[1].name: longer than 300 characters (301), too long to speak: add a "
                + "shorter say",
        ])
        let spoken = "name = \"x\"\n[[step]]\nname = \"\(long)\"\nsay = \"a\"\nkind = \"hold\"\n"
            + "parts = [ { name = \"\(long)\", hold = \"1m\", say = \"p\" } ]\n"
        #expect(try parse(spoken).get().steps.map(\.spokenName) == ["a"])
    }

    @Test func aMisspelledSpokenKeyIsAnUnknownKey() {
        let found = problems("name = \"x\"\n[[step]]\nname = \"a\"\nkind = \"hold\"\nhold = \"1m\"\nsay_rigth = \"R\"\n")
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("lunch.toml:6:1: step[1].say_rigth: unknown key; known keys here:") == true)
        #expect(found.first?.contains("say, say_left, say_right") == true)
    }

    @Test func theBuiltInRoutinesSpeakTheirStretchesInWords() throws {
        let hips = try #require(RoutineLibrary().routine(id: "hips-for-back"))
        #expect(hips.steps.map(\.spokenName) == [
            "Hip ninety-ninety", "Active hamstring stretch", "Adductor rocks", "Quadriceps couch stretch",
        ])
        let texts = RoutineLibrary.builtIn.flatMap(SessionPlanner.spokenTexts)
        #expect(texts.contains("Hip ninety-ninety. Sit on the floor with both legs bent at right angles. "
            + "Right leg in front, left leg out to the side. Lean forward over the front leg, spine long."))
        #expect(texts.contains("Now rotate toward the back leg."))
        #expect(texts.contains("Last one."))
        // Spoken as words: no digits or slashes for the voice to read out as "ninety slash ninety".
        #expect(texts.allSatisfy { !$0.contains("/") && !$0.contains { $0.isNumber } }, "\(texts)")
        for routine in RoutineLibrary.builtIn {
            #expect(routine.steps.allSatisfy { !$0.setup.isEmpty && $0.sideSay.count == 2 }, "\(routine.id)")
        }
    }

    /// At about flite's pace (0.7 s plus 56 ms per character, longer than it measures on short sentences), every
    /// prompt of the built-in routines fits its gap with the built-in sounds' lengths (as in `Sounds/`).
    @Test func theBuiltInRoutinesPromptsFitTheirGaps() {
        let tones: [SoundName: Duration] = [
            .countdown: .milliseconds(71), .holdStart: .milliseconds(301), .halfway: .milliseconds(301),
            .holdEnd: .milliseconds(301), .repBeat: .milliseconds(91), .lastRep: .milliseconds(341),
            .repReturn: .milliseconds(81), .switchSide: .milliseconds(371), .stepEnd: .milliseconds(461),
            .sessionEnd: .milliseconds(1781), .reminder: .milliseconds(1751),
        ]
        let speech = SpeechTiming(toneLength: { tones[$0]! }, length: { .milliseconds(700 + 56 * $0.count) })
        for routine in RoutineLibrary.builtIn {
            let plan = SessionPlanner.plan(routine, speech: speech)
            #expect(plan.speechProblems.isEmpty, "\(routine.id): \(plan.speechProblems)")
        }
    }
}
