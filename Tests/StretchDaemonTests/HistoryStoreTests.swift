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

    @Test func aTornLastRecordIsSkippedWithAWarningAndNothingEarlierIsLost() throws {
        let history = store()
        try history.append(record(.reminded, "2026-11-23"))
        try history.append(record(.completed, "2026-11-23", minutes: 6))
        // What a kill -9 in the middle of a write leaves.
        let handle = try #require(FileHandle(forWritingAtPath: history.path))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"date":"2026-11-23","event":"compl"#.utf8))
        handle.closeFile()
        var (records, warnings) = history.read()
        #expect(records.map(\.event) == [.reminded, .completed])
        #expect(warnings == ["\(history.path):3: skipped a torn record (the last write was cut short)"])
        // The next record starts on a line of its own and is read.
        try history.append(record(.skipped, "2026-11-23"))
        (records, warnings) = history.read()
        #expect(records.map(\.event) == [.reminded, .completed, .skipped])
        #expect(warnings == ["\(history.path):3: skipped an unreadable record"])
    }

    @Test func theReportCountsDaysAndTheStreakOfWorkDays() throws {
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
}
