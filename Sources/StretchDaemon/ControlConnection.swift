import ControlProtocol
import EpollExecutor
import Logging
import ServiceLifecycle
import StretchSystem
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// One client of the control socket, served on the event loop: its request lines read, each handled and
/// answered in turn, with the timeouts of `ControlServer`; or, after `watch`, a stream of statuses.
///
/// Timers run only while the daemon waits for the client: from accepting it, or from its last reply, the client
/// has `idleTimeout` to send the first byte of a request; from that byte, `lineTimeout` to send its newline (a
/// trickle of bytes does not extend it). No timer runs from a line's newline to its reply, so a slow command such
/// as `reload` is never cut off by its own processing time; but a reply the client leaves unread (its socket
/// stays full) must find room within `idleTimeout`, or the client is dropped. Each timer is a sleep on `clock`
/// racing the wait for the descriptor, cancelled when the descriptor is ready first.
struct ControlConnection<C: Clock<Duration>>: Sendable {
    /// The connected socket, non-blocking; the caller closes it.
    let fd: Int32
    let loop: EpollLoop
    let clock: C
    let idleTimeout: Duration
    let lineTimeout: Duration
    let logger: Logger
    /// Where what the client did wrong is logged (rate-limited across clients).
    let warnings: ControlWarnings

    /// Why a connection ended before its client did.
    enum Dropped: Error {
        /// Its reply found no room within `idleTimeout`.
        case notReading
    }

    /// The uid of the process at the other end (`SO_PEERCRED`); nil when the kernel cannot tell.
    var peerUID: uid_t? {
        var credentials = clinux_peer_credentials(pid: 0, uid: uid_t.max, gid: gid_t.max)
        var length = socklen_t(MemoryLayout<clinux_peer_credentials>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return nil }
        return credentials.uid
    }

    /// Reads, handles and answers requests until the client closes its side, stays silent too long, sends a line
    /// too long or too slowly, or asks to `watch`.
    func serveRequests(_ handler: any ControlHandler) async throws {
        var lines = RequestLines()
        while true {
            switch try await nextLine(&lines) {
            case .request(let line):
                switch ControlRequest.decode(line) {
                case .success(.watch):
                    return try await watch(handler, inputEnded: lines.inputEnded)
                case .success(let request): try await send(await handler.handle(request))
                case .failure(let error):
                    warnings.badRequest(line, error)
                    try await send(.failure(error))
                }
            case .tooLong:
                let error = ControlError("request line longer than \(ControlProtocol.maximumLineLength) bytes")
                warnings.warn(.lineTooLong, "control client dropped: \(error)")
                return try await send(.failure(error))
            case .lineTimedOut:
                let error = ControlError(
                    "request line not finished within \(Self.text(lineTimeout)); closing the connection")
                warnings.warn(.lineTooSlow, "control client dropped: \(error)")
                return try await send(.failure(error))
            case .ended, .idleTimedOut:
                return
            }
        }
    }

    enum Next {
        case request([UInt8])
        case tooLong
        /// The client half-closed and every line it sent was handled.
        case ended
        case idleTimedOut
        case lineTimedOut
    }

    /// Reads until a whole request line is there, the input ends, or a timer expires.
    private func nextLine(_ lines: inout RequestLines) async throws -> Next {
        var lineDeadline: C.Instant?
        while true {
            switch lines.next() {
            case .request(let line): return .request(line)
            case .tooLong: return .tooLong
            case nil: if lines.inputEnded { return .ended }
            }
            if try receive(into: &lines) { continue }
            let deadline: C.Instant
            if lines.hasPartialLine {
                // From the line's first byte, however slowly the rest trickles in.
                deadline = lineDeadline ?? clock.now.advanced(by: lineTimeout)
                lineDeadline = deadline
            } else {
                deadline = clock.now.advanced(by: idleTimeout)
            }
            guard try await wait(for: .readable, until: deadline) else {
                return lines.hasPartialLine ? .lineTimedOut : .idleTimedOut
            }
        }
    }

