import DBus
@testable import EpollExecutor
import InMemoryLogging
import Logging
import ServiceLifecycle
import StretchCore
@testable import StretchDesktop
import Synchronization
import Testing
import TestSupport

/// Records like `RecordedEvents`, but `aboutToSleep` returns only once the test opens the gate: the daemon still
/// stopping and recording its session.
private final class GatedSleepEvents: DesktopEvents {
    let recorded = RecordedEvents()
    private let gate = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    /// Whether `aboutToSleep` has returned, as many times as it was called.
    let aboutToSleepReturned = Mutex(0)

    func open() {
        let waiters = gate.withLock { gate in
            gate.open = true
            defer { gate.waiters = [] }
            return gate.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func aboutToSleep() async {
        await recorded.aboutToSleep()
        await withCheckedContinuation { continuation in
            let now = gate.withLock { gate in
                if !gate.open { gate.waiters.append(continuation) }
                return gate.open
            }
            if now { continuation.resume() }
        }
        aboutToSleepReturned.withLock { $0 += 1 }
    }

    func notificationAnswered(_ answer: NotificationAnswer) async { await recorded.notificationAnswered(answer) }
    func wokeUp() async { await recorded.wokeUp() }
    func lockChanged(_ locked: Bool) async { await recorded.lockChanged(locked) }
    func idleChanged(since: Duration?) async { await recorded.idleChanged(since: since) }
    func doNotDisturbChanged(source: String, on: Bool) async { await recorded.doNotDisturbChanged(source: source, on: on) }
    func callChanged(source: String, on: Bool) async { await recorded.callChanged(source: source, on: on) }
}

/// A private bus standing in for the system bus, perhaps with python-dbusmock's logind on it, `SleepWatch` running
/// against it, and a connection for the test to drive the mock.
private struct SleepHarness {
    static let logind = "org.freedesktop.login1"
    static let path = "/org/freedesktop/login1"
    static let manager = "org.freedesktop.login1.Manager"

    let desk: DesktopMockBus
    let events = GatedSleepEvents()
    let service: SleepWatch
    let running: Task<Void, any Error>

    /// `running`: false when the test runs the service itself.
    init(logind: Bool = true, running runs: Bool = true) async throws {
        desk = try DesktopMockBus()
        if logind { try await Self.startLogind(on: desk.mocks) }
        service = SleepWatch(buses: desk.buses, events: events, logger: desk.logger)
        running = desk.running(service, if: runs)
    }

    /// Starts dbusmock's logind template and returns once it owns its name.
    static func startLogind(on mocks: MockBus) async throws {
        #expect(try await mocks.startMock(["--template", "logind"], owning: logind) == nil)
    }

    func startLogind() async throws { try await Self.startLogind(on: desk.mocks) }

    /// Stops the mocks; returns once the name is gone.
    func stopLogind() async throws { try await desk.mocks.stopMocks(owning: Self.logind) }

    func stop() async {
        events.open()
        await desk.stop(after: running)
    }

    /// The inhibitor locks logind holds, as (what, who, why, mode). The template drops one when its descriptor is
    /// closed everywhere (it watches its end of the pipe for the hang-up, at a priority above its bus messages, so
    /// a call sent after the last close sees it gone).
    func inhibitors() async throws -> [[String]] {
        let reply = try await desk.mocks.call(Self.logind, Self.path, "ListInhibitors", interface: Self.manager)
        let rows = try #require(reply.arguments.first?.array)
        return rows.map { row in
            guard case .structure(let fields) = row else { return [] }
            return fields.prefix(4).compactMap(\.string)
        }
    }

    /// The inhibitors, asked again (each a round trip to the mock, no sleeping) until there are `count` of them, at
    /// most for 10 s: for changes made by the service on its own (after logind restarts), which the test cannot
    /// order its calls after.
    func inhibitors(count: Int) async throws -> [[String]] {
        let deadline = ContinuousClock.now + .seconds(10)
        var found = try await inhibitors()
        while found.count != count, ContinuousClock.now < deadline {
            found = try await inhibitors()
        }
        return found
    }

    func emitPrepareForSleep(_ starting: Bool) async throws {
        try await desk.mocks.emit(Self.logind, Self.path, interface: Self.manager, "PrepareForSleep", "b", [.boolean(starting)])
    }

    /// What the service reported since the last time, once it handled everything asked of it and everything the
    /// bus sent it before (never waits for an event that might not come). Not while `aboutToSleep` is held up.
    func reported() async -> [RecordedEvents.Event] {
        await service.settled()
        return await events.recorded.taken()
    }

    /// Whether the service called `aboutToSleep` (held up at the gate), asked again until it did, at most for
    /// 10 s (the test cannot settle the service while it is held up).
    func enteredAboutToSleep() async -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if await events.recorded.pending().contains(.aboutToSleep) {
                return await events.recorded.next() == .aboutToSleep
            }
            await Task.yield()
        }
        return false
    }

