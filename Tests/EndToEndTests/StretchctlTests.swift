import Foundation
import Testing
import TestSupport

@Suite struct StretchctlTests {
    func plan(_ routine: String) throws -> PlanDocument {
        let result = try Binaries.run("stretchctl", ["plan", routine, "--json", "--voice", "off"])
        #expect(result.status == 0, "\(result.stderr)")
        return try JSONDecoder().decode(PlanDocument.self, from: Data(result.stdout.utf8))
    }

    @Test func planOfHipsForBackFollowsTheArticle() throws {
        let plan = try plan("hips-for-back")
        #expect(plan.routine == "hips-for-back")
        #expect(plan.cues.last?.cue == "session-end")
        // The session lasts until session-end has rung out.
        let sessionEnd = try wavSamples(URLPath.repository + "/Sounds/session-end.wav").count
        #expect(Int(((plan.duration - (plan.cues.last?.at ?? 0)) * 48_000).rounded()) == sessionEnd)
        // Hip 90/90: two 60 s holds per side, right side first.
        let holds = plan.cues.filter { $0.cue == "hold-start" && $0.step == "Hip 90/90 stretch" }
        #expect(holds.map { "\($0.side ?? "") \($0.part ?? "")" }
            == ["right lean forward", "right rotate", "left lean forward", "left rotate"])
        let ends = plan.cues.filter { $0.cue == "hold-end" && $0.step == "Hip 90/90 stretch" }
        #expect(zip(holds, ends).allSatisfy { $1.at - $0.at == 60 })
        // The two dynamic moves: 12 beats per side, 4 s apart, the count on every beat;
        // each with its soft return beat halfway, counted as its repetition.
        for step in ["Active hamstring stretch", "Adductor rocks"] {
            for side in ["right", "left"] {
                let beats = plan.cues.filter { $0.cue == "rep-beat" && $0.step == step && $0.side == side }
                #expect(beats.map(\.rep) == Array(1...12))
                #expect(beats.allSatisfy { $0.of == 12 })
                #expect(zip(beats, beats.dropFirst()).allSatisfy { $1.at - $0.at == 4 })
                let returns = plan.cues.filter { $0.cue == "rep-return" && $0.step == step && $0.side == side }
                #expect(returns.map(\.rep) == Array(1...12))
                #expect(returns.allSatisfy { $0.of == 12 })
                #expect(zip(beats, returns).allSatisfy { $1.at - $0.at == 2 })
            }
        }
        let couch = plan.cues.filter { $0.step == "Quadriceps couch stretch" && $0.cue == "halfway" }
        #expect(couch.count == 2)
        #expect(plan.cues.filter { $0.cue == "switch-side" }.count == 4)
        #expect(plan.cues.filter { $0.cue == "step-end" }.count == 3)
        #expect(plan.cues.allSatisfy { $0.rep == nil || $0.cue.hasPrefix("rep") })
    }

    @Test func planOfDeskBasicsHoldsFiveBreathsPerSide() throws {
        let plan = try plan("desk-basics")
        let starts = plan.cues.filter { $0.cue == "hold-start" }
        let ends = plan.cues.filter { $0.cue == "hold-end" }
        #expect(starts.count == 8)
        #expect(zip(starts, ends).allSatisfy { $1.at - $0.at == 30 })
        #expect(starts.map(\.side) == Array(repeating: ["right", "left"], count: 4).flatMap { $0 })
        #expect(plan.cues.allSatisfy { $0.part == nil })
    }

    @Test func routinesListsBuiltInAndUserRoutines() throws {
        var environment = try Binaries.cleanEnvironment()
        let dir = environment["HOME"]! + "/.config/stretchd/routines"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "name = \"Mine\"\n[[step]]\nname = \"a\"\nkind = \"hold\"\nhold = \"1m\"\n"
            .write(toFile: dir + "/mine.toml", atomically: true, encoding: .utf8)
        environment["XDG_CONFIG_HOME"] = nil
        let result = try Binaries.run("stretchctl", ["routines", "--json", "--voice", "off"], environment: environment)
        #expect(result.status == 0)
        struct Row: Decodable, Equatable {
            var id: String
            var steps: Int
            var duration: Double
            var source: String
        }
        let rows = try JSONDecoder().decode([Row].self, from: Data(result.stdout.utf8))
        #expect(rows.map(\.id) == ["hips-for-back", "desk-basics", "mine"])
        // The minute's hold and its countdown, then session-end one second later, rung out.
        let sessionEnd = try wavSamples(URLPath.repository + "/Sounds/session-end.wav").count
        #expect(rows[2] == Row(id: "mine", steps: 1, duration: rows[2].duration, source: dir + "/mine.toml"))
        #expect(Int((rows[2].duration * 48_000).rounded()) == 64 * 48_000 + sessionEnd)
        #expect(rows[0].duration == (try plan("hips-for-back")).duration)
    }

    /// A duration is checked where the request is built, with the daemon's words, before any daemon is asked
    /// (the socket given here does not exist): a usage error.
    @Test(arguments: [
        (["snooze", "soon"], "Error: snooze takes a duration over 0s and up to 24h such as 10m or 1h30m, got \"soon\"\n"),
        (["snooze", "25h"], "Error: snooze takes a duration over 0s and up to 24h such as 10m or 1h30m, got \"25h\"\n"),
        (["pause", "later"],
         "Error: pause takes a duration over 0s and up to 168h such as 1h, or \"tomorrow\", got \"later\"\n"),
    ])
    func aBadDurationIsRefusedBeforeTheDaemonIsAsked(arguments: [String], error: String) throws {
        let result = try Binaries.run("stretchctl", arguments + ["--socket", "/nonexistent/stretchd.sock"])
        #expect(result.status == 64)
        #expect(result.stderr.hasPrefix(error))
        #expect(result.stderr.contains("Usage: stretchctl \(arguments[0])"))
    }

    @Test func checkReportsEveryProblemAndFails() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).toml").path
        try "name = \"x\"\n[[step]]\nname = \"a\"\nkind = \"reps\"\nreps = 0\ntempo = 4\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let result = try Binaries.run("stretchctl", ["check", file])
        #expect(result.status == 78)
        #expect(result.stderr.contains("\(file):5:8: step[1].reps: must be from 1 to 200, got 0"))
        #expect(result.stderr.contains("\(file):6:9: step[1].tempo: expected a duration"))
    }

    /// These headers aborted stretchctl (and the daemon) in the old TOML parser.
    @Test(arguments: [("[/x]\n", 2, "/"), ("[ ;]\n", 3, ";"), ("[[;tep]]\n", 3, ";")])
    func checkReportsMalformedHeadersWithoutCrashing(text: String, column: Int, found: String) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).toml").path
        try ("name = \"x\"\n" + text).write(toFile: file, atomically: true, encoding: .utf8)
        let result = try Binaries.run("stretchctl", ["check", file])
        #expect(result.status == 78)
        #expect(result.stderr.contains("\(file):2:\(column): invalid TOML: expected a key, found \"\(found)\""),
                "\(result.stderr)")
    }

    @Test func checkNamesANULByteAtItsLine() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("nul-\(UUID().uuidString).toml").path
        try Data("name = \"x\"\n# a\0\n".utf8).write(to: URL(fileURLWithPath: file))
        let result = try Binaries.run("stretchctl", ["check", file])
        #expect(result.status == 78)
        #expect(result.stderr.contains("\(file):2:4: invalid TOML: a NUL byte (U+0000) is not allowed in TOML"),
                "\(result.stderr)")
    }

    @Test func unknownRoutineIsAClearError() throws {
        let result = try Binaries.run("stretchctl", ["plan", "no-such-routine"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("no-such-routine: no routine with this id; known routines: hips-for-back"))
    }
}
