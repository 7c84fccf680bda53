import Foundation
import StretchSystem
import Testing

/// A raw client of the control socket, for what stretchctl would never send.
struct RawClient {
    let fd: Int32

    init(_ path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let result = withUnixSocketAddress(path) { connect(fd, $0, $1) } ?? -1
        guard result == 0 else { throw DaemonTestError("\(SystemCallError.last("connect"))") }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if count <= 0 { return }  // the daemon closed the connection: fine for these tests
            offset += count
        }
    }

    /// The next reply line, or nil when the daemon closed the connection.
    func reply() -> [String: Any]? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while recv(fd, &byte, 1, 0) == 1 {
            if byte == UInt8(ascii: "\n") {
                return try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
            }
            line.append(byte)
        }
        return nil
    }

    /// Says "no more requests" (as `socat` does when its input ends), keeping the reading side open.
    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    func close() { Glibc.close(fd) }
}

@Suite(.serialized) struct ControlSocketTests {
    func error(_ line: String, daemon: DaemonProcess) throws -> String? {
        let client = try RawClient(daemon.socket)
        defer { client.close() }
        client.send(Array((line + "\n").utf8))
        return client.reply()?["error"] as? String
    }

    /// `status` answers from memory: today's counts are read from the history once, at start, and then kept as
    /// records are appended. The file is replaced after that by one with more breaks today: `status` goes on
    /// showing the counts it had, while `history`, which does read the file, shows the new ones.
    @Test func statusNeverReadsTheHistoryFile() throws {
        let now = Int(Date().timeIntervalSince1970)
        let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))  // the daemon runs with TZ=UTC
        func history(taken: Int) -> String {
            (0..<taken).map { #"{"date":"\#(today)","event":"completed","minutes":1,"time":\#(now - 60 + $0)}"# + "\n" }
                .joined()
        }
        let daemon = try DaemonProcess(every: "1h") { home in
            try FileManager.default.createDirectory(atPath: home + "/.local/state/stretchd", withIntermediateDirectories: true)
            try history(taken: 1).write(toFile: home + "/.local/state/stretchd/history.jsonl", atomically: true, encoding: .utf8)
        }
        defer { _ = try? daemon.terminate() }
        #expect(try daemon.status()["breaksToday"] as? Int == 1)

        try history(taken: 3).write(toFile: daemon.historyPath, atomically: true, encoding: .utf8)
        for _ in 0..<3 { #expect(try daemon.status()["breaksToday"] as? Int == 1, "status read the file again") }
        let days = try #require((try daemon.json(["history", "--days", "1"])["history"] as? [String: Any])?["days"] as? [[String: Any]])
        #expect(days.first?["taken"] as? Int == 3, "history reads the file: \(days)")
    }

    @Test func badRequestsGetAnErrorReplyAndTheDaemonGoesOn() throws {
        let daemon = try DaemonProcess(every: "1h")
        #expect(try error("hello", daemon: daemon) == "not a JSON object")
        #expect(try error(#"{"version":1,"command":"dance"}"#, daemon: daemon)?
            .hasPrefix("unknown command \"dance\"; commands: status, start") == true)
        #expect(try error(#"{"version":1,"command":"history","days":"many"}"#, daemon: daemon)
            == "\"days\" must be a whole number from 1 to 3660")
        // Numbers that once made the daemon allocate gigabytes (or abort): refused before anything is allocated.
        for days in ["1000000000", "1e14", "9223372036854775807", "-1", "0.5"] {
            #expect(try error(#"{"version":1,"command":"history","days":\#(days)}"#, daemon: daemon)?
                .hasPrefix("\"days\" must be a whole number from 1 to 3660, got ") == true)
        }
        #expect(try error(#"{"version":1,"command":"snooze","duration":""}"#, daemon: daemon)
            == "\"duration\" must not be empty")
        #expect(try error(#"{"version":9,"command":"status"}"#, daemon: daemon)
            == "protocol version 9.0 is not supported (this daemon speaks version 1)")
        #expect(try error(#"{"command":"status"}"#, daemon: daemon)?.hasPrefix("missing \"version\"") == true)
        #expect(try error(#"{"version":1,"command":"snooze","when":"later"}"#, daemon: daemon) == "unknown key \"when\"")

        // A 10 MB line: an error, the connection closed, nothing buffered beyond the limit.
        let big = try RawClient(daemon.socket)
        big.send(Array(repeating: UInt8(ascii: "x"), count: 10 << 20) + [UInt8(ascii: "\n")])
        #expect(big.reply()?["error"] as? String == "request line longer than 65536 bytes")
        #expect(big.reply() == nil)
        big.close()

        // Several requests on one connection are answered in order.
        let many = try RawClient(daemon.socket)
        many.send(Array(#"{"version":1,"command":"status"}\#n{"version":1,"command":"next"}\#n"#.utf8))
        #expect(many.reply()?["ok"] as? Bool == true)
        #expect(many.reply()?["error"] as? String == "no session is running")
        many.close()

        #expect(try daemon.status()["state"] as? String == "working")
        #expect(try daemon.terminate() == 0)
    }

    @Test func aClientThatHalfClosesAfterItsRequestGetsItsReply() throws {
        let daemon = try DaemonProcess(every: "1h")
        // As `printf '...\n' | socat - UNIX-CONNECT:...` does: the request, then the end of its input.
        let client = try RawClient(daemon.socket)
        client.send(Array(#"{"version":1,"command":"status"}\#n"#.utf8))
        client.shutdownWrite()
        #expect((client.reply()?["status"] as? [String: Any])?["state"] as? String == "working")
        #expect(client.reply() == nil)
        client.close()
        // Without the last newline too: what came before the end is the request.
        let unterminated = try RawClient(daemon.socket)
        unterminated.send(Array(#"{"version":1,"command":"next"}"#.utf8))
        unterminated.shutdownWrite()
        #expect(unterminated.reply()?["error"] as? String == "no session is running")
        #expect(unterminated.reply() == nil)
        unterminated.close()
        #expect(try daemon.terminate() == 0)
    }

    @Test func silentClientsAreDroppedAndHundredsAtOnceAreHandled() throws {
        let daemon = try DaemonProcess(every: "1h")
        let silent = try RawClient(daemon.socket)
        let openedAt = Date()

        // 300 clients at once, each asking for the status: each gets a reply (or is told to come back).
        let clients = try (0..<300).map { _ in try RawClient(daemon.socket) }
        for client in clients { client.send(Array(#"{"version":1,"command":"status"}\#n"#.utf8)) }
        var served = 0, turnedAway = 0
        for client in clients {
            let reply = client.reply()
            if reply?["ok"] as? Bool == true { served += 1 }
            if (reply?["error"] as? String)?.hasPrefix("too many clients") == true { turnedAway += 1 }
            client.close()
        }
        #expect(served + turnedAway == 300)
        // At least every place but the silent client's is used (more when clients leave while others still wait
        // to be accepted, which depends on how fast the daemon accepts).
        #expect(served >= 63)

        // Meanwhile the silent client is dropped after the idle timeout, and others are still served.
        #expect(silent.reply() == nil)
        #expect(Date().timeIntervalSince(openedAt) >= 9)
        silent.close()
        #expect(try daemon.ctl(["status"]).status == 0)
        #expect(try daemon.terminate() == 0)
    }

    @Test(.enabled(if: getuid() == 0, "runs a client as another user with runuser, which needs root"))
    func aClientOfAnotherUserIsRefused() throws {
        let daemon = try DaemonProcess(every: "1h")
        // Let the other user reach the socket at all; the daemon itself must still refuse them.
        chmod(daemon.runtime, 0o755)
        chmod(daemon.runtime + "/stretchd", 0o755)
        chmod(daemon.socket, 0o666)
        // Three times: each is refused, and the log says so once (once per uid per minute).
        for _ in 0..<3 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            process.arguments = ["-u", "nobody", "--", Binaries.directory.appendingPathComponent("stretchctl").path,
                                 "status", "--socket", daemon.socket]
            let output = Pipe()
            process.standardError = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 1)
            #expect(text == "error: permission denied: stretchd serves only its own user\n")
        }
        #expect(try daemon.terminate() == 0)
        let refusals = daemon.logText.split(separator: "\n").filter { $0.contains("refused a client of another user") }
        #expect(refusals.count == 1, "\(daemon.logText)")
        #expect(refusals.first?.contains("uid=65534") == true, "\(daemon.logText)")
    }
}
