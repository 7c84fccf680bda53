import DBus
import EpollExecutor
import Foundation
import InMemoryLogging
import Logging
@testable import StretchDesktop
import Synchronization
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite(.needsPrivateBus, .timeLimit(.minutes(1)))
struct DoNotDisturbWatchTests {
    static let notifications = "org.freedesktop.Notifications"
    static let path = "/org/freedesktop/Notifications"
    static let dunst = "org.dunstproject.cmd0"

    /// A dbusmock template for a notification server with both switches, their values from `--parameters`.
    static func serverTemplate(in directory: String) throws -> String {
        let file = directory + "/dnd_server.py"
        try """
            BUS_NAME = 'org.freedesktop.Notifications'
            MAIN_OBJ = '/org/freedesktop/Notifications'
            MAIN_IFACE = 'org.freedesktop.Notifications'
            SYSTEM_BUS = False

            def load(mock, parameters):
                mock.AddProperties(MAIN_IFACE, {'Inhibited': parameters.get('inhibited', False)})
                mock.AddProperties('org.dunstproject.cmd0', {'paused': parameters.get('paused', False)})
            """.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func server(_ bus: DesktopMockBus, inhibited: Bool, paused: Bool) async throws {
        let template = try Self.serverTemplate(in: bus.mocks.bus.directory)
        try await bus.mocks.startMock(
            ["--template", template, "--parameters", "{\"inhibited\": \(inhibited), \"paused\": \(paused)}"],
            owning: Self.notifications)
    }

    /// The next `count` events, which come from independent sources in any order between them.
    func next(_ count: Int, _ events: RecordedEvents) async -> Set<RecordedEvents.Event?> {
        var taken: Set<RecordedEvents.Event?> = []
        for _ in 0..<count { taken.insert(await events.nextUnlessCancelled()) }
        return taken
    }

    @Test func kdeAndDunstAreReadAtStartFollowedAndReadAgainWhenTheServerIsReplaced() async throws {
        let bus = try DesktopMockBus()
        defer { bus.stop() }
        try await server(bus, inhibited: false, paused: true)
        let events = RecordedEvents()
        let watch = DoNotDisturbWatch(buses: bus.buses, events: events, logger: bus.logger) { nil }
        let running = Task { await watch.run() }
        defer { running.cancel() }

        #expect(await next(2, events) == [.doNotDisturb(source: "KDE", on: false), .doNotDisturb(source: "dunst", on: true)])

        try await bus.mocks.call(Self.notifications, Self.path, "UpdateProperties", [.string(Self.notifications), .variantDictionary(["Inhibited": true])])
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "KDE", on: true))
        try await bus.mocks.call(Self.notifications, Self.path, "UpdateProperties", [.string(Self.dunst), .variantDictionary(["paused": false])])
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "dunst", on: false))

        // The server exits: the switch that was on is off (nobody holds it), the one that was off says nothing.
        try await bus.mocks.stopMocks(owning: Self.notifications)
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "KDE", on: false))

        // A new server is read as it appears.
        try await server(bus, inhibited: true, paused: true)
        #expect(await next(2, events) == [.doNotDisturb(source: "KDE", on: true), .doNotDisturb(source: "dunst", on: true)])
        #expect(await events.pending() == [])
        running.cancel()
        await running.value
    }

    @Test func aServerWithoutTheSwitchesReportsNothingAndIsLoggedOnce() async throws {
        let bus = try DesktopMockBus()
        defer { bus.stop() }
        try await bus.mocks.startMock(["--template", "notification_daemon"], owning: Self.notifications)
        let events = RecordedEvents()
        let reads = Mutex(0)
        let watch = DoNotDisturbWatch(buses: bus.buses, events: events, logger: bus.logger) {
            reads.withLock { $0 += 1 }
            return true
        }
        let running = Task { await watch.run() }
        defer { running.cancel() }
        func notFollowed() -> [String] { bus.infos.filter { $0.contains("not followed") } }
        #expect(await yieldsUntil { notFollowed().count == 3 })
        #expect(notFollowed().contains { $0.hasPrefix("KDE do-not-disturb not followed: the notification server has no org.freedesktop.Notifications Inhibited") })
        #expect(notFollowed().contains { $0.hasPrefix("dunst do-not-disturb not followed: the notification server has no org.dunstproject.cmd0 paused") })
        #expect(notFollowed().contains("GNOME do-not-disturb not followed for now: no GNOME Shell on the session bus"))
        // Nothing was reported, and without a GNOME Shell its setting was not read.
        #expect(await events.pending() == [])
        #expect(reads.withLock { $0 } == 0)

        // A GNOME Shell appears: its setting is read (banners shown: do-not-disturb off), and that is the first event.
        try await bus.mocks.startMock(name: "org.gnome.Shell", path: "/org/gnome/Shell", interface: "org.gnome.Shell")
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "GNOME", on: false))
        #expect(reads.withLock { $0 } == 1)
        #expect(notFollowed().count == 3)
        running.cancel()
        await running.value
    }

    @Test func gnomeShowBannersIsReadWhenTheShellIsThereAndWhenDconfSaysItChanged() async throws {
        let bus = try DesktopMockBus()
        defer { bus.stop() }
        let writer = "/ca/desrt/dconf/Writer/user", writerInterface = "ca.desrt.dconf.Writer"
        try await bus.mocks.startMock(name: "org.gnome.Shell", path: "/org/gnome/Shell", interface: "org.gnome.Shell")
        try await bus.mocks.startMock(name: "ca.desrt.dconf", path: writer, interface: writerInterface)
        let showBanners = Mutex(false), reads = Mutex(0)
        let events = RecordedEvents()
        let watch = DoNotDisturbWatch(buses: bus.buses, events: events, logger: bus.logger) {
            reads.withLock { $0 += 1 }
            return showBanners.withLock { $0 }
        }
        let running = Task { await watch.run() }
        defer { running.cancel() }
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "GNOME", on: true))
        #expect(reads.withLock { $0 } == 1)

        func notify(_ prefix: String, _ paths: [String]) async throws {
            try await bus.mocks.emit("ca.desrt.dconf", writer, interface: writerInterface, "Notify", "sass", [.string(prefix), .strings(paths), "tag"])
        }
        showBanners.withLock { $0 = true }
        try await notify("/org/gnome/desktop/notifications/", ["show-banners", "application/x/enable"])
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "GNOME", on: false))
        #expect(reads.withLock { $0 } == 2)

        // Other keys are not read; the key itself as the prefix is, and so is a folder above it (a reset).
        showBanners.withLock { $0 = false }
        try await notify("/org/gnome/desktop/interface/", ["clock-format"])
        try await notify("/org/gnome/desktop/notifications/application/", ["x/enable"])
        try await notify("/org/gnome/desktop/notifications/show-banners", [""])
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "GNOME", on: true))
        #expect(reads.withLock { $0 } == 3)
        showBanners.withLock { $0 = true }
        try await notify("/org/gnome/", ["desktop/"])
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "GNOME", on: false))
        #expect(reads.withLock { $0 } == 4)

        // A flood: 2,000 Notify sent at once by dconf cost a few reads (one at a time, 250 ms apart), not one each:
        // the change after it is read long before 2,000 reads could have been made.
        try await bus.mocks.call(
            "ca.desrt.dconf", writer, "AddMethod",
            [
                .string(writerInterface), "Flood", "", "",
                """
                for _ in range(2000):
                    self.EmitSignal('ca.desrt.dconf.Writer', 'Notify', 'sass', ['/org/gnome/desktop/notifications/', ['show-banners'], 'tag'])
                """,
            ])
        showBanners.withLock { $0 = false }
        try await bus.mocks.call("ca.desrt.dconf", writer, "Flood", [], interface: writerInterface)
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "GNOME", on: true))
        showBanners.withLock { $0 = true }
        try await notify("/org/gnome/desktop/notifications/", ["show-banners"])
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "GNOME", on: false))
        let floodReads = reads.withLock { $0 } - 4
        print("dconf flood: 2,001 Notify signals, \(floodReads) reads")
        #expect(floodReads <= 10)
        running.cancel()
        await running.value
    }
}

