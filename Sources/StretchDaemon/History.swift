import ControlProtocol
import FoundationEssentials
import StretchCore
import StretchHistory
import StretchSystem
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

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
        /// The system's reason, when a system call failed (`ENOSPC` on a full disk).
        public var errno: Errno?

        init(description: String, errno: Errno? = nil) {
            self.description = description
            self.errno = errno
        }

        init(_ operation: String, _ error: SystemCallError) {
            self.init(description: "\(operation): \(error.errno)", errno: error.errno)
        }
    }

    /// Appends a record and fsyncs it.
    public func append(_ record: HistoryRecord) throws(WriteError) {
        // What could not be read back is not written: the history never holds a number out of range.
        if let problem = record.problem { throw WriteError(description: "not recorded: \(problem)") }
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty { _ = Files.makeDirectory(directory, mode: 0o700) }
        let fd: Int32
        do {
            fd = try SystemCall.retrying("open") { open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o600) }
        } catch {
            throw WriteError("cannot open \(path)", error)
        }
        defer { close(fd) }
        guard var line = record.jsonLine() else {
            throw WriteError(description: "not recorded: the record cannot be encoded")
        }
        line.append(UInt8(ascii: "\n"))
        // A torn earlier line must not swallow this one: start on a fresh line if the file does not end in one.
        let size = lseek(fd, 0, SEEK_END)
        if size > 0, lastByte(fd, size: size) != UInt8(ascii: "\n") { line.insert(UInt8(ascii: "\n"), at: 0) }
        do {
            try SystemCall.writeAll(fd, line)
            _ = try SystemCall.retrying("fsync") { fsync(fd) }
        } catch {
            throw WriteError("cannot write \(path)", error)
        }
    }

    private func lastByte(_ fd: Int32, size: off_t) -> UInt8? {
        var byte: UInt8 = 0
        return pread(fd, &byte, 1, size - 1) == 1 ? byte : nil
    }

    /// The file's size now: records appended later start at or after it.
    public func size() -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// Every readable record, and a warning for each line that is not one. Holds the whole file in memory: for
    /// tests and small files; the daemon keeps a `HistoryTally` instead.
    public func read() -> (records: [HistoryRecord], warnings: [String]) {
        var records: [HistoryRecord] = []
        let reader = HistoryReader(path: path, limit: nil)
        while let record = reader.next() { records.append(record) }
        return (records, reader.warnings)
    }

    /// Today's counts, read backwards from byte `limit` of the file (its end when nil) only as far as today's
    /// records go: how far that is, and which records count, is `scan`'s rule. Only today's counts in it are
    /// whole: the daemon keeps them, and adds what it appends.
    public func todayTally(today: CivilTime, limit: Int? = nil) -> HistoryTally {
        scan(today: today, limit: limit) { closedFrom, _ in closedFrom <= today.day }
    }

    /// Per-day counts for the `days` days up to `today` (1 to 3660), and the streak of work days meeting `goal`,
    /// read backwards from the end of the file (or byte `limit`) only as far as those days and the streak need:
    /// the streak looks back over work days until one misses the goal, at most 3660 days.
    public func report(today: CivilTime, days: Int, goal: Int, workDays: Set<Weekday>, limit: Int? = nil)
        -> HistoryReport
    {
        let count = min(max(1, days), 3660)
        // The next day the streak looks at, moving back as days are settled.
        var streakDay = today.day - 1
        let tally = scan(today: today, limit: limit) { closedFrom, tally in
            guard closedFrom <= today.day - count + 1 else { return false }
            guard !workDays.isEmpty else { return true }
            while streakDay >= today.day - 3660 {
                guard streakDay >= closedFrom else { return false }
                if workDays.contains(CivilTime(day: streakDay, time: .zero).weekday), tally.taken(on: streakDay) < goal {
                    return true
                }
                streakDay -= 1
            }
            return true
        }
        return tally.report(today: today, days: count, goal: goal, workDays: workDays)
    }

    /// How many good records in a row, all dated before a day, settle that day (see `scan`).
    static let settlingRun = 200

    /// How many lines a reading goes back without a good record before it stops: no crash leaves more than a
    /// line to skip, and a file of garbage is not read to its start (skipping a line's bytes is cheap; trying to
    /// read it as a record is not).
    static let unreadableReach = 10_000

    /// Reads the file backwards from its end (or byte `limit`), counting records by day, until `done` says the
    /// days settled so far are enough: all days from `closedFrom` on are settled.
    ///
    /// Records are appended in time order, so reading backwards meets the days newest first. Not always: the
    /// clock may be set back, a trip west puts a few hours back on yesterday's date, a file may be edited. The
    /// rule, the same however far a reading goes: a day is settled once `settlingRun` good records in a row,
    /// read back from the end, are all dated before it; records of a settled day further back are not counted
    /// (nor is the reading of them kept going). So a few stray records (a day with a wrong clock) neither stop
    /// the reading nor hide what lies before them, and a reading goes about `settlingRun` records (some 18 KB)
    /// further back than the days it needs. Lines that are not good records (garbage, a huge line, NUL bytes)
    /// neither settle nor unsettle a day; they are skipped with a warning, as when reading forwards, but
    /// `unreadableReach` of them in a row stop the reading there, with a warning. Memory:
    /// one block and one line of the file, one count per day within `HistoryTally.reach` days of today.
    func scan(today: CivilTime, limit: Int?, until done: (_ closedFrom: Int, _ tally: HistoryTally) -> Bool)
        -> HistoryTally
    {
        var tally = HistoryTally(keepingDaysAround: today)
        let reader = HistoryBackwardReader(path: path, limit: limit)
        let decoder = JSONDecoder()
        var closedFrom = Int.max
        var recent = SlidingMaximum(count: Self.settlingRun)
        // Warnings as met, newest first: where (lines from the end, and offset) and what.
        var warnings: [(line: Int, offset: Int, message: String)] = []
        var warningsLeftOut = 0
        var lines = 0
        // Lines read back since the last good record.
        var unreadable = 0
        var gaveUp: Int?
        reading: while let line = reader.previousLine() {
            lines += 1
            unreadable += 1
            switch HistoryLine(line.bytes, complete: line.complete, decoder: decoder) {
            case .blank:
                if unreadable >= Self.unreadableReach {
                    gaveUp = line.offset
                    break reading
                }
                continue
            case .skipped(let message):
                if warnings.count < HistoryReader.maximumWarnings {
                    warnings.append((lines, line.offset, message))
                } else {
                    warningsLeftOut += 1
                }
                if unreadable >= Self.unreadableReach {
                    gaveUp = line.offset
                    break reading
                }
            case .record(let record):
                unreadable = 0
                guard let day = HistoryRecord.day(of: record.date) else { continue }
                if day < closedFrom { tally.add(record, day: day) }
                if let newest = recent.add(day), newest + 1 < closedFrom {
                    closedFrom = newest + 1
                    if done(closedFrom, tally) { break reading }
                }
            }
        }
        // Line numbers are known only when the reading went back to the start; otherwise a byte offset says where.
        let whole = reader.position == 0
        for (line, offset, message) in warnings.reversed() {
            tally.warn(whole ? "\(path):\(lines - line + 1): \(message)" : "\(path) (at byte \(offset)): \(message)")
        }
        if let problem = reader.problem { tally.warn("\(path): \(problem)") }
        tally.warn(moreThan: warningsLeftOut)
        if let gaveUp {
            tally.warn("\(path): \(Self.unreadableReach) lines in a row that are not records, back to byte \(gaveUp); "
                + "not read further back")
        }
        return tally
    }
}

