import ControlProtocol
import EpollExecutor
import Foundation
import InMemoryLogging
import Logging
import StretchCore
@testable import StretchDaemon
import StretchSystem
import Synchronization
import Testing

/// Answers every request at once with its command's name, except that `reload` waits until the test opens
/// `gate`, `next` answers with 64 KiB, `history` answers with a number JSON cannot hold, and `status` carries
/// `TestControlHandler.status`.
final class TestControlHandler: ControlHandler {
    private let (readyStream, ready) = AsyncStream.makeStream(of: Void.self)
    private let (reloadingStream, reloading) = AsyncStream.makeStream(of: Void.self)
    private let (gateStream, gate) = AsyncStream.makeStream(of: Void.self)
    let statusFeed = StatusFeed()
    /// What `status` answers (and so what a watcher gets first).
    static let status = StatusReport(
        state: .working, nextBreak: "2026-11-23 10:40", nextBreakIn: 60, pausedUntil: nil, session: nil,
        breaksToday: 0, worked: 0)

    func handle(_ request: ControlRequest) async -> ControlReply {
        switch request {
        case .reload:
            reloading.yield()
            for await _ in gateStream { break }
        case .cycle(.next):
            return ControlReply(ok: true, message: String(repeating: "n", count: 64 * 1024))
        case .history:
            return ControlReply(ok: true, history: HistoryReport(
                days: [HistoryReport.Day(date: "2026-11-23", minutes: .infinity)], streak: 0, goal: 1, warnings: []))
        case .status:
            return ControlReply(ok: true, message: "status", status: Self.status)
        default: break
        }
        return ControlReply(ok: true, message: request.name.rawValue)
    }

    func controlReady() async { ready.yield() }

    func waitUntilReady() async { for await _ in readyStream { break } }
    /// Returns once a `reload` is being handled.
    func waitUntilReloading() async { for await _ in reloadingStream { break } }
    /// Lets the `reload` being handled finish.
    func openGate() { gate.yield() }
}

/// A client of the control socket for what stretchctl would never do. Its waits run on a thread of their own
/// (`onThread`): blocking the test's cooperative threads could starve the server under test.
struct TestClient: Sendable {
    let fd: Int32
    /// When it connected.
    let connected: Date

    init(_ path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let connected = withUnixSocketAddress(path) { connect(fd, $0, $1) == 0 } ?? false
        guard connected else {
            let error = SystemCallError.last("connect")
            Glibc.close(fd)
            throw ControlTestError("\(error)")
        }
        self.fd = fd
        self.connected = Date()
    }

    /// Sends a few bytes (they fit in the socket buffer: this does not block).
    func send(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// The next reply line, or nil when the server closed the connection (or said nothing for 20 s).
    func reply() async throws -> ControlReply? {
        try await onThread {
            var line: [UInt8] = []
            var byte: UInt8 = 0
            while waitReadable(20_000), recv(fd, &byte, 1, 0) == 1 {
                if byte == UInt8(ascii: "\n") { return try? ControlReply.decode(line) }
                line.append(byte)
            }
            return nil
        }
    }

    /// Whether the server closes the connection (within 20 s) with nothing more to read.
    /// Whether the connection ends with nothing more to read: an orderly end, or a reset, which Linux reports when
    /// the server closed with bytes of ours it had not read (a trickling client's last byte, under load).
    func endsWithoutReply() async throws -> Bool {
        try await onThread {
            var byte: UInt8 = 0
            guard waitReadable(20_000) else { return false }
            let count = recv(fd, &byte, 1, Int32(MSG_PEEK))
            return count == 0 || (count < 0 && errno == ECONNRESET)
        }
    }

    /// Whether something (a reply or the end) can be read within `milliseconds`; blocks (use it in `onThread`).
    func waitReadable(_ milliseconds: Int32) -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&poller, 1, milliseconds) > 0
    }

    /// Whether the server closes the connection within `milliseconds`, whatever is left to read; blocks (use it in
    /// `onThread`).
    func waitHangUp(_ milliseconds: Int32) -> Bool {
        let peerClosed: Int16 = 0x2000  // POLLRDHUP, which Glibc's module leaves out (it needs _GNU_SOURCE)
        var poller = pollfd(fd: fd, events: peerClosed, revents: 0)
        return poll(&poller, 1, milliseconds) > 0 && poller.revents & peerClosed != 0
    }

    func close() { Glibc.close(fd) }
}

