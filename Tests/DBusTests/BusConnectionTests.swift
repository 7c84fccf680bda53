@testable import DBus
import InMemoryLogging
import Logging
import Synchronization
@testable import EpollExecutor
import Foundation
import Testing
import TestSupport

/// A private bus with python-dbusmock's notification daemon on it, and a connection to it processed on a loop of
/// its own; `stop()` ends all three.
struct Peer {
    let mocks: MockBus
    let loop: EpollLoop
    var bus: PrivateBus { mocks.bus }
    var connection: BusConnection { mocks.driver }

    static let notifications = "org.freedesktop.Notifications"
    static let path = "/org/freedesktop/Notifications"

    init(template: [String] = ["--template", "notification_daemon"], name: String = Peer.notifications) async throws {
        loop = EpollLoop()
        loop.startThread()
        mocks = try MockBus(on: loop)
        try await mocks.startMock(template, owning: name)
    }

    func stop() {
        mocks.stop()
        loop.stop()
    }

    /// A method of the notification daemon.
    func notifications(_ member: String, _ arguments: [BusValue] = []) -> MethodCall {
        MethodCall(
            destination: Self.notifications, path: Self.path, interface: Self.notifications, member: member,
            arguments: arguments)
    }

    /// A method of dbusmock's control interface on the notification daemon's object.
    func mock(_ member: String, _ arguments: [BusValue]) -> MethodCall {
        MethodCall(
            destination: Self.notifications, path: Self.path, interface: MockBus.mockInterface, member: member,
            arguments: arguments)
    }
}

@Suite(.needsPrivateBus, .timeLimit(.minutes(1)))
struct BusConnectionTests {
    @Test func aMethodCallReturnsThePeersReply() async throws {
        let peer = try await Peer()
        defer { peer.stop() }
        let information = try await peer.connection.call(peer.notifications("GetServerInformation"))
        #expect(information.signature == "ssss")
        #expect(information.arguments.map(\.string) == ["mock-notify", "test vendor", "1.0", "1.1"])

        let capabilities = try await peer.connection.call(peer.notifications("GetCapabilities"))
        #expect(capabilities.arguments.first?.strings?.contains("body") == true)

        // Notify(app_name, replaces_id, icon, summary, body, actions, hints, timeout) -> id
        let notify = peer.notifications("Notify", [
            "stretchd", .uint32(0), "", "Time to stretch", "quick, 2 min",
            .strings(["default", "Start now", "snooze", "Snooze"]),
            .variantDictionary(["urgency": .byte(1), "resident": true, "category": "presence"]),
            .int32(-1),
        ])
        let first = try await peer.connection.call(notify)
        let second = try await peer.connection.call(notify)
        #expect(first.signature == "u")
        let ids = [first.arguments.first?.uint32, second.arguments.first?.uint32]
        #expect(ids.allSatisfy { ($0 ?? 0) > 0 })
        #expect(ids[0] != ids[1])
    }

    @Test func aFailingCallThrowsTheDBusErrorNameAndMessage() async throws {
        let peer = try await Peer()
        defer { peer.stop() }
        let unknownMethod = await #expect(throws: BusError.self) {
            try await peer.connection.call(peer.notifications("NoSuchMethod"))
        }
        #expect(unknownMethod?.name == "org.freedesktop.DBus.Error.UnknownMethod")
        #expect(unknownMethod?.message?.contains("NoSuchMethod") == true)
        #expect(unknownMethod?.description.hasPrefix("org.freedesktop.DBus.Error.UnknownMethod: ") == true)

