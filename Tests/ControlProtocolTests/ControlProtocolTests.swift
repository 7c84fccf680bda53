import ControlProtocol
import FoundationEssentials
import StretchCore
import Testing

@Suite struct ControlProtocolTests {
    func decode(_ line: String) -> Result<ControlRequest, ControlError> { ControlRequest.decode(Array(line.utf8)) }

    @Test func requestsRoundTrip() throws {
        let request = ControlRequest.cycle(.snooze(.seconds(15 * 60)))
        let line = request.encoded()
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(try decode(String(decoding: line.dropLast(), as: UTF8.self)).get() == request)
        #expect(String(decoding: line, as: UTF8.self) == #"{"command":"snooze","duration":"15m","version":1}"# + "\n")
    }

    /// A request of each kind, as it goes over the wire.
    static let lines: [(ControlRequest, String)] = [
        (ControlRequest.status, #"{"command":"status","version":1}"#),
        (.cycle(.start(nil)), #"{"command":"start","version":1}"#),
        (.cycle(.start("/home/me/hips.toml")), #"{"command":"start","routine":"/home/me/hips.toml","version":1}"#),
        (.cycle(.stop), #"{"command":"stop","version":1}"#),
        (.cycle(.skip), #"{"command":"skip","version":1}"#),
        (.cycle(.snooze(nil)), #"{"command":"snooze","version":1}"#),
        (.cycle(.snooze(.seconds(90 * 60))), #"{"command":"snooze","duration":"1h30m","version":1}"#),
        (.cycle(.pause(nil)), #"{"command":"pause","version":1}"#),
        (.cycle(.pause(.tomorrow)), #"{"command":"pause","duration":"tomorrow","version":1}"#),
        (.cycle(.pause(.duration(.seconds(3600)))), #"{"command":"pause","duration":"1h","version":1}"#),
        (.cycle(.resume), #"{"command":"resume","version":1}"#),
        (.cycle(.next), #"{"command":"next","version":1}"#),
        (.reload, #"{"command":"reload","version":1}"#),
        (.history(days: 30), #"{"command":"history","days":30,"version":1}"#),
        (.watch, #"{"command":"watch","version":1}"#),
    ]

    @Test func everyCommandHasAWireLine() {
        #expect(Set(Self.lines.map(\.0.name)) == Set(ControlRequest.Name.allCases))
    }

    /// Every request the client can build goes over the wire with the keys it always had and comes back the same.
    @Test(arguments: lines)
    func everyRequestKeepsItsWireFormat(request: ControlRequest, line: String) throws {
        #expect(String(decoding: request.encoded().dropLast(), as: UTF8.self) == line)
        #expect(try decode(line).get() == request)
    }

    @Test func durationsArriveParsedAndHistoryDefaultsToAWeek() throws {
        #expect(try decode(#"{"version":1,"command":"snooze","duration":"90m"}"#).get()
            == .cycle(.snooze(.seconds(5400))))
        #expect(try decode(#"{"version":1,"command":"pause","duration":"90m"}"#).get()
            == .cycle(.pause(.duration(.seconds(5400)))))
        #expect(try decode(#"{"version":1,"command":"history"}"#).get() == .history(days: 7))
        // Fields a command does not take are ignored, as before.
        #expect(try decode(#"{"version":1,"command":"stop","days":3}"#).get() == .cycle(.stop))
    }

    @Test(arguments: [
        ("", "not a JSON object"),
        ("[1,2]", "not a JSON object"),
        (#"{"command":"status"}"#, "missing \"version\" (this daemon speaks version 1)"),
        (#"{"version":2,"command":"status"}"#, "protocol version 2.0 is not supported (this daemon speaks version 1)"),
        (#"{"version":1}"#, "missing \"command\" (a string)"),
        (#"{"version":1,"command":7}"#, "missing \"command\" (a string)"),
        (#"{"version":1,"command":"dance"}"#,
         "unknown command \"dance\"; commands: status, start, stop, skip, snooze, pause, resume, next, reload, history, "
            + "watch"),
        (#"{"version":1,"command":"stop","routine":5}"#, "\"routine\" must be a string"),
        (#"{"version":1,"command":"history","days":1.5}"#, "\"days\" must be a whole number from 1 to 3660, got 1.5"),
        (#"{"version":1,"command":"history","days":"many"}"#, "\"days\" must be a whole number from 1 to 3660"),
        (#"{"version":1,"command":"history","days":0}"#, "\"days\" must be a whole number from 1 to 3660, got 0"),
        (#"{"version":1,"command":"history","days":-3}"#, "\"days\" must be a whole number from 1 to 3660, got -3"),
        (#"{"version":1,"command":"history","days":3661}"#, "\"days\" must be a whole number from 1 to 3660, got 3661"),
        (#"{"version":1,"command":"history","days":1000000000}"#,
         "\"days\" must be a whole number from 1 to 3660, got 1000000000"),
        (#"{"version":1,"command":"history","days":1e14}"#,
         "\"days\" must be a whole number from 1 to 3660, got 100000000000000"),
        (#"{"version":1,"command":"history","days":9223372036854775807}"#,
         "\"days\" must be a whole number from 1 to 3660, got 9.223372036854776e+18"),
        (#"{"version":1,"command":"history","days":1e400}"#, "\"days\" must be a whole number from 1 to 3660"),
        (#"{"version":1,"command":"snooze","duration":""}"#, "\"duration\" must not be empty"),
        (#"{"version":1,"command":"snooze","duration":"\#(String(repeating: "1", count: 65))m"}"#,
         "\"duration\" must be at most 64 bytes long, got 66"),
        (#"{"version":1,"command":"pause","duration":"1h\n"}"#, "\"duration\" must not contain control characters"),
        (#"{"version":1,"command":"start","routine":""}"#, "\"routine\" must not be empty"),
        (#"{"version":1,"command":"start","routine":"/\#(String(repeating: "a", count: 4096))"}"#,
         "\"routine\" must be at most 4096 bytes long, got 4097"),
        (#"{"version":1,"command":"start","routine":"a\u0000b"}"#, "\"routine\" must not contain control characters"),
        (#"{"version":1,"command":"stop","extra":true}"#, "unknown key \"extra\""),
        (#"{"version":1,"command":"snooze","duration":"soon"}"#, "snooze takes a duration over 0s and up to 24h such as 10m or 1h30m, got \"soon\""),
        (#"{"version":1,"command":"snooze","duration":"0s"}"#, "snooze takes a duration over 0s and up to 24h such as 10m or 1h30m, got \"0s\""),
        (#"{"version":1,"command":"snooze","duration":"25h"}"#, "snooze takes a duration over 0s and up to 24h such as 10m or 1h30m, got \"25h\""),
        (#"{"version":1,"command":"pause","duration":"169h"}"#, "pause takes a duration over 0s and up to 168h such as 1h, or \"tomorrow\", got \"169h\""),
        (#"{"version":1,"command":"pause","duration":"later"}"#,
         "pause takes a duration over 0s and up to 168h such as 1h, or \"tomorrow\", got \"later\""),
    ])
    func badRequestsAreExplained(line: String, message: String) {
        #expect(decode(line) == .failure(ControlError(message)))
    }

    @Test func fieldsAtTheEdgesOfTheirRangesAreAccepted() throws {
        #expect(try decode(#"{"version":1,"command":"history","days":1}"#).get() == .history(days: 1))
        #expect(try decode(#"{"version":1,"command":"history","days":3660}"#).get() == .history(days: 3660))
        #expect(try decode(#"{"version":1,"command":"history","days":7.0}"#).get() == .history(days: 7))
        // 64 bytes is not too long; a day of minutes written out is still in range.
        let duration = String(repeating: "0", count: 59) + "1440m"
        #expect(duration.utf8.count == 64)
        #expect(try decode(#"{"version":1,"command":"snooze","duration":"\#(duration)"}"#).get()
            == .cycle(.snooze(.seconds(86_400))))
        #expect(try decode(#"{"version":1,"command":"pause","duration":"168h"}"#).get()
            == .cycle(.pause(.duration(.seconds(604_800)))))
        let path = "/" + String(repeating: "é", count: 2047) + "a"
        #expect(path.utf8.count == 4096)
        #expect(try decode(#"{"version":1,"command":"start","routine":"\#(path)"}"#).get() == .cycle(.start(path)))
        #expect(ControlProtocol.historyDays == 1...3660)
    }

    @Test func aReplyWithANumberJSONCannotHoldIsAnErrorReplyNamingTheField() throws {
        let day = HistoryReport.Day(date: "2026-11-23", taken: 2, minutes: .infinity)
        let reply = ControlReply(ok: true, history: HistoryReport(
            days: [HistoryReport.Day(date: "2026-11-22"), day], streak: 0, goal: 4, warnings: []))
        let expected = "the daemon could not encode its reply: history.days[1].minutes is not a finite number (inf)"
        #expect(reply.encode() == .failure(ControlError(expected)))
        let line = reply.encoded()
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(try ControlReply.decode(line.dropLast()) == ControlReply(ok: false, error: expected))

        var status = StatusReport(
            state: .working, nextBreak: nil, nextBreakIn: .nan, pausedUntil: nil, session: nil, breaksToday: 0, worked: 1)
        #expect(try ControlReply.decode(ControlReply(ok: true, status: status).encoded().dropLast()).error
            == "the daemon could not encode its reply: status.nextBreakIn is not a finite number (nan)")
        status.nextBreakIn = 5
        #expect(try ControlReply.decode(ControlReply(ok: true, status: status).encoded().dropLast()).status == status)
    }

    @Test func repliesRoundTrip() throws {
        let reply = ControlReply(ok: false, error: "no break is due")
        #expect(try ControlReply.decode(reply.encoded().dropLast()) == reply)
    }

    /// A history reply's days are written directly, not by JSONEncoder: the line must be what JSONEncoder writes,
    /// byte for byte, whatever the warnings hold (here the very text the days are set in at).
    @Test func historyRepliesAreWhatJSONEncoderWrites() throws {
        let days = [
            HistoryReport.Day(date: "2026-11-22"),
            HistoryReport.Day(date: "2026-11-23", offered: 12, taken: 10, skipped: 1, snoozed: 3, missed: 1, failed: 2, minutes: 59.5),
            HistoryReport.Day(date: "2026-11-24", taken: 1, minutes: 5.95),
            HistoryReport.Day(date: "2026-11-25", taken: 1, minutes: 0.1 + 0.2),
            HistoryReport.Day(date: "2026-11-26", taken: 1, minutes: 1e-7),
            HistoryReport.Day(date: "2026-11-27", taken: 3, minutes: 1440),
        ]
        let reply = ControlReply(
            ok: true, history: HistoryReport(days: days, streak: 3, goal: 4, warnings: [#"a "history":{"days":[] / line"#]))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let expected = String(decoding: try encoder.encode(reply), as: UTF8.self) + "\n"
        #expect(String(decoding: reply.encoded(), as: UTF8.self) == expected)
        #expect(try ControlReply.decode(reply.encoded().dropLast()) == reply)
    }

    /// Days written otherwise than this daemon writes them (an older daemon's, without `missed` and `failed`;
    /// spaces; a day of other fields) are read as JSONDecoder reads them.
    @Test func historyRepliesInOtherShapesAreStillRead() throws {
        let older = #"{"history":{"days":[{"date":"2026-11-23","minutes":5.5,"offered":2,"skipped":0,"snoozed":1,"taken":1}],"goal":4,"streak":0,"warnings":[]},"ok":true,"version":1}"#
        #expect(try ControlReply.decode(Array(older.utf8)).history?.days
            == [HistoryReport.Day(date: "2026-11-23", offered: 2, taken: 1, snoozed: 1, minutes: 5.5)])
        let spaced = #"{"history":{"days":[ {"date":"2026-11-23","failed":0,"minutes":0,"missed":0,"offered":0,"skipped":0,"snoozed":0,"taken":7} ],"goal":4,"streak":0,"warnings":[]},"ok":true,"version":1}"#
        #expect(try ControlReply.decode(Array(spaced.utf8)).history?.days.first?.taken == 7)
        let broken = #"{"history":{"days":[{"date":"2026-11-23","failed":0,"minutes":0,"missed":0,"offered":0,"skipped":0,"snoozed":0,"taken":"x"}],"goal":4,"streak":0,"warnings":[]},"ok":true,"version":1}"#
        #expect(throws: DecodingError.self) { try ControlReply.decode(Array(broken.utf8)) }
    }
}
