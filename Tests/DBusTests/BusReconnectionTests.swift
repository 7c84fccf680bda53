@testable import DBus
import EpollExecutor
import Foundation
import Logging
import Synchronization
import Testing
import TestSupport

/// A log that a test can wait on: every line is kept, and handed to a stream, so that a test awaits the line that
/// says the code got somewhere (no sleeping, no polling).
final class AwaitedLog: Sendable {
    private let lines = Mutex<[(level: Logger.Level, message: String)]>([])
    private let stream: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation

    init() { (stream, continuation) = AsyncStream.makeStream() }

    var logger: Logger { Logger(label: "test") { _ in Handler(log: self) } }

    func append(_ level: Logger.Level, _ message: String) {
        lines.withLock { $0.append((level, message)) }
        continuation.yield(message)
    }

    /// The info lines so far.
    var infos: [String] { lines.withLock { $0.filter { $0.level == .info }.map(\.message) } }

    /// How many lines so far contain each of `texts`.
    func count(containing texts: String...) -> Int {
        lines.withLock { $0.filter { line in texts.allSatisfy { line.message.contains($0) } }.count }
    }

    /// Waits for the next line (after those already waited for) that contains `text`.
    func next(containing text: String) async -> String? {
        for await line in stream where line.contains(text) { return line }
        return nil
    }

    struct Handler: LogHandler {
        let log: AwaitedLog
        var metadata: Logger.Metadata = [:]
        var metadataProvider: Logger.MetadataProvider?
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { log.append(event.level, event.message.description) }
    }
}

extension Task where Failure == Never {
    /// The task's value; the task is cancelled when the waiting one is (a test past its time limit fails rather
    /// than hangs).
    var valueOrCancel: Success {
        get async { await withTaskCancellationHandler { await value } onCancel: { cancel() } }
    }
}

/// `BusConnections` for the session bus at `address` (verbatim), on a loop of its own; each connection attempt is
/// logged at debug as "opened" or "open failed", so a test can wait until the bus was found missing.
struct Reconnecting {
    let loop = EpollLoop()
    let log = AwaitedLog()
    let connections: BusConnections

    init(address: String) {
        loop.startThread()
        let log = log
        connections = BusConnections(
            loop: loop, logger: log.logger,
            open: { _, loop throws(BusError) in
                do throws(BusError) {
                    let connection = try BusConnection.connect(address: address, loop: loop)
                    log.append(.debug, "opened")
                    return connection
                } catch {
                    log.append(.debug, "open failed: \(error)")
                    throw error
                }
            },
            address: { _ in address })
    }

    func stop() { loop.stop() }

    /// The next session bus connection, awaited in a task, once the first try to open it failed (the bus is not
    /// there yet, and the stream waits for it).
    func nextAfterAFailedOpen() async -> Task<BusConnection?, Never> {
        var connections = connections.connections(.session).makeAsyncIterator()
        let next = Task { await connections.next() }
        #expect(await log.next(containing: "open failed") != nil)
        return next
    }
}

extension BusConnectionsTests {
    @Test func aBusKilledAndStartedAgainAtTheSameSocketIsConnectedAgain() async throws {
        let folder = try URLPath.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let bus = try PrivateBus(listen: "unix:path=\(folder)/bus")
        defer { bus.stop() }
        let reconnecting = Reconnecting(address: "unix:path=\(folder)/bus")
        defer { reconnecting.stop() }
        var connections = reconnecting.connections.connections(.session).makeAsyncIterator()

        let first = try #require(await connections.next())
        #expect(try await first.nameOwner(of: "org.freedesktop.DBus") == "org.freedesktop.DBus")
        bus.killDaemon()
        // The stream saw the loss, watched the folder, and found the (stale) socket refusing.
        #expect(await reconnecting.log.next(containing: "open failed") != nil)
        try bus.restart()

        let second = try #require(await connections.next())
        #expect(second !== first)
        #expect(try await second.nameOwner(of: "org.freedesktop.DBus") == "org.freedesktop.DBus")
        let infos = reconnecting.log.infos
        #expect(infos.count == 2)
        #expect(infos.first?.hasPrefix("D-Bus session bus lost: org.freedesktop.DBus.Local.Disconnected") == true)
        #expect(infos.last == "D-Bus session bus connected again")
    }

