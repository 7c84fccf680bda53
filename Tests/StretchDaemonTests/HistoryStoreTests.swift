import ControlProtocol
import Foundation
import StretchCore
import StretchDaemon
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
        let report = await history.report(today: monday, days: 5, goal: 2, workDays: WorkSchedule.standard.days)
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
            "\(history.path):9: skipped a record: unknown event \"danced\" (known: reminded, started, completed, stopped, skipped, snoozed)",
            "\(history.path):10: skipped an unreadable record",
        ])
        // The sums stay finite: the day's minutes are the one good record's.
        let report = await history.report(
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
        let report = await history.report(
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

    @Test func onlyTheBytesGivenAreRead() async throws {
        let history = store()
        try history.append(record(.reminded, "2026-11-23"))
        let size = history.size()
        try history.append(record(.reminded, "2026-11-23"))
        let tally = await history.tally(around: CivilTime(year: 2026, month: 11, day: 23), limit: size)
        let report = tally.report(
            today: CivilTime(year: 2026, month: 11, day: 23), days: 1, goal: 1, workDays: WorkSchedule.standard.days)
        #expect(report.days.last?.offered == 1)
        #expect(report.warnings.isEmpty)
    }

    @Test func daysOutOfReachAreNotKept() async throws {
        let history = store()
        try history.append(record(.completed, "2000-01-03", minutes: 5))
        try history.append(record(.completed, "2026-11-23", minutes: 5))
        let today = CivilTime(year: 2026, month: 11, day: 23)
        let report = await history.report(today: today, days: 3660, goal: 1, workDays: WorkSchedule.standard.days)
        #expect(report.days.count == 3660)
        #expect(report.days.map(\.taken).reduce(0, +) == 1)
    }

    @Test func todayIsCountedFromTheEndOfALargeFileAlone() throws {
        let history = store()
        let old = record(.completed, "2026-11-20", minutes: 5)
        try history.append(old)
        // About 1.5 MiB of earlier days, then today's records.
        try appendRaw(String(repeating: #"{"date":"2026-11-20","event":"reminded","routine":"desk-basics","time":1}"# + "\n",
                             count: 20_000), to: history)
        try history.append(record(.reminded, "2026-11-23"))
        try history.append(record(.completed, "2026-11-23", minutes: 6))
        let today = CivilTime(year: 2026, month: 11, day: 23, hour: 10)
        let tally = try #require(history.recentTally(today: today, limit: history.size()))
        let day = tally.report(today: today, days: 1, goal: 1, workDays: []).days.last
        #expect(day?.offered == 1 && day?.taken == 1 && day?.minutes == 6)
    }

    @Test func todayReachingFurtherBackThanTheEndIsLeftToTheWholeReading() throws {
        let history = store()
        try appendRaw(String(repeating: #"{"date":"2026-11-23","event":"reminded","routine":"desk-basics","time":1}"# + "\n",
                             count: 20_000), to: history)
        let today = CivilTime(year: 2026, month: 11, day: 23, hour: 10)
        #expect(history.recentTally(today: today, limit: history.size()) == nil)
    }
}