/// The default reader runs `gsettings get` as a child whose output is read on the loop.
@Suite(.timeLimit(.minutes(1)))
struct GSettingsReaderTests {
    /// A fake `gsettings` in a temporary folder: a shell script with `body`.
    func fakeGSettings(_ body: String) throws -> (path: String, folder: String) {
        let folder = try URLPath.temporaryDirectory()
        let path = folder + "/gsettings"
        // Written through a close-on-exec descriptor: a child spawned meanwhile by a test running in parallel must
        // not inherit it, or running the script fails with ETXTBSY for as long as that child lives.
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o755)
        #expect(fd >= 0)
        let script = Array("#!/bin/sh\n\(body)\n".utf8)
        #expect(script.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == script.count)
        close(fd)
        return (path, folder)
    }

    @Test func theValueGSettingsPrintsIsRead() async throws {
        let loop = EpollLoop()
        loop.startThread()
        defer { loop.stop() }
        let log = InMemoryLogHandler()
        // It checks its arguments, so a reader asking for the wrong key fails.
        let fake = try fakeGSettings("""
            [ "$*" = "get org.gnome.desktop.notifications show-banners" ] || exit 2
            cat "$(dirname "$0")/value"
            """)
        defer { try? FileManager.default.removeItem(atPath: fake.folder) }
        let reader = GSettingsReader(loop: loop, absences: AbsenceLog(logger: log.asLogger), program: fake.path)
        try "false\n".write(toFile: fake.folder + "/value", atomically: true, encoding: .utf8)
        #expect(await reader.showBanners() == false)
        try "true\n".write(toFile: fake.folder + "/value", atomically: true, encoding: .utf8)
        #expect(await reader.showBanners() == true)
        #expect(log.infos == [])

        // Anything but true or false is unknown, logged once.
        try "'yes'\n".write(toFile: fake.folder + "/value", atomically: true, encoding: .utf8)
        #expect(await reader.showBanners() == nil)
        #expect(await reader.showBanners() == nil)
        #expect(log.infos == ["GNOME do-not-disturb not followed: gsettings get org.gnome.desktop.notifications show-banners exited with status 0, with \"'yes'\""])
    }

    @Test func noGSettingsIsLoggedOnceAndReadsNothing() async throws {
        let loop = EpollLoop()
        loop.startThread()
        defer { loop.stop() }
        let log = InMemoryLogHandler()
        let reader = GSettingsReader(
            loop: loop, absences: AbsenceLog(logger: log.asLogger), program: "/nonexistent/stretchd-test/gsettings")
        #expect(await reader.showBanners() == nil)
        #expect(await reader.showBanners() == nil)
        #expect(log.infos == ["GNOME do-not-disturb not followed: gsettings is not installed (Debian: libglib2.0-bin)"])
    }

    @Test func aChildThatOutlivesItsTimeOrWritesTooMuchIsKilled() async throws {
        let loop = EpollLoop()
        loop.startThread()
        defer { loop.stop() }
        let slow = await #expect(throws: ChildProcess.Failure.self) {
            try await ChildProcess.run(["/bin/sh", "-c", "exec sleep 30"], loop: loop, timeout: .milliseconds(100))
        }
        #expect(slow == .timedOut(.milliseconds(100)))
        let chatty = await #expect(throws: ChildProcess.Failure.self) {
            try await ChildProcess.run(["/bin/sh", "-c", "yes"], loop: loop, limit: 10_000)
        }
        #expect(chatty == .tooMuchOutput(limit: 10_000))
        let outcome = try await ChildProcess.run(["/bin/sh", "-c", "echo hi; exit 3"], loop: loop)
        #expect(outcome == ChildProcess.Outcome(output: Array("hi\n".utf8), ending: .exited(3)))
    }

    @Test func onlyAChangeOfTheShowBannersKeyOrAFolderAboveItCounts() {
        func touches(_ prefix: String, _ paths: [String]) -> Bool {
            DoNotDisturbWatch.touchesShowBanners(BusMessage(signature: "sass", arguments: [.string(prefix), .strings(paths), ""]))
        }
        #expect(touches("/org/gnome/desktop/notifications/", ["show-banners"]))
        #expect(touches("/org/gnome/desktop/notifications/show-banners", [""]))
        #expect(touches("/", [""]))
        #expect(touches("/org/gnome/desktop/", ["notifications/"]))
        #expect(!touches("/org/gnome/desktop/notifications/", ["show-banners-x", "application/"]))
        #expect(!touches("/org/gnome/desktop/notifications/show-banners", []))
        #expect(!DoNotDisturbWatch.touchesShowBanners(BusMessage(signature: "s", arguments: ["/"])))
    }
}