/// Reads the history file's records one at a time: a 200 MB file costs one line of memory, not 200 MB.
///
/// Each line that is not a good record (unreadable, torn by a crash, out of range, holding a NUL byte, too long)
/// is skipped with a warning naming its line; the first `maximumWarnings` are kept, the rest only counted.
final class HistoryReader {
    static let maximumWarnings = 20

    let path: String
    private(set) var warnings: [String] = []
    private(set) var warningsLeftOut = 0
    private var fd: Int32 = -1
    private var left: Int
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var start = 0
    private var end = 0
    private var lineNumber = 0
    private var atEnd = false
    private let decoder = JSONDecoder()

    /// Reads from byte `offset` (skipping the partial line there, when not at the start) up to byte `limit` when
    /// given.
    init(path: String, from offset: Int = 0, limit: Int?) {
        self.path = path
        self.left = (limit ?? Int.max) - offset
        // A FIFO or a device put in the file's place is refused without blocking; no file is an empty history.
        switch Files.openRegularFile(path) {
        case .success(let opened):
            fd = opened.rawValue
        case .failure(let error):
            if !error.isMissing { warn("\(error.message); the history is not read", line: nil) }
            atEnd = true
            return
        }
        if offset > 0 {
            guard lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else {
                atEnd = true
                return
            }
            // The line the offset falls in started before it.
            _ = nextLine()
        }
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// The next good record, or nil at the end of the file.
    func next() -> HistoryRecord? {
        while let (line, complete) = nextLine() {
            lineNumber += 1
            switch HistoryLine(line, complete: complete, decoder: decoder) {
            case .blank: continue
            case .skipped(let warning): warn(warning, line: lineNumber)
            case .record(let record): return record
            }
        }
        return nil
    }

    /// One line without its newline, and whether it had one (the last line of a file may not). A line longer
    /// than the limit comes back cut to just over it; the rest is dropped, so memory stays bounded.
    private func nextLine() -> (line: [UInt8], complete: Bool)? {
        var line: [UInt8] = []
        var readAny = false
        while true {
            if start < end {
                readAny = true
                let newline = buffer[start..<end].firstIndex(of: UInt8(ascii: "\n"))
                let stop = newline ?? end
                let room = HistoryLine.maximumLength + 1 - line.count
                if room > 0 { line.append(contentsOf: buffer[start..<min(stop, start + room)]) }
                start = newline.map { $0 + 1 } ?? end
                if newline != nil { return (line, true) }
            }
            guard fill() else { return readAny ? (line, false) : nil }
        }
    }

    /// Reads the next block into the buffer; false at the end of the file (or the limit).
    private func fill() -> Bool {
        guard !atEnd, left > 0 else { return false }
        do {
            let count = try SystemCall.retrying("read") {
                buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, min($0.count, left)) }
            }
            if count > 0 {
                left -= count
                start = 0
                end = count
                return true
            }
        } catch {
            warn("cannot read further: \(error)", line: nil)
        }
        atEnd = true
        close(fd)
        fd = -1
        return false
    }

    private func warn(_ message: String, line: Int?) {
        guard warnings.count < Self.maximumWarnings else {
            warningsLeftOut += 1
            return
        }
        warnings.append(line.map { "\(path):\($0): \(message)" } ?? "\(path): \(message)")
    }
}

