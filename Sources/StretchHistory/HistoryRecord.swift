import FoundationEssentials
import StretchCore

/// One thing that happened to a break, as stored in the history file.
public struct HistoryRecord: Codable, Sendable, Hashable {
    /// Each break that comes due is `due` once and ends in one of `completed`, `stopped`, `skipped`, `missed` or
    /// `failed`. `reminded` is what older versions wrote for each reminder (re-reminders included); still read,
    /// and counted as offered.
    public enum Event: String, Codable, Sendable, CaseIterable {
        case due, reminded, started, completed, stopped, skipped, snoozed, missed, failed
    }

    /// Seconds since 1970 (UTC).
    public var time: Double
    /// The local date it happened on, `2026-11-23`: days are the user's days, whatever the time zone later.
    public var date: String
    public var event: Event
    public var routine: String?
    /// For `stopped`: the 1-based step it stopped in.
    public var step: Int?
    /// For `completed` and `stopped`: minutes spent stretching.
    public var minutes: Double?
    /// For `stopped`: why, e.g. "suspend" or "stopped by the user"; for `failed`: why the session could not make
    /// a sound.
    public var reason: String?

    public init(
        time: Double, date: String, event: Event, routine: String? = nil, step: Int? = nil, minutes: Double? = nil,
        reason: String? = nil
    ) {
        self.time = time
        self.date = date
        self.event = event
        self.routine = routine
        self.step = step
        self.minutes = minutes
        self.reason = reason
    }
}

extension HistoryRecord {
    /// Limits on what a record may hold; anything outside them is skipped when read, so sums stay finite.
    public static let minutesRange = 0.0...1440.0
    static let stepRange = 1...1000

    /// What is out of range in a record read from the file, or nil when it is fine.
    public var problem: String? {
        guard time.isFinite else { return "time must be a finite number" }
        guard Self.day(of: date) != nil else { return "date must be a date such as 2026-11-23, got \"\(date)\"" }
        if let step, !Self.stepRange.contains(step) { return "step must be 1 to 1000, got \(step)" }
        if let minutes, !(minutes.isFinite && Self.minutesRange.contains(minutes)) {
            return "minutes must be 0 to 1440, got \(minutes)"
        }
        return nil
    }

    /// `2026-11-23`: written digit by digit, as `history` writes one for each of up to 3660 days.
    public static func dateText(_ time: CivilTime) -> String {
        let (year, month, day) = time.date
        guard (0...9999).contains(year) else { return String(time.description.prefix(10)) }
        let digits: [Int] = [year / 1000, year / 100 % 10, year / 10 % 10, year % 10, -1, month / 10, month % 10, -1,
                             day / 10, day % 10]
        return String(unsafeUninitializedCapacity: 10) { text in
            for (index, digit) in digits.enumerated() {
                text[index] = digit < 0 ? UInt8(ascii: "-") : UInt8(ascii: "0") + UInt8(digit)
            }
            return 10
        }
    }

    /// The day number (days since 1970-01-01) of a `yyyy-mm-dd` date, or nil when it is not a real date. Read in
    /// place, with the calendar's arithmetic alone: it runs for every line of the history read.
    public static func day(of date: String) -> Int? {
        var date = date
        return date.withUTF8 { utf8 -> Int? in
            guard utf8.count == 10, utf8[4] == UInt8(ascii: "-"), utf8[7] == UInt8(ascii: "-") else { return nil }
            func number(_ range: Range<Int>) -> Int? {
                var value = 0
                for byte in utf8[range] {
                    guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                    value = value * 10 + Int(byte - UInt8(ascii: "0"))
                }
                return value
            }
            guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
                  (1...12).contains(month), (1...31).contains(day)
            else { return nil }
            let number = CivilTime.daysFromCivil(year: year, month: month, day: day)
            // 2026-02-30 would land in March.
            guard CivilTime.civilFromDays(number) == (year, month, day) else { return nil }
            return number
        }
    }

    /// The record as the daemon writes it: one JSON object with its keys sorted, without the newline; nil when it
    /// cannot be encoded.
    public func jsonLine() -> [UInt8]? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).map(Array.init)
    }
}
