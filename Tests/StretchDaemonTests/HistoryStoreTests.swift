import ControlProtocol
import Foundation
import StretchCore
@testable import StretchDaemon
import StretchHistory
import SystemPackage
import Testing

@Suite struct HistoryStoreTests {
    func store() -> HistoryStore {
        HistoryStore(path: NSTemporaryDirectory() + "stretchd-\(UUID().uuidString)/state/history.jsonl")
    }

    func record(_ event: HistoryRecord.Event, _ date: String, minutes: Double? = nil) -> HistoryRecord {
        HistoryRecord(time: 1_800_000_000, date: date, event: event, routine: "desk-basics", minutes: minutes)
    }

    /// Appends raw bytes, as a crash, a disk error or a hand edit might leave them.
    func appendRaw(_ text: String, to history: HistoryStore) throws {
        if !FileManager.default.fileExists(atPath: history.path) {
            let folder = String(history.path[..<history.path.lastIndex(of: "/")!])
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: history.path, contents: nil))
        }
        let handle = try #require(FileHandle(forWritingAtPath: history.path))
        handle.seekToEndOfFile()
        handle.write(Data(text.utf8))
        handle.closeFile()
    }

    /// /dev/full takes nothing: every write fails with ENOSPC, as on a full disk.
    @Test func aWriteToAFullDiskIsReportedAsNoSpace() throws {
        #expect {
            try HistoryStore(path: "/dev/full").append(record(.reminded, "2026-11-23"))
        } throws: { error in
            let failure = error as? HistoryStore.WriteError
            return failure?.errno == .noSpace
                && failure?.description == "cannot write /dev/full: No space left on device"
        }
    }

    @Test func aTornLastRecordIsSkippedWithAWarningAndNothingEarlierIsLost() throws {
        let history = store()
        try history.append(record(.reminded, "2026-11-23"))
        try history.append(record(.completed, "2026-11-23", minutes: 6))
        // What a kill -9 in the middle of a write leaves.
        try appendRaw(#"{"date":"2026-11-23","event":"compl"#, to: history)
        var (records, warnings) = history.read()
        #expect(records.map(\.event) == [.reminded, .completed])
        #expect(warnings == ["\(history.path):3: skipped a torn record (the last write was cut short)"])
        // The next record starts on a line of its own and is read.
        try history.append(record(.skipped, "2026-11-23"))
        (records, warnings) = history.read()
        #expect(records.map(\.event) == [.reminded, .completed, .skipped])
        #expect(warnings == ["\(history.path):3: skipped an unreadable record"])
    }

    @Test func theReportCountsDaysAndTheStreakOfWorkDays() async throws {
        let history = store()
        // Thursday and Friday meet a goal of 2, the weekend is not a work day, Monday (today) has one so far.
        for date in ["2026-11-19", "2026-11-20"] {
            try history.append(record(.reminded, date))
            try history.append(record(.completed, date, minutes: 6))
            try history.append(record(.reminded, date))
            try history.append(record(.completed, date, minutes: 5.5))
        }
        try history.append(record(.reminded, "2026-11-23"))
        try history.append(record(.skipped, "2026-11-23"))
        try history.append(record(.completed, "2026-11-23", minutes: 11))
        let monday = CivilTime(year: 2026, month: 11, day: 23, hour: 15)
        let report = history.report(today: monday, days: 5, goal: 2, workDays: WorkSchedule.standard.days)
        #expect(report.days.map(\.date) == ["2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"])
        #expect(report.days.map(\.taken) == [2, 2, 0, 0, 1])
        #expect(report.days[0].minutes == 11.5)
        #expect(report.days[4].skipped == 1 && report.days[4].offered == 1)
        #expect(report.streak == 2)
        #expect(report.warnings.isEmpty)
    }

    @Test func aNulByteIsReportedAsSuchAtItsLine() throws {
        let history = store()
        try history.append(record(.reminded, "2026-11-23"))
        try appendRaw("{\"date\":\"2026-11-23\",\0\"event\":\"skipped\",\"time\":1}\n", to: history)
        try history.append(record(.skipped, "2026-11-23"))
        let (records, warnings) = history.read()
        #expect(records.map(\.event) == [.reminded, .skipped])
        #expect(warnings == ["\(history.path):2: a NUL byte; line skipped"])
    }

    @Test func recordsOutOfRangeAreSkippedWithAWarningNamingTheirLine() async throws {
        let history = store()
        try history.append(record(.completed, "2026-11-23", minutes: 6))
        let bad = [
            #"{"date":"2026-11-23","event":"completed","minutes":1e308,"time":1}"#,
            #"{"date":"2026-11-23","event":"completed","minutes":1e308,"time":1}"#,
            #"{"date":"2026-11-23","event":"completed","minutes":-3,"time":1}"#,
            #"{"date":"2026-11-23","event":"stopped","step":0,"time":1}"#,
            #"{"date":"2026-11-23","event":"stopped","step":1001,"time":1}"#,
            #"{"date":"2026-02-30","event":"completed","time":1}"#,
            #"{"date":"23/11/2026","event":"completed","time":1}"#,
            #"{"date":"2026-11-23","event":"danced","time":1}"#,
            #"{"date":"2026-11-23","event":"completed","time":1e999}"#,
        ]
        try appendRaw(bad.joined(separator: "\n") + "\n", to: history)
        let (records, warnings) = history.read()
        #expect(records.count == 1)
        #expect(warnings == [
            "\(history.path):2: skipped a record: minutes must be 0 to 1440, got 1e+308",
            "\(history.path):3: skipped a record: minutes must be 0 to 1440, got 1e+308",
            "\(history.path):4: skipped a record: minutes must be 0 to 1440, got -3.0",
            "\(history.path):5: skipped a record: step must be 1 to 1000, got 0",
            "\(history.path):6: skipped a record: step must be 1 to 1000, got 1001",
            "\(history.path):7: skipped a record: date must be a date such as 2026-11-23, got \"2026-02-30\"",
            "\(history.path):8: skipped a record: date must be a date such as 2026-11-23, got \"23/11/2026\"",
            "\(history.path):9: skipped a record: unknown event \"danced\" (known: due, reminded, started, completed, stopped, skipped, snoozed, missed, failed)",
            "\(history.path):10: skipped an unreadable record",
        ])
        // The sums stay finite: the day's minutes are the one good record's.
        let report = history.report(
            today: CivilTime(year: 2026, month: 11, day: 23), days: 1, goal: 1, workDays: WorkSchedule.standard.days)
        #expect(report.days.last?.minutes == 6)
        #expect(report.days.last?.taken == 1)
    }

    @Test func aRecordOutOfRangeIsNeverWritten() throws {
        let history = store()
        #expect(throws: HistoryStore.WriteError.self) { try history.append(record(.completed, "2026-11-23", minutes: .infinity)) }
        #expect(throws: HistoryStore.WriteError.self) { try history.append(record(.completed, "2026-11-23", minutes: .nan)) }
        #expect(throws: HistoryStore.WriteError.self) { try history.append(record(.completed, "2026-13-01")) }
        #expect(history.read().records.isEmpty)
    }

    @Test func warningsAreBoundedAndTheRestCounted() async throws {
        let history = store()
        try history.append(record(.reminded, "2026-11-23"))
        try appendRaw(String(repeating: "not json\n", count: 30), to: history)
        let report = history.report(
            today: CivilTime(year: 2026, month: 11, day: 23), days: 1, goal: 1, workDays: WorkSchedule.standard.days)
        #expect(report.warnings.count == 21)
        #expect(report.warnings.last == "... and 10 more lines skipped")
        #expect(report.days.last?.offered == 1)
    }

    @Test func aVeryLongLineIsSkippedWithoutBeingKept() throws {
        let history = store()
        try history.append(record(.reminded, "2026-11-23"))
        try appendRaw(String(repeating: "x", count: 1_000_000) + "\n", to: history)
        try history.append(record(.skipped, "2026-11-23"))
        let (records, warnings) = history.read()
        #expect(records.map(\.event) == [.reminded, .skipped])
        #expect(warnings == ["\(history.path):2: a line longer than 64 KiB; line skipped"])
    }

    @Test func aFifoInPlaceOfTheHistoryIsRefusedWithoutHanging() throws {
        let history = store()
        let folder = String(history.path[..<history.path.lastIndex(of: "/")!])
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        #expect(mkfifo(history.path, 0o600) == 0)
        let (records, warnings) = history.read()
        #expect(records.isEmpty)
        #expect(warnings == ["\(history.path): a FIFO (named pipe), not a regular file; the history is not read"])
    }

    @Test func onlyTheBytesGivenAreRead() throws {
        let history = store()
        try history.append(record(.reminded, "2026-11-23"))
        let size = history.size()
        try history.append(record(.reminded, "2026-11-23"))
        let today = CivilTime(year: 2026, month: 11, day: 23)
        #expect(history.todayTally(today: today, limit: size).counts(today: today).offered == 1)
        let report = history.report(today: today, days: 1, goal: 1, workDays: [], limit: size)
        #expect(report.days.last?.offered == 1)
        #expect(report.warnings.isEmpty)
    }

    @Test func daysOutOfReachAreNotKept() throws {
        let history = store()
        try history.append(record(.completed, "2000-01-03", minutes: 5))
        try history.append(record(.completed, "2016-11-15", minutes: 5))
        try history.append(record(.completed, "2026-11-23", minutes: 5))
        let today = CivilTime(year: 2026, month: 11, day: 23)
        let report = history.report(today: today, days: 3660, goal: 1, workDays: WorkSchedule.standard.days)
        #expect(report.days.count == 3660)
        #expect(report.days.first?.date == "2016-11-16")
        #expect(report.days.map(\.taken).reduce(0, +) == 1)
    }

    // MARK: Reading backwards

    /// `count` records a day for the days `first` to `last` (day numbers), in time order, as the daemon writes them.
    func days(_ range: ClosedRange<Int>, each count: Int, event: HistoryRecord.Event = .completed) -> String {
        var text = ""
        for day in range {
            let date = HistoryRecord.dateText(CivilTime(day: day, time: .zero))
            for index in 0..<count {
                text += #"{"date":"\#(date)","event":"\#(event.rawValue)","minutes":\#(index % 7),"routine":"r","time":\#(day * 86_400 + index)}"#
                text += "\n"
            }
        }
        return text
    }

    @Test func linesSpanningBlockBoundariesAreReadWhole() throws {
        let history = store()
        var expected: [String] = []
        for length in 0..<300 {
            expected.append(String(repeating: "x", count: length * 7 % 53))
        }
        try appendRaw(expected.joined(separator: "\n") + "\n", to: history)
        for blockSize in [1, 2, 7, 64, 4096] {
            let reader = HistoryBackwardReader(path: history.path, blockSize: blockSize)
            var lines: [String] = []
            var offsets: [Int] = []
            while let line = reader.previousLine() {
                #expect(line.complete)
                lines.append(String(decoding: try #require(line.bytes), as: UTF8.self))
                offsets.append(line.offset)
            }
            #expect(Array(lines.reversed()) == expected, "block size \(blockSize)")
            #expect(offsets.last == 0)
            #expect(reader.position == 0 && reader.problem == nil)
        }
    }

    @Test func aLineOverTheLimitComesBackWithoutItsBytes() throws {
        let history = store()
        let limit = HistoryLine.maximumLength
        try appendRaw(String(repeating: "a", count: limit) + "\n" + String(repeating: "b", count: limit + 1) + "\n"
                      + String(repeating: "c", count: 5_000_000) + "\nlast", to: history)
        let reader = HistoryBackwardReader(path: history.path, blockSize: 4096)
        let last = try #require(reader.previousLine())
        #expect(last.bytes == Array("last".utf8) && !last.complete)
        let huge = try #require(reader.previousLine())
        #expect(huge.bytes == nil && huge.complete && huge.offset == 2 * limit + 3)
        #expect(try #require(reader.previousLine()).bytes == nil)
        #expect(try #require(reader.previousLine()).bytes?.count == limit)
        #expect(reader.previousLine() == nil)
    }

    @Test func theBackwardReadingCountsWhatTheForwardReadingCounts() throws {
        let history = store()
        let today = CivilTime(year: 2026, month: 11, day: 23, hour: 12)
        // 60 records a day for 40 days: several blocks of 64 KiB, lines split at their edges.
        try appendRaw(days((today.day - 39)...today.day, each: 60), to: history)
        #expect(history.size() > 2 * HistoryBackwardReader.blockSize)
        let report = history.report(today: today, days: 40, goal: 1, workDays: [])
        var forward = HistoryTally(keepingDaysAround: today)
        for record in history.read().records { forward.add(record) }
        #expect(report == forward.report(today: today, days: 40, goal: 1, workDays: []))
        #expect(report.days.map(\.taken) == Array(repeating: 60, count: 40))
        #expect(report.days.last?.minutes == 174)
    }

    @Test func aLastLineWithoutANewlineIsATornRecord() throws {
        let history = store()
        try history.append(record(.completed, "2026-11-23", minutes: 6))
        try appendRaw(#"{"date":"2026-11-23","event":"completed","minutes":6,"time":1}"#, to: history)
        let today = CivilTime(year: 2026, month: 11, day: 23)
        let report = history.report(today: today, days: 1, goal: 1, workDays: [])
        #expect(report.days.last?.taken == 1)
        #expect(report.warnings == ["\(history.path):2: skipped a torn record (the last write was cut short)"])
        #expect(history.todayTally(today: today).counts(today: today).taken == 1)
    }

    @Test func aHugeLineIsSkippedAndTheReadingGoesOnPastIt() throws {
        let history = store()
        try history.append(record(.completed, "2026-11-22"))
        try appendRaw(String(repeating: "{", count: 3_000_000) + "\n", to: history)
        try history.append(record(.completed, "2026-11-23"))
        let today = CivilTime(year: 2026, month: 11, day: 23)
        let report = history.report(today: today, days: 2, goal: 1, workDays: [])
        #expect(report.days.map(\.taken) == [1, 1])
        #expect(report.warnings == ["\(history.path):2: a line longer than 64 KiB; line skipped"])
        // Alone in a file, with no newline at all.
        let alone = store()
        try appendRaw(String(repeating: "x", count: 200_000), to: alone)
        #expect(alone.report(today: today, days: 1, goal: 1, workDays: []).warnings
            == ["\(alone.path):1: a line longer than 64 KiB; line skipped"])
    }

    @Test func todayIsReadFromTheEndAloneAndLinesNotReachedAreNotReported() throws {
        let history = store()
        let today = CivilTime(year: 2026, month: 11, day: 23, hour: 10)
        // A bad first line, a year of earlier days, then today's records with a bad line among them.
        try appendRaw("not json\n" + days((today.day - 365)...(today.day - 1), each: 4), to: history)
        let before = history.size()
        try appendRaw(days(today.day...today.day, each: 3) + "{}\n", to: history)
        try history.append(record(.skipped, "2026-11-23"))
        let tally = history.todayTally(today: today)
        let counts = tally.counts(today: today)
        #expect(counts.taken == 3 && counts.skipped == 1 && counts.minutes == 3)
        // The bad line among today's is named by its byte offset (line numbers are unknown without reading
        // everything); the first line was never reached.
        let offset = before + days(today.day...today.day, each: 3).utf8.count
        #expect(tally.report(today: today, days: 1, goal: 1, workDays: []).warnings
            == ["\(history.path) (at byte \(offset)): skipped an unreadable record"])
        // A week reads a little further, still not to the start; ten years reads it all, and names lines.
        #expect(history.report(today: today, days: 7, goal: 9, workDays: []).warnings.count == 1)
        let all = history.report(today: today, days: 3660, goal: 9, workDays: [])
        #expect(all.warnings == [
            "\(history.path):1: skipped an unreadable record",
            "\(history.path):1465: skipped an unreadable record",
        ])
        let taken = all.days.map(\.taken).reduce(0, +)
        #expect(taken == 1463)
    }

    @Test func theStreakReadsBackUntilAWorkDayMissesTheGoal() throws {
        let history = store()
        let today = CivilTime(year: 2026, month: 11, day: 23, hour: 10)
        // Two breaks every day for 600 days, one on the day before them.
        try appendRaw(days((today.day - 601)...(today.day - 601), each: 1), to: history)
        try appendRaw(days((today.day - 600)...(today.day - 1), each: 2), to: history)
        #expect(history.report(today: today, days: 1, goal: 2, workDays: Set(Weekday.allCases)).streak == 600)
        #expect(history.report(today: today, days: 1, goal: 1, workDays: Set(Weekday.allCases)).streak == 601)
        // Only weekends as work days: the streak counts those.
        let weekends = (today.day - 600...today.day - 1).filter {
            [.saturday, .sunday].contains(CivilTime(day: $0, time: .zero).weekday)
        }
        #expect(history.report(today: today, days: 1, goal: 2, workDays: [.saturday, .sunday]).streak == weekends.count)
    }

    @Test func aFewRecordsOutOfOrderAreCountedWhereverTheyLie() throws {
        let history = store()
        let today = CivilTime(year: 2026, month: 11, day: 23, hour: 10)
        // Today's first breaks, then a few hours back on yesterday's date (a trip west), then today again; and
        // one record of last week written late.
        try appendRaw(days((today.day - 30)...(today.day - 1), each: 10), to: history)
        try appendRaw(days(today.day...today.day, each: 2), to: history)
        try appendRaw(days((today.day - 1)...(today.day - 1), each: 20), to: history)
        try appendRaw(days((today.day - 7)...(today.day - 7), each: 1), to: history)
        try appendRaw(days(today.day...today.day, each: 3), to: history)
        #expect(history.todayTally(today: today).counts(today: today).taken == 5)
        let report = history.report(today: today, days: 8, goal: 1, workDays: [])
        #expect(report.days.map(\.taken) == [11, 10, 10, 10, 10, 10, 30, 5])
    }

    @Test func recordsBehindALongRunOfEarlierDaysAreNotCounted() throws {
        let history = store()
        let today = CivilTime(year: 2026, month: 11, day: 23, hour: 10)
        // Today's records, then more records of an earlier day than settle a day (the clock set back for
        // hours), then today again: reading backwards stops before the first ones, however far it goes.
        try appendRaw(days(today.day...today.day, each: 4), to: history)
        try appendRaw(days((today.day - 3)...(today.day - 3), each: HistoryStore.settlingRun), to: history)
        try appendRaw(days(today.day...today.day, each: 1), to: history)
        #expect(history.todayTally(today: today).counts(today: today).taken == 1)
        let report = history.report(today: today, days: 7, goal: 1, workDays: [])
        #expect(report.days.map(\.taken) == [0, 0, 0, HistoryStore.settlingRun, 0, 0, 1])
        // One record fewer and they are all counted.
        let shorter = store()
        try appendRaw(days(today.day...today.day, each: 4), to: shorter)
        try appendRaw(days((today.day - 3)...(today.day - 3), each: HistoryStore.settlingRun - 1), to: shorter)
        try appendRaw(days(today.day...today.day, each: 1), to: shorter)
        #expect(shorter.todayTally(today: today).counts(today: today).taken == 5)
    }

    @Test func garbageAndNulBytesAreSkippedWithWarningsWhileReadingBackwards() throws {
        let history = store()
        let today = CivilTime(year: 2026, month: 11, day: 23, hour: 10)
        try history.append(record(.completed, "2026-11-23"))
        try appendRaw("\0\0\0\n\u{FF}\u{FE}garbage\n\n   \n", to: history)
        try history.append(record(.completed, "2026-11-23"))
        let report = history.report(today: today, days: 1, goal: 1, workDays: [])
        #expect(report.days.last?.taken == 2)
        #expect(report.warnings == [
            "\(history.path):2: a NUL byte; line skipped",
            "\(history.path):3: skipped an unreadable record",
        ])
    }

    @Test func aLongRunOfLinesThatAreNotRecordsStopsTheReading() throws {
        let history = store()
        let today = CivilTime(year: 2026, month: 11, day: 23, hour: 10)
        try history.append(record(.completed, "2026-11-22"))
        let garbageStart = history.size()
        try appendRaw(String(repeating: "not json\n\n", count: HistoryStore.unreadableReach / 2), to: history)
        try history.append(record(.completed, "2026-11-23"))
        let report = history.report(today: today, days: 2, goal: 1, workDays: [])
        #expect(report.days.map(\.taken) == [0, 1])
        #expect(report.warnings.count == 22)
        #expect(report.warnings.last == "\(history.path): 10000 lines in a row that are not records, back to byte "
            + "\(garbageStart); not read further back")
        // One line fewer and the reading goes on past them.
        let shorter = store()
        try shorter.append(record(.completed, "2026-11-22"))
        try appendRaw(String(repeating: "not json\n\n", count: HistoryStore.unreadableReach / 2 - 1) + "\n", to: shorter)
        try shorter.append(record(.completed, "2026-11-23"))
        #expect(shorter.report(today: today, days: 2, goal: 1, workDays: []).days.map(\.taken) == [1, 1])
    }

    @Test func aMissingFileIsAnEmptyHistoryAndAFifoIsRefused() throws {
        let today = CivilTime(year: 2026, month: 11, day: 23)
        let missing = store()
        #expect(missing.report(today: today, days: 7, goal: 1, workDays: []).warnings.isEmpty)
        let history = store()
        let folder = String(history.path[..<history.path.lastIndex(of: "/")!])
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        #expect(mkfifo(history.path, 0o600) == 0)
        #expect(history.todayTally(today: today).warnings
            == ["\(history.path): a FIFO (named pipe), not a regular file; the history is not read"])
    }
}
