import ControlProtocol
import InMemoryLogging
import Logging
import StretchConfig
import StretchCore
import StretchDaemon
import Testing

/// The log promises a line for each command that changes something.
@Suite struct CommandLogTests {
    typealias H = DaemonHarness

    var waitForStart: DaemonConfig {
        var config = DaemonConfig.defaults
        config.autostart = nil
        return config
    }

    func lines(_ harness: DaemonHarness, _ message: String) -> [[String: String]] {
        harness.log.entries.filter { $0.level == .info && $0.message.description == message }
            .map { $0.metadata.mapValues(\.description) }
    }

    @Test func snoozeSkipPauseAndResumeAreEachLoggedOnce() async throws {
        var harness = try DaemonHarness(config: waitForStart)
        await harness.run(until: H.monday(9, 51))
        #expect(await harness.command(.cycle(.snooze(.seconds(15 * 60)))).ok)
        #expect(lines(harness, "break snoozed")
            == [["routine": "hips-for-back", "for": "15m", "next_break": "mon 2026-11-23 10:06"]])

        await harness.run(until: H.monday(10, 7))
        #expect(await harness.command(.cycle(.skip)).ok)
        #expect(lines(harness, "break skipped")
            == [["routine": "hips-for-back", "next_break": "mon 2026-11-23 10:57"]], "the snoozed break keeps its routine")

        #expect(await harness.command(.cycle(.pause(.duration(.seconds(3600))))).ok)
        #expect(lines(harness, "reminders paused") == [["until": "2026-11-23 11:07"]])
        #expect(await harness.command(.cycle(.resume)).ok)
        #expect(lines(harness, "reminders resumed").count == 1)

        #expect(await harness.command(.cycle(.pause(nil))).ok)
        #expect(lines(harness, "reminders paused").last == ["until": "resume"])
        try await harness.stop()
    }

    @Test func refusedCommandsAreNotLogged() async throws {
        var harness = try DaemonHarness(config: waitForStart)
        _ = await harness.nextSleep()
        #expect(await !harness.command(.cycle(.snooze(nil))).ok)
        #expect(await !harness.command(.cycle(.resume)).ok)
        #expect(await !harness.command(.cycle(.next)).ok)
        #expect(lines(harness, "break snoozed").isEmpty && lines(harness, "reminders resumed").isEmpty)
        #expect(lines(harness, "skipped to the next step").isEmpty)
        try await harness.stop()
    }
}
