import ControlProtocol
import FoundationEssentials
import StretchCore
import StretchSystem

#if canImport(Glibc)
import Glibc
#endif

/// One thing that happened to a break, as stored in the history file.
public struct HistoryRecord: Codable, Sendable, Hashable {
    public enum Event: String, Codable, Sendable {
        case reminded, started, completed, stopped, skipped, snoozed
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
    /// For `stopped`: why, e.g. "suspend" or "stopped by the user".
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

/// The append-only history file: one JSON record per line, each write flushed to disk before it returns.
///
/// A crash can tear at most the last line; reading skips such a line with a warning and keeps everything before.
public struct HistoryStore: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// `$XDG_STATE_HOME/stretchd/history.jsonl`.
    public init(stateHome: String) { self.path = stateHome + "/stretchd/history.jsonl" }

    public struct WriteError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Appends a record and fsyncs it.
    public func append(_ record: HistoryRecord) throws(WriteError) {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty { _ = Files.makeDirectory(directory, mode: 0o700) }
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw WriteError(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = Array((try? encoder.encode(record)) ?? Data())
        line.append(UInt8(ascii: "\n"))
        // A torn earlier line must not swallow this one: start on a fresh line if the file does not end in one.
        let size = lseek(fd, 0, SEEK_END)
        if size > 0, lastByte(fd, size: size) != UInt8(ascii: "\n") { line.insert(UInt8(ascii: "\n"), at: 0) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(fd) == 0 else {
            throw WriteError(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    private func lastByte(_ fd: Int32, size: off_t) -> UInt8? {
        var byte: UInt8 = 0
        return pread(fd, &byte, 1, size - 1) == 1 ? byte : nil
    }

    /// Every readable record, and a warning for each line that is not one.
    public func read() -> (records: [HistoryRecord], warnings: [String]) {
        guard let file = fopen(path, "r") else { return ([], []) }
        defer { fclose(file) }
        var records: [HistoryRecord] = []
        var warnings: [String] = []
        var lineNumber = 0
        var buffer: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(buffer) }
        let decoder = JSONDecoder()
        while getline(&buffer, &capacity, file) > 0, let buffer {
            lineNumber += 1
            let text = String(cString: buffer)
            let complete = text.hasSuffix("\n")
            if let record = try? decoder.decode(HistoryRecord.self, from: Data(text.utf8)), complete {
                records.append(record)
            } else if !text.allSatisfy(\.isWhitespace) {
                let what = complete ? "an unreadable record" : "a torn record (the last write was cut short)"
                warnings.append("\(path):\(lineNumber): skipped \(what)")
            }
        }
        return (records, warnings)
    }

    /// Per-day counts for the `days` days up to `today`, and the streak of work days meeting `goal`.
    public func report(today: CivilTime, days: Int, goal: Int, workDays: Set<Weekday>) -> HistoryReport {
        let (records, warnings) = read()
        var byDate: [String: HistoryReport.Day] = [:]
        for record in records {
            var day = byDate[record.date] ?? HistoryReport.Day(date: record.date)
            switch record.event {
            case .reminded: day.offered += 1
            case .completed: day.taken += 1
            case .skipped: day.skipped += 1
            case .snoozed: day.snoozed += 1
            case .started, .stopped: break
            }
            day.minutes += record.minutes ?? 0
            byDate[record.date] = day
        }
        let shown = (0..<max(1, days)).reversed().map { offset -> HistoryReport.Day in
            let date = Self.dateText(today.adding(.seconds(-86_400 * offset)))
            return byDate[date] ?? HistoryReport.Day(date: date)
        }
        var streak = 0
        var day = today
        // Today only adds to the streak once its goal is met; an unfinished today does not break it.
        if (byDate[Self.dateText(today)]?.taken ?? 0) >= goal { streak += 1 }
        for _ in 0..<3660 {
            day = day.adding(.seconds(-86_400))
            guard workDays.contains(day.weekday) else { continue }
            guard (byDate[Self.dateText(day)]?.taken ?? 0) >= goal else { break }
            streak += 1
        }
        return HistoryReport(days: shown, streak: streak, goal: goal, warnings: warnings)
    }

    /// `2026-11-23`.
    public static func dateText(_ time: CivilTime) -> String {
        String(time.description.prefix(10))
    }
}
