import Clocks
import ControlProtocol
import Foundation
import StretchConfig
import StretchCore
import StretchDaemon
import Synchronization
import Testing

/// A status that differs from others of its `n` in what a person sees (breaks today), with counters that differ
/// whatever `n` is.
func visibleStatus(_ n: Int, worked: Double = 0, stepName: String? = nil) -> StatusReport {
    StatusReport(
        state: stepName == nil ? .working : .inSession, nextBreak: "2026-11-23 10:40", nextBreakIn: 600 - worked,
        pausedUntil: nil,
        session: stepName.map {
            SessionReport(routine: "r", step: 1, steps: 1, stepName: $0, side: nil, part: nil, phase: "working",
                          phaseRemaining: 30, remaining: 30, paused: false)
        },
        breaksToday: n, worked: worked)
}

/// Takes what is waiting in a watcher's queue without waiting for more.
func pending(_ subscription: StatusFeed.Subscription) async -> [StatusReport] {
    var taken: [StatusReport] = []
    let task = Task {
        var iterator = subscription.statuses.makeAsyncIterator()
        while let status = await iterator.next() { taken.append(status); if taken.count > 10 { break } }
        return taken
    }
    // The stream hands over what it holds before the task could be cancelled: yield until the task has run.
    for _ in 0..<100 { await Task.yield() }
    task.cancel()
    return await task.value
}

@Suite struct StatusFeedTests {
    @Test func aWatcherGetsAStatusOnlyWhenWhatItShowsChanges() async {
        let feed = StatusFeed()
        let watcher = feed.subscribe()
        watcher.offer(visibleStatus(0), ticket: feed.ticket())
        // Time passing (work time, time to the next break) is not a change.
        feed.publish(visibleStatus(0, worked: 30), ticket: feed.ticket())
        feed.publish(visibleStatus(0, worked: 60), ticket: feed.ticket())
        let first = await pending(watcher)
        #expect(first.map(\.worked) == [0])
    }

    @Test func aChangeIsPassedOn() async {
        let feed = StatusFeed()
        let watcher = feed.subscribe()
        watcher.offer(visibleStatus(0), ticket: feed.ticket())
        #expect(await pending(watcher).map(\.breaksToday) == [0])
        let other = feed.subscribe()
        feed.publish(visibleStatus(1), ticket: feed.ticket())
        #expect(await pending(other).map(\.breaksToday) == [1])
    }

    @Test func aWatcherThatDoesNotReadHasOnlyTheNewestStatusWaiting() async {
        let feed = StatusFeed()
        let watcher = feed.subscribe()
        for n in 0..<1000 { feed.publish(visibleStatus(n), ticket: feed.ticket()) }
        #expect(await pending(watcher).map(\.breaksToday) == [999])
    }

    @Test func aStatusBegunBeforeOneAlreadyPublishedIsNotShown() async {
        let feed = StatusFeed()
        let watcher = feed.subscribe()
        let early = feed.ticket()
        let late = feed.ticket()
        feed.publish(visibleStatus(2), ticket: late)
        // Built from an older moment, it finished later: it must not overwrite the newer one.
        feed.publish(visibleStatus(1), ticket: early)
        #expect(await pending(watcher).map(\.breaksToday) == [2])
    }

    @Test func aWatcherThatGoesAwayIsForgotten() async {
        let feed = StatusFeed()
        #expect(!feed.isWatched)
        let task = Task {
            let watcher = feed.subscribe()
            for await _ in watcher.statuses {}
        }
        while !feed.isWatched { await Task.yield() }
        #expect(feed.watcherCount == 1)
        task.cancel()
        await task.value
        #expect(!feed.isWatched)
    }
}

@Suite struct WatchTests {
    static let watch = #"{"version":1,"command":"watch"}"# + "\n"

