/// A span of the work day in local time, e.g. `09:00-12:30`.
public struct WorkWindow: Sendable, Hashable, CustomStringConvertible {
    /// Minutes since local midnight; `end` may be 24:00.
    public var start: Int
    public var end: Int

    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }

    /// Reads `HH:MM-HH:MM`; the end must come after the start on the same day (`24:00` ends at midnight).
    public init?(parsing text: String) {
        let halves = text.split(separator: "-", omittingEmptySubsequences: false)
        guard halves.count == 2, let start = WorkWindow.minutes(halves[0]), let end = WorkWindow.minutes(halves[1]),
              start < end
        else { return nil }
        self.init(start: start, end: end)
    }

    public var description: String { "\(WorkWindow.format(start))-\(WorkWindow.format(end))" }

    static func minutes(_ text: Substring) -> Int? {
        let parts = text.trimmingSpaces().split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count <= 2, parts[1].count == 2,
              let hours = Int(parts[0]), let minutes = Int(parts[1]),
              (0...24).contains(hours), (0..<60).contains(minutes), hours * 60 + minutes <= 24 * 60
        else { return nil }
        return hours * 60 + minutes
    }

    static func format(_ minutes: Int) -> String {
        let h = minutes / 60, m = minutes % 60
        return zeroPadded(h, width: 2) + ":" + zeroPadded(m, width: 2)
    }
}

/// The work week: which days, and which hours of those days, in local time.
public struct WorkSchedule: Sendable, Hashable {
    public var days: Set<Weekday>
    /// Sorted and not overlapping, the same on every work day.
    public private(set) var windows: [WorkWindow]

    /// Monday to Friday, 09:00-12:30 and 13:30-17:30.
    public static let standard = WorkSchedule(
        days: [.monday, .tuesday, .wednesday, .thursday, .friday],
        windows: [WorkWindow(start: 9 * 60, end: 12 * 60 + 30), WorkWindow(start: 13 * 60 + 30, end: 17 * 60 + 30)])!

    /// Returns nil when windows overlap.
    public init?(days: Set<Weekday>, windows: [WorkWindow]) {
        let sorted = windows.sorted { $0.start < $1.start }
        for (earlier, later) in zip(sorted, sorted.dropFirst()) where later.start < earlier.end { return nil }
        self.days = days
        self.windows = sorted
    }

    /// The window containing `time`, as civil start and end on that day.
    public func window(containing time: CivilTime) -> (start: CivilTime, end: CivilTime)? {
        guard days.contains(time.weekday) else { return nil }
        let minute = time.time
        for window in windows where minute >= .seconds(window.start * 60) && minute < .seconds(window.end * 60) {
            return (
                CivilTime(day: time.day, time: .seconds(window.start * 60)),
                CivilTime(day: time.day, time: .seconds(window.end * 60))
            )
        }
        return nil
    }

    public func isWorking(at time: CivilTime) -> Bool { window(containing: time) != nil }

    /// The first window start after `time` (strictly later), within the coming week; nil when there is none.
    public func nextWindowStart(after time: CivilTime) -> CivilTime? {
        for dayOffset in 0...7 {
            let day = time.day + dayOffset
            guard days.contains(CivilTime(day: day, time: .zero).weekday) else { continue }
            for window in windows {
                let start = CivilTime(day: day, time: .seconds(window.start * 60))
                if start > time { return start }
            }
        }
        return nil
    }

    /// Civil work time between two local times: how much of `[from, to)` falls in work windows.
    public func workTime(from: CivilTime, to: CivilTime) -> Duration {
        guard from < to else { return .zero }
        var total = Duration.zero
        for day in from.day...to.day {
            guard days.contains(CivilTime(day: day, time: .zero).weekday) else { continue }
            for window in windows {
                let start = max(from, CivilTime(day: day, time: .seconds(window.start * 60)))
                let end = min(to, CivilTime(day: day, time: .seconds(window.end * 60)))
                if start < end { total += start.duration(to: end) }
            }
        }
        return total
    }
}
