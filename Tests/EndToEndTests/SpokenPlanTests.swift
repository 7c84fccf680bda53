import Foundation
import Testing
import TestSupport

/// `stretchctl plan --voice on` and `check`: the spoken prompts as the real binary plans them.
@Suite struct SpokenPlanTests {
    func plan(_ arguments: [String]) throws -> PlanDocument {
        let result = try Binaries.run("stretchctl", ["plan"] + arguments + ["--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr == "", "no prompt of a built-in routine is too long for its gap")
        return try JSONDecoder().decode(PlanDocument.self, from: Data(result.stdout.utf8))
    }

    func routineFile(_ text: String) throws -> String {
        let path = try URLPath.temporaryDirectory() + "/lunch.toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func planWithAVoiceSpeaksInTheSilencesBetweenTheSameTones() throws {
        let silent = try plan(["hips-for-back", "--voice", "off"])
        let voiced = try plan(["hips-for-back", "--voice", "on"])
        let tones = voiced.cues.filter { $0.cue != "speech" }
        let speech = voiced.cues.filter { $0.cue == "speech" }
        // The tones are those of the plan without a voice, after a lead-in of the 15 s transition time.
        #expect(tones.map { PlanDocument.Cue(at: $0.at - 15, $0) } == silent.cues)
        // The voiced session lasts until its closing prompt has been said.
        let closing = try #require(speech.last)
        let closingEnd = closing.at + (try #require(closing.duration))
        #expect(Int((voiced.duration * 48_000).rounded()) == Int((closingEnd * 48_000).rounded()))
        #expect(speech.map(\.prompt) == ["step", "part", "side", "part", "step", "last-rep", "side", "last-rep",
                                         "step", "last-rep", "side", "last-rep", "step", "side", "closing"])
        #expect(speech.first?.at == 0)
        #expect(speech.first?.text?.hasPrefix("Hip ninety-ninety. ") == true)
        #expect(speech[1].text == "Now rotate toward the back leg." && speech[1].part == "rotate")
        #expect(speech[2].text?.hasPrefix("Left leg in front") == true && speech[2].side == "left")
        #expect(speech[5].text == "Last one.")
        // Cues are in order of time, and no prompt overlaps a tone as long as the sound it plays.
        #expect(voiced.cues.map(\.at) == voiced.cues.map(\.at).sorted())
        let sounds = URLPath.repository + "/Sounds"
        var lengths: [String: Double] = [:]
        for name in Set(tones.map { $0.cue == "rep-beat" && $0.rep == $0.of ? "last-rep" : $0.cue }) {
            lengths[name] = Double(try wavSamples(sounds + "/\(name).wav").count) / 48_000
        }
        for prompt in speech {
            let duration = try #require(prompt.duration)
            #expect(duration > 0.5)
            for tone in tones {
                let sound = try #require(lengths[tone.cue == "rep-beat" && tone.rep == tone.of ? "last-rep" : tone.cue])
                #expect(tone.at + sound <= prompt.at || prompt.at + duration <= tone.at, "\(prompt) and \(tone)")
            }
        }
        #expect(zip(speech, speech.dropFirst()).allSatisfy { $0.at + $0.duration! <= $1.at })
    }

    @Test func renderWithAVoiceSpeaksWherePlanSaysAndTheTonesStayAsTheyAre() throws {
        let output = try URLPath.temporaryDirectory() + "/hips.wav"
        let render = try Binaries.run("stretchctl", ["render", "hips-for-back", "--output", output, "--voice", "on"])
        #expect(render.status == 0 && render.stderr == "", "\(render.stderr)")
        #expect(render.stdout.contains(", 15 prompts, "), "\(render.stdout)")
        let plan = try plan(["hips-for-back", "--voice", "on"])
        let stream = try wavSamples(output)
        let sounds = URLPath.repository + "/Sounds"
        var spans: [Range<Int>] = []
        for cue in plan.cues {
            let frame = Int((cue.at * 48_000).rounded())
            if cue.cue == "speech" {
                // Each prompt is speech from its planned frame for its planned length: sound in it, none around it.
                let length = Int((try #require(cue.duration) * 48_000).rounded())
                #expect(stream[frame..<frame + length].contains { abs($0) > 1_000 }, "\(cue.text ?? "")")
                spans.append(frame..<frame + length)
            } else {
                let sound = try wavSamples(sounds + "/\(cue.cue == "rep-beat" && cue.rep == cue.of ? "last-rep" : cue.cue).wav")
                #expect(Array(stream[frame..<frame + sound.count]) == sound, "\(cue.cue) at \(cue.at)")
                spans.append(frame..<frame + sound.count)
            }
        }
        // Silence everywhere else: nothing is said where the plan does not say it.
        var covered = [Bool](repeating: false, count: stream.count)
        for span in spans { for frame in span where frame < covered.count { covered[frame] = true } }
        #expect(!stream.indices.contains { !covered[$0] && stream[$0] != 0 })
        #expect(stream.count == spans.map(\.upperBound).max())
    }

    @Test func planShowsThePromptsInTheTimeline() throws {
        let result = try Binaries.run("stretchctl", ["plan", "hips-for-back", "--voice", "on"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("    0:00  speech ") && $0.contains("\"Hip ninety-ninety. Sit on") })
        #expect(lines.contains { $0.contains("  speech ") && $0.hasSuffix("\"Now rotate toward the back leg.\"") })
        let silent = try Binaries.run("stretchctl", ["plan", "hips-for-back", "--voice", "off"])
        #expect(!silent.stdout.contains("speech"))
    }

    @Test func checkAndPlanReportAPromptTooLongForItsGap() throws {
        let file = try routineFile("""
            name = "Lunch"
            part_time = "2s"
            [[step]]
            name = "Hip 90/90"
            say = "Hip ninety-ninety"
            kind = "hold"
            parts = [ { name = "lean", hold = "10s" }, { name = "rotate", hold = "10s", say = "Now rotate toward the back leg, slowly." } ]
            """)
        let check = try Binaries.run("stretchctl", ["check", file])
        #expect(check.status == 78)
        #expect(check.stdout == "")
        #expect(check.stderr.hasPrefix("\(file):7:44: step[1].parts[2]: (Hip 90/90) the part prompt \"Now rotate toward the "
            + "back leg, slowly.\" takes "), "\(check.stderr)")
        #expect(check.stderr.contains(" for speech: lengthen part_time (now 2s) or shorten the part's say\n"))
        // Without a voice the routine is fine, and plan shows the prompts that fit, warning about the other.
        let silent = try Binaries.run("stretchctl", ["check", file, "--voice", "off"])
        // 29 s to session-end, then its 1.78 s sound: the length as render writes it.
        #expect(silent.status == 0 && silent.stdout.hasSuffix(": ok: lunch, 1 steps, 30.78s\n"), "\(silent.stderr)")
        let plan = try Binaries.run("stretchctl", ["plan", file, "--voice", "on", "--json"])
        #expect(plan.status == 0)
        #expect(plan.stderr.hasPrefix("warning: \(file):7:44: step[1].parts[2]: (Hip 90/90) the part prompt"), "\(plan.stderr)")
        let cues = try JSONDecoder().decode(PlanDocument.self, from: Data(plan.stdout.utf8)).cues
        #expect(cues.compactMap(\.prompt) == ["step", "closing"])
    }

    @Test func aPromptTheVoiceCannotSpeakFailsAloneAndIsReportedWhereItIsWritten() throws {
        let file = try routineFile("""
            name = "Lunch"
            transition_time = "30s"
            [[step]]
            name = "Capitals"
            say = "北京 上海"
            kind = "hold"
            hold = "20s"
            [[step]]
            name = "Couch"
            kind = "hold"
            hold = "20s"
            """)
        let check = try Binaries.run("stretchctl", ["check", file])
        #expect(check.status == 78)
        #expect(check.stderr.hasPrefix("\(file):3:1: step[1]: cannot be spoken: the text \"北京 上海.\" gives no speech"),
                "\(check.stderr)")
        // The session still speaks the rest: the second step's prompt and the closing line.
        let plan = try Binaries.run("stretchctl", ["plan", file, "--voice", "on", "--json"])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stderr.hasPrefix("warning: \(file):3:1: step[1]: cannot be spoken, so it is left out: "),
                "\(plan.stderr)")
        let prompts = try JSONDecoder().decode(PlanDocument.self, from: Data(plan.stdout.utf8)).cues
            .filter { $0.prompt != nil }
        #expect(prompts.map(\.prompt) == ["step", "closing"])
        #expect(prompts.first?.text == "Couch." && prompts.first?.step == "Couch", "\(prompts)")
    }

    @Test func checkReportsBadSpokenTextAtItsLineAndColumn() throws {
        let file = try routineFile("""
            name = "Lunch"
            [[step]]
            name = "Couch"
            kind = "hold"
            hold = "1m"
            say_left = "Left knee back."
            """)
        let check = try Binaries.run("stretchctl", ["check", file])
        #expect(check.status == 78)
        #expect(check.stderr == "\(file):6:12: step[1].say_left: applies only to a step with sides = \"both\"\n")
    }
}

extension PlanDocument.Cue {
    /// A tone cue moved to `at`.
    init(at: Double, _ cue: Self) {
        self = cue
        self.at = at
    }
}
