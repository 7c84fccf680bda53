import StretchConfig
import StretchCore
import Testing

@Suite struct RoutineFileTests {
    func parse(_ text: String) -> Result<Routine, ConfigError> {
        RoutineFile.parse(text, file: "lunch.toml", defaultID: "lunch")
    }

    /// The problems of a file that must fail to load.
    func problems(_ text: String) throws -> [ConfigProblem] {
        guard case .failure(let error) = parse(text) else {
            Issue.record("expected the file to be rejected")
            return []
        }
        return error.problems
    }

    @Test func controlCharactersInTextAreRefusedWhereTheyAreWritten() throws {
        // An escape sequence would rewrite a terminal; a newline plus "<0>" would forge a journal line.
        let found = try problems(#"""
            name = "Lunch\u001b]0;pwned\u0007"
            [[step]]
            name = "s\n<0>emerg"
            kind = "hold"
            hold = "5s"
            instructions = """
            Two lines,\tand a tab: fine."""
            """#)
        #expect(found.map(\.description) == [
            "lunch.toml:1:8: name: the control character U+001B is not allowed here; remove it",
            "lunch.toml:3:8: step[1].name: the control character U+000A is not allowed here; remove it",
        ])
    }

    @Test func readsTheDocumentedExample() throws {
        let text = """
            name = "Lunch hips"
            countdown = 3            # beats before each timed part
            switch_time = "10s"      # to change sides
            transition_time = "15s"  # between steps
            [[step]]
            name = "Couch stretch"
            kind = "hold"
            sides = "both"
            hold = "1m"
            [[step]]
            name = "Hip 90/90"
            kind = "hold"
            sides = "both"
            parts = [ { name = "lean forward", hold = "1m" }, { name = "rotate", hold = "1m" } ]
            [[step]]
            name = "Hamstring glide"
            kind = "reps"
            sides = "both"
            reps = 12
            tempo = "4s"             # one repetition
            return_beat = true
            """
        let routine = try parse(text).get()
        #expect(routine.id == "lunch")
        #expect(routine.name == "Lunch hips")
        #expect(routine.steps.count == 3)
        #expect(routine.steps[0].exercise == .hold([HoldPart(length: .time(.seconds(60)))]))
        #expect(routine.steps[1].sides == .both(first: .right))
        #expect(routine.steps[2].exercise == .reps(Reps(count: 12, tempo: .seconds(4), returnBeat: true)))
    }

    @Test func syntaxErrorsGiveTheParsersLineAndColumn() throws {
        let found = try problems("name = \"x\"\n[[step]]\nname = \"a\"\nkind = \n")
        #expect(found.count == 1)
        #expect(found.first?.description == "lunch.toml:4:8: invalid TOML: expected a value, found the end of the line")
    }

    @Test func unknownKeysAreNamedWithTheirLine() throws {
        let found = try problems("""
            name = "x"
            [[step]]
            name = "a"
            kind = "hold"
            hold = "1m"
            hodl = "2m"
            """)
        #expect(found == [ConfigProblem(
            file: "lunch.toml", line: 6, column: 1, keyPath: "step[1].hodl",
            message: "unknown key; known keys here: first_side, hold, instructions, kind, name, parts, reps, return_beat, "
                + "say, say_left, say_right, setup, sides, tempo")])
    }

    @Test(arguments: [
        ("hold = 60", "step[1].hold", "got the number 60"),
        ("hold = \"60\"", "step[1].hold", "expected a duration"),
        ("hold = \"0s\"", "step[1].hold", "must be from 1s to 30m"),
        ("hold = \"-5s\"", "step[1].hold", "expected a duration"),
        ("hold = \"45m\"", "step[1].hold", "must be from 1s to 30m"),
        ("hold = \"500 breaths\"", "step[1].hold", "must be from 1 to 60 breaths"),
        ("hold = true", "step[1].hold", "got false".replacingOccurrences("false", "true")),
    ])
    func badHoldLengthsAreExplained(line: String, keyPath: String, fragment: String) throws {
        let found = try problems("name = \"x\"\n[[step]]\nname = \"a\"\nkind = \"hold\"\n\(line)\n")
        #expect(found.count == 1)
        #expect(found.first?.keyPath == keyPath)
        #expect(found.first?.line == 5)
        #expect(found.first?.column == 8)
        #expect(found.first?.message.contains(fragment) == true, "\(found)")
    }

    @Test func zeroRepsAndAbsurdTemposAreRejected() throws {
        let found = try problems("""
            name = "x"
            [[step]]
            name = "a"
            kind = "reps"
            reps = 0
            tempo = "10m"
            """)
        #expect(found.map(\.keyPath) == ["step[1].reps", "step[1].tempo"])
        #expect(found.map(\.line) == [5, 6])
        #expect(found.map(\.column) == [8, 9])
    }

    @Test func anEmptyRoutineIsRejected() throws {
        #expect(try problems("name = \"x\"").map(\.message) == ["missing; this key is required"])
        #expect(try problems("name = \"x\"\nstep = []").map(\.message) == ["a routine needs at least one [[step]]"])
    }

    @Test func wrongTypesSayWhatWasExpected() throws {
        let found = try problems("""
            name = 5
            countdown = "3"
            switch_time = "10s"
            [[step]]
            name = "a"
            kind = "stretch"
            sides = "both"
            first_side = "up"
            """)
        #expect(found.map(\.keyPath) == ["name", "countdown", "step[1].kind", "step[1].first_side"])
        #expect(found[0].message == "expected a string, got the number 5")
        #expect(found[1].message == "expected an integer, got the string \"3\"")
        #expect(found[2].message == "expected one of \"hold\", \"reps\", got \"stretch\"")
    }

    @Test func keysOfTheOtherKindAreRejected() throws {
        let found = try problems("""
            name = "x"
            [[step]]
            name = "a"
            kind = "hold"
            hold = "1m"
            reps = 10
            """)
        #expect(found.map(\.message) == ["applies only to kind = \"reps\""])
    }

    @Test func oneBadStepRejectsTheWholeFile() throws {
        let text = """
            name = "x"
            [[step]]
            name = "good"
            kind = "hold"
            hold = "1m"
            [[step]]
            name = "bad"
            kind = "hold"
            parts = [ { name = "lean", hold = "1m" }, { hold = "1m" } ]
            """
        #expect(try problems(text).map(\.keyPath) == ["step[2].parts[2].name"])
        #expect(try problems(text).first?.line == 9)
        // The element's own column: the second inline table.
        #expect(try problems(text).first?.column == 43)
    }

    /// These headers aborted the old parser (toml++ assertions), taking the daemon down with them.
    @Test(arguments: [("[/x]\n", 2, "\"/\""), ("[ ;]\n", 3, "\";\""), ("[[;tep]]\n", 3, "\";\"")])
    func malformedHeadersAreSyntaxErrorsNotCrashes(text: String, column: Int, found: String) throws {
        #expect(try problems("name = \"x\"\n" + text).map(\.description)
            == ["lunch.toml:2:\(column): invalid TOML: expected a key, found \(found)"])
    }

    @Test func aNULByteIsReportedAsSuchAtItsLine() throws {
        #expect(try problems("name = \"x\"\n[[step]]\nname = \"a\0\"\n").map(\.description)
            == ["lunch.toml:3:10: invalid TOML: a NUL byte (U+0000) is not allowed in TOML"])
    }

    @Test func invalidUTF8IsReportedAtItsLine() {
        guard case .failure(let error) = RoutineFile.parse(
            Array("name = \"x\"\n# caf".utf8) + [0xE9, 0x0A], file: "lunch.toml", defaultID: "lunch")
        else {
            Issue.record("expected the file to be rejected")
            return
        }
        #expect(error.description == "lunch.toml:2:6: invalid TOML: invalid UTF-8: an incomplete character")
    }

    /// The old key locator was quadratic: a file of 16,000 keys took minutes to check.
    @Test func aFileOfSixteenThousandKeysIsChecked() throws {
        var text = "name = \"x\"\n[[step]]\nname = \"a\"\nkind = \"hold\"\nhold = \"1m\"\n"
        for index in 0..<16_000 { text += "key\(index) = \(index)\n" }
        let found = try problems(text)
        #expect(found.count == 16_000)
        #expect(found.last?.description.hasPrefix("lunch.toml:16005:1: step[1].key15999: unknown key") == true)
    }

    @Test func idsMustBeSimple() throws {
        #expect(try problems("id = \"Lunch Hips\"\nname = \"x\"\n[[step]]\nname = \"a\"\nkind = \"hold\"\nhold = \"1m\"")
            .map(\.keyPath) == ["id"])
    }
}

extension String {
    fileprivate func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
