import Foundation
import Testing
import TestSupport

/// A FIFO, a device or a folder where a file is expected gets a clear error at once: reading one would block the
/// daemon or the command forever. A hang fails the suite by its time limit.
@Suite(.timeLimit(.minutes(2))) struct SpecialFileTests {
    static let fifoProblem = "a FIFO (named pipe), not a regular file"

    /// A fresh folder holding a FIFO named `name`.
    func fifo(named name: String = "routine.toml") throws -> String {
        let path = try URLPath.temporaryDirectory() + "/" + name
        #expect(mkfifo(path, 0o600) == 0)
        return path
    }

    @Test func checkPlanAndCheckConfigRefuseAFIFO() throws {
        let path = try fifo()
        for arguments in [["check", path], ["plan", path], ["check-config", path]] {
            let result = try Binaries.run("stretchctl", arguments)
            #expect(result.status == 78, "\(arguments)")
            #expect(result.stderr.contains("\(path): \(Self.fifoProblem)"), "\(arguments): \(result.stderr)")
        }
    }

    @Test func checkRefusesAFolderAndADevice() throws {
        let folder = try URLPath.temporaryDirectory()
        let result = try Binaries.run("stretchctl", ["check", folder, "/dev/null"])
        #expect(result.status == 78)
        #expect(result.stderr == "\(folder): a directory, not a regular file\n/dev/null: a device, not a regular file\n")
    }

    @Test func routinesAndSoundsSkipAFIFOWithAWarning() throws {
        var environment = try Binaries.cleanEnvironment()
        let home = try #require(environment["HOME"])
        try FileManager.default.createDirectory(atPath: home + "/routines", withIntermediateDirectories: true)
        #expect(mkfifo(home + "/routines/stuck.toml", 0o600) == 0)
        let routines = try Binaries.run("stretchctl", ["routines", "--routines-dir", home + "/routines"], environment: environment)
        #expect(routines.status == 0)
        #expect(routines.stdout.contains("hips-for-back"))
        #expect(routines.stderr.contains("stuck.toml: \(Self.fifoProblem)"), "\(routines.stderr)")

        environment["XDG_DATA_HOME"] = home + "/data"
        try FileManager.default.createDirectory(atPath: home + "/data/stretchd/sounds", withIntermediateDirectories: true)
        #expect(mkfifo(home + "/data/stretchd/sounds/halfway.wav", 0o600) == 0)
        let sounds = try Binaries.run("stretchctl", ["sounds"], environment: environment)
        #expect(sounds.status == 0)
        #expect(sounds.stderr.contains("halfway.wav: \(Self.fifoProblem)"), "\(sounds.stderr)")
    }

    @Test func stretchdRefusesAFIFOAsItsConfigInsteadOfHanging() throws {
        let path = try fifo(named: "config.toml")
        let runtime = try URLPath.temporaryDirectory()
        let result = try Binaries.run("stretchd", ["--config", path, "--socket", runtime + "/control.sock"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(path): \(Self.fifoProblem)"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: runtime + "/control.sock"))
    }

    @Test func theDaemonSkipsFIFOsAtStartAndRefusesOneGivenToStart() throws {
        let daemon = try DaemonProcess { home in
            #expect(mkfifo(home + "/.config/stretchd/routines/stuck.toml", 0o600) == 0)
            try FileManager.default.createDirectory(
                atPath: home + "/.local/share/stretchd/sounds", withIntermediateDirectories: true)
            #expect(mkfifo(home + "/.local/share/stretchd/sounds/countdown.wav", 0o600) == 0)
        }
        #expect(daemon.logText.contains("stuck.toml: \(Self.fifoProblem)"), "\(daemon.logText)")
        // The sound overrides are read at the first break (every 3s here), not before READY.
        _ = try daemon.waitForLog("countdown.wav: \(Self.fifoProblem)")
        let fifo = daemon.home + "/.config/stretchd/routines/stuck.toml"
        let start = try daemon.ctl(["start", fifo])
        #expect(start.status == 1)
        #expect(start.stderr.contains(Self.fifoProblem), "\(start.stderr)")
        #expect(try daemon.status()["state"] as? String != nil)
        #expect(try daemon.terminate() == 0)
    }

    @Test func startSendsARelativeRoutinePathAsAnAbsoluteOne() throws {
        let daemon = try DaemonProcess(every: "1h")
        let folder = try URLPath.temporaryDirectory()
        try DaemonProcess.quickRoutine.replacingOccurrences(of: "\"Quick\"", with: "\"Quick from here\"")
            .write(toFile: folder + "/here.toml", atomically: true, encoding: .utf8)
        let start = try daemon.ctl(["start", "./here.toml"], in: folder)
        #expect(start.status == 0, "\(start.stderr)")
        #expect(start.stdout.contains("started here"), "\(start.stdout)")
        #expect(try daemon.ctl(["stop"]).status == 0)
        #expect(try daemon.terminate() == 0)
    }
}