extension InMemoryLogHandler {
    /// A logger writing here.
    var asLogger: Logger {
        let log = self
        return Logger(label: "test") { _ in log }
    }

    /// The info lines logged so far.
    var infos: [String] { entries.filter { $0.level == .info }.map(\.message.description) }
}

/// Forgeries from a second connection: they change nothing, while the notification server's and dconf's own still
/// count.
@Suite(.needsPrivateBus, .timeLimit(.minutes(1)))
struct DoNotDisturbForgeryTests {
    typealias T = DoNotDisturbWatchTests
    static let writer = "/ca/desrt/dconf/Writer/user", writerInterface = "ca.desrt.dconf.Writer"

    @Test func forgedKDEAndDunstSwitchesChangeNothingWhileTheServersOwnDo() async throws {
        let bus = try DesktopMockBus()
        defer { bus.stop() }
        try await T().server(bus, inhibited: false, paused: false)
        try await bus.mocks.startForger()
        let events = RecordedEvents()
        let watch = DoNotDisturbWatch(buses: bus.buses, events: events, logger: bus.logger) { nil }
        let running = Task { await watch.run() }
        defer { running.cancel() }
        #expect(await T().next(2, events) == [.doNotDisturb(source: "KDE", on: false), .doNotDisturb(source: "dunst", on: false)])

        let me = try #require(await bus.buses.connection(.session)?.uniqueName)
        // Both switches on, to the watch alone and to everyone, claiming the server's object.
        for destination in [me, nil] {
            try await bus.mocks.forge(
                to: destination, T.path, interface: "org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as",
                [.string(T.notifications), .variantDictionary(["Inhibited": true]), .strings([])])
            try await bus.mocks.forge(
                to: destination, T.path, interface: "org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as",
                [.string(T.dunst), .variantDictionary(["paused": true]), .strings([])])
        }
        // The server's own change comes after them on the same connection: the first event is its, none is KDE's.
        try await bus.mocks.call(T.notifications, T.path, "UpdateProperties", [.string(T.dunst), .variantDictionary(["paused": true])])
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "dunst", on: true))
        try await bus.mocks.call(T.notifications, T.path, "UpdateProperties", [.string(T.notifications), .variantDictionary(["Inhibited": true])])
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "KDE", on: true))
        #expect(await events.pending() == [])
        #expect(bus.log.entries.contains { $0.level == .warning && "\($0.message)".contains("forged") })
        running.cancel()
        await running.value
    }

    @Test func aForgedDconfNotifyIsNotReadWhileDconfsOwnIs() async throws {
        let bus = try DesktopMockBus()
        defer { bus.stop() }
        try await bus.mocks.startMock(name: "org.gnome.Shell", path: "/org/gnome/Shell", interface: "org.gnome.Shell")
        try await bus.mocks.startMock(name: "ca.desrt.dconf", path: Self.writer, interface: Self.writerInterface)
        try await bus.mocks.startForger()
        let showBanners = Mutex(true), reads = Mutex(0)
        let events = RecordedEvents()
        let watch = DoNotDisturbWatch(buses: bus.buses, events: events, logger: bus.logger) {
            reads.withLock { $0 += 1 }
            return showBanners.withLock { $0 }
        }
        let running = Task { await watch.run() }
        defer { running.cancel() }
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "GNOME", on: false))
        #expect(reads.withLock { $0 } == 1)

        let me = try #require(await bus.buses.connection(.session)?.uniqueName)
        let notify: [BusValue] = [.string("/org/gnome/desktop/notifications/"), .strings(["show-banners"]), "tag"]
        for destination in [me, nil] {
            try await bus.mocks.forge(to: destination, Self.writer, interface: Self.writerInterface, "Notify", "sass", notify)
        }
        // dconf's own Notify after them: one read, which sees the change. Had a forgery been read, that read would
        // have come first (seeing nothing new) and dconf's a second one, 250 ms later.
        showBanners.withLock { $0 = false }
        try await bus.mocks.emit("ca.desrt.dconf", Self.writer, interface: Self.writerInterface, "Notify", "sass", notify)
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "GNOME", on: true))
        #expect(reads.withLock { $0 } == 2)
        #expect(bus.log.entries.contains { $0.level == .warning && "\($0.message)".contains("forged") })
        running.cancel()
        await running.value
    }
}
