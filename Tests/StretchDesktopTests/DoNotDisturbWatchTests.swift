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

    /// A dconf database in a fresh folder, rewritten by `dconf compile` as dconf's writer rewrites the user's, and
    /// a watch that reads it (counting the reads).
    final class Dconf: Sendable {
        let folder: String, path: String
        let reads = Mutex(0)

        init() throws {
            folder = try URLPath.temporaryDirectory()
            path = folder + "/dconf/user"
        }

        deinit { try? FileManager.default.removeItem(atPath: folder) }

        /// `show-banners` set as given (a GVariant text), or no database at all (nil).
        func setShowBanners(_ value: String?) throws {
            guard let value else { return try FileManager.default.removeItem(atPath: path) }
            try DconfCompile.write("[org/gnome/desktop/notifications]\nshow-banners=\(value)\n", to: path)
        }

        func watch(_ bus: DesktopMockBus, _ events: RecordedEvents) -> DoNotDisturbWatch {
            let reader = DconfFileReader(path: path, absences: AbsenceLog(logger: bus.logger))
            return DoNotDisturbWatch(buses: bus.buses, events: events, logger: bus.logger) { [self] in
                reads.withLock { $0 += 1 }
                return await reader.showBanners()
            }
        }

        var readCount: Int { reads.withLock { $0 } }
    }

    @Test(.needsDconf) func gnomeShowBannersIsReadWhenTheShellIsThereAndWhenDconfSaysItChanged() async throws {
        let bus = try DesktopMockBus()
        defer { bus.stop() }
        let writer = "/ca/desrt/dconf/Writer/user", writerInterface = "ca.desrt.dconf.Writer"
        try await bus.mocks.startMock(name: "org.gnome.Shell", path: "/org/gnome/Shell", interface: "org.gnome.Shell")
        try await bus.mocks.startMock(name: "ca.desrt.dconf", path: writer, interface: writerInterface)
        let dconf = try Dconf()
        try dconf.setShowBanners("false")
        let events = RecordedEvents()
        let running = Task { await dconf.watch(bus, events).run() }
        defer { running.cancel() }
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "GNOME", on: true))
        #expect(dconf.readCount == 1)

        func notify(_ prefix: String, _ paths: [String]) async throws {
            try await bus.mocks.emit("ca.desrt.dconf", writer, interface: writerInterface, "Notify", "sass", [.string(prefix), .strings(paths), "tag"])
        }
        try dconf.setShowBanners("true")
        try await notify("/org/gnome/desktop/notifications/", ["show-banners", "application/x/enable"])
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "GNOME", on: false))
        #expect(dconf.readCount == 2)

        // Other keys are not read; the key itself as the prefix is, and so is a folder above it (a reset).
        try dconf.setShowBanners("false")
        try await notify("/org/gnome/desktop/interface/", ["clock-format"])
        try await notify("/org/gnome/desktop/notifications/application/", ["x/enable"])
        try await notify("/org/gnome/desktop/notifications/show-banners", [""])
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "GNOME", on: true))
        #expect(dconf.readCount == 3)
        // The key reset (the database without it, or no database): the schema's default, banners shown.
        try dconf.setShowBanners(nil)
        try await notify("/org/gnome/", ["desktop/"])
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "GNOME", on: false))
        #expect(dconf.readCount == 4)

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
        try dconf.setShowBanners("false")
        try await bus.mocks.call("ca.desrt.dconf", writer, "Flood", [], interface: writerInterface)
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "GNOME", on: true))
        try dconf.setShowBanners("true")
        try await notify("/org/gnome/desktop/notifications/", ["show-banners"])
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "GNOME", on: false))
        let floodReads = dconf.readCount - 4
        print("dconf flood: 2,001 Notify signals, \(floodReads) reads")
        #expect(floodReads <= 10)
        running.cancel()
        await running.value
    }
}

/// The default reader: `show-banners` from a dconf database file written by `dconf compile`, as GSettings reads it.
@Suite(.needsDconf)
struct DconfFileReaderTests {
    let log = InMemoryLogHandler()
    let dconf: DoNotDisturbWatchTests.Dconf
    let reader: DconfFileReader

    init() throws {
        dconf = try DoNotDisturbWatchTests.Dconf()
        reader = DconfFileReader(path: dconf.path, absences: AbsenceLog(logger: log.asLogger))
    }

