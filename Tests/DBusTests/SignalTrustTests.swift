@testable import DBus
@testable import EpollExecutor
import InMemoryLogging
import Logging
import Synchronization
import Testing
import TestSupport

/// Signals count only from the current owner of the name they are matched on, as broadcasts unless the match says
/// otherwise; forgeries come from a second connection (the forger), which a mock's own `EmitSignal` cannot stand
/// in for.
@Suite(.needsPrivateBus, .timeLimit(.minutes(1)))
struct SignalTrustTests {
    static let actionInvoked = SignalMatch(
        sender: Peer.notifications, path: Peer.path, interface: Peer.notifications, member: "ActionInvoked")

    /// The peer's notification daemon emits ActionInvoked(id, key) to every subscriber.
    func emit(_ peer: Peer, _ id: UInt32, _ key: String) async throws {
        try await peer.connection.call(
            peer.mock("EmitSignal", [
                .string(Peer.notifications), "ActionInvoked", "us", .array(.variant, [.variant(.uint32(id)), .variant(.string(key))]),
            ]))
    }

    @Test func aSignalCountsOnlyFromTheCurrentOwnerOfItsSenderAndAsABroadcast() async throws {
        let peer = try await Peer()
        defer { peer.stop() }
        try await peer.mocks.startForger()
        let connection = peer.connection
        let received = Mutex<[[BusValue]]>([])
        let refused = Mutex<[String]>([])
        connection.reportRefusedSignals { refusal in refused.withLock { $0.append(refusal.signal.member ?? "") } }
        var subscription: AsyncThrowingStream<Never, any Error>? = try await connection.signals(Self.actionInvoked) {
            signal in received.withLock { $0.append(signal.arguments) }
        }
        let me = try #require(connection.uniqueName)
        let owner = try #require(try await connection.nameOwner(of: Peer.notifications))
        let forger = try #require(try await connection.nameOwner(of: MockBus.forger))

        // Sent to us alone by another client: the bus delivers it whatever the match says; refused here.
        try await peer.mocks.forge(to: me, Peer.path, interface: Peer.notifications, "ActionInvoked", "us", [.uint32(1), "forged"])
        // "The forger owns the name now", from the forger and not the bus: changes nothing.
        try await peer.mocks.forge(
            to: me, "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", "NameOwnerChanged", "sss",
            [.string(Peer.notifications), .string(owner), .string(forger)])
        try await peer.mocks.forge(to: me, Peer.path, interface: Peer.notifications, "ActionInvoked", "us", [.uint32(2), "forged"])
        // The owner's broadcast counts.
        try await emit(peer, 3, "real")
        _ = try await connection.nameOwner(of: Peer.notifications)
        #expect(received.withLock { $0 } == [[.uint32(3), "real"]])
        #expect(refused.withLock { $0 } == ["ActionInvoked", "NameOwnerChanged", "ActionInvoked"])
        subscription = nil
        #expect(subscription == nil)
    }

    @Test func aUnicastSignalCountsFromTheOwnerWhenTheMatchAllowsIt() async throws {
        let peer = try await Peer()
        defer { peer.stop() }
        try await peer.mocks.startForger()
        let connection = peer.connection
        let received = Mutex<[[BusValue]]>([])
        var match = Self.actionInvoked
        match.unicast = true
        let subscription = try await connection.signals(match) { signal in received.withLock { $0.append(signal.arguments) } }
        let me = try #require(connection.uniqueName)
        try await peer.mocks.forge(to: me, Peer.path, interface: Peer.notifications, "ActionInvoked", "us", [.uint32(1), "forged"])
        try await emit(peer, 2, "real")
        _ = try await connection.nameOwner(of: Peer.notifications)
        #expect(received.withLock { $0 } == [[.uint32(2), "real"]])
        withExtendedLifetime(subscription) {}
    }

    @Test func aNameOwnerChangeCountsOnlyFromTheBus() async throws {
        let peer = try await Peer()
        defer { peer.stop() }
        try await peer.mocks.startForger()
        let connection = peer.connection
        let (owner, changes) = try await connection.watchNameOwner(Peer.notifications)
        let me = try #require(connection.uniqueName)
        let forger = try #require(try await connection.nameOwner(of: MockBus.forger))
        // "The forger took the name", from the forger: not in the stream.
        try await peer.mocks.forge(
            to: me, "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", "NameOwnerChanged", "sss",
            [.string(Peer.notifications), .string(owner ?? ""), .string(forger)])
        // The real one: the daemon exits.
        peer.bus.stopMocks()
        var iterator = changes.makeAsyncIterator()
        let first = try await iterator.next()
        #expect(first?.oldOwner == owner)
        #expect(first?.newOwner == nil)
    }

    @Test func forgedSignalsAreLoggedAtMostOnceAMinuteForEachName() async throws {
        let log = InMemoryLogHandler()
        let peer = try await Peer()
        defer { peer.stop() }
        try await peer.mocks.startForger()
        let buses = BusConnections.opening(peer.bus.address, loop: peer.loop, logger: Logger(label: "test") { _ in log })
        let connection = try #require(await buses.connection(.session))
        let subscription = try await connection.signals(Self.actionInvoked)
        let me = try #require(connection.uniqueName)
        for id: UInt32 in 1...3 {
            try await peer.mocks.forge(to: me, Peer.path, interface: Peer.notifications, "ActionInvoked", "us", [.uint32(id), "x\nforged"])
        }
        _ = try await connection.nameOwner(of: Peer.notifications)
        let warnings = log.entries.filter { $0.level == .warning }.map(\.message.description)
        #expect(warnings.count == 1)
        #expect(warnings.first?.hasPrefix("ignored a forged D-Bus signal org.freedesktop.Notifications.ActionInvoked from :") == true)
        #expect(warnings.first?.hasSuffix("sent to us alone, where it is broadcast") == true)
        withExtendedLifetime(subscription) {}
    }
}
