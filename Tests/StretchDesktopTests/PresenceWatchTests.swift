import DBus
import EpollExecutor
import Foundation
import InMemoryLogging
import Logging
import StretchSystem
@testable import StretchDesktop
import Testing
import TestSupport

/// A "system" and a session bus, each a private `dbus-daemon`, a `PresenceWatch` running on them, and a client
/// connection on each to drive the mocks: python-dbusmock's logind template (wrapped to set up sessions before it
/// takes its name) on the system bus, a Mutter idle monitor template on the session bus.
final class PresenceDesk: @unchecked Sendable {
    // @unchecked: `watch` is set once by the test that owns the desk.
    static let uid: UInt32 = 4242
    static let login1 = "org.freedesktop.login1"
    static let mutter = "org.gnome.Mutter.IdleMonitor"
    static let mutterPath = "/org/gnome/Mutter/IdleMonitor/Core"

    let systemMocks: MockBus
    let sessionMocks: MockBus
    let loop: EpollLoop
    let events = RecordedEvents()
    let log = InMemoryLogHandler()
    let buses: BusConnections
    private var watch: Task<Void, any Error>?

    var system: PrivateBus { systemMocks.bus }
    var session: PrivateBus { sessionMocks.bus }

    /// - Parameter systemBus: false: the service finds no system bus at all.
    init(systemBus: Bool = true) throws {
        loop = EpollLoop()
        loop.startThread()
        systemMocks = try MockBus(on: loop)
        sessionMocks = try MockBus(on: loop)
        try Self.logindTemplate.write(toFile: systemMocks.bus.directory + "/stretchd_logind.py", atomically: true, encoding: .utf8)
        try Self.mutterTemplate.write(toFile: sessionMocks.bus.directory + "/stretchd_mutter.py", atomically: true, encoding: .utf8)
        let addresses = [BusConnections.Bus.system: systemBus ? systemMocks.address : "unix:path=/nonexistent/stretchd-test/bus",
                         .session: sessionMocks.address]
        buses = .opening(loop: loop, logger: Logger(label: "buses") { [log] _ in log }) { addresses[$0] ?? "" }
    }

    /// Starts the service (once).
    func start(idleWatch: Duration = .seconds(5)) {
        let log = log
        let service = PresenceWatch(
            buses: buses, events: events, logger: Logger(label: "presence") { _ in log }, user: uid_t(Self.uid),
            idleWatch: idleWatch)
        watch = Task { try await service.run() }
    }

    /// Runs `body` on a new desk, which is stopped afterwards whatever happens.
    static func with(systemBus: Bool = true, _ body: (PresenceDesk) async throws -> Void) async throws {
        let desk = try PresenceDesk(systemBus: systemBus)
        do {
            try await body(desk)
        } catch {
            await desk.stop()
            throw error
        }
        await desk.stop()
    }

    /// Cancels the service and waits for `run()` to return, then ends the buses.
    func stop() async {
        _ = await stopService()
        systemMocks.stop()
        sessionMocks.stop()
        loop.stop()
    }

    /// The service's `run()` returned: it was cancelled (only that ends it).
    func stopService() async -> Result<Void, any Error>? {
        watch?.cancel()
        return await watch?.result
    }

    var infos: [String] { log.entries.filter { $0.level == .info }.map(\.message.description) }

    /// Waits, a bus round trip at a time (no sleeping), until an info message starting with `prefix` was logged;
    /// false if it never was.
    func logged(_ prefix: String) async throws -> Bool {
        for _ in 0..<20_000 {
            if infos.contains(where: { $0.hasPrefix(prefix) }) { return true }
            _ = try await systemMocks.driver.nameOwner(of: "org.freedesktop.DBus")
        }
        return false
    }

    // MARK: Mocks

