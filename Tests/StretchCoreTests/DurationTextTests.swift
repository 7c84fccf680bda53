import PropertyBased
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
        #expect(DurationText.format(.milliseconds(5)) == "0.005s")
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

    /// Sound files one frame short of a whole second at 48 kHz once crashed the daemon and `stretchctl sounds`.
    @Test func aFractionThatRoundsUpToAWholeSecondCarries() {
        #expect(DurationText.format(.seconds(Double(191_999) / 48_000)) == "4s")
        #expect(DurationText.format(.seconds(Double(47_999) / 48_000)) == "1s")
        #expect(DurationText.format(.milliseconds(59_999) + .microseconds(600)) == "1m")
        #expect(DurationText.format(.seconds(3599) + .microseconds(999_500)) == "1h")
        #expect(DurationText.format(.zero - .seconds(3599) - .microseconds(999_500)) == "-1h")
        #expect(DurationText.format(.microseconds(-999_700)) == "-1s")
    }

    @Test func whatRoundsToZeroIsZeroSeconds() {
        #expect(DurationText.format(.microseconds(400)) == "0s")
        #expect(DurationText.format(.microseconds(-400)) == "0s")
        #expect(DurationText.format(.zero) == "0s")
    }

    @Test func formatNeverCrashesEvenAtTheExtremes() {
        for duration in [
            Duration(secondsComponent: .max, attosecondsComponent: 999_999_999_999_999_999),
            Duration(secondsComponent: .min, attosecondsComponent: -999_999_999_999_999_999),
            Duration(secondsComponent: .max, attosecondsComponent: 0), Duration(secondsComponent: .min, attosecondsComponent: 0),
        ] {
            #expect(!DurationText.format(duration).isEmpty)
        }
    }

    /// Any duration up to 1000 hours, with fractions that cluster where rounding carries.
    static let durations = zip(
        Gen.int64(in: 0...3_600_000),
        Gen.oneOf(
            Gen.int64(in: 0...999_999_999_999_999_999),
            Gen.int64(in: 999_499_999_999_999_990...999_999_999_999_999_999),
            Gen.int64(in: 0...999).map { $0 * 1_000_000_000_000_000 + 499_999_999_999_999 },
            Gen.int64(in: 0...999).map { $0 * 1_000_000_000_000_000 + 500_000_000_000_000 }),
        Gen.bool
    ).map { seconds, attoseconds, negative in
        let duration = Duration(secondsComponent: seconds, attosecondsComponent: attoseconds)
        return negative ? .zero - duration : duration
    }

    /// `duration` rounded to the millisecond, halves away from zero.
    static func rounded(_ duration: Duration) -> Duration {
        let (seconds, attoseconds) = duration.components
        let milliseconds = (attoseconds.magnitude + 500_000_000_000_000) / 1_000_000_000_000_000
        let magnitude = Duration.seconds(seconds.magnitude) + .milliseconds(milliseconds)
        return duration < .zero ? .zero - magnitude : magnitude
    }

    @Test func formatReadsBackRoundedToTheMillisecond() async {
        await propertyCheck(input: Self.durations) { duration in
            let text = DurationText.format(duration)
            if duration >= .zero {
                #expect(DurationText.parse(text) == Self.rounded(duration), "\(duration) -> \(text)")
            } else {
                let magnitude = DurationText.format(.zero - duration)
                #expect(text == (magnitude == "0s" ? "0s" : "-" + magnitude), "\(duration) -> \(text)")
                #expect(DurationText.parse(String(text.drop { $0 == "-" })) == .zero - Self.rounded(duration))
            }
        }
    }

    @Test func formatNeverCrashesForAnyComponents() async {
        await propertyCheck(input: Gen.int64(), Gen.int64(in: -999_999_999_999_999_999...999_999_999_999_999_999)) {
            seconds, attoseconds in
            // Both components of a real duration carry its sign.
            let duration = Duration(
                secondsComponent: seconds, attosecondsComponent: seconds < 0 ? -attoseconds.magnitude.asInt64 : attoseconds.magnitude.asInt64)
            let text = DurationText.format(duration)
            #expect(text == "0s" || text.hasSuffix("s") || text.hasSuffix("m") || text.hasSuffix("h"))
        }
    }
}

private extension UInt64 {
    var asInt64: Int64 { Int64(self) }
}
