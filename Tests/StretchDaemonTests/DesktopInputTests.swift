import Clocks
import ControlProtocol
import StretchConfig
import StretchCore
import StretchDaemon
import StretchHistory
import Synchronization
import Testing

/// The daemon's side of the desktop: what it does with the reports of the D-Bus sources (`DesktopEvents`), and
/// what it asks of the notification and the sleep lock.
@Suite(.timeLimit(.minutes(1))) struct DesktopInputTests {
    typealias H = DaemonHarness

    @Test func theNotificationIsShownAtTheReminderAndWithdrawnWhenTheSessionStartsWhileTheSleepLockCoversIt()
        async throws
    {
        var config = DaemonConfig.defaults
        config.routines = ["desk-basics"]
        let audio = FakeAudio(sessions: true)
        var harness = try DaemonHarness(config: config, audio: audio)
        #expect(await harness.nextSleep() == .seconds(50 * 60))
        await harness.clock.advance(by: .seconds(50 * 60))
        #expect(await harness.nextSleep() == .seconds(30), "the lead-in")
        #expect(await harness.desktop.take(1) == ["show Time to stretch: Desk basics: 4 stretches"])
        await harness.clock.advance(by: .seconds(30))
        _ = await harness.nextSleep()
        #expect(await harness.desktop.take(2) == ["show Time to stretch: Desk basics: 4 stretches", "hold", "withdraw"])
        await harness.pass(.seconds(6 * 60))
        #expect(await harness.sessionEnd() == .completed)
        #expect(await harness.desktop.take(1).last == "release")
        try await harness.stop()
    }

    @Test func aboutToSleepReturnsOnceTheSessionIsStoppedAndRecordedForSuspend() async throws {
        var harness = try DaemonHarness(audio: FakeAudio(sessions: true))
        _ = await harness.nextSleep()
        #expect(await harness.command(.cycle(.start("desk-basics"))).ok)
        await harness.daemon.aboutToSleep()
        let last = try #require(harness.history.read().records.last)
        #expect(last.event == .stopped && last.reason == "suspend")
        #expect(await harness.daemon.status().session == nil)
        try await harness.stop()
    }

    @Test func doNotDisturbMakesTheDueBreakWaitAndStatusSaysWhy() async throws {
        var harness = try DaemonHarness()
        _ = await harness.nextSleep()
        await harness.daemon.doNotDisturbChanged(source: "GNOME", on: true)
        await harness.run(until: H.monday(9, 51))
        #expect(harness.reminders.isEmpty)
        let status = await harness.daemon.status()
        #expect(status.state == .deferred)
        #expect(status.deferredBecause == "do-not-disturb is on (GNOME)")
        await harness.daemon.doNotDisturbChanged(source: "GNOME", on: false)
        _ = await harness.nextSleep()
        #expect(harness.reminders.map(\.routine) == ["hips-for-back"])
        try await harness.stop()
    }

    @Test func aNotificationButtonActsOnTheBreakOnOffer() async throws {
        var config = DaemonConfig.defaults
        config.autostart = nil
        var harness = try DaemonHarness(config: config)
        await harness.run(until: H.monday(9, 51))
        await harness.daemon.notificationAnswered(.snooze)
        await harness.settle()
        #expect(await harness.daemon.status().state == .snoozed)
        #expect(harness.history.read().records.map(\.event) == [.due, .snoozed])
        try await harness.stop()
    }
}
