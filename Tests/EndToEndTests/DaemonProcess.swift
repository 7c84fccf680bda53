import Foundation
import TestSupport

/// A running `stretchd` with its own home, runtime folder and config, and a reader for its log.
final class DaemonProcess {
    /// The folder holding the home, the runtime folder and the capture.
    let root: String
    let home: String
    let runtime: String
    let socket: String
    let capture: String
    let process: Process
    private let log: FileHandle
    private(set) var logText = ""
    /// How far `waitForLog` has consumed `logText`.
    private var consumed: String.Index

    var environment: [String: String] {
        ["HOME": home, "XDG_RUNTIME_DIR": runtime, "PATH": "/usr/bin:/bin", "TZ": "UTC", "LANG": "C.UTF-8"]
    }

    var configPath: String { home + "/.config/stretchd/config.toml" }
    var historyPath: String { home + "/.local/state/stretchd/history.jsonl" }
    var statePath: String { home + "/.local/state/stretchd/state.json" }

    /// A quick routine: holds of 3 s per side and a set of reps, in about 20 s.
    static let quickRoutine = """
        name = "Quick"
        countdown = 1
        switch_time = "1s"
        transition_time = "1s"
        [[step]]
        name = "Hold"
        kind = "hold"
        sides = "both"
        hold = "3s"
        [[step]]
        name = "Reps"
        kind = "reps"
        reps = 3
        tempo = "1s"
        return_beat = true
        """

    /// Starts the daemon with a test config: all-day hours, seconds-long intervals, a `file` sound device, no voice
    /// unless `voice` (synthesis in a debug build takes seconds);
    /// `prepare` gets the home folder to add files before the daemon starts. Without `buses` (a desktop's
    /// `DBUS_SESSION_BUS_ADDRESS` and `DBUS_SYSTEM_BUS_ADDRESS`), both point at nothing, so that no test talks to
    /// the machine's own desktop; `options` are lines added to the config's sections (`"session": "..."`).
    /// `device`: the sound device (a `file` capture when nil); `after`: a daemon that ran before, whose home (and
    /// state) this one takes over, as a restart does.
    init(
        every: String = "3s", autostart: String = "1s", naturalBreak: String = "1h", notify: Bool = false, voice: Bool = false,
        routines: [String] = ["quick"], device: String? = nil, options: [String: String] = [:],
        buses: [String: String]? = nil, arguments: [String] = [], after earlier: DaemonProcess? = nil,
        prepare: (String) throws -> Void = { _ in }
    ) throws {
        let root = try earlier?.root ?? URLPath.temporaryDirectory()
        self.root = root
        home = root + "/home"
        runtime = root + "/run"
        socket = runtime + "/stretchd/control.sock"
        capture = root + "/session.wav"
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: home + "/.config/stretchd/routines", withIntermediateDirectories: true)
        try fileManager.createDirectory(atPath: runtime, withIntermediateDirectories: true)
        try fileManager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: runtime)
        try Self.quickRoutine.write(toFile: home + "/.config/stretchd/routines/quick.toml", atomically: true, encoding: .utf8)
        let config = """
            [schedule]
            days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            hours = ["00:00-24:00"]
            every = "\(every)"
            natural_break = "\(naturalBreak)"
            [session]
            routines = [\(routines.map { "\"\($0)\"" }.joined(separator: ", "))]
            autostart = "\(autostart)"
            \(options["session"] ?? "")
            [reminder]
            snooze = "2s"
            notify = \(notify)
            \(options["reminder"] ?? "")
            [audio]
            device = "\(device ?? "file:'\(capture)',wav")"
            volume = 1.0
            [voice]
            enabled = \(voice)
            [history]
            daily_goal = 1
            """
        try config.write(toFile: home + "/.config/stretchd/config.toml", atomically: true, encoding: .utf8)
        try prepare(home)
        process = Binaries.process("stretchd", arguments, environment: [:])
        let nowhere = "unix:path=\(runtime)/no-bus-here"
        process.environment = [
            "HOME": home, "XDG_RUNTIME_DIR": runtime, "PATH": "/usr/bin:/bin", "TZ": "UTC",
            "DBUS_SESSION_BUS_ADDRESS": buses?["DBUS_SESSION_BUS_ADDRESS"] ?? nowhere,
            "DBUS_SYSTEM_BUS_ADDRESS": buses?["DBUS_SYSTEM_BUS_ADDRESS"] ?? nowhere,
        ]
        let pipe = Pipe()
        process.standardError = pipe
        log = pipe.fileHandleForReading
        consumed = logText.startIndex
        try process.run()
        // Logged once the socket listens and systemd has been told it is ready.
        try waitForLog("started next_break=")
    }

    /// Reads the log until a line after the last match contains `text`; fails after `timeout` seconds.
    @discardableResult
    func waitForLog(_ text: String, timeout: Double = 30) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let range = logText.range(of: text, range: consumed..<logText.endIndex) {
                let lineEnd = logText[range.upperBound...].firstIndex(of: "\n") ?? logText.endIndex
                let lineStart = logText[..<range.lowerBound].lastIndex(of: "\n").map(logText.index(after:)) ?? logText.startIndex
                consumed = lineEnd
                return String(logText[lineStart..<lineEnd])
            }
            var poller = pollfd(fd: log.fileDescriptor, events: Int16(POLLIN), revents: 0)
            let remaining = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
            guard remaining > 0, poll(&poller, 1, remaining) > 0 else {
                throw DaemonTestError("no log line with \"\(text)\" within \(timeout) s; log so far:\n\(logText)")
            }
            let data = log.availableData
            if data.isEmpty { throw DaemonTestError("stretchd exited; log:\n\(logText)") }
            logText += String(decoding: data, as: UTF8.self)
        }
    }

    /// Runs stretchctl against this daemon.
    func ctl(_ arguments: [String], in directory: String? = nil) throws -> Binaries.Result {
        try Binaries.run("stretchctl", arguments, environment: environment, in: directory)
    }

    /// `stretchctl ARGS --json`, decoded.
    func json(_ arguments: [String]) throws -> [String: Any] {
        let result = try ctl(arguments + ["--json"])
        guard let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw DaemonTestError("not JSON: \(result.stdout) \(result.stderr)")
        }
        return object
    }

    func status() throws -> [String: Any] {
        try json(["status"])["status"] as? [String: Any] ?? [:]
    }

    /// Sends SIGTERM and waits for the process to end; returns its exit status.
    /// SIGTERM, then its exit status once it has exited; a daemon still running 10 s later is killed and the test
    /// fails with its log (SIGTERM must end it at once: a hang is a defect, not something to wait out).
    func terminate() throws -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        // Read its log to the end: its stderr closes as it exits.
        let deadline = Date().addingTimeInterval(10)
        var poller = pollfd(fd: log.fileDescriptor, events: Int16(POLLIN), revents: 0)
        while poll(&poller, 1, Int32(max(0, deadline.timeIntervalSinceNow) * 1000)) > 0 {
            let data = log.availableData
            guard !data.isEmpty else {
                process.waitUntilExit()
                return process.terminationStatus
            }
            logText += String(decoding: data, as: UTF8.self)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw DaemonTestError("stretchd did not exit within 10 s of SIGTERM; log:\n\(logText)")
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

struct DaemonTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
