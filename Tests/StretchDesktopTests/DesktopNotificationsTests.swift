import DBus
@testable import EpollExecutor
import Foundation
import InMemoryLogging
import Logging
import ServiceLifecycle
import StretchCore
@testable import StretchDesktop
import Testing
import TestSupport

/// A private session bus, perhaps with python-dbusmock's notification daemon on it, `DesktopNotifications` running
/// against it, and a connection for the test to drive the mock and hear its `MethodCalled` signals.
private struct NotificationsHarness {
    static let server = "org.freedesktop.Notifications"
    static let path = "/org/freedesktop/Notifications"
    /// Each label once: "default" (clicking it, or dunst's menu) is Start now.
    static let actions = ["default", "Start now", "snooze", "Snooze", "skip", "Skip"]

    let desk: DesktopMockBus
    let events = RecordedEvents()
    let service: DesktopNotifications
    let running: Task<Void, any Error>
    /// Every method called on the mocks (any of them, one after another): `MethodCalled(s name, av args)`.
    let calls: AsyncThrowingStream<BusMessage, any Error>

    /// `capabilities`: the server's, space-separated; nil for no server. `running`: false when the test runs the
    /// service itself.
    init(capabilities: String? = "actions body", running runs: Bool = true) async throws {
        desk = try DesktopMockBus()
        calls = try await desk.mocks.driver.signals(SignalMatch(interface: MockBus.mockInterface, member: "MethodCalled"))
        if let capabilities { try await Self.startServer(capabilities: capabilities, on: desk.mocks) }
        service = DesktopNotifications(buses: desk.buses, events: events, logger: desk.logger)
        running = desk.running(service, if: runs)
    }

    /// Starts a notification daemon mock and returns once it owns its name.
    func startServer(capabilities: String) async throws {
        try await Self.startServer(capabilities: capabilities, on: desk.mocks)
    }

    static func startServer(capabilities: String, on mocks: MockBus) async throws {
        let before = try await mocks.startMock(
            ["--template", "notification_daemon", "--parameters", "{\"capabilities\": \"\(capabilities)\"}"],
            owning: server)
        #expect(before == nil)
    }

    /// Stops the mocks; returns once the name is gone.
    func stopServer() async throws { try await desk.mocks.stopMocks(owning: Self.server) }

    /// Ends the service (which must return on cancellation), the bus and the loop.
    func stop() async { await desk.stop(after: running) }

    /// The arguments of the next call of `method` on the mock (skipping others, and the other application's).
    func next(_ method: String, in calls: inout AsyncThrowingStream<BusMessage, any Error>.Iterator) async throws
        -> [BusValue]
    {
        while let call = try await calls.next() {
            guard call.arguments.first?.string == method else { continue }
            let arguments = try #require(call.arguments.dropFirst().first?.array).map(\.unwrapped)
            if arguments.first?.string == Self.otherApplication { continue }
            return arguments
        }
        throw SignalsEnded()
    }

    static let otherApplication = "other application"

    /// Another application's notification: its id.
    func otherApplicationNotifies() async throws -> UInt32 {
        let reply = try await desk.mocks.call(Self.server, Self.path, "Notify", [
            .string(Self.otherApplication), .uint32(0), "", "Other", "", .strings([]), .variantDictionary([:]), .int32(-1),
        ], interface: Self.server)
        return try #require(reply.arguments.first?.uint32)
    }

    /// The mock emits `ActionInvoked(id, key)` or `NotificationClosed(id, reason)`.
    func emit(_ signal: String, _ id: UInt32, _ argument: BusValue) async throws {
        try await desk.mocks.emit(
            Self.server, Self.path, interface: Self.server, signal, "u" + argument.type.signature, [.uint32(id), argument])
    }

    /// What the service reported since the last time, once it handled everything asked of it and everything the
    /// bus sent it before (never waits for an event that might not come).
    func reported() async -> [RecordedEvents.Event] {
        await service.settled()
        return await events.taken()
    }

    var infos: [String] { desk.infos }
}

struct SignalsEnded: Error {}

