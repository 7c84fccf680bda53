/// A day of the week, numbered as C's `tm_wday` (Sunday is 0).
public enum Weekday: Int, Sendable, Hashable, CaseIterable, Comparable {
    case sunday, monday, tuesday, wednesday, thursday, friday, saturday

    /// The three-letter lowercase name config files use: `mon`, `tue`, ...
    public var abbreviation: String {
        ["sun", "mon", "tue", "wed", "thu", "fri", "sat"][rawValue]
    }

    public init?(abbreviation: String) {
        guard let day = Weekday.allCases.first(where: { $0.abbreviation == abbreviation.lowercased() }) else {
            return nil
        }
        self = day
    }

    public static func < (lhs: Weekday, rhs: Weekday) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A local date and time as the wall clock shows it: the terms work hours are written in.
///
/// Arithmetic on it is civil: a day is always 24 hours here. The daemon converts to and from real instants at
/// its edge (`localtime_r`, `mktime`), so daylight-saving changes and clock jumps show up as jumps of this value.
public struct CivilTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Days since 1970-01-01 in the local calendar.
    public var day: Int
    /// Time since local midnight, less than 24 hours.
    public var time: Duration

    public static let dayLength = Duration.seconds(86_400)

    public init(day: Int, time: Duration) {
        let extraDays = Int(time.components.seconds / 86_400) - (time < .zero ? 1 : 0)
        self.day = day + extraDays
        self.time = time - CivilTime.dayLength * extraDays
    }

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        self.init(
            day: CivilTime.daysFromCivil(year: year, month: month, day: day),
            time: .seconds(hour * 3600 + minute * 60 + second))
    }

    public var weekday: Weekday {
        // 1970-01-01 was a Thursday.
        Weekday(rawValue: ((day + 4) % 7 + 7) % 7)!
    }

    public var date: (year: Int, month: Int, day: Int) { CivilTime.civilFromDays(day) }

    /// Whole minutes since local midnight.

    public func adding(_ duration: Duration) -> CivilTime { CivilTime(day: day, time: time + duration) }

    /// Civil time from `self` to `other`, counting every day as 24 hours.
    public func duration(to other: CivilTime) -> Duration {
        CivilTime.dayLength * (other.day - day) + (other.time - time)
    }

    /// `2026-11-23 09:00`, seconds shown only when not zero.
    public var description: String {
        let (y, m, d) = date
        let seconds = time.components.seconds
        let hh = seconds / 3600, mm = seconds % 3600 / 60, ss = seconds % 60
        func two(_ n: some BinaryInteger) -> String { zeroPadded(n, width: 2) }
        let clock = "\(two(hh)):\(two(mm))" + (ss == 0 ? "" : ":\(two(ss))")
        return "\(y)-\(two(m))-\(two(d)) \(clock)"
    }

    public static func < (lhs: CivilTime, rhs: CivilTime) -> Bool {
        (lhs.day, lhs.time) < (rhs.day, rhs.time)
    }

    /// Howard Hinnant's days-from-civil algorithm (proleptic Gregorian calendar).
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    public static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