    /// Reads what the socket holds into `lines`; false when there is nothing to read yet.
    private func receive(into lines: inout RequestLines) throws -> Bool {
        try withUnsafeTemporaryAllocation(byteCount: 16 * 1024, alignment: 1) { buffer in
            guard let count = try received(into: buffer) else { return false }
            if count == 0 {
                lines.endInput()
            } else {
                lines.append(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            }
            return true
        }
    }

    /// Receives what fits in `buffer`: how much (0 once the client closed its side), or nil when nothing is there.
    private func received(into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> Int? {
        do {
            return try SystemCall.retrying("recv") { recv(fd, buffer.baseAddress, buffer.count, 0) }
        } catch where error.errno == .resourceTemporarilyUnavailable {
            return nil
        }
    }

    /// Writes `reply` as one line, waiting for room as needed (at most `idleTimeout` at a time).
    func send(_ reply: ControlReply) async throws {
        let line: [UInt8]
        switch reply.encode() {
        case .success(let encoded): line = encoded
        case .failure(let error):
            logger.error("cannot send a reply", metadata: ["error": "\(error)"])
            line = ControlReply.failure(error).encoded()
        }
        var written = 0
        while written < line.count {
            if let count = try sent(line[written...]) {
                written += count
            } else if try await !wait(for: .writable, until: clock.now.advanced(by: idleTimeout)) {
                throw Dropped.notReading
            }
        }
    }

    /// Sends what the socket has room for of `bytes`: how much, or nil when it has no room.
    private func sent(_ bytes: ArraySlice<UInt8>) throws(SystemCallError) -> Int? {
        do {
            return try SystemCall.retrying("send") {
                // MSG_NOSIGNAL: a client gone is an error here, not a SIGPIPE for the whole daemon.
                bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
        } catch where error.errno == .resourceTemporarilyUnavailable {
            return nil
        }
    }

    /// Waits until the socket is ready for `readiness`; false when `deadline` comes first.
    private func wait(for readiness: EpollLoop.Readiness, until deadline: C.Instant) async throws -> Bool {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { [loop, fd] in
                try await loop.wait(fd, for: readiness)
                return true
            }
            group.addTask { [clock] in
                try await clock.sleep(until: deadline, tolerance: nil)
                return false
            }
            // The loser is cancelled: the descriptor wait is taken off epoll, the sleep off the clock.
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
    }

    /// Turns the connection into a watcher: the status at once, then each change, until the client closes its
    /// side, stops reading (`Dropped.notReading`), or the daemon shuts down. Lines it sends are ignored.
    private func watch(_ handler: any ControlHandler, inputEnded: Bool) async throws {
        let feed = handler.statusFeed
        let subscription = feed.subscribe()
        let ticket = feed.ticket()
        let first = await handler.handle(.status)
        guard let status = first.status else {
            subscription.end()
            return try await send(first)
        }
        subscription.offer(status, ticket: ticket)
        // Already closed: the status waiting in the subscription is sent, then the watch ends.
        if inputEnded { subscription.end() }
        try await withThrowingDiscardingTaskGroup { group in
            if !inputEnded {
                group.addTask {
                    // The client's closing (or a reset) ends the watch.
                    try? await drain()
                    subscription.end()
                }
            }
            try await withGracefulShutdownHandler {
                for await status in subscription.statuses {
                    try await send(ControlReply(ok: true, status: status))
                }
            } onGracefulShutdown: {
                subscription.end()
            }
            group.cancelAll()
        }
    }

    /// Reads and drops what the client sends until it closes its side. No timer: a watcher is silent by design.
    private func drain() async throws {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try received(into: $0) }
            switch count {
            case 0: return
            case nil: try await loop.wait(fd, for: .readable)
            default: continue
            }
        }
    }

    /// `10 s`, `250 ms`.
    static func text(_ time: Duration) -> String {
        let (seconds, attoseconds) = time.components
        return attoseconds == 0 ? "\(seconds) s" : "\(seconds * 1000 + attoseconds / 1_000_000_000_000_000) ms"
    }
}
