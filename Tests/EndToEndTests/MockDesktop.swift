import DBus
import EpollExecutor
import Foundation
import StretchSystem
import TestSupport

/// A desktop for the real `stretchd`: a private session bus with python-dbusmock's notification daemon, and a
/// private bus standing in for the system bus with dbusmock's logind, where the test user has a graphical session.
/// The test drives the mocks through their `org.freedesktop.DBus.Mock` interface over its own connections.
///
/// The system bus listens at a socket file of its own (`unix:path=`, as the real one does), so that it can be
/// restarted at the same address (`restartSystemBus()`).
final class MockDesktop {
    let loop = EpollLoop()
    let session: MockBus
    private(set) var system: MockBus
    /// The folder of the system bus's socket.
    private let systemFolder: String

    static let notifications = "org.freedesktop.Notifications"
    static let notificationsPath = "/org/freedesktop/Notifications"
    static let login = "org.freedesktop.login1"
    static let loginPath = "/org/freedesktop/login1"
    static let sessionPath = "/org/freedesktop/login1/session/c1"
    static var userPath: String { "/org/freedesktop/login1/user/\(getuid())" }

    /// What the daemon's environment needs to use this desktop: the addresses the buses printed, each with the
    /// `guid=` of that run of the bus (which a bus started again does not have).
    var environment: [String: String] {
        ["DBUS_SESSION_BUS_ADDRESS": session.address, "DBUS_SYSTEM_BUS_ADDRESS": system.address]
    }

    /// Starts both buses and mocks; `notificationServer` also starts a notification daemon with buttons
    /// (dbusmock's has none unless told).
    init(notificationServer: Bool = true) async throws {
        loop.startThread()
        systemFolder = try URLPath.temporaryDirectory()
        session = try MockBus(on: loop)
        system = try MockBus(on: loop, listen: "unix:path=\(systemFolder)/system_bus_socket")
        if notificationServer { try await startNotificationServer() }
        try await startLogind()
    }

    /// How long a call to a mock may take.
    static let timeout = Duration.seconds(10)

    func stop() {
        session.stop()
        system.stop()
        loop.stop()
        try? FileManager.default.removeItem(atPath: systemFolder)
    }

    // MARK: Services and buses that restart

