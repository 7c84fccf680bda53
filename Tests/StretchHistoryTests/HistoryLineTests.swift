import FoundationEssentials
@testable import StretchHistory
import Testing

@Suite struct HistoryLineTests {
    func judge(_ text: String, complete: Bool = true) -> HistoryLine {
        HistoryLine(Array(text.utf8), complete: complete, decoder: JSONDecoder())
    }

    func warning(_ line: HistoryLine) -> String? {
        if case .skipped(let warning) = line { return warning }
        return nil
    }

    @Test func eachLineIsARecordBlankOrSkippedWithItsReason() {
        let good = #"{"date":"2026-11-23","event":"completed","minutes":5.5,"routine":"desk-basics","time":1800000000}"#
        guard case .record(let record) = judge(good) else {
            Issue.record("not a record: \(good)")
            return
        }
        #expect(record == HistoryRecord(
            time: 1_800_000_000, date: "2026-11-23", event: .completed, routine: "desk-basics", minutes: 5.5))
        if case .blank = judge(" \t\r") {} else { Issue.record("spaces are not blank") }
        #expect(warning(judge(good, complete: false)) == "skipped a torn record (the last write was cut short)")
        #expect(warning(judge("{\u{0}}")) == "a NUL byte; line skipped")
        #expect(warning(HistoryLine(nil, complete: true, decoder: JSONDecoder()))
            == "a line longer than 64 KiB; line skipped")
        #expect(warning(judge("garbage")) == "skipped an unreadable record")
        #expect(warning(judge(#"{"date":"2026-11-23","event":"danced","time":1}"#))
            == "skipped a record: unknown event \"danced\" (known: due, reminded, started, completed, stopped, skipped, snoozed, missed, failed)")
        #expect(warning(judge(#"{"date":"2026-02-30","event":"completed","time":1}"#))
            == "skipped a record: date must be a date such as 2026-11-23, got \"2026-02-30\"")
        #expect(warning(judge(#"{"date":"2026-11-23","event":"stopped","step":0,"time":1}"#))
            == "skipped a record: step must be 1 to 1000, got 0")
    }

    @Test func theQuickReadingOfARecordAgreesWithJSONDecoderOrLeavesItToIt() throws {
        // What the daemon writes is read the quick way.
        let written = [
            HistoryRecord(
                time: 1_800_000_000.25, date: "2026-11-23", event: .stopped, routine: "desk-basics", step: 3,
                minutes: 5.95, reason: "stopped by the user"),
            HistoryRecord(time: 1_800_000_000, date: "2026-11-23", event: .reminded, routine: "desk-basics"),
        ]
        for record in written {
            let line = try #require(record.jsonLine())
            let quick = try #require(HistoryRecord(flat: line), "\(String(decoding: line, as: UTF8.self))")
            #expect(quick == record)
            #expect(quick == (try JSONDecoder().decode(HistoryRecord.self, from: Data(line))))
        }
        let lines = [
            #"{"date":"2026-11-23","event":"completed","minutes":5.95,"time":1800000000}"#,
            #" { "time" : -1.5e3 , "date" : "2026-11-23", "event":"skipped", "routine": null, "step": null } "#,
            #"{"date":"2026-11-23","event":"completed","extra":"x","other":12,"none":null,"time":1}"#,
            #"{"date":"2026-11-23","event":"completed","time":0.1,"minutes":0}"#,
            #"{"date":"2026-11-23","event":"danced","time":1}"#,
            #"{"date":"2026-11-23","event":"completed","time":1e999}"#,
            #"{"date":"2026-11-23","event":"completed","minutes":1e999,"time":1}"#,
            #"{"date":"2026-11-23","event":"completed","time":01}"#,
            #"{"date":"2026-11-23","event":"completed","time":"1"}"#,
            #"{"date":"2026-11-23","event":"completed","time":1,"time":2}"#,
            #"{"date":"2026-11-23","event":"completed"}"#,
            #"{"date":"2026-11-23","event":"stopped","step":1.0,"time":1}"#,
            #"{"date":"2026-11-23","event":"stopped","step":99999999999999999999,"time":1}"#,
            #"{"date":"2026-11-23","event":"stopped","routine":"d\u00e9sk","time":1}"#,
            #"{"date":"2026-11-23","event":"stopped","routine":"désk","time":1}"#,
            #"{"date":"2026-11-23","event":"completed","nested":{"a":1},"time":1}"#,
            #"{"date":"2026-11-23","event":"completed","time":1} x"#,
            #"{"date":"2026-11-23","event":"completed","time":1,}"#,
            #"{"date":"2026-11-23" "event":"completed","time":1}"#,
            #"{}"#, #"[]"#, #"""#, "", #"{"date":"#,
        ]
        for line in lines {
            let decoded = try? JSONDecoder().decode(HistoryRecord.self, from: Data(line.utf8))
            if let quick = HistoryRecord(flat: Array(line.utf8)) {
                #expect(quick == decoded, "\(line)")
            }
        }
        #expect(HistoryRecord(flat: Array(lines[1].utf8))?.time == -1500)
        #expect(HistoryRecord(flat: Array(lines[2].utf8)) != nil)
    }
}