/// The history as per-day counts: what `status` and `history` report.
///
/// Built by reading the file backwards (`HistoryStore.scan`); the daemon keeps today's, up to date as records are
/// appended. Only days within 3661 days of the day it was built are kept (the longest `history --days` and streak
/// look back 3660 days), so even a huge or hostile file costs a bounded amount of memory.
public struct HistoryTally: Sendable {
    /// Counts by day number (days since 1970-01-01).
    private var days: [Int: HistoryReport.Day] = [:]
    private let kept: ClosedRange<Int>
    private(set) var warnings: [String] = []

    static let reach = 3661

    public init(keepingDaysAround today: CivilTime) {
        kept = (today.day - Self.reach)...(today.day + Self.reach)
    }

    /// Counts one record; a record of a day out of reach is left out.
    public mutating func add(_ record: HistoryRecord) {
        guard let number = HistoryRecord.day(of: record.date) else { return }
        add(record, day: number)
    }

    /// Counts one record of day `number` (its date's).
    mutating func add(_ record: HistoryRecord, day number: Int) {
        guard kept.contains(number) else { return }
        var day = days[number] ?? HistoryReport.Day(date: record.date)
        switch record.event {
        // Offered: breaks that came due (older files have a `reminded` for each reminder instead).
        case .due, .reminded: day.offered += 1
        case .completed: day.taken += 1
        case .skipped: day.skipped += 1
        case .snoozed: day.snoozed += 1
        case .missed: day.missed += 1
        case .failed: day.failed += 1
        case .started, .stopped: break
        }
        if let minutes = record.minutes, minutes.isFinite, HistoryRecord.minutesRange.contains(minutes) {
            day.minutes += minutes
        }
        days[number] = day
    }

    mutating func warn(_ warning: String) { warnings.append(warning) }

    /// Breaks taken on a day (a day number).
    func taken(on day: Int) -> Int { days[day]?.taken ?? 0 }

    /// The counts of `today` (zeros when none).
    public func counts(today: CivilTime) -> HistoryReport.Day {
        days[today.day] ?? HistoryReport.Day(date: HistoryRecord.dateText(today))
    }

    mutating func warn(moreThan count: Int) {
        if count > 0 { warnings.append("... and \(count) more lines skipped") }
    }

    /// Per-day counts for the `days` days up to `today` (1 to 3660), and the streak of work days meeting `goal`.
    public func report(today: CivilTime, days count: Int, goal: Int, workDays: Set<Weekday>) -> HistoryReport {
        let count = min(max(1, count), 3660)
        func day(_ number: Int) -> HistoryReport.Day {
            days[number] ?? HistoryReport.Day(date: HistoryRecord.dateText(CivilTime(day: number, time: .zero)))
        }
        let shown = (0..<count).reversed().map { day(today.day - $0) }
        var streak = 0
        // Today only adds to the streak once its goal is met; an unfinished today does not break it.
        if day(today.day).taken >= goal { streak += 1 }
        for number in stride(from: today.day - 1, through: today.day - 3660, by: -1) {
            guard workDays.contains(CivilTime(day: number, time: .zero).weekday) else { continue }
            guard day(number).taken >= goal else { break }
            streak += 1
        }
        return HistoryReport(days: shown, streak: streak, goal: goal, warnings: warnings)
    }
}

/// The largest of the last `count` values added, once `count` have been: a monotonic queue, constant time a value.
struct SlidingMaximum {
    let count: Int
    private var entries: [(index: Int, value: Int)] = []
    private var head = 0
    private var added = 0

    init(count: Int) { self.count = count }

    mutating func add(_ value: Int) -> Int? {
        while entries.count > head, let last = entries.last, last.value <= value { entries.removeLast() }
        entries.append((added, value))
        added += 1
        while entries[head].index <= added - 1 - count { head += 1 }
        if head >= 1024 {
            entries.removeFirst(head)
            head = 0
        }
        return added >= count ? entries[head].value : nil
    }
}

