import DBus
import EpollExecutor
import Foundation
import TestSupport

/// A desktop for the real `stretchd`: a private session bus with python-dbusmock's notification daemon, and a
/// private bus standing in for the system bus with dbusmock's logind, where the test user has a graphical session.
/// The test drives the mocks through their `org.freedesktop.DBus.Mock` interface over its own connections.
final class MockDesktop {
    let session: PrivateBus
    let system: PrivateBus
    let loop = EpollLoop()
    let sessionBus: BusConnection
    let systemBus: BusConnection

    static let notifications = "org.freedesktop.Notifications"
    static let notificationsPath = "/org/freedesktop/Notifications"
    static let login = "org.freedesktop.login1"
    static let loginPath = "/org/freedesktop/login1"
    static let sessionPath = "/org/freedesktop/login1/session/c1"
    static var userPath: String { "/org/freedesktop/login1/user/\(getuid())" }

    /// What the daemon's environment needs to use this desktop.
    var environment: [String: String] {
        ["DBUS_SESSION_BUS_ADDRESS": session.address, "DBUS_SYSTEM_BUS_ADDRESS": system.address]
    }

    /// Starts both buses and mocks; `notificationServer` also starts a notification daemon with buttons
    /// (dbusmock's has none unless told).
    init(notificationServer: Bool = true) async throws {
        session = try PrivateBus()
        system = try PrivateBus()
        loop.startThread()
        sessionBus = try BusConnection.connect(address: session.address, loop: loop)
        systemBus = try BusConnection.connect(address: system.address, loop: loop)
        if notificationServer {
            try await start(
                Self.notifications, on: session, sessionBus,
                ["--template", "notification_daemon", "--parameters", #"{"capabilities": "actions body"}"#])
        }
        try await start(Self.login, on: system, systemBus, ["--system", "--template", "logind"])
        // The template's GetUser adds a number to a string (python-dbusmock 0.28).
        _ = try await call(
            systemBus, Self.login, Self.loginPath, "AddMethod",
            [.string("org.freedesktop.login1.Manager"), .string("GetUser"), .string("u"), .string("o"),
             .string(#"ret = "/org/freedesktop/login1/user/%d" % args[0]"#)])
        // The test user's graphical session, which logind names in the user's Display.
        _ = try await call(
            systemBus, Self.login, Self.loginPath, "AddSession",
            [.string("c1"), .string("seat0"), .uint32(getuid()), .string("tester"), .boolean(true)])
        try await setProperties(
            systemBus, Self.login, Self.userPath, "org.freedesktop.login1.User",
            ["Display": .structure([.string("c1"), .objectPath(Self.sessionPath)])])
    }

    /// Starts a mock and returns once its name is on the bus (watched before it starts: no polling).
    private func start(_ name: String, on bus: PrivateBus, _ connection: BusConnection, _ arguments: [String]) async throws {
        let (owner, changes) = try await connection.watchNameOwner(name)
        try bus.startMock(arguments)
        if owner == nil {
            for try await change in changes where change.newOwner != nil { break }
        }
    }

    func stop() {
        sessionBus.close()
        systemBus.close()
        session.stop()
        system.stop()
        loop.stop()
    }

    // MARK: Driving the mocks

    @discardableResult
    func call(
        _ connection: BusConnection, _ destination: String, _ path: String, _ member: String, _ arguments: [BusValue],
        interface: String = "org.freedesktop.DBus.Mock"
    ) async throws -> [BusValue] {
        try await connection.call(
            MethodCall(destination: destination, path: path, interface: interface, member: member, arguments: arguments),
            timeout: .seconds(10)
        ).arguments
    }

    /// Sets properties of a mocked object, in order, each emitting PropertiesChanged as the real service would.
    /// (Through `Properties.Set`: dbusmock's `UpdateProperties` cannot carry a structure.)
    func setProperties(
        _ connection: BusConnection, _ destination: String, _ path: String, _ interface: String,
        _ values: KeyValuePairs<String, BusValue>
    ) async throws {
        for (name, value) in values {
            try await call(
                connection, destination, path, "Set", [.string(interface), .string(name), .variant(value)],
                interface: "org.freedesktop.DBus.Properties")
        }
    }

    /// The mock emits a signal from `path`.
    func emit(
        _ connection: BusConnection, _ destination: String, _ path: String, _ interface: String, _ name: String,
        _ signature: String, _ arguments: [BusValue]
    ) async throws {
        try await call(
            connection, destination, path, "EmitSignal",
            [.string(interface), .string(name), .string(signature), .array(.variant, arguments.map { .variant($0) })])
    }

    /// The arguments of each `Notify` the notification daemon received, in order.
    func notifyCalls() async throws -> [[BusValue]] {
        let reply = try await call(
            sessionBus, Self.notifications, Self.notificationsPath, "GetMethodCalls", [.string("Notify")])
        return (reply.first?.array ?? []).compactMap { call in
            guard case .structure(let fields) = call, fields.count == 2 else { return nil }
            return fields[1].array?.map(\.unwrapped)
        }
    }

    /// A button of notification `id` pressed.
    func pressAction(_ key: String, of id: UInt32) async throws {
        try await emit(
            sessionBus, Self.notifications, Self.notificationsPath, Self.notifications, "ActionInvoked", "us",
            [.uint32(id), .string(key)])
    }

    /// logind announces sleep (true) or wake (false).
    func prepareForSleep(_ sleeping: Bool) async throws {
        try await emit(
            systemBus, Self.login, Self.loginPath, "org.freedesktop.login1.Manager", "PrepareForSleep", "b",
            [.boolean(sleeping)])
    }

    /// The inhibitors logind holds: (what, who, why, mode).
    func inhibitors() async throws -> [[String]] {
        let reply = try await call(
            systemBus, Self.login, Self.loginPath, "ListInhibitors", [], interface: "org.freedesktop.login1.Manager")
        return (reply.first?.array ?? []).compactMap { inhibitor in
            guard case .structure(let fields) = inhibitor else { return nil }
            return fields.prefix(4).compactMap(\.string)
        }
    }

    /// The user's graphical session locked or unlocked.
    func setLocked(_ locked: Bool) async throws {
        try await setProperties(
            systemBus, Self.login, Self.sessionPath, "org.freedesktop.login1.Session", ["LockedHint": .boolean(locked)])
    }

    /// The user's graphical session idle since `since` (CLOCK_MONOTONIC), or active.
    func setIdle(since: Duration?) async throws {
        let microseconds = since.map { UInt64($0.components.seconds) * 1_000_000 + UInt64($0.components.attoseconds / 1_000_000_000_000) } ?? 0
        try await setProperties(
            systemBus, Self.login, Self.sessionPath, "org.freedesktop.login1.Session",
            ["IdleSinceHintMonotonic": .uint64(microseconds), "IdleHint": .boolean(since != nil)])
    }

    /// KDE's do-not-disturb: the notification server's `Inhibited` property.
    func setInhibited(_ inhibited: Bool) async throws {
        try await setProperties(
            sessionBus, Self.notifications, Self.notificationsPath, Self.notifications, ["Inhibited": .boolean(inhibited)])
    }

    /// Now on CLOCK_MONOTONIC, the clock logind's `IdleSinceHintMonotonic` is read on.
    static func monotonicNow() -> Duration {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec)
    }
}
