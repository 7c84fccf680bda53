import ALSA
import Clocks
import ControlProtocol
import InMemoryLogging
import Logging
import StretchAudio
import StretchConfig
import StretchCore
import StretchDaemon
import Testing

@Suite struct DaemonTests {
    typealias H = DaemonHarness

    var waitForStart: DaemonConfig {
        var config = DaemonConfig.defaults
        config.autostart = nil
        return config
    }

    @Test func remindsWithTheRoutinesInTurnAndSleepsBetween() async throws {
        var harness = try DaemonHarness(config: waitForStart)
        _ = await harness.nextSleep()
        await harness.clock.advance(by: .seconds(50 * 60))
        #expect(await harness.nextSleep() != nil)
        #expect(harness.reminders.map(\.routine) == ["hips-for-back"])
        #expect(await harness.daemon.status().state == .breakDue)
        #expect(await harness.command(.skip).ok)
        await harness.run(until: H.monday(10, 41))
        #expect(harness.reminders.map(\.at) == [H.monday(9, 50), H.monday(10, 40)])
        #expect(harness.reminders.map(\.routine) == ["hips-for-back", "desk-basics"])
        try await harness.stop()
    }

    @Test func snoozeRemindsAgainAfterTheSnooze() async throws {
        var harness = try DaemonHarness(config: waitForStart)
        await harness.run(until: H.monday(9, 51))
        let reply = await harness.command(.snooze, duration: "15m")
        #expect(reply.message == "snoozed for 15m of work")
        #expect(await harness.daemon.status().state == .snoozed)
        await harness.run(until: H.monday(10, 10))
        #expect(harness.reminders.map(\.at) == [H.monday(9, 50), H.monday(10, 6)])
        #expect(harness.history.read().records.map(\.event) == [.reminded, .snoozed, .reminded])
        try await harness.stop()
    }

    @Test func snoozeWithoutADueBreakIsAnError() async throws {
        var harness = try DaemonHarness(config: waitForStart)
        _ = await harness.nextSleep()
        #expect(await harness.command(.snooze) == .failure(ControlError("no break is due")))
        #expect(await harness.command(.snooze, duration: "soon")
            == .failure(ControlError("snooze takes a duration such as 10m or 1h30m, got \"soon\"")))
        try await harness.stop()
    }

    @Test func pauseUntilTomorrowHoldsRemindersUntilMidnight() async throws {
        var harness = try DaemonHarness(config: waitForStart)
        _ = await harness.nextSleep()
        let reply = await harness.command(.pause, duration: "tomorrow")
        #expect(reply.message == "reminders paused until 2026-11-24 00:00")
        let status = await harness.daemon.status()
        #expect(status.state == .paused && status.pausedUntil == "2026-11-24 00:00")
        await harness.run(until: H.monday(9).adding(.seconds(86_400 + 51 * 60)))
        // No reminder on Monday; Tuesday as usual.
        #expect(harness.reminders.map(\.at) == [H.monday(9, 50).adding(.seconds(86_400))])
        try await harness.stop()
    }

    @Test func aSuspendLongerThanABreakCountsAsOneAndNothingFiresOnResume() async throws {
        var harness = try DaemonHarness(config: waitForStart)
        #expect(await harness.nextSleep() == .seconds(50 * 60))
        // 09:05 to 09:25 asleep; the daemon's own wake-up at 09:50 comes after the resume.
        await harness.clock.advance(by: .seconds(5 * 60))
        harness.time.willSuspend(for: .seconds(20 * 60))
        await harness.clock.advance(by: .seconds(45 * 60))
        _ = await harness.nextSleep()
        #expect(harness.reminders.isEmpty, "the break due at 09:50 was taken asleep")
        #expect(harness.log.entries.contains { $0.message == "time away counted as a break" })
        // The 30 minutes awake in that stretch count as work after the break.
        #expect(await harness.daemon.status().nextBreak == "2026-11-23 10:10")
        try await harness.stop()
    }

    @Test func aWallClockChangeRecomputesWorkHoursAtOnce() async throws {
        var harness = try DaemonHarness(start: H.monday(7), config: waitForStart)
        #expect(await harness.nextSleep() == .seconds(2 * 3600))  // until 09:00
        harness.time.moveWallClock(by: .seconds(3 * 3600))  // the clock is set to 10:00
        await harness.daemon.wallClockChanged()
        // Woken at once, it sees work hours have started and sleeps until the first break instead.
        #expect(await harness.nextSleep() == .seconds(50 * 60))
        #expect(await harness.daemon.status().state == .working)
        try await harness.stop()
    }

    @Test func withoutASoundDeviceEachBreakLogsOnceAndTheScheduleGoesOn() async throws {
        var harness = try DaemonHarness(audio: FakeAudio(works: false))
        await harness.run(until: H.monday(10, 41))
        #expect(harness.reminders.map(\.at) == [H.monday(9, 50), H.monday(10, 40)])
        let warnings = harness.log.entries.filter { $0.level == .warning }
        #expect(warnings.count == 2)
        #expect(warnings.first?.metadata["error"]
            == "no sound card found, or no device of that name (ALSA: No such file or directory, snd_pcm_open)")
        #expect(warnings.first?.metadata["hint"]?.description.contains("audio.device in config.toml") == true)
        try await harness.stop()
    }

    @Test func aBadReloadKeepsTheRunningConfig() async throws {
        let problem = ConfigProblem(file: "config.toml", line: 3, keyPath: "schedule.every", message: "expected a duration")
        var harness = try DaemonHarness(config: waitForStart, reload: { .failure(ConfigError([problem])) })
        _ = await harness.nextSleep()
        let reply = await harness.command(.reload)
        #expect(!reply.ok && reply.problems == ["config.toml:3: schedule.every: expected a duration"])
        #expect(await harness.daemon.status().nextBreak == "2026-11-23 09:50")
        try await harness.stop()
    }

    @Test func startWithoutASoundDeviceSaysWhy() async throws {
        var harness = try DaemonHarness(config: waitForStart)
        _ = await harness.nextSleep()
        #expect(await harness.command(.start)
            == .failure(ControlError("cannot open audio device \"default\": no sound card found, or no device of that "
                + "name (ALSA: No such file or directory, snd_pcm_open); " + AudioDeviceProblem.advice)))
        #expect(await harness.command(.next) == .failure(ControlError("no session is running")))
        try await harness.stop()
    }
}
