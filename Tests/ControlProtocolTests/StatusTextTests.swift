import ControlProtocol
import Foundation
import Testing

@Suite struct StatusTextTests {
    static func status(
        _ state: StatusReport.State, nextBreak: String? = "2026-11-23 10:40", pausedUntil: String? = nil,
        session: SessionReport? = nil, breaksToday: Int = 2, deferredBecause: String? = nil
    ) -> StatusReport {
        StatusReport(
            state: state, nextBreak: nextBreak, nextBreakIn: 1234, pausedUntil: pausedUntil, session: session,
            breaksToday: breaksToday, worked: 600, deferredBecause: deferredBecause)
    }

    static func session(phase: String = "working", paused: Bool = false, part: String? = nil) -> SessionReport {
        SessionReport(
            routine: "hips-for-back", step: 1, steps: 4, stepName: "Hip 90/90", side: "right", part: part,
            phase: phase, phaseRemaining: 42.4, remaining: 300, paused: paused)
    }

    @Test(arguments: [
        (status(.working), "next break 10:40", "10:40"),
        // Rounded up to the minute: never earlier than the real time (a break at 08:56:58 is not due at 08:56).
        (status(.working, nextBreak: "2026-11-23 08:56:58"), "next break 08:57", "08:57"),
        (status(.working, nextBreak: "2026-11-23 23:59:01"), "next break 2026-11-24 00:00", "2026-11-24 00:00"),
        (status(.snoozed, nextBreak: "2026-11-23 10:59:30"), "snoozed · next break 11:00", "11:00"),
        (status(.paused, nextBreak: nil, pausedUntil: "2026-11-23 13:59:59"), "paused until 14:00", "paused"),
        (status(.working, nextBreak: "2026-11-24 09:00"), "next break 2026-11-24 09:00", "2026-11-24 09:00"),
        (status(.working, nextBreak: nil), "no break scheduled", "-"),
        (status(.snoozed), "snoozed · next break 10:40", "10:40"),
        (status(.breakDue), "time to stretch", "stretch"),
        (status(.deferred, nextBreak: nil, deferredBecause: "in a call (microphone hw:0,0)"),
         "break waits: in a call (microphone hw:0,0)", "waits"),
        (status(.paused, nextBreak: nil), "paused", "paused"),
        (status(.paused, nextBreak: nil, pausedUntil: "2026-11-23 14:00"), "paused until 14:00", "paused"),
        (status(.offHours, nextBreak: "2026-11-24 09:00"), "off hours · next break 2026-11-24 09:00", "off"),
        (status(.inSession, nextBreak: nil, session: session()), "Hip 90/90 · right · 0:42", "0:42"),
        (status(.inSession, nextBreak: nil, session: session(part: "lean forward")),
         "Hip 90/90 · right · lean forward · 0:42", "0:42"),
        (status(.inSession, nextBreak: nil, session: session(phase: "getting-ready")),
         "Hip 90/90 · right · get ready 0:42", "0:42"),
        (status(.inSession, nextBreak: nil, session: session(paused: true)), "Hip 90/90 · right · paused", "paused"),
    ])
    func barTextSaysWhatIsHappeningInFewWords(status: StatusReport, text: String, shortText: String) {
        let words = StatusText(status, today: "2026-11-23")
        #expect(words.text == text)
        #expect(words.shortText == shortText)
        #expect(words.line == "\(status.state.rawValue): \(text)")
    }

    @Test func tooltipListsTheSessionTheNextBreakAndTodaysBreaks() {
        let words = StatusText(
            Self.status(.inSession, session: Self.session(paused: true, part: "lean forward")), today: nil)
        #expect(words.tooltip == """
            stretchd: in-session
            Session: hips-for-back, step 1/4 Hip 90/90 (right, lean forward), 5:00 left [paused]
            Next break: 2026-11-23 10:40
            Breaks today: 2
            """)
    }

    @Test func waybarGetsOneJSONObjectWithTextTooltipAndClass() throws {
        let line = StatusText(Self.status(.breakDue), today: "2026-11-23").waybar
        #expect(!line.contains("\n"))
        let object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object == [
            "text": "time to stretch", "class": "break-due", "alt": "break-due",
            "tooltip": "stretchd: break-due\nNext break: 2026-11-23 10:40\nBreaks today: 2",
        ])
    }

    @Test func i3blocksGetsFullAndShortTextAndAColourOnlyWhereTheStateAsksForOne() throws {
        let due = StatusText(Self.status(.breakDue), today: "2026-11-23").i3blocks
        let working = StatusText(Self.status(.working), today: "2026-11-23").i3blocks
        #expect(try JSONSerialization.jsonObject(with: Data(due.utf8)) as? [String: String]
            == ["full_text": "time to stretch", "short_text": "stretch", "color": "#FFB000"])
        #expect(try JSONSerialization.jsonObject(with: Data(working.utf8)) as? [String: String]
            == ["full_text": "next break 10:40", "short_text": "10:40"])
    }

    @Test(arguments: [(0.0, "0:00"), (59.6, "1:00"), (3600, "1:00:00"), (-5, "0:00"), (.infinity, "0:00"),
                      (.nan, "0:00"), (1e300, "277777:46:40")])
    func timesLeftAreClockTextEvenForNonsense(seconds: Double, text: String) {
        let session = SessionReport(
            routine: "r", step: 1, steps: 1, stepName: "S", side: nil, part: nil, phase: "working",
            phaseRemaining: seconds, remaining: 0, paused: false)
        #expect(StatusText(Self.status(.inSession, session: session), today: nil).text == "S · \(text)")
    }

    @Test func visibleLeavesOutWhatChangesOnlyBecauseTimePasses() {
        var a = Self.status(.inSession, session: Self.session())
        var b = a
        b.nextBreakIn = 1
        b.worked = 9999
        b.session?.phaseRemaining = 1
        b.session?.remaining = 1
        b.process = ProcessReport(residentKiB: 1, cpuSeconds: 1, contextSwitches: 1)
        #expect(a.visible == b.visible)
        for change: (inout StatusReport) -> Void in [
            { $0.state = .paused }, { $0.nextBreak = "2026-11-23 10:41" }, { $0.pausedUntil = "x" },
            { $0.breaksToday += 1 }, { $0.session?.step = 2 }, { $0.session?.side = "left" },
            { $0.session?.part = "p" }, { $0.session?.phase = "getting-ready" }, { $0.session?.paused = true },
            { $0.session?.stepName = "x" }, { $0.session = nil },
        ] {
            a = Self.status(.inSession, session: Self.session())
            change(&a)
            #expect(a.visible != b.visible)
        }
    }
}