    @Test func theValueInTheDatabaseIsRead() async throws {
        try dconf.setShowBanners("false")
        #expect(await reader.showBanners() == false)
        try dconf.setShowBanners("true")
        #expect(await reader.showBanners() == true)
        #expect(log.infos == [])
    }

    @Test func noDatabaseOrNoKeyIsTheDefaultAsInGSettings() async throws {
        #expect(await reader.showBanners() == true, "no dconf folder")
        try DconfCompile.write("[org/gnome/desktop/interface]\nclock-format='24h'\n", to: dconf.path)
        #expect(await reader.showBanners() == true, "other keys only")
        #expect(log.infos == [])
    }

    @Test func aValueOfAnotherTypeIsTheDefaultAsInGSettingsLoggedOnce() async throws {
        try dconf.setShowBanners("'no'")
        #expect(await reader.showBanners() == true)
        #expect(await reader.showBanners() == true)
        #expect(log.infos == ["GNOME show-banners in \(dconf.path) is of type 's', not a boolean: the default (banners shown) applies, as in GSettings"])
    }

    @Test func aDatabaseThatCannotBeReadIsUnknownLoggedOnceUntilItIsReadAgain() async throws {
        try dconf.setShowBanners("false")
        let database = try #require(FileBytes.read(dconf.path))
        try FileBytes.write(Array(database.prefix(20)), to: dconf.path)
        #expect(await reader.showBanners() == nil)
        #expect(await reader.showBanners() == nil)
        let cutShort = "GNOME do-not-disturb not followed: \(dconf.path) is not a dconf database that can be read: 20 bytes, too short for a GVDB header"
        #expect(log.infos == [cutShort])

        try dconf.setShowBanners("false")
        #expect(await reader.showBanners() == false)
        // Not a regular file: refused without reading, and logged again (it was readable in between).
        try FileManager.default.removeItem(atPath: dconf.path)
        try FileManager.default.createDirectory(atPath: dconf.path, withIntermediateDirectories: false)
        #expect(await reader.showBanners() == nil)
        #expect(log.infos == [cutShort, "GNOME do-not-disturb not followed: \(dconf.path): a directory, not a regular file"])
    }
}

/// Which of dconf's `Notify` signals concern `show-banners`.
struct DconfNotifyTests {
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

    @Test(.needsDconf) func aForgedDconfNotifyIsNotReadWhileDconfsOwnIs() async throws {
        let bus = try DesktopMockBus()
        defer { bus.stop() }
        try await bus.mocks.startMock(name: "org.gnome.Shell", path: "/org/gnome/Shell", interface: "org.gnome.Shell")
        try await bus.mocks.startMock(name: "ca.desrt.dconf", path: Self.writer, interface: Self.writerInterface)
        try await bus.mocks.startForger()
        let dconf = try T.Dconf()
        try dconf.setShowBanners("true")
        let events = RecordedEvents()
        let running = Task { await dconf.watch(bus, events).run() }
        defer { running.cancel() }
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "GNOME", on: false))
        #expect(dconf.readCount == 1)

        let me = try #require(await bus.buses.connection(.session)?.uniqueName)
        let notify: [BusValue] = [.string("/org/gnome/desktop/notifications/"), .strings(["show-banners"]), "tag"]
        for destination in [me, nil] {
            try await bus.mocks.forge(to: destination, Self.writer, interface: Self.writerInterface, "Notify", "sass", notify)
        }
        // The forgery sent to the watch alone reached it and was ignored (a broadcast from another sender is not
        // even delivered): nothing was asked to be read.
        #expect(await yieldsUntil { bus.log.entries.contains { $0.level == .warning && "\($0.message)".contains("forged") } })
        // dconf's own Notify after the change: one read, which sees it. Had a forgery been read, that read would
        // have come first (seeing nothing new) and dconf's a second one, 250 ms later.
        try dconf.setShowBanners("false")
        try await bus.mocks.emit("ca.desrt.dconf", Self.writer, interface: Self.writerInterface, "Notify", "sass", notify)
        #expect(await events.nextUnlessCancelled() == .doNotDisturb(source: "GNOME", on: true))
        #expect(dconf.readCount == 2)
        running.cancel()
        await running.value
    }
}