    /// logind on the system bus with `sessions` (id: hints) of user 4242, `display` its graphical session; returns
    /// once it owns its name. `unknownUser`: `GetUser` says NoSuchUser.
    func startLogind(sessions: [String: [String: Any]] = [:], display: String? = nil, unknownUser: Bool = false)
        async throws
    {
        var parameters: [String: Any] = ["uid": Self.uid, "sessions": sessions, "unknown_user": unknownUser]
        if let display { parameters["display"] = display }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: parameters), as: UTF8.self)
        try await systemMocks.startMock(
            ["--template", system.directory + "/stretchd_logind.py", "-p", json], owning: Self.login1)
    }

    /// Mutter's idle monitor on the session bus, whose `GetIdletime` says `idletime` ms; returns once it owns its
    /// name.
    func startMutter(idletime: Int = 0) async throws {
        try await sessionMocks.startMock(
            ["--template", session.directory + "/stretchd_mutter.py", "-p", "{\"idletime\": \(idletime)}"],
            owning: Self.mutter)
    }

    static func sessionPath(_ id: String) -> String { "/org/freedesktop/login1/session/" + id }
    static let userPath = "/org/freedesktop/login1/user/\(uid)"

    /// dbusmock's control interface on one of logind's objects.
    @discardableResult
    func logind(_ path: String, _ member: String, _ arguments: [BusValue]) async throws -> BusMessage {
        try await systemMocks.call(Self.login1, path, member, arguments)
    }

    /// Sets properties of a logind object and sends PropertiesChanged with their values.
    func update(_ path: String, _ properties: [String: BusValue]) async throws {
        try await logind(path, "UpdateProperties", ["", .variantDictionary(properties)])
    }

    /// Sets the user's `Display` with the Properties interface, whose PropertiesChanged carries the value
    /// (dbusmock's UpdateProperties cannot send a structure).
    func setDisplay(_ session: String) async throws {
        try await systemMocks.setProperties(
            Self.login1, Self.userPath, "org.freedesktop.login1.User",
            ["Display": .structure([.string(session), .objectPath(Self.sessionPath(session))])])
    }

    /// Sets properties of a logind object silently, then sends PropertiesChanged naming them as invalidated only.
    func invalidate(_ path: String, interface: String, _ properties: [String: BusValue]) async throws {
        try await systemMocks.call(
            Self.login1, path, "SetQuietly", [.string(interface), .variantDictionary(properties)],
            interface: "org.stretchd.Test")
        try await systemMocks.emit(
            Self.login1, path, interface: "org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as",
            [.string(interface), .variantDictionary([:]), .strings(properties.keys.sorted())])
    }

    /// Mutter's `WatchFired(id)`.
    func fire(_ id: UInt32) async throws {
        try await sessionMocks.emit(Self.mutter, Self.mutterPath, interface: Self.mutter, "WatchFired", "u", [.uint32(id)])
    }

    /// The methods called on Mutter's mock so far, with their arguments.
    func mutterCalls() async throws -> [(String, [BusValue])] {
        let reply = try await sessionMocks.call(Self.mutter, Self.mutterPath, "GetCalls")
        return (reply.arguments.first?.array ?? []).compactMap { call in
            guard case .structure(let fields) = call, fields.count == 3, let name = fields[1].string else { return nil }
            return (name, (fields[2].array ?? []).map(\.unwrapped))
        }
    }

    /// The logind template, with user 4242's sessions, its Display, a `SetQuietly` on the user and sessions, and a
    /// working `GetUser`, set up before the mock takes its name.
    static let logindTemplate = """
        '''logind for stretchd's tests: dbusmock's logind template, set up from the parameters.'''
        import dbus
        from dbusmock import mockobject
        from dbusmock.templates import logind
        from dbusmock.templates.logind import *  # its methods and names

        QUIET = ('SetQuietly', 'sa{sv}', '', 'self.props[args[0]].update(args[1])')


        def load(mock, parameters):
            logind.load(mock, parameters)
            uid = parameters['uid']
            mock.AddUser(dbus.UInt32(uid), 'tester', True)
            user = mockobject.objects[f'/org/freedesktop/login1/user/{uid}']
            user.AddMethods('org.stretchd.Test', [QUIET])
            for session_id, hints in parameters['sessions'].items():
                path = mock.AddSession(session_id, 'seat0', dbus.UInt32(uid), 'tester', True)
                session = mockobject.objects[path]
                session.AddMethods('org.stretchd.Test', [QUIET])
                for name, value in hints.items():
                    if isinstance(value, int) and not isinstance(value, bool):
                        value = dbus.UInt64(value)
                    session.props['org.freedesktop.login1.Session'][name] = value
            display = parameters.get('display')
            if display:
                user.props['org.freedesktop.login1.User']['Display'] = dbus.Struct(
                    (display, dbus.ObjectPath('/org/freedesktop/login1/session/' + display)), signature='so')
            # The template's GetUser adds a number to a string (python-dbusmock 0.28).
            mock.AddMethod(MAIN_IFACE, 'GetUser', 'u', 'o', 'ret = "/org/freedesktop/login1/user/%d" % args[0]')
            if parameters['unknown_user']:
                mock.AddMethod(MAIN_IFACE, 'GetUser', 'u', 'o',
                               'raise dbus.exceptions.DBusException("no such user", '
                               'name="org.freedesktop.login1.NoSuchUser")')
        """

    /// GNOME's idle monitor: idle watches are id 1, user-active watches id 2; `GetIdletime` says the "idletime"
    /// parameter.
    static let mutterTemplate = """
        '''org.gnome.Mutter.IdleMonitor for stretchd's tests.'''
        import dbus

        BUS_NAME = 'org.gnome.Mutter.IdleMonitor'
        MAIN_OBJ = '/org/gnome/Mutter/IdleMonitor/Core'
        MAIN_IFACE = 'org.gnome.Mutter.IdleMonitor'
        SYSTEM_BUS = False


        def load(mock, parameters):
            mock.AddMethods(MAIN_IFACE, [
                ('AddIdleWatch', 't', 'u', 'ret = dbus.UInt32(1)'),
                ('AddUserActiveWatch', '', 'u', 'ret = dbus.UInt32(2)'),
                ('RemoveWatch', 'u', '', ''),
                ('GetIdletime', '', 't', 'ret = dbus.UInt64(%d)' % parameters.get('idletime', 0)),
            ])
        """
}

