import Foundation
import Testing
import TestSupport

@Suite struct StretchdTests {
    @Test(arguments: [SIGTERM, SIGINT])
    func logsTheNextBreakAndStopsCleanlyOnSignal(signal: Int32) throws {
        let daemon = try DaemonProcess()
        let started = try #require(daemon.logText.split(separator: "\n").first { $0.contains(" started ") })
        #expect(started.contains("next_break=\""), "\(started)")
        #expect(FileManager.default.fileExists(atPath: daemon.socket))
        let mode = try FileManager.default.attributesOfItem(atPath: daemon.socket)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let folderMode = try FileManager.default.attributesOfItem(
            atPath: daemon.runtime + "/stretchd")[.posixPermissions] as? Int
        #expect(folderMode == 0o700)
        kill(daemon.process.processIdentifier, signal)
        daemon.process.waitUntilExit()
        #expect(daemon.process.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: daemon.socket))
    }

    /// The control socket is served on the daemon's own event loop: no event-loop thread of its own (SwiftNIO's
    /// was one), and serving clients starts no thread.
    @Test func servesTheControlSocketWithoutAThreadOfItsOwn() throws {
        let daemon = try DaemonProcess()
        let tasks = "/proc/\(daemon.process.processIdentifier)/task"
        func threadNames() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: tasks).compactMap {
                try? String(contentsOfFile: "\(tasks)/\($0)/comm", encoding: .utf8)
            }
        }
        _ = try daemon.status()
        let before = try threadNames()
        #expect(before.filter { $0.hasPrefix("NIO-") }.isEmpty, "\(before)")
        for _ in 0..<3 { _ = try daemon.status() }
        #expect(try threadNames().count == before.count, "\(before)")
        #expect(try daemon.terminate() == 0)
    }

    @Test func underTheJournalLinesCarryLevelPrefixesInsteadOfTimes() throws {
        let runtime = try URLPath.temporaryDirectory()
        let pipe = Pipe()
        var info = stat()
        fstat(pipe.fileHandleForWriting.fileDescriptor, &info)
        let process = Binaries.process("stretchd", ["--socket", runtime + "/control.sock"], environment: [
            "HOME": runtime, "PATH": "/usr/bin:/bin", "JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino)",
        ])
        process.standardError = pipe
        try process.run()
        var log = ""
        while !log.contains("started next_break=") {
            let data = pipe.fileHandleForReading.availableData
            if data.isEmpty { break }
            log += String(decoding: data, as: UTF8.self)
        }
        kill(process.processIdentifier, SIGTERM)
        log += String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let lines = log.split(separator: "\n")
        // "started" comes once the socket listens: after "listening".
        #expect(lines.contains { $0.hasPrefix("<6>started ") }, "\(log)")
        #expect(lines.firstIndex { $0.hasPrefix("<6>listening") }! < lines.firstIndex { $0.hasPrefix("<6>started ") }!, "\(log)")
        #expect(lines.allSatisfy { $0.hasPrefix("<") }, "\(log)")
    }

    @Test func withoutARuntimeFolderItSaysWhatToDo() throws {
        let result = try Binaries.run("stretchd", [])
        #expect(result.status == 1)
        #expect(result.stderr.contains("XDG_RUNTIME_DIR is not set"))
        #expect(result.stderr.contains("--socket PATH"))
        let client = try Binaries.run("stretchctl", ["status"])
        #expect(client.status == 2)
        #expect(client.stderr.contains("XDG_RUNTIME_DIR is not set"))
    }

    /// A socket that accepts and never answers, as a stuck daemon would: the reply's wait (30 s) runs out.
    @Test func stretchctlReportsATimeoutAsATimeout() throws {
        let path = try URLPath.temporaryDirectory() + "/stuck.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0 && listen(fd, 1) == 0)
        let result = try Binaries.run("stretchctl", ["status", "--socket", path])
        #expect(result.status == 2)
        #expect(result.stderr == "error: timed out: the daemon did not reply within 30 s\n")
    }

    @Test func stretchctlSaysWhenTheDaemonIsNotRunning() throws {
        let result = try Binaries.run("stretchctl", ["status", "--socket", "/tmp/no-such-stretchd.sock"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("error: stretchd is not running"))
    }

    @Test func aBadConfigStopsStartUpWithItsProblems() throws {
        let daemon = try DaemonProcess()
        #expect(try daemon.terminate() == 0)
        try "[audio]\nvolume = 3\n".write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
        let result = try Binaries.run("stretchd", [], environment: daemon.environment)
        #expect(result.status == 78, "EX_CONFIG, on which the unit does not restart")
        #expect(result.stderr.contains("bad config: \(daemon.configPath):2:10: audio.volume: must be from 0.0 to 1.0, got 3.0"))
        let check = try daemon.ctl(["check-config"])
        #expect(check.status == 78 && check.stderr.contains("audio.volume"), "the same exit status as the daemon's")
    }

    /// Runs stretchd with a runtime folder prepared by `prepare`, expecting it to refuse to start; returns its log.
    func refusedStart(prepare: (_ runtime: String) throws -> Void) throws -> String {
        let runtime = try URLPath.temporaryDirectory()
        chmod(runtime, 0o700)
        try prepare(runtime)
        let process = Binaries.process("stretchd", [], environment: [
            "HOME": runtime, "XDG_RUNTIME_DIR": runtime, "PATH": "/usr/bin:/bin", "TZ": "UTC",
        ])
        let errors = Pipe()
        process.standardError = errors
        let ended = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in ended.signal() }
        try process.run()
        if ended.wait(timeout: .now() + 30) == .timedOut {
            process.terminate()
            process.waitUntilExit()
            Issue.record("stretchd did not refuse to start")
        }
        #expect(process.terminationStatus == 1)
        return String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    @Test func aSocketFolderOthersCanWriteToStopsStartUp() throws {
        var folder = ""
        let log = try refusedStart { runtime in
            folder = runtime + "/stretchd"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
            chmod(folder, 0o777)
        }
        #expect(log.contains("the socket folder \(folder) has mode 0777, but must be yours alone (0700): run chmod 700 \(folder)"), "\(log)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/control.sock"))
    }

    @Test func aSocketFolderThatIsASymbolicLinkStopsStartUp() throws {
        var folder = "", target = ""
        let log = try refusedStart { runtime in
            folder = runtime + "/stretchd"
            target = runtime + "/elsewhere"
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
            chmod(target, 0o700)
            symlink(target, folder)
        }
        #expect(log.contains("the socket folder \(folder) is a symbolic link"), "\(log)")
        #expect(!FileManager.default.fileExists(atPath: target + "/control.sock"))
    }

    @Test func aBurstOfHangupsReloadsTwiceNotOncePerSignal() throws {
        let daemon = try DaemonProcess(every: "1h")
        // A thousand hangups over about half a second, each soon after the last; one by one they once did a
        // thousand reloads.
        for _ in 0..<1000 {
            kill(daemon.process.processIdentifier, SIGHUP)
            usleep(500)
        }
        // One reload at once, and one for all the hangups that came during the following second.
        try daemon.waitForLog("config reloaded")
        try daemon.waitForLog("config reloaded")
        #expect(try daemon.ctl(["status"]).status == 0)
        #expect(try daemon.terminate() == 0)
        let reloads = daemon.logText.components(separatedBy: "config reloaded").count - 1
        #expect(reloads >= 2 && reloads <= 20, "\(reloads) reloads")
    }

    @Test func theUnitFileVerifiesClean() throws {
        let unit = try String(contentsOfFile: URLPath.repository + "/systemd/stretchd.service", encoding: .utf8)
        let folder = try URLPath.temporaryDirectory()
        // As `make install` writes it: ExecStart pointing at a real binary.
        let installed = unit.replacingOccurrences(
            of: "ExecStart=%h/.local/bin/stretchd", with: "ExecStart=" + Binaries.directory.appendingPathComponent("stretchd").path
        ).replacingOccurrences(
            of: "ExecReload=%h/.local/bin/stretchctl", with: "ExecReload=" + Binaries.directory.appendingPathComponent("stretchctl").path)
        #expect(installed.components(separatedBy: Binaries.directory.path).count == 3)
        try installed.write(toFile: folder + "/stretchd.service", atomically: true, encoding: .utf8)
        let runtime = try URLPath.temporaryDirectory()
        let result = try Binaries.run(
            program: URL(fileURLWithPath: "/usr/bin/systemd-analyze"), ["--user", "verify", folder + "/stretchd.service"],
            environment: ["XDG_RUNTIME_DIR": runtime, "PATH": "/usr/bin:/bin", "HOME": runtime])
        let text = result.stdout + result.stderr
        #expect(result.status == 0)
        #expect(text.isEmpty, "systemd-analyze said: \(text)")
        #expect(unit.contains("Type=notify") && unit.contains("ExecReload=") && unit.contains("Restart=on-failure"))
        #expect(unit.contains("\nRestartPreventExitStatus=64 78\n"))
    }
}
