import DBus
import Foundation
import StretchSystem
import Testing
import TestSupport

/// The real `stretchd` on a mocked desktop (private buses, python-dbusmock's notification daemon and logind),
/// driven as a desktop would: buttons, sleep, lock, idle and do-not-disturb. Waits are on the daemon's log lines.
@Suite(.needsPrivateBus, .timeLimit(.minutes(1)))
struct DesktopTests {
    @Test func aNotificationButtonSnoozesTheBreak() async throws {
        let desktop = try await MockDesktop()
        defer { desktop.stop() }
        let daemon = try DaemonProcess(
            every: "2s", autostart: "off", notify: true, buses: desktop.environment, arguments: ["--log-level", "debug"])
        try daemon.waitForLog("notification shown")
        let notify = try #require(try await desktop.notifyCalls().first)
        // app_name, replaces_id, icon, summary, body, actions, hints, expire_timeout
        #expect(notify[0].string == "stretchd")
        #expect(notify[3].string == "Time to stretch")
        #expect(notify[5].strings == ["default", "Start now", "snooze", "Snooze", "skip", "Skip"])
        #expect(notify[6].stringKeyed?["urgency"]?.unwrapped.integer == 1, "normal urgency, never critical")

        // dbusmock numbers notifications from 1.
        try await desktop.pressAction("snooze", of: 1)
        #expect(try daemon.waitForLog("notification answered").contains("answer=snooze"))
        try daemon.waitForLog("break snoozed")
        // Logged before the record is written (off the daemon's loop): read again after each round trip to the
        // daemon (no sleeping) until it is there.
        var history = ""
        for _ in 0..<200 {
            history = try String(contentsOfFile: daemon.historyPath, encoding: .utf8)
            if history.contains(#""event":"snoozed""#) { break }
            _ = try daemon.status()
        }
        #expect(history.contains(#""event":"snoozed""#))
        #expect(try daemon.terminate() == 0)
    }

    @Test func sleepDuringASessionStopsItRecordsItAndReleasesTheSleepLock() async throws {
        let desktop = try await MockDesktop()
        defer { desktop.stop() }
        let daemon = try DaemonProcess(every: "1h", buses: desktop.environment, arguments: ["--log-level", "debug"])
        #expect(try daemon.ctl(["start", "quick"]).status == 0)
        try daemon.waitForLog("sleep delayed while the session runs")
        #expect(try await desktop.inhibitors().map { [$0[0], $0[1], $0[3]] } == [["sleep", "stretchd", "delay"]])

        try await desktop.prepareForSleep(true)
        try daemon.waitForLog("session interrupted")
        try daemon.waitForLog("sleep no longer delayed")
        #expect(try await desktop.inhibitors().isEmpty, "logind may put the machine to sleep now")
        let history = try String(contentsOfFile: daemon.historyPath, encoding: .utf8)
        #expect(history.contains(#""event":"stopped""#) && history.contains(#""reason":"suspend""#))

        try await desktop.prepareForSleep(false)
        try daemon.waitForLog("the machine woke up")
        #expect(try daemon.status()["session"] == nil, "not resumed mid-hold")
        #expect(try daemon.terminate() == 0)
    }

    @Test func lockedForLongerThanTheNaturalBreakCountsAsABreakAndNoReminderFiresWhileLocked() async throws {
        let desktop = try await MockDesktop()
        defer { desktop.stop() }
        try await desktop.setLocked(true)
        let daemon = try DaemonProcess(
            every: "2s", naturalBreak: "6s", notify: true, buses: desktop.environment)
        try daemon.waitForLog("screen locked")
        try daemon.waitForLog("it waits, as the screen is locked")
        #expect(try daemon.status()["state"] as? String == "deferred")
        try daemon.waitForLog("time away counted as a break")
        let status = try daemon.status()
        #expect(status["state"] as? String == "working")
        #expect(status["worked"] as? Double == 0, "no work time counts once the break is taken")
        #expect(!daemon.logText.contains("break due: time to stretch"), "no reminder while locked")
        #expect(try await desktop.notifyCalls().isEmpty)
        // The break came due while locked and ended as taken away from the desk: no session, no skip.
        let events = ((try? String(contentsOfFile: daemon.historyPath, encoding: .utf8)) ?? "").split(separator: "\n")
            .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["event"] as? String }
        #expect(events == ["due", "missed"], "\(events)")

        // Back after a break: nothing to announce; the next reminder comes a whole interval of work later.
        try await desktop.setLocked(false)
        try daemon.waitForLog("screen unlocked")
        let reminder = try daemon.waitForLog("break due: time to stretch")
        #expect(reminder.contains("worked=2"), "a whole interval of work since the return: \(reminder)")
        #expect(try daemon.terminate() == 0)
    }