@Suite(.needsPrivateBus, .timeLimit(.minutes(1)))
struct PresenceWatchTests {
    @Test func theSessionsLockAtStartIsReportedAndThenItsChanges() async throws {
        try await PresenceDesk.with { desk in
            try await desk.startLogind(sessions: ["c1": ["LockedHint": true]], display: "c1")
            desk.start()
            #expect(await desk.events.next() == .locked(true))
            #expect(await desk.events.next() == .idle(since: nil))

            try await desk.update(PresenceDesk.sessionPath("c1"), ["LockedHint": false])
            #expect(await desk.events.next() == .locked(false))
            // A change that is only announced as invalidated is read.
            try await desk.invalidate(
                PresenceDesk.sessionPath("c1"), interface: "org.freedesktop.login1.Session", ["LockedHint": true])
            #expect(await desk.events.next() == .locked(true))
        }
    }

    @Test func idleHintIsReportedSinceItsMonotonicTime() async throws {
        try await PresenceDesk.with { desk in
            try await desk.startLogind(sessions: ["c1": [:]], display: "c1")
            desk.start()
            #expect(await desk.events.next() == .locked(false))
            #expect(await desk.events.next() == .idle(since: nil))

            try await desk.update(
                PresenceDesk.sessionPath("c1"), ["IdleHint": true, "IdleSinceHintMonotonic": .uint64(123_456_789)])
            #expect(await desk.events.next() == .idle(since: .microseconds(123_456_789)))
            try await desk.update(PresenceDesk.sessionPath("c1"), ["IdleHint": false])
            #expect(await desk.events.next() == .idle(since: nil))

            // Idle with no time given (0): since it was seen.
            let before = SystemTime().awake()
            try await desk.invalidate(
                PresenceDesk.sessionPath("c1"), interface: "org.freedesktop.login1.Session",
                ["IdleHint": true, "IdleSinceHintMonotonic": .uint64(0)])
            let event = await desk.events.next()
            let after = SystemTime().awake()
            guard case .idle(let since?) = event else {
                Issue.record("expected idle, got \(event)")
                return
            }
            #expect(since >= before && since <= after)
        }
    }

    @Test func theUsersNewGraphicalSessionIsFollowedAndTheOldOneIgnored() async throws {
        try await PresenceDesk.with { desk in
            try await desk.startLogind(sessions: ["c1": [:], "c2": ["LockedHint": true]], display: "c1")
            desk.start()
            #expect(await desk.events.next() == .locked(false))
            #expect(await desk.events.next() == .idle(since: nil))

            // Display moves to c2: its hints now.
            try await desk.setDisplay("c2")
            #expect(await desk.events.next() == .locked(true))
            #expect(await desk.events.next() == .idle(since: nil))
            // c1 is no longer heard; c2 is.
            try await desk.update(PresenceDesk.sessionPath("c1"), ["IdleHint": true, "IdleSinceHintMonotonic": .uint64(7)])
            try await desk.update(PresenceDesk.sessionPath("c2"), ["LockedHint": false])
            #expect(await desk.events.next() == .locked(false))

            // No graphical session ("/", announced as invalidated): nothing known, unlocked and active.
            try await desk.update(PresenceDesk.sessionPath("c2"), ["LockedHint": true])
            #expect(await desk.events.next() == .locked(true))
            try await desk.invalidate(
                PresenceDesk.userPath, interface: "org.freedesktop.login1.User",
                ["Display": .structure(["", .objectPath("/")])])
            #expect(await desk.events.next() == .locked(false))
            #expect(await desk.events.next() == .idle(since: nil))
            #expect(await desk.events.pending().isEmpty)
        }
    }