    var infos: [String] { desk.infos }
}

private let ourLock = ["sleep", "stretchd", "A stretch session is running; it stops and is recorded first", "delay"]

@Suite(.needsPrivateBus, .timeLimit(.minutes(1)))
struct SleepWatchTests {
    @Test func theDelayLockIsHeldExactlyWhileASessionRuns() async throws {
        let harness = try await SleepHarness()
        await harness.service.settled()
        #expect(try await harness.inhibitors().isEmpty)
        harness.service.holdSleepLock(true)
        harness.service.holdSleepLock(true)
        await harness.service.settled()
        #expect(try await harness.inhibitors() == [ourLock])
        harness.service.holdSleepLock(false)
        await harness.service.settled()
        #expect(try await harness.inhibitors().isEmpty)
        harness.service.holdSleepLock(true)
        await harness.service.settled()
        #expect(try await harness.inhibitors() == [ourLock])
        // Stopped (cancelled), the service lets go of it.
        await harness.stop()
    }

    @Test func sleepWaitsUntilTheSessionIsRecordedAndTheLockIsTakenAgainOnWaking() async throws {
        let harness = try await SleepHarness()
        harness.service.holdSleepLock(true)
        await harness.service.settled()
        #expect(try await harness.inhibitors() == [ourLock])

        try await harness.emitPrepareForSleep(true)
        #expect(await harness.enteredAboutToSleep())
        // The daemon is still stopping the session: logind still waits.
        #expect(try await harness.inhibitors() == [ourLock])
        harness.events.open()
        await harness.service.settled()
        #expect(harness.events.aboutToSleepReturned.withLock { $0 } == 1)
        #expect(try await harness.inhibitors().isEmpty)

        try await harness.emitPrepareForSleep(false)
        #expect(await harness.reported() == [.wokeUp])
        await harness.service.settled()
        // The session still runs (nobody said otherwise): locked again.
        #expect(try await harness.inhibitors() == [ourLock])
        await harness.stop()
    }

    @Test func aSessionStoppedForSleepIsNotLockedAgainOnWaking() async throws {
        let harness = try await SleepHarness()
        harness.service.holdSleepLock(true)
        // Subscribed (run() starts by subscribing), and locked.
        await harness.service.settled()
        try await harness.emitPrepareForSleep(true)
        #expect(await harness.enteredAboutToSleep())
        // What the daemon does while it stops the session.
        harness.service.holdSleepLock(false)
        harness.events.open()
        try await harness.emitPrepareForSleep(false)
        #expect(await harness.reported() == [.wokeUp])
        await harness.service.settled()
        #expect(try await harness.inhibitors().isEmpty)
        // Without a session running, sleep is still reported, and nothing is locked.
        try await harness.emitPrepareForSleep(true)
        #expect(await harness.reported() == [.aboutToSleep])
        #expect(try await harness.inhibitors().isEmpty)
        await harness.stop()
    }