    @Test func doNotDisturbDefersTheReminderUntilItEnds() async throws {
        let desktop = try await MockDesktop()
        defer { desktop.stop() }
        // KDE's do-not-disturb, on before the daemon starts.
        try await desktop.session.call(
            MockDesktop.notifications, MockDesktop.notificationsPath, "AddProperty",
            [.string(MockDesktop.notifications), .string("Inhibited"), .variant(.boolean(true))], timeout: MockDesktop.timeout)
        let daemon = try DaemonProcess(every: "2s", autostart: "off", notify: true, buses: desktop.environment)
        try daemon.waitForLog("it waits, as do-not-disturb is on (KDE)")
        let status = try daemon.status()
        #expect(status["state"] as? String == "deferred")
        #expect(status["deferredBecause"] as? String == "do-not-disturb is on (KDE)")
        #expect(try daemon.ctl(["status"]).stdout.contains("Break waits: do-not-disturb is on (KDE)"))
        #expect(try await desktop.notifyCalls().isEmpty, "no notification while it waits")

        try await desktop.setInhibited(false)
        try daemon.waitForLog("break due: time to stretch")
        #expect(try daemon.status()["state"] as? String == "break-due")
        #expect(try daemon.terminate() == 0)
    }

    /// GNOME's do-not-disturb, read from the dconf database that GNOME writes, when dconf says it changed; a forger
    /// saying so changes nothing.
    @Test(.needsDconf) func gnomeDoNotDisturbDefersTheReminderUntilDconfSaysItEnded() async throws {
        let desktop = try await MockDesktop()
        defer { desktop.stop() }
        try await desktop.startGNOME()
        try await desktop.session.startForger()
        let daemon = try DaemonProcess(every: "2s", autostart: "off", notify: true, buses: desktop.environment) { home in
            try MockDesktop.writeGNOMEDoNotDisturb(true, configHome: home + "/.config")
        }
        try daemon.waitForLog("it waits, as do-not-disturb is on (GNOME)")
        #expect(try daemon.status()["deferredBecause"] as? String == "do-not-disturb is on (GNOME)")

        // Banners shown again, but a forger sends the Notify: ignored (and logged), so the file is not read.
        try MockDesktop.writeGNOMEDoNotDisturb(false, configHome: daemon.home + "/.config")
        let daemonConnection = try await desktop.sessionConnection(ofProcess: daemon.process.processIdentifier)
        try await desktop.session.forge(
            to: daemonConnection, MockDesktop.dconfWriter, interface: MockDesktop.dconfWriterInterface, "Notify", "sass",
            MockDesktop.showBannersChanged)
        try daemon.waitForLog("ignored a forged D-Bus signal ca.desrt.dconf.Writer.Notify")
        #expect(try daemon.status()["state"] as? String == "deferred")

        // dconf's own Notify: the database is read, and the break comes.
        try await desktop.dconfNotify()
        try daemon.waitForLog("break due: time to stretch")
        #expect(!daemon.logText.contains("GNOME do-not-disturb not followed"), "the database was read: \(daemon.logText)")
        #expect(try daemon.terminate() == 0)
    }

