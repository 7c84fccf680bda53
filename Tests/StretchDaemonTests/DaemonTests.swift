import ALSA
import Foundation
import Clocks
import ControlProtocol
import InMemoryLogging
import Logging
import StretchAudio
import StretchConfig
import StretchCore
import StretchDaemon
import StretchHistory
import StretchSettings
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
        #expect(await harness.command(.cycle(.skip)).ok)
        await harness.run(until: H.monday(10, 41))
        #expect(harness.reminders.map(\.at) == [H.monday(9, 50), H.monday(10, 40)])
        #expect(harness.reminders.map(\.routine) == ["hips-for-back", "desk-basics"])
        try await harness.stop()
    }

    @Test func snoozeRemindsAgainAfterTheSnooze() async throws {
        var harness = try DaemonHarness(config: waitForStart)
        await harness.run(until: H.monday(9, 51))
        let reply = await harness.command(.cycle(.snooze(.seconds(15 * 60))))
        #expect(reply.message == "snoozed for 15m of work")
        #expect(await harness.daemon.status().state == .snoozed)
        await harness.run(until: H.monday(10, 10))
        #expect(harness.reminders.map(\.at) == [H.monday(9, 50), H.monday(10, 6)])
        #expect(harness.history.read().records.map(\.event) == [.due, .snoozed], "the reminder after a snooze is the same break")
        try await harness.stop()
    }

    @Test func snoozeWithoutADueBreakIsAnError() async throws {
        var harness = try DaemonHarness(config: waitForStart)
        _ = await harness.nextSleep()
        #expect(await harness.command(.cycle(.snooze(nil))) == .failure(ControlError("no break is due")))
        try await harness.stop()
    }

    @Test func pauseUntilTomorrowHoldsRemindersUntilMidnight() async throws {
        var harness = try DaemonHarness(config: waitForStart)
        _ = await harness.nextSleep()
        let reply = await harness.command(.cycle(.pause(.tomorrow)))
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

    @Test func withoutASoundDeviceEachBreakLogsOnceIsRecordedAsFailedAndTheScheduleGoesOn() async throws {
        var harness = try DaemonHarness(audio: FakeAudio(works: false))
        await harness.run(until: H.monday(10, 41))
        #expect(harness.reminders.map(\.at) == [H.monday(9, 50), H.monday(10, 40)])
        let warnings = harness.log.entries.filter {
            $0.level == .warning && $0.message.description.hasPrefix("cannot open audio device")
        }
        #expect(warnings.count == 2)
        let records = harness.history.read().records
        #expect(records.map(\.event) == [.due, .failed, .due, .failed])
        #expect(records.last?.reason?.hasPrefix("cannot open audio device \"default\": no sound card found") == true)
        #expect(await harness.daemon.status().soundProblem?.contains("no sound card found") == true)
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

    @Test func aReloadLogsTheConfigsWarnings() async throws {
        let text = "[schedule]\nevery = \"2m\"\n"
        let config = try DaemonConfig.parse(text, file: "config.toml").get()
        let routines = config.routines.compactMap { RoutineLibrary().routine(id: $0) }
        var harness = try DaemonHarness(
            config: waitForStart, reload: { .success(DaemonSettings(config: config, routines: routines, warnings: [])) })
        _ = await harness.nextSleep()
        #expect(await harness.command(.reload).ok)
        let warnings = harness.log.entries.filter { $0.level == .warning }.map(\.message.description)
        #expect(warnings.count == 1)
        #expect(warnings.first?.hasPrefix("config: config.toml:2:") == true, "\(warnings)")
        #expect(warnings.first?.contains("schedule.every: a break every 2m is under 5m") == true, "\(warnings)")
        #expect(await harness.daemon.status().nextBreak == "2026-11-23 09:02")
        try await harness.stop()
    }

    /// The next break comes due at 09:50:00.4 here: shown to the second, it is never earlier than it is.
    @Test func statusShowsTheNextBreakRoundedUpToTheSecond() async throws {
        var harness = try DaemonHarness(start: H.monday(9).adding(.milliseconds(400)), config: waitForStart)
        _ = await harness.nextSleep()
        #expect(await harness.daemon.status().nextBreak == "2026-11-23 09:50:01")
        await harness.clock.advance(by: .milliseconds(600))
        _ = await harness.nextSleep()
        #expect(await harness.daemon.status().nextBreak == "2026-11-23 09:50:01")
        try await harness.stop()
    }

    @Test func startWithoutASoundDeviceSaysWhy() async throws {
        var harness = try DaemonHarness(config: waitForStart)
        _ = await harness.nextSleep()
        #expect(await harness.command(.cycle(.start(nil)))
            == .failure(ControlError("cannot open audio device \"default\": no sound card found, or no device of that "
                + "name (ALSA: No such file or directory, snd_pcm_open); " + AudioDeviceProblem.advice)))
        #expect(await harness.command(.cycle(.next)) == .failure(ControlError("no session is running")))
        try await harness.stop()
    }

    // MARK: A whole break

    /// A break as it happens with autostart on: the reminder, the lead-in, a whole session played into a fake
    /// stream on the test clock, its history, and the status a person sees at each stage.
    @Test func aBreakRemindsLeadsInAndPlaysAWholeSessionByItself() async throws {
        var config = DaemonConfig.defaults
        config.routines = ["desk-basics"]
        let audio = FakeAudio(sessions: true)
        var harness = try DaemonHarness(config: config, audio: audio)
        var changes = harness.daemon.statusFeed.subscribe().statuses.makeAsyncIterator()
        #expect(await harness.nextSleep() == .seconds(50 * 60))
        #expect(await changes.next() != nil, "the first status")
        await harness.clock.advance(by: .seconds(50 * 60))
        #expect(await harness.nextSleep() == .seconds(30), "the lead-in")
        #expect(harness.reminders.map(\.routine) == ["desk-basics"])
        #expect(await harness.daemon.status().state == .breakDue)
        #expect(await changes.next() != nil, "break due")
        await harness.clock.advance(by: .seconds(30))
        _ = await harness.nextSleep()
        let status = await harness.daemon.status()
        #expect(status.state == .inSession)
        #expect(status.session?.routine == "desk-basics" && status.session?.step == 1)
        #expect(await changes.next() != nil, "in session")
        await harness.pass(.seconds(6 * 60))
        #expect(await harness.sessionEnd() == .completed)
        #expect(audio.stream.finished == .completed)
        #expect(audio.stream.cues.count > 10)
        #expect(harness.history.read().records.map(\.event) == [.due, .started, .completed])
        #expect(harness.history.read().records.last?.minutes == 5.95)
        let after = await harness.daemon.status()
        #expect(after.state == .working && after.session == nil && after.breaksToday == 1)
        // 5m57s of session from 09:50:30: the interval restarts at 09:56:27.
        #expect(after.nextBreak == "2026-11-23 10:46:27")
        #expect(harness.log.entries.contains { $0.message == "session completed" })
        try await harness.stop()
    }

    // MARK: Status as of the request

    @Test func statusCountsWorkUpToTheRequestNotTheLastWakeUp() async throws {
        var harness = try DaemonHarness(config: waitForStart)
        #expect(await harness.nextSleep() == .seconds(50 * 60))
        // Ten minutes on, the daemon is still asleep until 09:50.
        await harness.clock.advance(by: .seconds(10 * 60))
        let status = await harness.daemon.status()
        #expect(status.worked == 600)
        #expect(status.nextBreak == "2026-11-23 09:50")
        #expect(status.nextBreakIn == 2400)
        try await harness.stop()
    }

    /// At 02:59:02 on the night daylight saving time ends (03:00 becomes 02:00), a break 58 s of work away is in
    /// 58 s, not 1h58s, though the wall clock shows 03:00 only an hour later.
    @Test func nextBreakInJustBeforeAFallBackIsTheWorkLeft() async throws {
        var config = waitForStart
        config.schedule = try #require(WorkSchedule(days: Set(Weekday.allCases), windows: [WorkWindow(start: 0, end: 24 * 60)]))
        config.every = .seconds(5 * 60)
        let sunday = CivilTime(year: 2026, month: 10, day: 25, hour: 2, minute: 55)
        var harness = try DaemonHarness(start: sunday, fallBackAt: .seconds(5 * 60), config: config)
        #expect(await harness.nextSleep() == .seconds(5 * 60))
        await harness.clock.advance(by: .seconds(4 * 60 + 2))
        #expect(harness.time.duration(until: CivilTime(year: 2026, month: 10, day: 25, hour: 3)) == .seconds(3658),
                "the wall clock shows 03:00 in an hour and 58 s")
        let status = await harness.daemon.status()
        #expect(status.nextBreak == "2026-10-25 03:00")
        #expect(status.nextBreakIn == 58)
        #expect(status.worked == 242)
        // And the break does come 58 s later, at 02:00 by the clock that went back.
        await harness.clock.advance(by: .seconds(58))
        _ = await harness.nextSleep()
        #expect(harness.reminders.map(\.at) == [CivilTime(year: 2026, month: 10, day: 25, hour: 2)])
        try await harness.stop()
    }

    // MARK: History in memory

    @Test func statusCountsTheHistoryReadAtStartAndWhatHappensSince() async throws {
        let earlier = [
            #"{"date":"2026-11-23","event":"reminded","routine":"desk-basics","time":1800000000}"#,
            #"{"date":"2026-11-23","event":"completed","minutes":5.95,"routine":"desk-basics","time":1800000001}"#,
            "{\"date\":\"2026-11-23\",\0\"event\":\"completed\",\"time\":1800000002}",
            #"{"date":"2026-11-22","event":"completed","minutes":5.95,"routine":"desk-basics","time":1700000000}"#,
        ]
        var harness = try DaemonHarness(config: waitForStart, audio: FakeAudio(sessions: true), history: earlier)
        _ = await harness.nextSleep()
        #expect(await harness.daemon.status().breaksToday == 1)
        // A session completed now counts at once.
        #expect(await harness.command(.cycle(.start("desk-basics"))).ok)
        await harness.pass(.seconds(6 * 60))
        #expect(await harness.sessionEnd() == .completed)
        #expect(await harness.daemon.status().breaksToday == 2)
        let history = try #require(await harness.daemon.handle(.history(days: 7)).history)
        #expect(history.days.suffix(2).map(\.taken) == [1, 2])
        #expect(history.warnings == ["\(harness.history.path):3: a NUL byte; line skipped"])
        try await harness.stop()
    }

    @Test func withAVoiceTheSessionPlaysTheVoicedPlanAndHandsEveryPromptToTheStream() async throws {
        var harness = try DaemonHarness(config: waitForStart, audio: FakeAudio(sessions: true, voice: true))
        _ = await harness.nextSleep()
        #expect(await harness.command(.cycle(.start("desk-basics"))).ok)
        await harness.pass(.seconds(7 * 60))
        #expect(await harness.sessionEnd() == .completed)
        let routine = try #require(RoutineLibrary().routine(id: "desk-basics"))
        let voiced = SessionPlanner.plan(routine, speech: SpeechTiming { _ in .seconds(1) })
        #expect(!voiced.prompts.isEmpty)
        // The voiced plan's cues (after its lead-in) and every prompt, the closing one included, at its time.
        // (This stream has no lead: the session-end cue plays before a fill reaches it.)
        #expect(harness.stream.cues.count >= voiced.cues.count - 1)
        #expect(harness.stream.cues.map(\.at) == voiced.cues.prefix(harness.stream.cues.count).map(\.at))
        #expect(harness.stream.prompts.map(\.prompt) == voiced.prompts)
        #expect(harness.stream.prompts.allSatisfy { $0.at == $0.prompt.at })
        #expect(Set(harness.stream.speech.keys) == Set(SessionPlanner.spokenTexts(routine)))
        try await harness.stop()
    }

    @Test func statusAnswersFromMemoryWhileHistoryReadsTheFile() async throws {
        let earlier = [#"{"date":"2026-11-23","event":"completed","minutes":5,"routine":"desk-basics","time":1800000000}"#]
        var harness = try DaemonHarness(config: waitForStart, audio: FakeAudio(sessions: true), history: earlier)
        _ = await harness.nextSleep()
        #expect(await harness.daemon.status().breaksToday == 1)
        // Written behind the daemon's back: status does not read the file again; history does.
        let handle = try #require(FileHandle(forWritingAtPath: harness.history.path))
        handle.seekToEndOfFile()
        handle.write(Data((#"{"date":"2026-11-23","event":"completed","time":1800000001}"# + "\n").utf8))
        handle.closeFile()
        #expect(await harness.daemon.status().breaksToday == 1)
        #expect(try #require(await harness.daemon.handle(.history(days: 1)).history).days.last?.taken == 2)
        // What the daemon appends itself counts at once.
        #expect(await harness.command(.cycle(.start("desk-basics"))).ok)
        await harness.pass(.seconds(6 * 60))
        #expect(await harness.sessionEnd() == .completed)
        #expect(await harness.daemon.status().breaksToday == 2)
        #expect(try #require(await harness.daemon.handle(.history(days: 1)).history).days.last?.taken == 3)
        try await harness.stop()
    }

    @Test func statusReadsTheHistoryAgainWhenTheClockGoesBackADay() async throws {
        // More breaks on the 22nd than reading back over the 23rd's records goes past.
        let sunday = #"{"date":"2026-11-22","event":"completed","routine":"desk-basics","time":1799900000}"#
        let earlier = Array(repeating: sunday, count: 250)
            + [#"{"date":"2026-11-23","event":"completed","routine":"desk-basics","time":1800000000}"#]
        var harness = try DaemonHarness(config: waitForStart, history: earlier)
        _ = await harness.nextSleep()
        #expect(await harness.daemon.status().breaksToday == 1)
        // Today's counts in memory are of the 23rd; the 22nd's are read from the file.
        harness.time.moveWallClock(by: .seconds(-24 * 3600))
        await harness.daemon.wallClockChanged()
        #expect(await harness.daemon.status().breaksToday == 250)
        try await harness.stop()
    }

    // MARK: Skip

    @Test func skipWithNoBreakDueIsRefusedAndRecordsNothing() async throws {
        var harness = try DaemonHarness(config: waitForStart)
        _ = await harness.nextSleep()
        #expect(await harness.command(.cycle(.skip)) == .failure(ControlError("no break is due")))
        #expect(harness.history.read().records.isEmpty)
        #expect(await harness.daemon.status().nextBreak == "2026-11-23 09:50", "the interval goes on")
        try await harness.stop()
    }

    // MARK: Minutes played

    @Test func nextThenStopRecordsTheTimeTheSessionRan() async throws {
        var harness = try DaemonHarness(config: waitForStart, audio: FakeAudio(sessions: true))
        _ = await harness.nextSleep()
        #expect(await harness.command(.cycle(.start(nil))).ok)
        await harness.pass(.seconds(10))
        #expect(await harness.command(.cycle(.next)).ok)
        await harness.pass(.seconds(8))
        #expect(await harness.command(.cycle(.stop)).ok)
        #expect(await harness.sessionEnd() == .stopped(atStep: 1), "in the transition to the second step")
        let stopped = try #require(harness.history.read().records.last)
        #expect(stopped.event == .stopped && stopped.reason == "stopped")
        #expect(stopped.minutes == 0.3, "18 s")
        #expect(harness.log.entries.contains { "\($0.message)" == "session stopped" && $0.metadata["played"] == "18s" })
        try await harness.stop()
    }

    @Test func aCompletedSessionRecordsThePlayedTimeWithoutItsPause() async throws {
        var harness = try DaemonHarness(config: waitForStart, audio: FakeAudio(sessions: true))
        _ = await harness.nextSleep()
        #expect(await harness.command(.cycle(.start("desk-basics"))).ok)
        await harness.pass(.seconds(20))
        #expect(await harness.command(.cycle(.pause(nil))).ok)
        await harness.pass(.seconds(60))
        #expect(await harness.command(.cycle(.resume)).ok)
        await harness.pass(.seconds(6 * 60))
        #expect(await harness.sessionEnd() == .completed)
        let completed = try #require(harness.history.read().records.last)
        #expect(completed.event == .completed)
        // desk-basics is 5m57s: 5.95 minutes, not the minute paused.
        #expect(completed.minutes == 5.95)
        try await harness.stop()
    }

    /// A daemon stopped (SIGSTOP) for two minutes mid-session: not a suspend; the session goes on where it was
    /// and those two minutes are not stretching.
    @Test func aStalledSessionGoesOnAndItsStallIsNotCounted() async throws {
        let audio = FakeAudio(sessions: true)
        var harness = try DaemonHarness(config: waitForStart, audio: audio)
        _ = await harness.nextSleep()
        #expect(await harness.command(.cycle(.start("desk-basics"))).ok)
        await harness.pass(.seconds(10))
        audio.stream.hangNextFill()
        await harness.pass(.seconds(1))
        await audio.stream.untilHung()
        await harness.clock.advance(by: .seconds(120))
        audio.stream.release()
        await harness.pass(.seconds(6 * 60))
        #expect(await harness.sessionEnd() == .completed)
        #expect(harness.history.read().records.last?.minutes == 5.95)
        #expect(!harness.log.entries.contains { "\($0.message)".hasPrefix("session interrupted") })
        try await harness.stop()
    }

    /// The same two minutes with the machine suspended: the session ends, recorded as stopped by a suspend, with
    /// only the time before it.
    @Test func aSuspendedSessionIsRecordedAsSuchWithTheTimeBeforeIt() async throws {
        let audio = FakeAudio(sessions: true)
        var harness = try DaemonHarness(config: waitForStart, audio: audio)
        _ = await harness.nextSleep()
        #expect(await harness.command(.cycle(.start("desk-basics"))).ok)
        await harness.pass(.seconds(10))
        audio.stream.hangNextFill()
        await harness.pass(.seconds(1))
        await audio.stream.untilHung()
        harness.time.willSuspend(for: .seconds(120))
        await harness.clock.advance(by: .seconds(120))
        audio.stream.release()
        #expect(await harness.sessionEnd() == .interrupted(atStep: 0))
        let stopped = try #require(harness.history.read().records.last)
        #expect(stopped.event == .stopped && stopped.reason == "suspend")
        #expect(stopped.minutes == 0.18, "11 s")
        try await harness.stop()
    }
}
