import StretchCore
import Testing

@testable import StretchDaemon

/// The times replies show are never earlier than the real ones.
@Suite struct ControlRepliesTests {
    @Test func aNextBreakWithAFractionOfASecondIsShownAtTheNextSecond() {
        let next = CivilTime(year: 2026, month: 11, day: 23, hour: 8, minute: 56, second: 58)
            .adding(.milliseconds(400))
        #expect(ControlReplies.nextBreak(next) == "mon 2026-11-23 08:56:59")
        #expect(ControlReplies.nextBreak(CivilTime(year: 2026, month: 11, day: 23, hour: 9)) == "mon 2026-11-23 09:00")
        let late = CivilTime(year: 2026, month: 11, day: 23, hour: 23, minute: 59, second: 59).adding(.milliseconds(1))
        #expect(ControlReplies.shown(late) == "2026-11-24 00:00")
    }
}