    @Test func aUserLogindDoesNotKnowYetIsFollowedOnceItAnnouncesThem() async throws {
        try await PresenceDesk.with { desk in
            try await desk.startLogind(sessions: ["c1": ["LockedHint": true]], display: "c1", unknownUser: true)
            desk.start()
            // GetUser says NoSuchUser: logged once; then UserNew announces the user (another user's is passed over).
            #expect(try await desk.logged("logind does not know user 4242 yet"))
            try await desk.logind("/org/freedesktop/login1", "EmitSignal", [
                "org.freedesktop.login1.Manager", "UserNew", "uo",
                .array(.variant, [
                    .variant(.uint32(PresenceDesk.uid + 1)), .variant(.objectPath("/org/freedesktop/login1/user/1")),
                ]),
            ])
            try await desk.logind("/org/freedesktop/login1", "EmitSignal", [
                "org.freedesktop.login1.Manager", "UserNew", "uo",
                .array(.variant, [.variant(.uint32(PresenceDesk.uid)), .variant(.objectPath(PresenceDesk.userPath))]),
            ])
            #expect(await desk.events.next() == .locked(true))
            #expect(desk.infos.filter { $0.contains("does not know user 4242") }.count == 1)
        }
    }

    @Test func mutterReportsIdleWhenItsWatchFiresAndActiveAtTheNextInput() async throws {
        try await PresenceDesk.with { desk in
            try await desk.startMutter(idletime: 0)
            desk.start(idleWatch: .seconds(5))
            // No logind on the system bus: idle from Mutter alone, active at start.
            #expect(await desk.events.next() == .idle(since: nil))
            #expect(try await desk.mutterCalls().map(\.0) == ["AddIdleWatch", "GetIdletime"])
            #expect(try await desk.mutterCalls().first?.1 == [.uint64(5_000)])

            let before = SystemTime().awake()
            try await desk.fire(1)
            let idle = await desk.events.next()
            let after = SystemTime().awake()
            guard case .idle(let since?) = idle else {
                Issue.record("expected idle, got \(idle)")
                return
            }
            #expect(since >= before - .seconds(5) && since <= after - .seconds(5))
            // The user-active watch was added before idle was reported.
            #expect(try await desk.mutterCalls().map(\.0) == ["AddIdleWatch", "GetIdletime", "AddUserActiveWatch"])
            try await desk.fire(2)
            #expect(await desk.events.next() == .idle(since: nil))
            #expect(try await desk.logged("logind is not on the system bus"))
            #expect(desk.infos.filter { $0.hasPrefix("logind is not on the system bus") }.count == 1)
        }
    }

    @Test func aRestartedMutterGetsItsWatchesAgain() async throws {
        try await PresenceDesk.with { desk in
            try await desk.startMutter(idletime: 0)
            desk.start()
            #expect(await desk.events.next() == .idle(since: nil))

            // gnome-shell restarts, and finds the user idle for 7 s already.
            desk.session.stopMocks()
            let before = SystemTime().awake()
            try await desk.startMutter(idletime: 7_000)
            let idle = await desk.events.next()
            let after = SystemTime().awake()
            guard case .idle(let since?) = idle else {
                Issue.record("expected idle, got \(idle)")
                return
            }
            #expect(since >= before - .seconds(7) && since <= after - .seconds(7))
            #expect(try await desk.mutterCalls().map(\.0) == ["AddIdleWatch", "GetIdletime", "AddUserActiveWatch"])
            // Its idle watch firing too (as Mutter's does when added while idle) changes nothing; the next input does.
            try await desk.fire(1)
            try await desk.fire(2)
            #expect(await desk.events.next() == .idle(since: nil))
        }
    }