        let noPeer = await #expect(throws: BusError.self) {
            try await peer.connection.call(
                MethodCall(destination: "org.example.Nobody", path: "/", interface: "org.example.Nobody", member: "Hello"))
        }
        #expect(noPeer?.name == "org.freedesktop.DBus.Error.ServiceUnknown")
        // The connection is still good after errors.
        #expect(try await peer.connection.nameOwner(of: Peer.notifications) != nil)
    }

    @Test func valuesOfEveryKindGoThereAndBackUnchanged() async throws {
        let peer = try await Peer()
        defer { peer.stop() }
        // Two echo methods: dbus-python refuses some long mixed signatures in one.
        let basics: [BusValue] = [
            .byte(200), true, .int16(-3), .uint16(65_000), .int32(-70_000), .uint32(4_000_000_000),
            .int64(-1 << 40), .uint64(1 << 63), .double(2.5), "héllo 'quoted'", .objectPath("/org/example/Thing"),
            .signature("a{sv}"),
        ]
        let containers: [BusValue] = [
            .variant(.uint32(7)), .array(.variant, []),
            .variantDictionary(["locked": true, "name": "seat0", "session": .objectPath("/session/c1"), "count": .uint32(3)]),
            .dictionary(key: .string, value: .uint32, [.init(key: "a", value: .uint32(1))]),
            .structure([.uint32(5), false]), .array(.array(.string), [.strings(["x", "y"]), .strings([])]),
        ]
        for (member, arguments) in [("Basics", basics), ("Containers", containers)] {
            let signature = arguments.map(\.type.signature).joined()
            try await peer.connection.call(
                peer.mock("AddMethod", ["org.example.Echo", .string(member), .string(signature), .string(signature), "ret = tuple(args)"]))
            let reply = try await peer.connection.call(
                MethodCall(
                    destination: Peer.notifications, path: Peer.path, interface: "org.example.Echo", member: member,
                    arguments: arguments))
            #expect(reply.signature == signature)
            #expect(reply.arguments == arguments)
        }
        #expect(containers.map(\.type.signature).joined() == "vava{sv}a{su}(ub)aas")
        let dictionary = containers[2].stringKeyed
        #expect(dictionary?["locked"]?.bool == true)
        #expect(dictionary?["session"]?.string == "/session/c1")
        #expect(dictionary?["count"]?.uint32 == 3)
    }

    @Test func aSignalThePeerEmitsArrivesOnTheStream() async throws {
        let peer = try await Peer()
        defer { peer.stop() }
        let signals = try await peer.connection.signals(
            SignalMatch(sender: Peer.notifications, path: Peer.path, interface: Peer.notifications, member: "ActionInvoked"))
        // EmitSignal(interface, name, signature, args)
        try await peer.connection.call(
            peer.mock("EmitSignal", [
                .string(Peer.notifications), "ActionInvoked", "us", .array(.variant, [.variant(.uint32(7)), .variant("snooze")]),
            ]))
        var iterator = signals.makeAsyncIterator()
        let signal = try await iterator.next()
        #expect(signal?.member == "ActionInvoked")
        #expect(signal?.interface == Peer.notifications)
        #expect(signal?.arguments == [.uint32(7), "snooze"])
    }

    @Test func aSignalHandedOverAsReadIsThereBeforeTheReplyThatFollowsIt() async throws {
        let peer = try await Peer()
        defer { peer.stop() }
        let received = Mutex<[BusMessage]>([])
        var subscription: AsyncThrowingStream<Never, any Error>? = try await peer.connection.signals(
            SignalMatch(sender: Peer.notifications, path: Peer.path, interface: Peer.notifications, member: "ActionInvoked")
        ) { signal in received.withLock { $0.append(signal) } }
        // The mock emits the signal before it replies: when the reply is back, the signal was handed over.
        try await peer.connection.call(
            peer.mock("EmitSignal", [
                .string(Peer.notifications), "ActionInvoked", "us", .array(.variant, [.variant(.uint32(7)), .variant("snooze")]),
            ]))
        #expect(received.withLock { $0.map(\.arguments) } == [[.uint32(7), "snooze"]])
        #expect(peer.connection.core.subscriptionCount == 1)
        subscription = nil
        #expect(subscription == nil)
        #expect(peer.connection.core.subscriptionCount == 0)
    }

    @Test func aSubscriptionEndsWhenItsStreamIsDroppedOrItsConsumerCancelled() async throws {
        let peer = try await Peer()
        defer { peer.stop() }
        let connection = peer.connection
        var dropped: AsyncThrowingStream<BusMessage, any Error>? = try await connection.signals(SignalMatch(member: "A"))
        #expect(connection.core.subscriptionCount == 1)
        dropped = nil
        #expect(dropped == nil)
        #expect(connection.core.subscriptionCount == 0)

        let consumer = Task {
            for try await _ in try await connection.signals(SignalMatch(member: "B")) {}
        }
        #expect(await eventually { connection.core.subscriptionCount == 1 })
        consumer.cancel()
        _ = await consumer.result
        #expect(connection.core.subscriptionCount == 0)
        // The bus took the matches away too: the connection is in order.
        #expect(try await connection.nameOwner(of: Peer.notifications) != nil)
    }

    @Test func propertiesAreReadAndTheirChangesArrive() async throws {
        let peer = try await Peer()
        defer { peer.stop() }
        try await peer.connection.call(peer.mock("AddProperty", [.string(Peer.notifications), "Inhibited", .variant(false)]))
        // Subscribe, then read the current value.
        let changes = try await peer.connection.signals(
            .propertiesChanged(sender: Peer.notifications, path: Peer.path, interface: Peer.notifications))
        let inhibited = try await peer.connection.property(
            destination: Peer.notifications, path: Peer.path, interface: Peer.notifications, name: "Inhibited")
        #expect(inhibited == false)
        let all = try await peer.connection.properties(destination: Peer.notifications, path: Peer.path, interface: Peer.notifications)
        #expect(all["Inhibited"] == false)

        try await peer.connection.call(
            peer.mock("UpdateProperties", [.string(Peer.notifications), .variantDictionary(["Inhibited": true])]))
        var iterator = changes.makeAsyncIterator()
        let changed = try await iterator.next()
        #expect(changed?.arguments.first == .string(Peer.notifications))
        #expect(changed?.arguments.dropFirst().first?.stringKeyed?["Inhibited"]?.bool == true)
    }

    @Test func aUnixFileDescriptorInAReplyIsOwnedByTheCaller() async throws {
        let peer = try await Peer(template: ["--session", "--template", "logind"], name: "org.freedesktop.login1")
        defer { peer.stop() }
        let reply = try await peer.connection.call(
            MethodCall(
                destination: "org.freedesktop.login1", path: "/org/freedesktop/login1",
                interface: "org.freedesktop.login1.Manager", member: "Inhibit",
                arguments: ["sleep", "stretchd", "a session is running", "delay"]))
        #expect(reply.signature == "h")
        let descriptor = try #require(reply.arguments.first?.fileDescriptor)
        #expect(fcntl(descriptor.rawValue, F_GETFD) >= 0)
        #expect(fcntl(descriptor.rawValue, F_GETFD) & FD_CLOEXEC != 0)
    }

    @Test func aUnixFileDescriptorSentGoesOverTheBusAndStaysOurs() async throws {
        let peer = try await Peer()
        defer { peer.stop() }
        try await peer.connection.call(peer.mock("AddMethod", ["org.example.Echo", "Descriptor", "h", "h", "ret = args[0]"]))
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[1]) }
        let sent = BusFileDescriptor(owning: fds[0])
        let reply = try await peer.connection.call(
            MethodCall(
                destination: Peer.notifications, path: Peer.path, interface: "org.example.Echo", member: "Descriptor",
                arguments: [.unixFD(sent)]))
        let received = try #require(reply.arguments.first?.fileDescriptor)
        #expect(received.rawValue != sent.rawValue)
        // The same pipe, through a descriptor of its own; ours is still open.
        var ours = stat(), theirs = stat()
        #expect(fstat(sent.rawValue, &ours) == 0)
        #expect(fstat(received.rawValue, &theirs) == 0)
        #expect(ours.st_ino == theirs.st_ino)
    }

    @Test func aServiceThatExitsIsSeenThroughNameOwnerChanged() async throws {
        let peer = try await Peer()
        defer { peer.stop() }
        let (owner, changes) = try await peer.connection.watchNameOwner(Peer.notifications)
        let current = try #require(owner)
        #expect(current.hasPrefix(":"))
        peer.bus.stopMocks()
        var iterator = changes.makeAsyncIterator()
        let change = try await iterator.next()
        #expect(change == NameOwnerChange(name: Peer.notifications, oldOwner: current, newOwner: nil))
        #expect(try await peer.connection.nameOwner(of: Peer.notifications) == nil)
    }

    @Test func streamsEndWithADisconnectionErrorWhenTheBusDaemonExits() async throws {
        let peer = try await Peer()
        defer { peer.stop() }
        let signals = try await peer.connection.signals(SignalMatch(interface: Peer.notifications))
        peer.bus.killDaemon()
        var iterator = signals.makeAsyncIterator()
        let ended = await #expect(throws: BusError.self) { _ = try await iterator.next() }
        #expect(ended?.isDisconnection == true)
        #expect(ended?.description.hasPrefix("org.freedesktop.DBus.Local.Disconnected: the connection to the bus was lost (") == true)
        let reason = await peer.connection.disconnected()
        #expect(reason == ended)
        // Work after that fails with the same error at once.
        let late = await #expect(throws: BusError.self) { try await peer.connection.call(peer.notifications("GetCapabilities")) }
        #expect(late == ended)
        // The connection's socket is no longer waited for: the loop is idle.
        #expect(await eventually { loop(peer).waiterCount == 0 })
    }

    @Test func waitingForTheEndOfAConnectionStopsWhenTheTaskIsCancelled() async throws {
        let peer = try await Peer()
        defer { peer.stop() }
        let connection = peer.connection
        let waiter = Task { await connection.disconnected() }
        waiter.cancel()
        #expect(await waiter.value == nil)
        #expect(connection.lostReason == nil)
    }

    @Test func anIdleConnectionLeavesNoTimerOnTheLoop() async throws {
        let peer = try await Peer()
        defer { peer.stop() }
        // A call sets sd-bus's reply deadline (25 s), which the loop waits for until the reply comes.
        _ = try await peer.connection.call(peer.notifications("GetCapabilities"))
        _ = try await peer.connection.signals(SignalMatch(interface: Peer.notifications))
        // Replied, the deadline is gone: the loop parks on the bus socket alone, with no timer armed, so an idle
        // connection never wakes the process.
        #expect(await eventually { peer.loop.isParked && peer.loop.pendingTimerCount == 0 && peer.loop.waiterCount == 1 })
    }

    @Test func aCancelledCallEndsAtOnceAndTheConnectionGoesOn() async throws {
        let peer = try await Peer()
        defer { peer.stop() }
        try await peer.connection.call(
            peer.mock("AddMethod", ["org.example.Slow", "Wait", "", "", "import time; time.sleep(30)"]))
        let connection = peer.connection
        let slow = Task {
            try await connection.call(
                MethodCall(destination: Peer.notifications, path: Peer.path, interface: "org.example.Slow", member: "Wait"))
        }
        // In flight: sent, its reply awaited with sd-bus's 25 s deadline on the loop's timer.
        #expect(await eventually { connection.core.pendingCallCount == 1 && peer.loop.pendingTimerCount == 1 })
        slow.cancel()
        let error = await #expect(throws: BusError.self) { try await slow.value }
        #expect(error?.isCancellation == true)
        #expect(connection.core.pendingCallCount == 0)
        // The deadline went with it, and the connection goes on.
        #expect(await eventually { peer.loop.pendingTimerCount == 0 })
    }

    @Test func aCallThatGetsNoReplyInTimeThrowsNoReplyOnTheLoopsClock() async throws {
        let peer = try await Peer()
        defer { peer.stop() }
        try await peer.connection.call(
            peer.mock("AddMethod", ["org.example.Slow", "Wait", "", "", "import time; time.sleep(5)"]))
        let error = await #expect(throws: BusError.self) {
            try await peer.connection.call(
                MethodCall(destination: Peer.notifications, path: Peer.path, interface: "org.example.Slow", member: "Wait"),
                timeout: .milliseconds(50))
        }
        // sd-bus's own error for a reply that did not come in time.
        #expect(error?.name == "org.freedesktop.DBus.Error.NoReply")
        #expect(error?.code == ETIMEDOUT)
        #expect(error?.message == "Method call timed out")
    }
}