    @Test func aLogindThatRestartsIsAskedForTheLockAgain() async throws {
        let harness = try await SleepHarness()
        harness.service.holdSleepLock(true)
        await harness.service.settled()
        #expect(try await harness.inhibitors() == [ourLock])
        try await harness.stopLogind()
        try await harness.startLogind()
        #expect(try await harness.inhibitors(count: 1) == [ourLock])
        await harness.stop()
    }

    @Test func withoutLogindItIsLoggedOnceAndALaterLogindIsUsed() async throws {
        let harness = try await SleepHarness(logind: false)
        harness.service.holdSleepLock(true)
        harness.service.holdSleepLock(false)
        harness.service.holdSleepLock(true)
        await harness.service.settled()
        #expect(harness.infos == [
            "logind unavailable; a session running when the machine sleeps is noticed on waking: org.freedesktop.login1 is not on the system bus"
        ])
        try await harness.startLogind()
        #expect(try await harness.inhibitors(count: 1) == [ourLock])
        await harness.service.settled()
        #expect(harness.infos.count == 2)
        #expect(harness.infos.last?.hasPrefix("logind found") == true)
        try await harness.emitPrepareForSleep(true)
        #expect(await harness.enteredAboutToSleep())
        await harness.stop()
    }
}

extension SleepWatchTests {
    @Test func aGracefulShutdownReleasesTheLockAndEnds() async throws {
        let harness = try await SleepHarness(running: false)
        let group = ServiceGroup(services: [harness.service], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        harness.service.holdSleepLock(true)
        await harness.service.settled()
        #expect(try await harness.inhibitors() == [ourLock])
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(try await harness.inhibitors().isEmpty)
        await harness.stop()
    }
}

/// Without a system bus at all.
@Suite(.timeLimit(.minutes(1)))
struct SleepWatchWithoutABusTests {
    @Test func holdingTheLockDoesNothingAndTheMissingBusIsLoggedOnce() async throws {
        let events = RecordedEvents()
        let logged = try await withoutABus({ SleepWatch(buses: $0, events: events, logger: $1) }) { service in
            service.holdSleepLock(true)
            service.holdSleepLock(false)
            service.holdSleepLock(true)
            await service.settled()
        }
        // (And, perhaps not yet, that its socket's folder cannot be watched for it to come back.)
        #expect(
            logged.filter { !$0.contains("will not reconnect") }
                == ["D-Bus system bus unavailable; going on without it: No such file or directory (sd_bus_start)"])
        #expect(await events.pending().isEmpty)
    }
}

/// Forgeries from a second connection: they change nothing, while logind's own signals still count.
@Suite(.needsPrivateBus, .timeLimit(.minutes(1)))
struct SleepWatchForgeryTests {
    @Test func aForgedPrepareForSleepOrLogindLeavingChangesNothing() async throws {
        let harness = try await SleepHarness()
        try await harness.desk.mocks.startForger()
        harness.service.holdSleepLock(true)
        #expect(try await harness.inhibitors(count: 1).count == 1)
        let connection = try #require(await harness.desk.buses.connection(.system))
        let me = try #require(connection.uniqueName)
        let logind = try #require(try await connection.nameOwner(of: SleepHarness.logind))
        try await harness.desk.mocks.forge(
            to: me, SleepHarness.path, interface: SleepHarness.manager, "PrepareForSleep", "b", [.boolean(true)])
        try await harness.desk.mocks.forge(
            to: me, "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", "NameOwnerChanged", "sss",
            [.string(SleepHarness.logind), .string(logind), ""])
        #expect(await harness.reported() == [])
        #expect(try await harness.inhibitors().count == 1)
        #expect(harness.desk.log.entries.contains { $0.level == .warning && "\($0.message)".contains("forged") })
        // logind's own still counts.
        try await harness.emitPrepareForSleep(true)
        #expect(await harness.events.recorded.nextUnlessCancelled() == .aboutToSleep)
        await harness.stop()
    }
}
