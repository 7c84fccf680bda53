import Clocks
import InMemoryLogging
import Logging
import StretchAudio
import StretchConfig
import StretchCore
import StretchDaemon
import Testing

@Suite struct AudioBreakRunnerTests {
    @Test func withoutAUsableDeviceEachBreakLogsTheReasonOnceAndGoesOn() async throws {
        let log = InMemoryLogHandler()
        let clock = TestClock()
        let runner = AudioBreakRunner(
            clock: clock, device: "hw:97,0", volume: 1, sounds: SoundSet(), leadIn: .seconds(30),
            logger: Logger(label: "test") { _ in log })
        let routine = try #require(RoutineLibrary().routine(id: "desk-basics"))
        await runner.takeBreak(routine: routine)
        await runner.takeBreak(routine: routine)
        let warnings = log.entries.filter { $0.level == .warning }
        #expect(warnings.count == 2)
        #expect(warnings.first?.metadata["device"] == "hw:97,0")
        #expect(warnings.first?.metadata["error"] == "Invalid argument (snd_pcm_open)")
        // No lead-in was waited for and no session started: nothing sleeps on the clock.
        try await clock.checkSuspension()
    }
}