    @Test func aBusThatTurnsUsAwayIsTriedAgainOnlyWhenItsSocketChanges() async throws {
        let folder = try URLPath.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let bus = try PrivateBus(listen: "unix:path=\(folder)/bus")
        defer { bus.stop() }
        // The address as the bus printed it, with the guid of this run: sd-bus turns away the next run, whose guid
        // is new, once it has authenticated (EPERM).
        let reconnecting = Reconnecting(address: bus.address)
        defer { reconnecting.stop() }
        var connections = reconnecting.connections.connections(.session).makeAsyncIterator()
        let first = try #require(await connections.next())
        #expect(try await first.nameOwner(of: "org.freedesktop.DBus") == "org.freedesktop.DBus")
        #expect(first.wasAccepted)
        bus.killDaemon()
        #expect(await reconnecting.log.next(containing: "open failed") != nil)
        try bus.restart()

        let refused = try #require(await connections.next())
        #expect(await refused.disconnected()?.code == EPERM)
        #expect(!refused.wasAccepted)
        // Another bus starting takes tens of milliseconds, in which trying again at once would have been refused
        // many times over.
        try PrivateBus().stop()
        // The socket changes: tried once more (turned away again).
        #expect(chmod("\(folder)/bus", 0o777) == 0)
        let again = try #require(await connections.next())
        #expect(await again.disconnected()?.code == EPERM)
        #expect(!again.wasAccepted)
        // The first, then one for each change of the socket: made (and perhaps given its mode), its mode set again.
        let tries = reconnecting.log.count(containing: "opened")
        #expect((3...4).contains(tries), "\(tries) tries")
    }

    @Test func aBusNotThereAtFirstIsConnectedOnceItStarts() async throws {
        let folder = try URLPath.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let reconnecting = Reconnecting(address: "unix:path=\(folder)/bus")
        defer { reconnecting.stop() }
        let next = await reconnecting.nextAfterAFailedOpen()

        let bus = try PrivateBus(listen: "unix:path=\(folder)/bus")
        defer { bus.stop() }
        let connection = try #require(await next.valueOrCancel)
        #expect(try await connection.nameOwner(of: "org.freedesktop.DBus") == "org.freedesktop.DBus")
        #expect(reconnecting.log.infos == [
            "D-Bus session bus unavailable; going on without it: No such file or directory (sd_bus_start)",
            "D-Bus session bus connected again",
        ])
    }

    @Test func aBusWithNoSocketFileIsNotWaitedForAfterALossWhichIsLoggedOnce() async throws {
        let name = "stretchd-test-\(UUID().uuidString)"
        let bus = try PrivateBus(listen: "unix:abstract=\(name)")
        defer { bus.stop() }
        let reconnecting = Reconnecting(address: "unix:abstract=\(name)")
        defer { reconnecting.stop() }

        var connections = reconnecting.connections.connections(.session).makeAsyncIterator()
        let connection = try #require(await connections.next())
        bus.killDaemon()
        #expect(await connections.next() == nil)
        #expect(connection.lostReason?.isDisconnection == true)
        // Another stream, later: it ends at once, without saying so again.
        var again = reconnecting.connections.connections(.session).makeAsyncIterator()
        #expect(await again.next() == nil)
        let infos = reconnecting.log.infos
        #expect(infos.count == 2)
        #expect(infos.first?.hasPrefix("D-Bus session bus lost: ") == true)
        #expect(infos.last == "D-Bus session bus: unix:abstract=\(name) names no socket file to watch; will not "
            + "reconnect; restart stretchd to use it again")
    }

    @Test func aMissingSocketFolderEndsTheStreamLoggedOnce() async throws {
        let reconnecting = Reconnecting(address: "unix:path=/nonexistent/stretchd-test/bus")
        defer { reconnecting.stop() }
        for _ in 0..<2 {
            var connections = reconnecting.connections.connections(.session).makeAsyncIterator()
            #expect(await connections.next() == nil)
        }
        #expect(reconnecting.log.infos == [
            "D-Bus session bus unavailable; going on without it: No such file or directory (sd_bus_start)",
            "D-Bus session bus: cannot watch /nonexistent/stretchd-test for the bus socket (No such file or "
                + "directory); will not reconnect; restart stretchd to use it again",
        ])
    }

    @Test func theSocketFolderRemovedWhileWaitingEndsTheStream() async throws {
        let folder = try URLPath.temporaryDirectory()
        let reconnecting = Reconnecting(address: "unix:path=\(folder)/bus")
        defer { reconnecting.stop() }
        let next = await reconnecting.nextAfterAFailedOpen()

        try FileManager.default.removeItem(atPath: folder)
        #expect(await next.valueOrCancel == nil)
        #expect(reconnecting.log.infos.last
            == "D-Bus session bus: \(folder), the bus socket's folder, was removed; will not reconnect; restart "
            + "stretchd to use it again")
    }

    @Test func anotherFileInTheSocketFolderDoesNotEndTheWait() async throws {
        let folder = try URLPath.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let reconnecting = Reconnecting(address: "unix:path=\(folder)/bus")
        defer { reconnecting.stop() }
        let next = await reconnecting.nextAfterAFailedOpen()

        // Another socket in the same folder: not the bus's name, so nothing is tried.
        let other = try PrivateBus(listen: "unix:path=\(folder)/other")
        defer { other.stop() }
        let bus = try PrivateBus(listen: "unix:path=\(folder)/bus")
        defer { bus.stop() }
        #expect(try await #require(await next.valueOrCancel).nameOwner(of: "org.freedesktop.DBus") == "org.freedesktop.DBus")
        // One try found no socket: the first, none for the other socket.
        #expect(reconnecting.log.count(containing: "open failed", "No such file or directory") == 1)
    }
}

