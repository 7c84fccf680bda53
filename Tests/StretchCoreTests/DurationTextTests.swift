import StretchCore
import Testing

@Suite struct DurationTextTests {
    @Test(arguments: [
        ("45s", Duration.seconds(45)), ("1m30s", .seconds(90)), ("2m", .seconds(120)), ("1h15m", .seconds(4500)),
        ("1.5s", .milliseconds(1500)), ("0.25s", .milliseconds(250)), ("500ms", .milliseconds(500)),
        (" 10s ", .seconds(10)), ("1h", .seconds(3600)),
    ])
    func readsDurationsAsPeopleWriteThem(text: String, expected: Duration) {
        #expect(DurationText.parse(text) == expected)
    }

    @Test(arguments: ["60", "", "s", "1s1m", "1m1m", "1.5m", "1x", "-5s", "1.2345s", "1 m", "99999999h"])
    func rejectsAmbiguousOrMalformedText(text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test(arguments: [Duration.seconds(45), .seconds(90), .seconds(3600), .seconds(3725), .milliseconds(2500)])
    func formatReadsBack(duration: Duration) {
        #expect(DurationText.parse(DurationText.format(duration)) == duration)
    }

    @Test func formatsShortestForm() {
        #expect(DurationText.format(.seconds(90)) == "1m30s")
        #expect(DurationText.format(.seconds(3600)) == "1h")
        #expect(DurationText.format(.milliseconds(2500)) == "2.5s")
        #expect(DurationText.clock(.seconds(3725)) == "1:02:05")
        #expect(DurationText.clock(.seconds(65)) == "1:05")
    }

    @Test func zeroPaddingFillsToTheWidthAndNeverCutsDigits() {
        #expect(zeroPadded(7, width: 2) == "07")
        #expect(zeroPadded(42, width: 2) == "42")
        #expect(zeroPadded(123, width: 2) == "123")
        #expect(zeroPadded(5, width: 3) == "005")
        #expect(zeroPadded(0o755, width: 4, radix: 8) == "0755")
        #expect(zeroPadded(UInt32(0o1777), width: 4, radix: 8) == "1777")
        #expect(DurationText.format(.milliseconds(1050)) == "1.05s")
        #expect(DurationText.format(.milliseconds(1005)) == "1.005s")
    }
}