    @Test func aWatcherGetsTheStatusAtOnceThenEachChangeAndIsNotDroppedForItsSilence() async throws {
        try await withControlServer(idleTimeout: .milliseconds(200)) { socket, handler in
            let client = try TestClient(socket)
            defer { client.close() }
            client.send(Self.watch)
            #expect(try await client.reply()?.status == TestControlHandler.status)
            // Longer than a client may stay silent: a watcher is silent by design.
            let silent = try await onThread { client.waitReadable(600) }
            #expect(!silent)
            var changed = TestControlHandler.status
            changed.state = .paused
            handler.statusFeed.publish(changed, ticket: handler.statusFeed.ticket())
            #expect(try await client.reply()?.status == changed)
            // Requests a watcher sends are ignored; time passing alone pushes nothing.
            client.send(#"{"version":1,"command":"stop"}"# + "\n")
            changed.worked = 100
            handler.statusFeed.publish(changed, ticket: handler.statusFeed.ticket())
            #expect(try await onThread { client.waitReadable(300) } == false)
        }
    }

    @Test func closingItsSideEndsTheWatch() async throws {
        try await withControlServer { socket, handler in
            let client = try TestClient(socket)
            defer { client.close() }
            client.send(Self.watch)
            #expect(try await client.reply()?.status != nil)
            #expect(handler.statusFeed.watcherCount == 1)
            client.shutdownWrite()
            #expect(try await client.endsWithoutReply())
            for _ in 0..<10_000 where handler.statusFeed.isWatched { await Task.yield() }
            #expect(!handler.statusFeed.isWatched)
        }
    }

    @Test func aWatcherThatStopsReadingIsDropped() async throws {
        try await withControlServer(idleTimeout: .milliseconds(300)) { socket, handler in
            let client = try TestClient(socket)
            defer { client.close() }
            client.send(Self.watch)
            #expect(try await client.reply()?.status != nil)
            #expect(handler.statusFeed.watcherCount == 1)
            // Statuses of 32 KiB that it never reads: the socket fills, and the server gives up on it.
            let big = String(repeating: "x", count: 32 * 1024)
            var n = 0
            while handler.statusFeed.watcherCount > 0 {
                n += 1
                handler.statusFeed.publish(visibleStatus(n, stepName: big), ticket: handler.statusFeed.ticket())
                try await Task.sleep(for: .milliseconds(5))
                #expect(n < 4000, "still watched after \(n) statuses")
                if n >= 4000 { break }
            }
            #expect(try await onThread { client.waitHangUp(5_000) })
        }
    }

    @Test func watchersTakePlacesLikeOtherClients() async throws {
        try await withControlServer { socket, _ in
            var clients: [TestClient] = []
            defer { clients.forEach { $0.close() } }
            for _ in 0..<64 {
                let client = try TestClient(socket)
                clients.append(client)
                client.send(Self.watch)
                #expect(try await client.reply()?.status != nil)
            }
            let extra = try TestClient(socket)
            defer { extra.close() }
            extra.send(Self.watch)
            #expect(try await extra.reply()?.error == "too many clients (at most 64); try again")
        }
    }
}

/// Reads a watcher's statuses as they come, for a test to take.
final class StatusCollector: Sendable {
    private final class Taken: Sendable {
        let statuses = Mutex<[StatusReport]>([])
    }

    private let taken = Taken()
    private let reader: Task<Void, Never>

    init(_ subscription: StatusFeed.Subscription) {
        reader = Task { [taken] in
            for await status in subscription.statuses { taken.statuses.withLock { $0.append(status) } }
        }
    }

    /// What arrived so far, once `count` statuses did (or after many yields); then lets the reader run a little
    /// more so that one more would be seen.
    func take(_ count: Int) async -> [StatusReport] {
        for _ in 0..<10_000 where taken.statuses.withLock({ $0.count }) < count { await Task.yield() }
        for _ in 0..<100 { await Task.yield() }
        return taken.statuses.withLock { taken in
            defer { taken = [] }
            return taken
        }
    }

    deinit { reader.cancel() }
}

@Suite struct DaemonStatusFeedTests {
    typealias H = DaemonHarness

    @Test func theDaemonPushesWhatItsLoopAndCommandsChangeAndNothingAsTimePasses() async throws {
        var config = DaemonConfig.defaults
        config.autostart = nil
        var harness = try DaemonHarness(config: config)
        let watcher = harness.daemon.statusFeed.subscribe()
        let collector = StatusCollector(watcher)
        // The control server gives a new watcher the status first, as here.
        watcher.offer(await harness.daemon.status(), ticket: harness.daemon.statusFeed.ticket())
        #expect(await collector.take(1).map(\.state) == [.working])

        // Forty minutes of work: nothing a person sees changes, nothing is pushed.
        await harness.run(until: H.monday(9, 40))
        #expect(await collector.take(0).isEmpty)

        // The break comes due in the loop, with no command.
        await harness.clock.advance(by: .seconds(11 * 60))
        _ = await harness.nextSleep()
        #expect(await collector.take(1).map(\.state) == [.breakDue])

        #expect(await harness.command(.cycle(.pause(nil))).ok)
        #expect(await collector.take(1).map(\.state) == [.paused])
        #expect(await harness.command(.cycle(.resume)).ok)
        // Paused while it was due, the break is still due.
        #expect(await collector.take(1).map(\.state) == [.breakDue])
        #expect(await harness.command(.cycle(.skip)).ok)
        #expect(await collector.take(1).map(\.state) == [.working])
        try await harness.stop()
    }
}