/// Notify's arguments by name.
private struct Notify {
    let arguments: [BusValue]
    var appName: String? { arguments[0].string }
    var replacesID: UInt32? { arguments[1].uint32 }
    var summary: String? { arguments[3].string }
    var body: String? { arguments[4].string }
    var actions: [String]? { arguments[5].strings }
    var hints: [String: BusValue]? { arguments[6].stringKeyed }
    var expireTimeout: Int64? { arguments[7].integer }

    init(_ arguments: [BusValue]) throws {
        try #require(arguments.count == 8)
        self.arguments = arguments
    }
}

@Suite(.needsPrivateBus, .timeLimit(.minutes(1)))
struct DesktopNotificationsTests {
    @Test func theBreakIsOfferedWithButtonsAtNormalUrgencyUntilAnswered() async throws {
        let harness = try await NotificationsHarness()
        var calls = harness.calls.makeAsyncIterator()
        harness.service.show(title: "Time to stretch", body: "neck & shoulders <2 min>")
        #expect(try await harness.next("GetCapabilities", in: &calls).isEmpty)
        let notify = try Notify(await harness.next("Notify", in: &calls))
        #expect(notify.appName == "stretchd")
        #expect(notify.replacesID == 0)
        #expect(notify.summary == "Time to stretch")
        // This server has no "body-markup": the body goes as it is.
        #expect(notify.body == "neck & shoulders <2 min>")
        #expect(notify.actions == NotificationsHarness.actions)
        #expect(notify.hints?["urgency"]?.integer == 1)
        #expect(notify.expireTimeout == 0)
        await harness.stop()
    }

    @Test func aServerThatReadsMarkupGetsTheBodyEscaped() async throws {
        let harness = try await NotificationsHarness(capabilities: "actions body body-markup")
        var calls = harness.calls.makeAsyncIterator()
        harness.service.show(title: "Stretch & breathe", body: "neck & shoulders <2 min>")
        let notify = try Notify(await harness.next("Notify", in: &calls))
        #expect(notify.summary == "Stretch & breathe")
        #expect(notify.body == "neck &amp; shoulders &lt;2 min&gt;")
        await harness.stop()
    }

    @Test func eachButtonIsItsAnswerAndOtherNotificationsActionsAreIgnored() async throws {
        let harness = try await NotificationsHarness()
        var calls = harness.calls.makeAsyncIterator()
        let other = try await harness.otherApplicationNotifies()
        // The mock numbers notifications in order: ours come after the other application's.
        var ours = other
        for (key, answer) in [("skip", NotificationAnswer.skip), ("snooze", .snooze), ("default", .start)] {
            harness.service.show(title: "Time to stretch", body: "")
            let notify = try Notify(await harness.next("Notify", in: &calls))
            // The last one was answered, and so forgotten: a new notification, not a replacement.
            #expect(notify.replacesID == 0)
            ours += 1
            try await harness.emit("ActionInvoked", other, .string("snooze"))
            try await harness.emit("ActionInvoked", ours, .string(key))
            #expect(await harness.reported() == [.answered(answer)])
        }
        // After an action the server closes the notification: not a dismissal, since it was forgotten.
        try await harness.emit("NotificationClosed", ours, .uint32(2))
        await harness.service.settled()
        harness.service.show(title: "Time to stretch", body: "")
        _ = try Notify(await harness.next("Notify", in: &calls))
        try await harness.emit("ActionInvoked", ours + 1, .string("skip"))
        #expect(await harness.reported() == [.answered(.skip)])
        #expect(await harness.events.pending().isEmpty)
        await harness.stop()
    }

