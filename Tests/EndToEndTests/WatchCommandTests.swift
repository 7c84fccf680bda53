import Foundation
import Testing

/// A running `stretchctl watch` and the lines it prints, read as they come.
final class WatchProcess {
    let process: Process
    private let out: FileHandle
    private let err: FileHandle
    private var buffered: [UInt8] = []

    init(_ arguments: [String], daemon: DaemonProcess) throws {
        process = Binaries.process("stretchctl", ["watch"] + arguments, environment: daemon.environment)
        let outPipe = Pipe(), errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        out = outPipe.fileHandleForReading
        err = errPipe.fileHandleForReading
        try process.run()
    }

    /// The next line, or nil if none comes within `timeout` seconds (or the output ended).
    func line(within timeout: Double) -> String? {
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffered[..<newline], as: UTF8.self)
                buffered.removeSubrange(...newline)
                return line
            }
            let left = ContinuousClock.now.duration(to: deadline)
            var poller = pollfd(fd: out.fileDescriptor, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(max(0, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            guard milliseconds > 0, poll(&poller, 1, milliseconds) > 0 else { return nil }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { read(out.fileDescriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { return nil }
            buffered += chunk[..<count]
        }
    }

    /// The next line as waybar's JSON object.
    func object(within timeout: Double) throws -> [String: String] {
        let next = self.line(within: timeout)
        let line = try #require(next, "no line within \(timeout) s")
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String], "\(line)")
    }

    /// Waits for the process to end; its exit status and what it said on stderr.
    func end() -> (status: Int32, stderr: String) {
        let text = String(decoding: err.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

@Suite(.serialized) struct WatchCommandTests {
    /// Runs `stretchctl ARGS` to its reply and returns how long after the reply the watcher's next line came
    /// (zero if it was already there), with the line.
    func pushDelay(after arguments: [String], daemon: DaemonProcess, watcher: WatchProcess) throws
        -> (Duration, [String: String])
    {
        let result = try daemon.ctl(arguments)
        #expect(result.status == 0, "\(arguments): \(result.stderr)")
        let replied = ContinuousClock.now
        let object = try watcher.object(within: 5)
        return (replied.duration(to: .now), object)
    }

    @Test func waybarIsToldOfEachChangeAtOnceAndOfNothingWhileIdle() throws {
        // Nothing is due for an hour: an idle daemon.
        let daemon = try DaemonProcess(every: "1h")
        let waybar = try WatchProcess(["--waybar"], daemon: daemon)
        let person = try WatchProcess([], daemon: daemon)

        let first = try waybar.object(within: 10)
        #expect(first["class"] == "working")
        #expect(first["text"]?.hasPrefix("next break ") == true)
        #expect(person.line(within: 10)?.hasPrefix("working: next break ") == true)

        // Idle: nothing at all for 2 s.
        #expect(waybar.line(within: 2) == nil)
        #expect(person.line(within: 0) == nil)

        // Each change, within 100 ms of the command's reply.
        var (delay, object) = try pushDelay(after: ["pause"], daemon: daemon, watcher: waybar)
        #expect(object["class"] == "paused" && object["text"] == "paused")
        #expect(delay < .milliseconds(100), "pushed \(delay) after the reply")
        #expect(person.line(within: 5) == "paused: paused")

        (delay, object) = try pushDelay(after: ["resume"], daemon: daemon, watcher: waybar)
        #expect(object["class"] == "working")
        #expect(delay < .milliseconds(100), "pushed \(delay) after the reply")

        (delay, object) = try pushDelay(after: ["start", "quick"], daemon: daemon, watcher: waybar)
        #expect(object["class"] == "in-session")
        #expect(object["text"]?.hasPrefix("Hold · ") == true, "\(object)")
        #expect(delay < .milliseconds(100), "pushed \(delay) after the reply")
        // The hold begins on its own: pushed by the session, not by a command.
        let holding = try waybar.object(within: 5)
        #expect(holding["text"]?.hasPrefix("Hold · ") == true && holding["text"]?.contains("get ready") == false,
                "\(holding)")

        (delay, object) = try pushDelay(after: ["pause"], daemon: daemon, watcher: waybar)
        #expect(object["text"]?.hasSuffix(" · paused") == true, "\(object)")
        #expect(delay < .milliseconds(100), "pushed \(delay) after the reply")

        // Stopped, the session ends and the daemon goes back to work.
        #expect(try daemon.ctl(["stop"]).status == 0)
        var last = object
        while last["class"] != "working", let line = waybar.line(within: 5) {
            last = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        }
        #expect(last["class"] == "working")

        // The daemon goes away: the watchers say so and exit 2.
        #expect(try daemon.terminate() == 0)
        let ended = waybar.end()
        #expect(ended.status == 2)
        #expect(ended.stderr.contains("the daemon closed the connection"), "\(ended.stderr)")
        #expect(person.end().status == 2)
    }

    @Test func watchWithoutADaemonExits2() throws {
        let result = try Binaries.run("stretchctl", ["watch", "--waybar", "--socket", "/nonexistent/stretchd.sock"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("stretchd is not running"))
        #expect(result.stdout.isEmpty)
    }

    @Test func watchTakesOneFormat() throws {
        let result = try Binaries.run("stretchctl", ["watch", "--waybar", "--i3blocks"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("Choose one of --json, --waybar and --i3blocks."))
    }
}
