@testable import StretchDaemon
import Testing

@Suite struct StderrLogHandlerTests {
    @Test func controlCharactersAreEscapedSoOneEventStaysOneLine() {
        #expect(StderrLogHandler.escapingControls("step\n<0>03:00 emerg FAKE\u{1B}[31m\0") == "step\\u{A}<0>03:00 emerg FAKE\\u{1B}[31m\\u{0}")
        #expect(StderrLogHandler.escapingControls("Hip 90/90 · right") == "Hip 90/90 · right")
    }
}