    @Test func aDismissalIsAnAnswerButExpiringIsNot() async throws {
        let harness = try await NotificationsHarness()
        var calls = harness.calls.makeAsyncIterator()
        let other = try await harness.otherApplicationNotifies()
        harness.service.show(title: "Time to stretch", body: "")
        _ = try Notify(await harness.next("Notify", in: &calls))
        // Another application's dismissal; then ours expires (reason 1): no answer, and the id is forgotten.
        try await harness.emit("NotificationClosed", other, .uint32(2))
        try await harness.emit("NotificationClosed", other + 1, .uint32(1))
        await harness.service.settled()
        harness.service.show(title: "Time to stretch", body: "")
        let again = try Notify(await harness.next("Notify", in: &calls))
        #expect(again.replacesID == 0)
        // The user dismisses it (reason 2).
        try await harness.emit("NotificationClosed", other + 2, .uint32(2))
        #expect(await harness.reported() == [.answered(.dismissed)])
        #expect(await harness.events.pending().isEmpty)
        await harness.stop()
    }

    @Test func showingAgainReplacesTheNotificationAndWithdrawingClosesIt() async throws {
        let harness = try await NotificationsHarness()
        var calls = harness.calls.makeAsyncIterator()
        let other = try await harness.otherApplicationNotifies()
        harness.service.withdraw()  // Nothing shown: nothing to close.
        harness.service.show(title: "Time to stretch", body: "in 1 min")
        let first = try Notify(await harness.next("Notify", in: &calls))
        #expect(first.replacesID == 0)
        harness.service.show(title: "Time to stretch", body: "now")
        let second = try Notify(await harness.next("Notify", in: &calls))
        #expect(second.replacesID == other + 1)
        #expect(second.body == "now")

        harness.service.withdraw()
        #expect(try await harness.next("CloseNotification", in: &calls).map(\.integer) == [Int64(other + 1)])
        // The mock then says it closed (reason 1 here): no answer. Shown again: a new notification.
        harness.service.show(title: "Time to stretch", body: "")
        let third = try Notify(await harness.next("Notify", in: &calls))
        #expect(third.replacesID == 0)
        harness.service.withdraw()
        #expect(try await harness.next("CloseNotification", in: &calls).map(\.integer) == [Int64(other + 2)])
        await harness.service.settled()
        #expect(await harness.events.pending().isEmpty)
        await harness.stop()
    }

    @Test func aNotifyReplyThatComesAfterTheOfferWasWithdrawnClosesThatNotification() async throws {
        let harness = try await NotificationsHarness()
        var calls = harness.calls.makeAsyncIterator()
        // A slow server: it answers Notify a second later, with id 42.
        try await harness.desk.mocks.call(
            NotificationsHarness.server, NotificationsHarness.path, "AddMethod",
            [.string(NotificationsHarness.server), "Notify", "susssasa{sv}i", "u", "import time\ntime.sleep(1)\nret = 42"])
        harness.service.show(title: "Time to stretch", body: "")
        _ = try Notify(await harness.next("Notify", in: &calls))
        harness.service.withdraw()
        // Not left on screen: closed as soon as its id is known.
        #expect(try await harness.next("CloseNotification", in: &calls).map(\.integer) == [42])
        await harness.stop()
    }

    @Test func anAnsweredNotificationIsClosedAndAForgedAnswerChangesNothing() async throws {
        let harness = try await NotificationsHarness()
        try await harness.desk.mocks.startForger()
        var calls = harness.calls.makeAsyncIterator()
        harness.service.show(title: "Time to stretch", body: "")
        _ = try Notify(await harness.next("Notify", in: &calls))
        let connection = try #require(await harness.desk.buses.connection(.session))
        let me = try #require(connection.uniqueName)
        try await harness.desk.mocks.forge(
            to: me, NotificationsHarness.path, interface: NotificationsHarness.server, "ActionInvoked", "us",
            [.uint32(1), "skip"])
        #expect(await harness.reported() == [])
        try await harness.emit("ActionInvoked", 1, .string("snooze"))
        #expect(await harness.reported() == [.answered(.snooze)])
        // dunst would keep it on screen, its buttons dead.
        #expect(try await harness.next("CloseNotification", in: &calls).map(\.integer) == [1])
        await harness.stop()
    }

