import Clocks
import Foundation
import StretchDaemon
import StretchSystem
import Synchronization
import Testing
import TestSupport

@Suite struct LogRateLimiterTests {
    @Test func aRepeatedEventIsLoggedOncePerKeyPerIntervalWithTheCountLeftOut() {
        var limiter = LogRateLimiter<UInt32, ContinuousClock.Instant>(interval: .seconds(60))
        let start = ContinuousClock.now
        func at(_ seconds: Double) -> ContinuousClock.Instant { start.advanced(by: .seconds(seconds)) }

        #expect(limiter.shouldLog(1000, at: at(0)) == 0)
        // A thousand refusals in the next minute: not one more line.
        for tick in 1...1000 { #expect(limiter.shouldLog(1000, at: at(Double(tick) * 0.059)) == nil) }
        // Another uid has its own minute.
        #expect(limiter.shouldLog(65534, at: at(30)) == 0)
        #expect(limiter.shouldLog(65534, at: at(31)) == nil)
        // A minute after the last line: logged again, saying how many were left out.
        #expect(limiter.shouldLog(1000, at: at(59.999)) == nil)
        #expect(limiter.shouldLog(1000, at: at(60)) == 1001)
        #expect(limiter.shouldLog(1000, at: at(61)) == nil)
        #expect(limiter.shouldLog(65534, at: at(95)) == 1)
        // Long after, with nothing left out in between.
        #expect(limiter.shouldLog(1000, at: at(3600)) == 1)
        #expect(limiter.shouldLog(1000, at: at(7200)) == 0)
    }
}

@Suite struct ReloadCoalescingTests {
    /// Hands out `count` requests, then says so (through `ended`) when asked for one more.
    struct Requests: AsyncSequence, Sendable {
        let stream: AsyncStream<Void>
        let ended: @Sendable () -> Void

        struct AsyncIterator: AsyncIteratorProtocol {
            var base: AsyncStream<Void>.Iterator
            let ended: @Sendable () -> Void
            mutating func next() async -> Void? {
                let request: Void? = await base.next()
                if request == nil { ended() }
                return request
            }
        }

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: stream.makeAsyncIterator(), ended: ended) }
    }

    @Test func aThousandRequestsDuringARunMakeItRunOnceMoreOnly() async throws {
        let clock = TestClock<Duration>()
        let (stream, send) = AsyncStream.makeStream(of: Void.self)
        let (endedStream, ended) = AsyncStream.makeStream(of: Void.self)
        let (startedStream, started) = AsyncStream.makeStream(of: Int.self)
        let (gateStream, gate) = AsyncStream.makeStream(of: Void.self)
        let runs = Mutex(0)
        let coalescing = Task {
            try await runCoalescing(Requests(stream: stream, ended: { ended.yield() }), spacing: .seconds(1), clock: clock) {
                started.yield(runs.withLock { $0 += 1; return $0 })
                for await _ in gateStream { break }
            }
        }
        var startedRuns = startedStream.makeAsyncIterator()
        send.yield()
        #expect(await startedRuns.next() == 1)
        // While the first run waits at the gate: a thousand more requests, all taken in.
        for _ in 0..<1000 { send.yield() }
        send.finish()
        for await _ in endedStream { break }
        gate.finish()  // every run passes from now on
        // The next run waits for a second from the start of the first.
        await clock.waitForSleeper()
        #expect(runs.withLock { $0 } == 1)
        await clock.advance(by: .seconds(1))
        #expect(await startedRuns.next() == 2)
        await clock.waitForSleeper()
        await clock.advance(by: .seconds(1))
        try await coalescing.value
        #expect(runs.withLock { $0 } == 2)
    }

    @Test func aRequestAfterTheSpacingRunsAtOnceAndNoneIsLost() async throws {
        let clock = TestClock<Duration>()
        let (stream, send) = AsyncStream.makeStream(of: Void.self)
        let (startedStream, started) = AsyncStream.makeStream(of: Int.self)
        let runs = Mutex(0)
        let coalescing = Task {
            try await runCoalescing(stream, spacing: .seconds(1), clock: clock) {
                started.yield(runs.withLock { $0 += 1; return $0 })
            }
        }
        var startedRuns = startedStream.makeAsyncIterator()
        for run in 1...3 {
            send.yield()
            #expect(await startedRuns.next() == run)
            await clock.waitForSleeper()
            await clock.advance(by: .seconds(5))
        }
        send.finish()
        try await coalescing.value
        #expect(runs.withLock { $0 } == 3)
    }
}