/// The socket files that addresses name, and the environment's defaults.
struct BusAddressTests {
    @Test func theSocketPathsAreTheUnixPathEntriesUnescaped() {
        #expect(BusAddress.socketPaths("unix:path=/run/user/1000/bus") == ["/run/user/1000/bus"])
        #expect(BusAddress.socketPaths("unix:path=/tmp/a%20b/bus,guid=0123abcd;unix:abstract=/tmp/x;tcp:host=h,port=1;unix:guid=1,path=/c")
            == ["/tmp/a b/bus", "/c"])
        #expect(BusAddress.socketPaths("unix:abstract=/tmp/dbus-x,guid=1").isEmpty)
        #expect(BusAddress.socketPaths("tcp:host=localhost,port=1234").isEmpty)
        #expect(BusAddress.socketPaths("").isEmpty)
        #expect(BusAddress.socketPaths("nonsense").isEmpty)
        // Malformed escapes, a NUL, an empty path: no file.
        #expect(BusAddress.socketPaths("unix:path=/tmp/%zz").isEmpty)
        #expect(BusAddress.socketPaths("unix:path=/tmp/%0").isEmpty)
        #expect(BusAddress.socketPaths("unix:path=/tmp/%00x").isEmpty)
        #expect(BusAddress.socketPaths("unix:path=").isEmpty)
    }

    @Test func theGuidOfEachEntryIsLeftOut() {
        #expect(BusAddress.withoutGuid("unix:path=/run/user/1000/bus") == "unix:path=/run/user/1000/bus")
        #expect(BusAddress.withoutGuid("unix:path=/tmp/bus,guid=0123abcd") == "unix:path=/tmp/bus")
        #expect(BusAddress.withoutGuid("unix:guid=1,path=/c;tcp:host=h,guid=2,port=1;unix:abstract=/x,guid=3")
            == "unix:path=/c;tcp:host=h,port=1;unix:abstract=/x")
        #expect(BusAddress.withoutGuid("") == "")
        #expect(BusAddress.withoutGuid("nonsense") == "nonsense")
    }

    @Test func aPathEscapedIntoAnAddressComesBackUnchanged() {
        let path = "/run/user/1000/odd dir,;=%é/bus"
        let address = "unix:path=" + BusAddress.escape(path)
        #expect(address == "unix:path=/run/user/1000/odd%20dir%2c%3b%3d%25%c3%a9/bus")
        #expect(BusAddress.socketPaths(address) == [path])
        #expect(BusAddress.escape("/run/user/1000/bus") == "/run/user/1000/bus")
    }
}