    /// Starts dbusmock's notification daemon, with buttons (it has none unless told); returns once it owns its name.
    func startNotificationServer() async throws {
        try await session.startMock(
            ["--template", "notification_daemon", "--parameters", #"{"capabilities": "actions body"}"#],
            owning: Self.notifications)
    }

    /// The notification server exits and another starts (with no notifications, and no calls recorded).
    func restartNotificationServer() async throws {
        try await session.stopMocks(owning: Self.notifications)
        try await startNotificationServer()
    }

    /// Starts dbusmock's logind with the test user's graphical session; returns once it owns its name.
    func startLogind() async throws {
        try await system.startMock(["--system", "--template", "logind"], owning: Self.login)
        // The template's GetUser adds a number to a string (python-dbusmock 0.28).
        try await system.call(
            Self.login, Self.loginPath, "AddMethod",
            [.string("org.freedesktop.login1.Manager"), .string("GetUser"), .string("u"), .string("o"),
             .string(#"ret = "/org/freedesktop/login1/user/%d" % args[0]"#)], timeout: Self.timeout)
        // The test user's graphical session, which logind names in the user's Display.
        try await system.call(
            Self.login, Self.loginPath, "AddSession",
            [.string("c1"), .string("seat0"), .uint32(getuid()), .string("tester"), .boolean(true)],
            timeout: Self.timeout)
        try await system.setProperties(
            Self.login, Self.userPath, "org.freedesktop.login1.User",
            ["Display": .structure([.string("c1"), .objectPath(Self.sessionPath)])])
    }

    /// logind exits and another starts (holding no inhibitor locks), on the same bus.
    func restartLogind() async throws {
        try await system.stopMocks(owning: Self.login)
        try await startLogind()
    }

    /// The system bus daemon ends (logind with it) and starts again at the same socket, then logind does.
    func restartSystemBus() async throws {
        system = try system.restarted(on: loop)
        try await startLogind()
    }

    // MARK: Driving the mocks

    /// The arguments of each `Notify` the notification daemon received, in order.
    func notifyCalls() async throws -> [[BusValue]] {
        let reply = try await session.call(
            Self.notifications, Self.notificationsPath, "GetMethodCalls", [.string("Notify")], timeout: Self.timeout)
        return (reply.arguments.first?.array ?? []).compactMap { call in
            guard case .structure(let fields) = call, fields.count == 2 else { return nil }
            return fields[1].array?.map(\.unwrapped)
        }
    }

    /// A button of notification `id` pressed.
    func pressAction(_ key: String, of id: UInt32) async throws {
        try await session.emit(
            Self.notifications, Self.notificationsPath, interface: Self.notifications, "ActionInvoked", "us",
            [.uint32(id), .string(key)])
    }

    /// logind announces sleep (true) or wake (false).
    func prepareForSleep(_ sleeping: Bool) async throws {
        try await system.emit(
            Self.login, Self.loginPath, interface: "org.freedesktop.login1.Manager", "PrepareForSleep", "b",
            [.boolean(sleeping)])
    }

    /// The inhibitors logind holds: (what, who, why, mode).
    func inhibitors() async throws -> [[String]] {
        let reply = try await system.call(
            Self.login, Self.loginPath, "ListInhibitors", interface: "org.freedesktop.login1.Manager",
            timeout: Self.timeout)
        return (reply.arguments.first?.array ?? []).compactMap { inhibitor in
            guard case .structure(let fields) = inhibitor else { return nil }
            return fields.prefix(4).compactMap(\.string)
        }
    }

    /// The user's graphical session locked or unlocked.
    func setLocked(_ locked: Bool) async throws {
        try await system.setProperties(
            Self.login, Self.sessionPath, "org.freedesktop.login1.Session", ["LockedHint": .boolean(locked)])
    }

    /// The user's graphical session idle since `since` (CLOCK_MONOTONIC), or active.
    func setIdle(since: Duration?) async throws {
        let microseconds = since.map { UInt64($0.components.seconds) * 1_000_000 + UInt64($0.components.attoseconds / 1_000_000_000_000) } ?? 0
        try await system.setProperties(
            Self.login, Self.sessionPath, "org.freedesktop.login1.Session",
            ["IdleSinceHintMonotonic": .uint64(microseconds), "IdleHint": .boolean(since != nil)])
    }

    /// KDE's do-not-disturb: the notification server's `Inhibited` property.
    func setInhibited(_ inhibited: Bool) async throws {
        try await session.setProperties(
            Self.notifications, Self.notificationsPath, Self.notifications, ["Inhibited": .boolean(inhibited)])
    }

    // MARK: GNOME

    static let dconf = "ca.desrt.dconf"
    static let dconfWriter = "/ca/desrt/dconf/Writer/user"
    static let dconfWriterInterface = "ca.desrt.dconf.Writer"

    /// GNOME on the session bus: GNOME Shell's name (so stretchd follows `show-banners`) and dconf's writer service.
    func startGNOME() async throws {
        try await session.startMock(name: "org.gnome.Shell", path: "/org/gnome/Shell", interface: "org.gnome.Shell")
        try await session.startMock(name: Self.dconf, path: Self.dconfWriter, interface: Self.dconfWriterInterface)
    }

    /// GNOME's do-not-disturb written as GNOME writes it: `show-banners` in the user's dconf database
    /// (`$XDG_CONFIG_HOME/dconf/user`, under `configHome`), replaced whole by `dconf compile`.
    static func writeGNOMEDoNotDisturb(_ on: Bool, configHome: String) throws {
        try DconfCompile.write(
            "[org/gnome/desktop/notifications]\nshow-banners=\(!on)\n", to: configHome + "/dconf/user")
    }

    /// The arguments of dconf's `Notify` for a change of `show-banners`: prefix, paths under it, tag.
    static let showBannersChanged: [BusValue] = [
        .string("/org/gnome/desktop/notifications/"), .strings(["show-banners"]), .string("tag"),
    ]

    /// dconf's writer says that `show-banners` changed, as it does once the database is written.
    func dconfNotify() async throws {
        try await session.emit(
            Self.dconf, Self.dconfWriter, interface: Self.dconfWriterInterface, "Notify", "sass", Self.showBannersChanged)
    }

    /// The unique name of process `pid`'s connection to the session bus, for a forger to send to it alone.
    func sessionConnection(ofProcess pid: Int32) async throws -> String {
        let bus = "org.freedesktop.DBus", busPath = "/org/freedesktop/DBus"
        let names = try await session.call(bus, busPath, "ListNames", interface: bus, timeout: Self.timeout)
        for name in names.arguments.first?.strings ?? [] where name.hasPrefix(":") {
            let owner = try? await session.call(
                bus, busPath, "GetConnectionUnixProcessID", [.string(name)], interface: bus, timeout: Self.timeout)
            if owner?.arguments.first?.integer == Int64(pid) { return name }
        }
        throw DaemonTestError("no connection of process \(pid) on the session bus")
    }
}