struct ControlTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs blocking work on a thread of its own, off the cooperative pool the server's tasks need.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// Runs a control server on a private folder for the length of `body`, with short timeouts.
func withControlServer(
    idleTimeout: Duration = .seconds(600), lineTimeout: Duration = .seconds(600),
    logger: Logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
    _ body: (_ socket: String, _ handler: TestControlHandler) async throws -> Void
) async throws {
    let folder = try #require(String(validatingCString: mkdtemp(strdup("/tmp/stretchd-control-XXXXXX"))))
    defer { rmdir(folder) }
    let handler = TestControlHandler()
    // The server runs on a loop of its own, as the daemon's runs on the process's.
    let loop = EpollLoop()
    loop.startThread()
    defer { loop.stop() }
    var server = ControlServer(
        path: folder + "/control.sock", handler: handler, logger: logger, loop: loop)
    server.idleTimeout = idleTimeout
    server.lineTimeout = lineTimeout
    let running = Task { [server] in try await server.run() }
    await handler.waitUntilReady()
    defer { running.cancel() }
    try await body(server.path, handler)
    running.cancel()
    // Cancelled, the server stops listening and removes its socket.
    do { try await running.value } catch is CancellationError {}
    #expect(access(server.path, F_OK) != 0)
}

@Suite struct ControlServerTests {
    @Test func aClientThatHalfClosesAfterItsRequestGetsTheReplyThenTheEnd() async throws {
        try await withControlServer { socket, _ in
            // With a newline, two requests at once, and without the last newline: each is answered.
            let sendings = [
                (#"{"version":1,"command":"status"}\#n"#, ["status"]),
                (#"{"version":1,"command":"stop"}\#n{"version":1,"command":"skip"}"#, ["stop", "skip"]),
            ]
            for (requests, answers) in sendings {
                let client = try TestClient(socket)
                defer { client.close() }
                client.send(requests)
                client.shutdownWrite()
                for answer in answers { #expect(try await client.reply()?.message == answer) }
                #expect(try await client.endsWithoutReply())
            }
            // Half-closing without a request just ends the connection.
            let silent = try TestClient(socket)
            defer { silent.close() }
            silent.shutdownWrite()
            #expect(try await silent.endsWithoutReply())
        }
    }

    @Test func aClientTricklingOneLineIsCutOffByTheLineTimeNotKeptAliveByEachByte() async throws {
        try await withControlServer(idleTimeout: .seconds(2), lineTimeout: .seconds(1)) { socket, _ in
            let client = try TestClient(socket)
            defer { client.close() }
            // One byte every 100 ms, well inside the idle time, until the server answers or hangs up (or 10 s);
            // on a thread of its own, so the pace and the time do not depend on the test's threads.
            let (firstByte, answered) = try await onThread {
                let firstByte = Date()
                for _ in 0..<100 {
                    client.send("{")
                    if client.waitReadable(100) { break }
                }
                return (firstByte, Date())
            }
            let elapsed = answered.timeIntervalSince(firstByte)
            #expect(try await client.reply()?.error == "request line not finished within 1 s; closing the connection")
            #expect(try await client.endsWithoutReply())
            // Kept alive by each byte, it would run the whole 10 s of trickling; a loaded machine may add seconds.
            #expect(elapsed >= 0.95 && elapsed < 9, "cut off after \(elapsed) s")
        }
    }

    @Test func aSilentClientIsDroppedAfterTheIdleTime() async throws {
        try await withControlServer(idleTimeout: .milliseconds(300)) { socket, _ in
            let client = try TestClient(socket)
            defer { client.close() }
            let ended = try await onThread { client.waitReadable(20_000) ? Date() : nil }
            #expect(try await client.endsWithoutReply())
            let elapsed = try #require(ended).timeIntervalSince(client.connected)
            #expect(elapsed >= 0.25 && elapsed < 5, "dropped after \(elapsed) s")
        }
    }

    @Test func aSlowCommandIsNotCutOffByItsOwnProcessingTime() async throws {
        try await withControlServer(idleTimeout: .milliseconds(300), lineTimeout: .milliseconds(300)) { socket, handler in
            let slow = try TestClient(socket)
            defer { slow.close() }
            slow.send(#"{"version":1,"command":"reload"}"# + "\n")
            await handler.waitUntilReloading()
            // Another client, connected after the reload began, is dropped for its silence: by then a timer still
            // running for the slow client (started at the latest by its request) would have fired too.
            let other = try TestClient(socket)
            defer { other.close() }
            #expect(try await other.endsWithoutReply())
            handler.openGate()
            #expect(try await slow.reply()?.message == "reload")
            // Its timers run again once it is answered.
            #expect(try await slow.endsWithoutReply())
        }
    }

    @Test func aClientThatDoesNotReadItsRepliesIsDropped() async throws {
        try await withControlServer(idleTimeout: .milliseconds(300)) { socket, _ in
            let client = try TestClient(socket)
            defer { client.close() }
            // 20 replies of 64 KiB: more than the socket holds, so the server cannot write them all.
            client.send(String(repeating: #"{"version":1,"command":"next"}"# + "\n", count: 20))
            #expect(try await onThread { client.waitHangUp(20_000) })
        }
    }

    @Test func exactly64ClientsAreServedAndThe65thIsTurnedAway() async throws {
        try await withControlServer { socket, _ in
            let status = #"{"version":1,"command":"status"}"# + "\n"
            var clients: [TestClient] = []
            defer { clients.forEach { $0.close() } }
            for _ in 0..<64 {
                let client = try TestClient(socket)
                clients.append(client)
                client.send(status)
                #expect(try await client.reply()?.message == "status")
            }
            let extra = try TestClient(socket)
            defer { extra.close() }
            extra.send(status)
            #expect(try await extra.reply()?.error == "too many clients (at most 64); try again")
            #expect(try await extra.reply() == nil)

            // Once one leaves, a newcomer gets its place (as soon as the server has seen it go).
            clients.removeFirst().close()
            var served = false
            for _ in 0..<1000 where !served {
                let newcomer = try TestClient(socket)
                defer { newcomer.close() }
                newcomer.send(status)
                served = try await newcomer.reply()?.message == "status"
            }
            #expect(served)
        }
    }

    @Test func aSocketPathTooLongForASocketAddressStopsTheStartWithTheReason() async throws {
        let folder = try #require(String(validatingCString: mkdtemp(strdup("/tmp/stretchd-control-XXXXXX"))))
        defer { rmdir(folder) }
        let loop = EpollLoop()
        loop.startThread()
        defer { loop.stop() }
        let path = folder + "/" + String(repeating: "s", count: 120)
        let server = ControlServer(
            path: path, handler: TestControlHandler(), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
            loop: loop)
        await #expect {
            try await server.run()
        } throws: {
            "\($0)" == "cannot listen on \(path): bind: File name too long"
        }
        #expect(access(path, F_OK) != 0)
    }

    @Test func aReplyThatCannotBeEncodedIsSentAsAnErrorNotABlankLine() async throws {
        try await withControlServer { socket, _ in
            let client = try TestClient(socket)
            defer { client.close() }
            client.send(#"{"version":1,"command":"history"}"# + "\n")
            let reply = try await client.reply()
            #expect(reply?.ok == false)
            #expect(reply?.error
                == "the daemon could not encode its reply: history.days[0].minutes is not a finite number (inf)")
            // The connection goes on.
            client.send(#"{"version":1,"command":"status"}"# + "\n")
            #expect(try await client.reply()?.message == "status")
        }
    }
}

/// What a client sends is logged escaped and cut, and repeated warnings at most once a minute.
@Suite struct ControlWarningTests {
    func warnings(_ log: InMemoryLogHandler) -> [String] {
        log.entries.filter { $0.level == .warning }.map {
            "\($0.message)" + $0.metadata.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        }
    }

    @Test func aBadRequestIsLoggedEscapedAndCutAndItsRepeatsOnceAMinute() async throws {
        let log = InMemoryLogHandler()
        try await withControlServer(logger: Logger(label: "test") { _ in log }) { socket, _ in
            let client = try TestClient(socket)
            defer { client.close() }
            // An unknown command whose name fakes a log line of its own, with a journal prefix and an escape.
            let name = "x\\r<3>stretchd: started\\u001b[2J" + String(repeating: "y", count: 300)
            client.send(#"{"version":1,"command":"\#(name)"}"# + "\n")
            #expect(try await client.reply()?.ok == false)
            for _ in 0..<3 {
                client.send("not json\n")
                #expect(try await client.reply()?.error == "not a JSON object")
            }
        }
        let logged = warnings(log)
        #expect(logged.count == 1, "\(logged)")
        let line = try #require(logged.first)
        #expect(line.hasPrefix(#"bad control request: unknown command "x\r<3>stretchd: started\u{1B}[2Jyyy"#), "\(line)")
        #expect(line.contains(#" line={"version":1,"command":"x\\r<3>stretchd: started\\u001b[2Jyyy"#), "\(line)")
        #expect(!line.contains("\r") && !line.contains("\u{1B}"))
        // Each piece cut to about 200 bytes, marked.
        #expect(line.utf8.count < 2 * LogText.limit + 100 && line.hasSuffix("…"), "\(line)")
    }

    @Test func eachKindIsLoggedFirstThenOnceAMinuteSayingHowManyWereLeftOut() {
        let log = InMemoryLogHandler()
        let warnings = ControlWarnings(logger: Logger(label: "test") { _ in log })
        let start = ContinuousClock.now
        for second in [0, 1, 30, 59] {
            warnings.warn(.badRequest, "bad", at: start + .seconds(second))
        }
        warnings.warn(.lineTooSlow, "slow", at: start + .seconds(2))
        warnings.warn(.otherUser(65534), "refused", at: start + .seconds(3))
        warnings.warn(.otherUser(1001), "refused", at: start + .seconds(4))
        warnings.warn(.badRequest, "bad", at: start + .seconds(60))
        warnings.warn(.badRequest, "bad", at: start + .seconds(61))
        warnings.warn(.badRequest, "bad", at: start + .seconds(200))
        #expect(self.warnings(log) == [
            "bad", "slow", "refused", "refused", "bad (and 3 more in the last minute)",
            "bad (and 1 more in the last minute)",
        ])
    }
}

/// The request lines of a connection's bytes, however they arrive.
@Suite struct RequestLinesTests {
    func feed(_ chunks: [String], ended: Bool = false) -> [RequestLines.Line] {
        var lines = RequestLines()
        var found: [RequestLines.Line] = []
        for chunk in chunks {
            Array(chunk.utf8).withUnsafeBytes { lines.append($0) }
            while let line = lines.next() { found.append(line) }
        }
        if ended {
            lines.endInput()
            while let line = lines.next() { found.append(line) }
        }
        return found
    }

    @Test func linesSplitAcrossChunksAreJoinedAndEmptyLinesSkipped() {
        #expect(feed(["ab", "c\n\nde", "f\ng"]) == [.request(Array("abc".utf8)), .request(Array("def".utf8))])
    }

    @Test func whatFollowsTheLastNewlineCountsOnceTheInputEnds() {
        #expect(feed(["a\nb"], ended: true) == [.request(Array("a".utf8)), .request(Array("b".utf8))])
        #expect(feed(["a\n"], ended: true) == [.request(Array("a".utf8))])
    }

    @Test func aLineOverTheLimitEndsTheLinesWithOrWithoutItsNewline() {
        let limit = ControlProtocol.maximumLineLength
        let longest = String(repeating: "x", count: limit)
        #expect(feed([longest + "\n"]) == [.request(Array(longest.utf8))])
        #expect(feed([longest, "x\nnext\n"]) == [.tooLong])
        #expect(feed([longest + "x"]) == [.tooLong])
    }
}