    @Test func withoutLogindOrMutterItLogsOnceEachAndFollowsThemWhenTheyStart() async throws {
        try await PresenceDesk.with { desk in
            let noLogind = "logind is not on the system bus"
            let noMutter = "GNOME's idle monitor (org.gnome.Mutter.IdleMonitor) is not on the session bus"
            desk.start()
            #expect(try await desk.logged(noLogind))
            #expect(try await desk.logged(noMutter))
            try await desk.startLogind(sessions: ["c1": ["LockedHint": true]], display: "c1")
            #expect(await desk.events.next() == .locked(true))
            #expect(await desk.events.next() == .idle(since: nil))
            try await desk.startMutter(idletime: 0)
            #expect(await desk.events.next() == .idle(since: nil))
            #expect(desk.infos.filter { $0.hasPrefix(noLogind) }.count == 1)
            #expect(desk.infos.filter { $0.hasPrefix(noMutter) }.count == 1)

            // logind leaves: nothing known about the lock any more.
            desk.system.stopMocks()
            #expect(await desk.events.next() == .locked(false))
            let result = await desk.stopService()
            #expect(result.map { (try? $0.get()) != nil } == true)
        }
    }

    @Test func withNoSystemBusAtAllMutterStillWorksAndCancellingEndsRun() async throws {
        try await PresenceDesk.with(systemBus: false) { desk in
            try await desk.startMutter(idletime: 9_000)
            desk.start()
            guard case .idle(let since?) = await desk.events.next() else {
                Issue.record("expected idle")
                return
            }
            #expect(since <= SystemTime().awake() - .seconds(9))
            #expect(try await desk.logged("D-Bus system bus unavailable"))
            #expect(desk.infos.filter { $0.hasPrefix("D-Bus system bus unavailable") }.count == 1)
            let result = await desk.stopService()
            #expect(result.map { (try? $0.get()) != nil } == true)
        }
    }
}

/// Forgeries from a second connection: they change nothing, while logind's and Mutter's own signals still count.
@Suite(.needsPrivateBus, .timeLimit(.minutes(1)))
struct PresenceForgeryTests {
    @Test func forgedSessionHintsChangeNothingWhileLogindsOwnDo() async throws {
        try await PresenceDesk.with { desk in
            try await desk.startLogind(sessions: ["c1": [:]], display: "c1")
            try await desk.systemMocks.startForger()
            desk.start()
            #expect(await desk.events.next() == .locked(false))
            #expect(await desk.events.next() == .idle(since: nil))

            let me = try #require(await desk.buses.connection(.system)?.uniqueName)
            // Locked and idle, to the watch alone and to everyone, claiming the session's object.
            for destination in [me, nil] {
                try await desk.systemMocks.forge(
                    to: destination, PresenceDesk.sessionPath("c1"), interface: "org.freedesktop.DBus.Properties",
                    "PropertiesChanged", "sa{sv}as",
                    [
                        "org.freedesktop.login1.Session",
                        .variantDictionary(["LockedHint": true, "IdleHint": true, "IdleSinceHintMonotonic": .uint64(1)]),
                        .strings([]),
                    ])
            }
            // logind's own changes come after them on the same connection: the first event is its, none is locked.
            try await desk.update(
                PresenceDesk.sessionPath("c1"), ["IdleHint": true, "IdleSinceHintMonotonic": .uint64(123_456_789)])
            #expect(await desk.events.next() == .idle(since: .microseconds(123_456_789)))
            try await desk.update(PresenceDesk.sessionPath("c1"), ["LockedHint": true])
            #expect(await desk.events.next() == .locked(true))
            #expect(await desk.events.pending() == [])
        }
    }

    @Test func aForgedMutterWatchFiredChangesNothingWhileMuttersOwnDoes() async throws {
        try await PresenceDesk.with(systemBus: false) { desk in
            try await desk.startMutter(idletime: 0)
            try await desk.sessionMocks.startForger()
            desk.start()
            #expect(await desk.events.next() == .idle(since: nil))

            let me = try #require(await desk.buses.connection(.session)?.uniqueName)
            // Idle, then active, by the watches' ids (Mutter sends them to the watch's client alone): believed, they
            // would make two events more and add a second user-active watch.
            for id: UInt32 in [1, 2] {
                try await desk.sessionMocks.forge(
                    to: me, PresenceDesk.mutterPath, interface: PresenceDesk.mutter, "WatchFired", "u", [.uint32(id)])
            }
            // Mutter's own come after them on the same connection: idle, its active watch added once, then active.
            try await desk.fire(1)
            guard case .idle(_?) = await desk.events.next() else {
                Issue.record("expected idle")
                return
            }
            try await desk.fire(2)
            #expect(await desk.events.next() == .idle(since: nil))
            #expect(await desk.events.pending() == [])
            #expect(try await desk.mutterCalls().map(\.0) == ["AddIdleWatch", "GetIdletime", "AddUserActiveWatch"])
        }
    }
}

