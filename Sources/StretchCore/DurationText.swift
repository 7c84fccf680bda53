/// Durations as people write them in routine and config files: `45s`, `1m30s`, `2m`, `1h15m`, `1.5s`, `500ms`.
///
/// Units go from largest to smallest, each at most once; only seconds may have a fraction. A bare number is
/// rejected on purpose: `60` could mean seconds or minutes, and a wrong guess silently breaks a schedule.
public enum DurationText {
    /// Parses `text`, or returns nil when it is not a duration in the format above.
    public static func parse(_ text: String) -> Duration? {
        var rest = Substring(text.trimmingSpaces())
        guard !rest.isEmpty else { return nil }
        var total = Duration.zero
        var lastRank = Int.max
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty else { return nil }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix { $0.isASCII && $0.isLetter }
            rest = rest.dropFirst(unitText.count)
            guard let unit = Unit(rawValue: String(unitText)), unit.rank < lastRank else { return nil }
            lastRank = unit.rank
            guard let amount = unit.duration(of: number) else { return nil }
            total += amount
        }
        return total
    }

    /// Formats `duration` the way `parse` reads it, e.g. `1m30s`, `45s`, `2.5s`, `1h`, rounded to the millisecond
    /// (halves away from zero). A negative duration gets a leading `-`; one that rounds to zero is `0s`.
    public static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        // Both components carry the duration's sign; work on magnitudes, which cannot overflow (unlike `abs`).
        var wholeSeconds = seconds.magnitude
        var milliseconds = (attoseconds.magnitude + 500_000_000_000_000) / 1_000_000_000_000_000
        if milliseconds == 1000 {
            // 0.9995 s and above round up to the next whole second, which may carry into minutes and hours.
            wholeSeconds += 1
            milliseconds = 0
        }
        if wholeSeconds == 0 && milliseconds == 0 { return "0s" }
        var text = seconds < 0 || attoseconds < 0 ? "-" : ""
        let hours = wholeSeconds / 3600, minutes = wholeSeconds % 3600 / 60, secs = wholeSeconds % 60
        if hours > 0 { text += "\(hours)h" }
        if minutes > 0 { text += "\(minutes)m" }
        if milliseconds > 0 {
            var fraction = zeroPadded(milliseconds, width: 3)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "\(secs).\(fraction)s"
        } else if secs > 0 {
            text += "\(secs)s"
        }
        return text
    }

    /// Formats `duration` as a clock reading for timelines: `m:ss`, or `h:mm:ss` from one hour on.
    public static func clock(_ duration: Duration) -> String {
        let total = max(0, duration.components.seconds)
        let hours = total / 3600, minutes = total % 3600 / 60, seconds = total % 60
        let ss = zeroPadded(seconds, width: 2)
        return hours > 0 ? "\(hours):\(zeroPadded(minutes, width: 2)):\(ss)" : "\(minutes):\(ss)"
    }

    private enum Unit: String {
        case hours = "h", minutes = "m", seconds = "s", milliseconds = "ms"

        var rank: Int {
            switch self {
            case .hours: 3
            case .minutes: 2
            case .seconds: 1
            case .milliseconds: 0
            }
        }

        func duration(of number: Substring) -> Duration? {
            if self == .seconds, number.contains(".") {
                return Self.decimalSeconds(number)
            }
            guard let value = Int64(number), value <= 1_000_000 else { return nil }
            switch self {
            case .hours: return .seconds(value * 3600)
            case .minutes: return .seconds(value * 60)
            case .seconds: return .seconds(value)
            case .milliseconds: return .milliseconds(value)
            }
        }

        /// `1.25` -> 1.25 s, kept exact to the millisecond (no floating point rounding in plans).
        private static func decimalSeconds(_ number: Substring) -> Duration? {
            let pieces = number.split(separator: ".", omittingEmptySubsequences: false)
            guard pieces.count == 2, !pieces[1].isEmpty, pieces[1].count <= 3,
                  let whole = Int64(pieces[0].isEmpty ? "0" : pieces[0]), whole <= 1_000_000,
                  let fraction = Int64(pieces[1])
            else { return nil }
            let scale: Int64 = pieces[1].count == 1 ? 100 : pieces[1].count == 2 ? 10 : 1
            return .seconds(whole) + .milliseconds(fraction * scale)
        }
    }
}

extension Duration {
    /// The duration in seconds as a `Double`, for JSON and arithmetic on sample frames.
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// `value`'s digits in `radix`, with zeros in front up to `width` digits: `zeroPadded(7, width: 2)` is `07`, and
/// `zeroPadded(0o755, width: 4, radix: 8)` is `0755`. For values from zero up.
public func zeroPadded(_ value: some BinaryInteger, width: Int, radix: Int = 10) -> String {
    let digits = String(value, radix: radix)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

extension StringProtocol {
    /// Without the white space at either end; the one trimming helper (StretchCore has no Foundation).
    func trimmingSpaces() -> SubSequence {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map { index(after: $0) } ?? endIndex
        return self[start..<Swift.max(start, end)]
    }
}