    @Test func aServerWithoutActionsGetsAPlainNotification() async throws {
        let harness = try await NotificationsHarness(capabilities: "body")
        var calls = harness.calls.makeAsyncIterator()
        harness.service.show(title: "Time to stretch", body: "")
        let notify = try Notify(await harness.next("Notify", in: &calls))
        #expect(notify.actions == [])
        #expect(notify.hints?["urgency"]?.integer == 1)
        await harness.stop()
    }

    @Test func aServerThatRestartsIsAskedForItsCapabilitiesAndShownTheOfferAgain() async throws {
        let harness = try await NotificationsHarness(capabilities: "actions body")
        var calls = harness.calls.makeAsyncIterator()
        harness.service.show(title: "Time to stretch", body: "")
        #expect(try Notify(await harness.next("Notify", in: &calls)).actions == NotificationsHarness.actions)

        try await harness.stopServer()
        // The new server has no actions: its capabilities are read, and the offer still shown is shown on it.
        try await harness.startServer(capabilities: "body")
        #expect(try await harness.next("GetCapabilities", in: &calls).isEmpty)
        let again = try Notify(await harness.next("Notify", in: &calls))
        #expect(again.replacesID == 0)
        #expect(again.actions == [])
        harness.service.withdraw()
        #expect(try await harness.next("CloseNotification", in: &calls).map(\.integer) == [1])

        // Replaced by a server with actions: they are offered again, and answered.
        try await harness.stopServer()
        try await harness.startServer(capabilities: "actions body")
        harness.service.show(title: "Time to stretch", body: "")
        #expect(try Notify(await harness.next("Notify", in: &calls)).actions == NotificationsHarness.actions)
        try await harness.emit("ActionInvoked", 1, .string("snooze"))
        #expect(await harness.reported() == [.answered(.snooze)])
        await harness.stop()
    }

    @Test func withoutAServerNothingIsShownItIsLoggedOnceAndALaterServerIsUsed() async throws {
        let harness = try await NotificationsHarness(capabilities: nil)
        var calls = harness.calls.makeAsyncIterator()
        harness.service.show(title: "Time to stretch", body: "")
        harness.service.withdraw()
        harness.service.show(title: "Time to stretch", body: "")
        await harness.service.settled()
        #expect(harness.infos.count == 1)
        #expect(harness.infos.first?.hasPrefix("no desktop notification server; breaks are not shown: ") == true)

        // The offer still stands when a server appears: it is shown there.
        try await harness.startServer(capabilities: "actions")
        let notify = try Notify(await harness.next("Notify", in: &calls))
        #expect(notify.actions == NotificationsHarness.actions)
        await harness.service.settled()
        #expect(harness.infos.last == "desktop notification server found")
        #expect(harness.infos.count == 2)
        await harness.stop()
    }

    @Test func aGracefulShutdownWithdrawsTheNotificationAndEnds() async throws {
        let harness = try await NotificationsHarness(running: false)
        var calls = harness.calls.makeAsyncIterator()
        let group = ServiceGroup(services: [harness.service], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        harness.service.show(title: "Time to stretch", body: "")
        _ = try Notify(await harness.next("Notify", in: &calls))
        await group.triggerGracefulShutdown()
        // Its buttons would reach nobody once the daemon is gone.
        #expect(try await harness.next("CloseNotification", in: &calls).map(\.integer) == [1])
        try await running.value
        await harness.stop()
    }
}

/// Without a session bus at all.
@Suite(.timeLimit(.minutes(1)))
struct DesktopNotificationsWithoutABusTests {
    @Test func showingDoesNothingAndTheMissingBusIsLoggedOnce() async throws {
        let events = RecordedEvents()
        let logged = try await withoutABus({ DesktopNotifications(buses: $0, events: events, logger: $1) }) { service in
            service.show(title: "Time to stretch", body: "")
            service.withdraw()
            service.show(title: "Time to stretch", body: "")
            await service.settled()
        }
        // (And, perhaps not yet, that its socket's folder cannot be watched for it to come back.)
        #expect(
            logged.filter { !$0.contains("will not reconnect") }
                == ["D-Bus session bus unavailable; going on without it: No such file or directory (sd_bus_start)"])
        #expect(await events.pending().isEmpty)
    }
}