/// Errors that need no bus daemon.
struct BusConnectionErrorTests {
    @Test func connectingToAMissingSocketThrowsSdBusText() throws {
        let loop = EpollLoop()
        let error = #expect(throws: BusError.self) {
            try BusConnection.connect(address: "unix:path=/nonexistent/stretchd-test/bus", loop: loop)
        }
        #expect(error?.function == "sd_bus_start")
        #expect(error?.code == ENOENT)
        #expect(error?.description == "No such file or directory (sd_bus_start)")
    }

    @Test func aMalformedAddressIsRefused() throws {
        let loop = EpollLoop()
        let error = #expect(throws: BusError.self) { try BusConnection.connect(address: "nonsense", loop: loop) }
        #expect(error != nil)
    }

    @Test func matchRulesQuoteTheirValues() {
        let match = SignalMatch(
            sender: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", member: "NameOwnerChanged",
            arguments: [0: "it's"])
        #expect(
            match.rule
                == "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',member='NameOwnerChanged',arg0='it'\\''s'")
    }

    @Test func signaturesParseIntoTypes() {
        #expect(BusType.parse("sa{sv}(ub)aas")?.map(\.signature) == ["s", "a{sv}", "(ub)", "aas"])
        #expect(BusType.parse("a{vs}") == nil)
        #expect(BusType.parse("(") == nil)
        #expect(BusType.parse("a") == nil)
        #expect(BusType.parse(String(repeating: "a", count: 100) + "s") == nil)
    }
}