    @Test func goingIdleAfterTheReminderStartsTheSessionEarly() async throws {
        let desktop = try await MockDesktop()
        defer { desktop.stop() }
        let daemon = try DaemonProcess(
            every: "2s", autostart: "1h", options: ["session": #"start_when_idle = "5s""#],
            buses: desktop.environment)
        try daemon.waitForLog("break due: time to stretch")
        // The user gets up: logind's idle hint, as the desktop sets it.
        try await desktop.setIdle(since: SystemTime().awake())
        // Started by idleness within 20 s (5 s of it idle), not by the hour-long lead-in: the wait fails otherwise.
        try daemon.waitForLog("session started", timeout: 20)
        #expect(try daemon.status()["state"] as? String == "in-session")
        #expect(try daemon.terminate() == 0)
    }
}

/// Buses and services that restart mid-day: what the daemon set up on them is set up again on the new ones.
extension DesktopTests {
    /// A session that outlasts the restarts a test makes (the quick routine, with holds of 5 minutes): sleep
    /// interrupts it.
    static func writeLongRoutine(home: String) throws {
        try DaemonProcess.quickRoutine
            .replacingOccurrences(of: #"name = "Quick""#, with: #"name = "Long""#)
            .replacingOccurrences(of: #"hold = "3s""#, with: #"hold = "5m""#)
            .write(toFile: home + "/.config/stretchd/routines/long.toml", atomically: true, encoding: .utf8)
    }

    /// Restarts part of the system bus (`restart`) while a long session runs, and checks that the lock the old
    /// logind held is let go, that the new logind is given one, and that its PrepareForSleep stops the session and
    /// lets the lock go. Returns the daemon's log.
    static func sleepLockAfterRestarting(_ restart: (MockDesktop) async throws -> Void) async throws -> String {
        let desktop = try await MockDesktop()
        defer { desktop.stop() }
        let daemon = try DaemonProcess(
            every: "1h", routines: ["long"], buses: desktop.environment, arguments: ["--log-level", "debug"],
            prepare: writeLongRoutine)
        #expect(try daemon.ctl(["start", "long"]).status == 0)
        try daemon.waitForLog("sleep delayed while the session runs")
        #expect(try await desktop.inhibitors().count == 1)

        try await restart(desktop)
        // The old lock means nothing to the new logind.
        try daemon.waitForLog("sleep no longer delayed")
        try daemon.waitForLog("sleep delayed while the session runs")
        #expect(try await desktop.inhibitors().map { [$0[0], $0[1], $0[3]] } == [["sleep", "stretchd", "delay"]])
        #expect(try daemon.status()["state"] as? String == "in-session")
        try await desktop.prepareForSleep(true)
        try daemon.waitForLog("session interrupted")
        try daemon.waitForLog("sleep no longer delayed")
        #expect(try await desktop.inhibitors().isEmpty)
        #expect(try daemon.terminate() == 0)
        return daemon.logText
    }

    @Test func theSystemBusRestartedMidSessionGetsTheSleepLockAgainAndItsSleepIsHeard() async throws {
        // At the same socket: the daemon's address still names the first run's guid.
        let log = try await Self.sleepLockAfterRestarting { try await $0.restartSystemBus() }
        #expect(log.contains("D-Bus system bus connected again"))
    }

    @Test func logindRestartedMidSessionGetsTheSleepLockAgainAndItsSleepIsHeard() async throws {
        let log = try await Self.sleepLockAfterRestarting { try await $0.restartLogind() }
        #expect(!log.contains("D-Bus system bus lost"), "the bus stayed")
    }

    @Test func aNotificationServerRestartedWhileAReminderIsOfferedShowsItOnce() async throws {
        let desktop = try await MockDesktop()
        defer { desktop.stop() }
        let daemon = try DaemonProcess(
            every: "2s", autostart: "off", notify: true, buses: desktop.environment, arguments: ["--log-level", "debug"])
        try daemon.waitForLog("notification shown")
        #expect(try await desktop.notifyCalls().count == 1)

        try await desktop.restartNotificationServer()
        try daemon.waitForLog("notification shown")
        let calls = try await desktop.notifyCalls()
        #expect(calls.count == 1, "shown once on the new server: \(calls)")
        // A new notification on a new server (nothing to replace), with its buttons.
        #expect(calls.first?[1].uint32 == 0)
        #expect(calls.first?[3].string == "Time to stretch")
        #expect(calls.first?[5].strings == ["default", "Start now", "snooze", "Snooze", "skip", "Skip"])
        #expect(try daemon.status()["state"] as? String == "break-due")
        // Its buttons work: dbusmock numbers each server's notifications from 1.
        try await desktop.pressAction("skip", of: 1)
        #expect(try daemon.waitForLog("notification answered").contains("answer=skip"))
        #expect(try daemon.terminate() == 0)
    }
}