/// The merge of logind's and Mutter's views, with no bus.
struct PresenceMergeTests {
    typealias Merge = PresenceWatch.Merge

    @Test func whileMutterIsThereLogindsIdleHintIsIgnoredAndUsedAgainWhenItLeaves() {
        var merge = Merge()
        #expect(merge.apply(.logind(locked: false, idleSince: nil, fresh: true)) == [.locked(false), .idle(since: nil)])
        #expect(merge.apply(.mutter(idleSince: nil, fresh: true)) == [.idle(since: nil)])
        #expect(merge.apply(.mutter(idleSince: .seconds(100), fresh: false)) == [.idle(since: .seconds(100))])
        // GNOME sets IdleHint minutes later, dated later: Mutter's time stands; the lock still comes from logind.
        #expect(merge.apply(.logind(locked: true, idleSince: .seconds(400), fresh: false)) == [.locked(true)])
        #expect(merge.apply(.mutter(idleSince: nil, fresh: false)) == [.idle(since: nil)])
        // Mutter goes: logind's hint (still idle) is reported.
        #expect(merge.apply(.mutterGone) == [.idle(since: .seconds(400))])
        #expect(merge.apply(.logind(locked: true, idleSince: nil, fresh: false)) == [.idle(since: nil)])
    }

    @Test func onlyChangesAreReportedExceptWhatWasJustRead() {
        var merge = Merge()
        // Nothing known before anything was reported: the daemon's belief (unlocked, active) stands.
        #expect(merge.apply(PresenceWatch.unknown).isEmpty)
        #expect(merge.apply(.mutterGone).isEmpty)
        #expect(merge.apply(.logind(locked: true, idleSince: nil, fresh: false)) == [.locked(true)])
        #expect(merge.apply(.logind(locked: true, idleSince: nil, fresh: false)).isEmpty)
        #expect(merge.apply(.logind(locked: true, idleSince: nil, fresh: true)) == [.locked(true), .idle(since: nil)])
        #expect(merge.apply(PresenceWatch.unknown) == [.locked(false)])
    }

    @Test func idleWatchIntervalsAreWholeMillisecondsAndNeverZero() {
        #expect(PresenceWatch.milliseconds(.seconds(5)) == 5_000)
        #expect(PresenceWatch.milliseconds(.milliseconds(1_500)) == 1_500)
        #expect(PresenceWatch.milliseconds(.zero) == 1)
        #expect(PresenceWatch.milliseconds(.seconds(-3)) == 1)
    }
}

/// Not a test but a measurement, run by hand: `STRETCHD_MEASURE_PRESENCE_IDLE=60 swift test --skip-build --filter
/// aWatchingPresenceWatchIdles` prints how often the bus loop's thread woke over that many seconds while the service
/// followed logind and Mutter (both mocks up, nothing changing); 0 means no timer and no polling.
@Suite(.measurementOnPrivateBus("STRETCHD_MEASURE_PRESENCE_IDLE"))
struct PresenceIdleMeasurement {
    @Test func aWatchingPresenceWatchIdles() async throws {
        let seconds = Int(ProcessInfo.processInfo.environment["STRETCHD_MEASURE_PRESENCE_IDLE"] ?? "") ?? 60
        try await PresenceDesk.with { desk in
            try await desk.startLogind(sessions: ["c1": [:]], display: "c1")
            try await desk.startMutter()
            desk.start()
            // Both sources read: lock and idle from logind, then idle from Mutter (in either order).
            for _ in 0..<3 { _ = await desk.events.next() }
            let thread = try await Task(executorPreference: desk.loop.taskExecutor) {
                try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")
            }.value
            func switches() throws -> Int {
                let status = try String(contentsOfFile: "/proc/\(thread)/status", encoding: .utf8)
                return status.split(separator: "\n").filter { $0.contains("ctxt_switches:") }.reduce(0) { total, line in
                    total + (Int(line.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0)
                }
            }
            try await Task.sleep(for: .seconds(1))
            let before = try switches()
            try await Task.sleep(for: .seconds(seconds))
            let after = try switches()
            print("presence idle: the bus loop thread was switched to \(after - before) times in \(seconds) s")
        }
    }
}