@Suite struct SocketFolderTests {
    /// A fresh private folder under /tmp, removed with everything in it afterwards.
    func withFolder(_ body: (String) throws -> Void) throws {
        let root = try #require(String(validatingCString: mkdtemp(strdup("/tmp/stretchd-folder-XXXXXX"))))
        defer { try? FileManager.default.removeItem(atPath: root) }
        try body(root)
    }

    func problem(_ socket: String, _ policy: SocketFolder.Policy) -> String? {
        do {
            try SocketFolder.prepare(socketPath: socket, policy: policy)
            return nil
        } catch {
            return error.description
        }
    }

    func mode(_ path: String) -> mode_t {
        var info = stat()
        lstat(path, &info)
        return info.st_mode & 0o7777
    }

    @Test func theDefaultFolderIsCreatedPrivate() throws {
        try withFolder { root in
            #expect(problem(root + "/stretchd/control.sock", .privateFolder) == nil)
            #expect(mode(root + "/stretchd") == 0o700)
            // And accepted as it is the next time.
            #expect(problem(root + "/stretchd/control.sock", .privateFolder) == nil)
        }
    }

    @Test func aDefaultFolderOthersCouldUseIsRefusedSayingWhatToDo() throws {
        try withFolder { root in
            let folder = root + "/stretchd"
            mkdir(folder, 0o700)
            chmod(folder, 0o777)
            #expect(problem(folder + "/control.sock", .privateFolder)
                == "the socket folder \(folder) has mode 0777, but must be yours alone (0700): run chmod 700 \(folder), then start stretchd again")
            chmod(folder, 0o750)
            #expect(problem(folder + "/control.sock", .privateFolder)?.contains("has mode 0750") == true)
            rmdir(folder)

            mkdir(root + "/elsewhere", 0o700)
            symlink(root + "/elsewhere", folder)
            #expect(problem(folder + "/control.sock", .privateFolder)
                == "the socket folder \(folder) is a symbolic link, which could lead anywhere; remove it and start stretchd again, which creates the folder itself with mode 0700")
            unlink(folder)

            #expect(FileManager.default.createFile(atPath: folder, contents: Data()))
            #expect(problem(folder + "/control.sock", .privateFolder)?.hasPrefix("the socket folder \(folder) is not a folder") == true)
        }
    }

    @Test(.enabled(if: geteuid() == 0, "gives a folder to another user with chown, which needs root"))
    func aDefaultFolderOfAnotherUserIsRefused() throws {
        try withFolder { root in
            let folder = root + "/stretchd"
            mkdir(folder, 0o700)
            chown(folder, 65534, 65534)
            #expect(problem(folder + "/control.sock", .privateFolder)?
                .hasPrefix("the socket folder \(folder) belongs to another user (uid 65534)") == true)
        }
    }

    @Test func theFolderAboveTheDefaultOneMustNotBeWritableByOthers() throws {
        try withFolder { root in
            chmod(root, 0o777)
            #expect(problem(root + "/stretchd/control.sock", .privateFolder)?
                .hasPrefix("the runtime folder \(root) has mode 0777: other users can write to it") == true)
            // Like /tmp: the sticky bit keeps others from renaming what is ours.
            chmod(root, 0o1777)
            #expect(problem(root + "/stretchd/control.sock", .privateFolder) == nil)
        }
    }

    @Test func aChosenSocketNeedsAFolderOthersCannotChange() throws {
        try withFolder { root in
            #expect(problem(root + "/control.sock", .chosenFolder) == nil)
            // A missing folder is created, private.
            #expect(problem(root + "/new/control.sock", .chosenFolder) == nil)
            #expect(mode(root + "/new") == 0o700)
            // Readable by others is fine; writable by others without the sticky bit is not.
            chmod(root, 0o755)
            #expect(problem(root + "/control.sock", .chosenFolder) == nil)
            chmod(root, 0o775)
            #expect(problem(root + "/control.sock", .chosenFolder)
                == "the socket's folder \(root) has mode 0775: other users can write to it and it has no sticky bit, so they could replace the socket; choose a socket path (--socket) in a folder of your own, or run chmod go-w \(root)")
            chmod(root, 0o1777)
            #expect(problem(root + "/control.sock", .chosenFolder) == nil)
            #expect(problem("/tmp/control.sock", .chosenFolder) == nil)
        }
    }
}
