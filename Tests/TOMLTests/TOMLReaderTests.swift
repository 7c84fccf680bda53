import TOML
import Testing

@Suite struct TOMLReaderTests {
    func error(_ text: String) -> TOMLError? {
        do {
            _ = try TOMLReader.parse(text)
            return nil
        } catch {
            return error
        }
    }

    func error(bytes: [UInt8]) -> TOMLError? {
        do {
            _ = try TOMLReader.parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func everyKeyAndValueCarriesItsLineAndColumn() throws {
        let document = try TOMLReader.parse("""
            name = "x"   # comment
            [[step]]
              hold = "1m"
            [[step]]
            parts = [ { name = "lean", hold = "1m" }, { hold = 60 } ]
            "été".dotted.key = 2023-01-02T03:04:05Z
            """)
        #expect(document.entry("name")?.keyPosition == TOMLPosition(line: 1, column: 1))
        #expect(document["name"]?.position == TOMLPosition(line: 1, column: 8))
        let steps = try #require(document["step"]?.array)
        #expect(steps.map(\.position) == [TOMLPosition(line: 2, column: 1), TOMLPosition(line: 4, column: 1)])
        let first = try #require(steps[0].table)
        #expect(first.entry("hold")?.keyPosition == TOMLPosition(line: 3, column: 3))
        #expect(first["hold"]?.position == TOMLPosition(line: 3, column: 10))
        let parts = try #require(steps[1].table?["parts"]?.array)
        #expect(parts.map(\.position) == [TOMLPosition(line: 5, column: 11), TOMLPosition(line: 5, column: 43)])
        #expect(parts[1].table?["hold"]?.position == TOMLPosition(line: 5, column: 52))
        #expect(parts[1].table?["hold"]?.integer == 60)
        // Columns count characters, not bytes.
        let dotted = try #require(steps[1].table?["été"]?.table?["dotted"]?.table)
        #expect(dotted.entry("key")?.keyPosition == TOMLPosition(line: 6, column: 14))
        #expect(dotted["key"]?.dateTime == TOMLDateTime(kind: .offsetDateTime, text: "2023-01-02T03:04:05Z"))
    }

    @Test func keysKeepTheOrderTheyWereWrittenIn() throws {
        let document = try TOMLReader.parse("b = 1\na = 2\n[c]\n[0]\nz.y = 3\nx = 4")
        #expect(document.keys == ["b", "a", "c", "0"])
        #expect(document["0"]?.table?.keys == ["z", "x"])
    }

    @Test func datesAndTimesKeepTheirKindAndText() throws {
        let document = try TOMLReader.parse("""
            a = 1979-05-27 07:32:00.5z
            b = 1979-05-27t07:32:00
            c = 1979-05-27
            d = 07:32:00
            """)
        #expect(document["a"]?.dateTime == TOMLDateTime(kind: .offsetDateTime, text: "1979-05-27T07:32:00.5Z"))
        #expect(document["b"]?.dateTime == TOMLDateTime(kind: .localDateTime, text: "1979-05-27T07:32:00"))
        #expect(document["c"]?.dateTime == TOMLDateTime(kind: .localDate, text: "1979-05-27"))
        #expect(document["d"]?.dateTime == TOMLDateTime(kind: .localTime, text: "07:32:00"))
    }

    @Test func integersAreSixtyFourBitsAndOverflowIsAnError() throws {
        let document = try TOMLReader.parse("a = 9_223_372_036_854_775_807\nb = -9223372036854775808\nc = 0xFF")
        #expect(document["a"]?.integer == .max && document["b"]?.integer == .min && document["c"]?.integer == 255)
        #expect(error("a = 9223372036854775808")?.message == "\"9223372036854775808\" is not a valid number: it does not fit in 64 bits")
        #expect(error("a = 0x1_0000_0000_0000_0000")?.position == TOMLPosition(line: 1, column: 5))
    }

    @Test(arguments: [
        ("[/x]\n", 1, 2, "expected a key, found \"/\""),
        ("[ ;]\n", 1, 3, "expected a key, found \";\""),
        ("[[;tep]]\n", 1, 3, "expected a key, found \";\""),
        ("name = \"x\"\n[[step]]\nkind = \n", 3, 8, "expected a value, found the end of the line"),
        ("a = 1\na = 2\n", 2, 1, "the key \"a\" is already defined at 1:5"),
        ("[a]\nb = 1\n[a]\n", 3, 2, "the table \"a\" is already defined at 1:1"),
        ("a = {b = 1}\n[a.c]\n", 2, 2, "\"a\" is already defined as an inline table at 1:5, not as a table"),
    ])
    func syntaxErrorsAreClearAndLocated(text: String, line: Int, column: Int, message: String) {
        let found = error(text)
        #expect(found == TOMLError(message, at: TOMLPosition(line: line, column: column)))
    }

    @Test func aNULByteIsNamedAtItsLineAndColumn() {
        #expect(error("a = 1\nb = \"x\0y\"\n") == TOMLError(
            "a NUL byte (U+0000) is not allowed in TOML", at: TOMLPosition(line: 2, column: 7)))
        #expect(error("# é\0")?.position == TOMLPosition(line: 1, column: 4))
        #expect(error("a = 1\u{1B}")?.message
            == "the control character U+001B is not allowed in TOML; write it as \\u001B in a basic string")
    }

    @Test func invalidUTF8IsReportedAtItsLine() {
        #expect(error(bytes: Array("a = 1\nb = \"".utf8) + [0xFF, 0x22]) == TOMLError(
            "invalid UTF-8: the byte 0xFF cannot start a character", at: TOMLPosition(line: 2, column: 6)))
        #expect(error(bytes: Array("a = \"".utf8) + [0xE2, 0x82])?.message == "invalid UTF-8: an incomplete character")
        #expect(error(bytes: [0xE0, 0x80, 0x80])?.message == "invalid UTF-8: an overlong or out-of-range character")
        #expect(error(bytes: [0xED, 0xA0, 0x80])?.message == "invalid UTF-8: an overlong or out-of-range character")
    }

    @Test func aDocumentLargerThanOneMebibyteIsRefused() {
        let line = "# " + String(repeating: "x", count: 1021) + "\n"  // 1 KiB per line
        let text = String(repeating: line, count: 1024)
        #expect(error(text) == nil)
        #expect(error(text + "a = 1\n") == TOMLError(
            "the document is larger than 1 MiB (1048576 bytes); it is cut off here",
            at: TOMLPosition(line: 1025, column: 1)))
    }

    @Test func nestingDeeperThanTheLimitIsRefused() {
        let depth = TOMLReader.maximumDepth
        // The key is one level, each array one more.
        #expect(error("a = " + String(repeating: "[", count: depth - 1) + String(repeating: "]", count: depth - 1)) == nil)
        #expect(error("a = " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth))
            == TOMLError("arrays and tables are nested too deeply (more than 64 levels)",
                         at: TOMLPosition(line: 1, column: 4 + depth)))
        #expect(error("a = " + String(repeating: "{b = ", count: depth) + "1" + String(repeating: "}", count: depth))?
            .message.hasSuffix("nested too deeply (more than 64 levels)") == true)
        let key = Array(repeating: "k", count: depth + 1).joined(separator: ".")
        #expect(error("\(key) = 1")?.message == "a dotted key has more than 64 parts")
        #expect(error("[\(key)]")?.message == "a dotted key has more than 64 parts")
        // Headers and dotted keys add up.
        let half = Array(repeating: "k", count: depth / 2 + 1).joined(separator: ".")
        #expect(error("[\(half)]\n\(half) = 1")?.message == "keys are nested too deeply (more than 64 levels)")
        // A million brackets: an error, not a stack overflow.
        #expect(error("a = " + String(repeating: "[", count: 1_000_000))?.message
            == "arrays and tables are nested too deeply (more than 64 levels)")
    }

    @Test func stringsLongerThanTheLimitAreRefused() {
        let limit = TOMLReader.maximumStringLength
        #expect(error("a = '\(String(repeating: "x", count: limit))'") == nil)
        for quote in ["\"", "'", "\"\"\"", "'''"] {
            let text = "a = 1\nb = \(quote)\(String(repeating: "x", count: limit + 1))\(quote)"
            #expect(error(text) == TOMLError(
                "the string starting here is longer than 64 KiB (65536 bytes)", at: TOMLPosition(line: 2, column: 5)))
        }
    }

    @Test func taggedJSONFollowsTheSuitesFormat() throws {
        let document = try TOMLReader.parse("a = \"q\\\"\\u0001\"\nb = [1, 2.5, inf, true]\n[t]\nd = 07:00:00")
        #expect(TaggedJSON.encode(document) == #"{"a":{"type":"string","value":"q\"\u0001"},"b":[{"type":"integer","value":"1"},"#
            + #"{"type":"float","value":"2.5"},{"type":"float","value":"inf"},{"type":"bool","value":"true"}],"#
            + #""t":{"d":{"type":"time-local","value":"07:00:00"}}}"#)
    }
}