/// Yields until `condition` holds, a bounded number of times (it never sleeps); false if it never did.
func eventually(_ condition: () -> Bool) async -> Bool {
    for _ in 0..<1_000_000 {
        if condition() { return true }
        await Task.yield()
    }
    return condition()
}

private func loop(_ peer: Peer) -> EpollLoop { peer.loop }

/// Not a test but a measurement, run by hand: `STRETCHD_MEASURE_BUS_IDLE=60 swift test --skip-build --filter
/// anOpenConnectionsLoopThreadIdles` prints how often the loop thread of an idle connection (subscribed to a
/// signal, after a call) was switched to over that many seconds; 0 means it never woke.
@Suite(.measurementOnPrivateBus("STRETCHD_MEASURE_BUS_IDLE"))
struct BusIdleMeasurement {
    @Test func anOpenConnectionsLoopThreadIdles() async throws {
        let seconds = Int(ProcessInfo.processInfo.environment["STRETCHD_MEASURE_BUS_IDLE"] ?? "") ?? 60
        func rss() throws -> Int {
            let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        let bus = try PrivateBus()
        bus.stop()
        let rssBefore = try rss()
        let peer = try await Peer()
        defer { peer.stop() }
        _ = try await peer.connection.call(peer.notifications("GetCapabilities"))
        let rssGrowth = try rss() - rssBefore
        let signals = try await peer.connection.signals(SignalMatch(interface: Peer.notifications))
        // "PID/task/TID" of the loop's thread.
        let thread = try await Task(executorPreference: peer.loop.taskExecutor) {
            try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")
        }.value
        #expect(await eventually { peer.loop.isParked && peer.loop.pendingTimerCount == 0 })
        func switches() throws -> Int {
            let status = try String(contentsOfFile: "/proc/\(thread)/status", encoding: .utf8)
            var total = 0
            for line in status.split(separator: "\n") where line.contains("ctxt_switches:") {
                let count: String = line.split(separator: ":").last.map(String.init) ?? ""
                total += Int(count.trimmingCharacters(in: .whitespaces)) ?? 0
            }
            return total
        }
        let before = try switches()
        try await Task.sleep(for: .seconds(seconds))
        let after = try switches()
        print("bus idle: the loop thread of an open connection was switched to \(after - before) times in \(seconds) s")
        print("bus memory: the test process's RSS grew by \(rssGrowth) KiB from before the connection to after its first call")
        _ = signals
    }
}

@Suite(.needsPrivateBus, .timeLimit(.minutes(1)))
struct BusConnectionsTests {
    @Test func aMissingOrLostBusIsLoggedOnceAtInfoAndConnectedAgainLater() async throws {
        let log = InMemoryLogHandler()
        let loop = EpollLoop()
        loop.startThread()
        defer { loop.stop() }
        let address = Mutex<String>("unix:path=/nonexistent/stretchd-test/bus")
        let connections = BusConnections(loop: loop, logger: Logger(label: "test") { _ in log }) { _, loop throws(BusError) in
            try BusConnection.connect(address: address.withLock { $0 }, loop: loop)
        }
        func infos() -> [String] { log.entries.filter { $0.level == .info }.map(\.message.description) }

        // No bus: nil, logged once however often it is asked for.
        #expect(await connections.connection(.session) == nil)
        #expect(await connections.connection(.session) == nil)
        #expect(infos() == ["D-Bus session bus unavailable; going on without it: No such file or directory (sd_bus_start)"])

        // The bus appears: connected, and said so once.
        let bus = try PrivateBus()
        defer { bus.stop() }
        address.withLock { $0 = bus.address }
        let connection = try #require(await connections.connection(.session))
        #expect(await connections.connection(.session) === connection)
        #expect(infos().last == "D-Bus session bus connected again")

        // It goes away: the next use logs the loss once, and finds no bus.
        bus.killDaemon()
        #expect(await connection.disconnected()?.isDisconnection == true)
        #expect(await connections.connection(.session) == nil)
        #expect(await connections.connection(.session) == nil)
        #expect(infos().count == 3)
        #expect(infos().last?.hasPrefix("D-Bus session bus lost: org.freedesktop.DBus.Local.Disconnected") == true)
    }
}
