import Foundation
import Testing
import TestSupport

/// `make install-files` and `make uninstall` (what `make install` does after the build) into a temporary home, with
/// the debug binaries standing in for the release ones and a `systemctl` that records what it is asked.
@Suite struct InstallTests {
    let root: String
    let home: String
    let prefix: String
    let userSounds: String

    init() throws {
        root = try URLPath.temporaryDirectory()
        home = root + "/home"
        prefix = root + "/prefix"
        userSounds = home + "/.local/share/stretchd/sounds"
        try FileManager.default.createDirectory(atPath: root + "/fakebin", withIntermediateDirectories: true)
        // Answers as a running user manager would; FAIL names the one command that fails.
        try """
            #!/bin/sh
            echo "$*" >> "\(root)/systemctl.log"
            case " $* " in *" $FAIL "*) exit 1;; esac
            exit 0
            """.write(toFile: root + "/fakebin/systemctl", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root + "/fakebin/systemctl")
    }

    /// Runs `make TARGET` in the repository.
    func make(_ target: String, fail: String = "none") throws -> Binaries.Result {
        try run("/usr/bin/make", ["--no-print-directory", "-C", URLPath.repository, target, "PREFIX=" + prefix,
                                  "BUILT=" + Binaries.directory.path],
                environment: ["HOME": home, "PATH": root + "/fakebin:/usr/bin:/bin", "FAIL": fail, "LANG": "C.UTF-8"])
    }

    func run(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> Binaries.Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Binaries.Result(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    var systemctlCalls: [String] {
        ((try? String(contentsOfFile: root + "/systemctl.log", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Every file under the user's data, config and state folders, with its bytes.
    func userFiles() throws -> [String: Data] {
        var files: [String: Data] = [:]
        for folder in [".local/share", ".config/stretchd", ".local/state"] {
            let base = home + "/" + folder
            guard let walker = FileManager.default.enumerator(atPath: base) else { continue }
            for case let path as String in walker {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: base + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    files[folder + "/" + path] = try Data(contentsOf: URL(fileURLWithPath: base + "/" + path))
                }
            }
        }
        return files
    }

    @Test func installAndUninstallLeaveTheUsersSoundsConfigAndHistoryAlone() throws {
        let fileManager = FileManager.default
        for folder in [userSounds, home + "/.config/stretchd/routines", home + "/.local/state/stretchd"] {
            try fileManager.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        // The user's own halfway sound (here: the hold-end one, so it is a valid WAV).
        try fileManager.copyItem(atPath: URLPath.repository + "/Sounds/hold-end.wav", toPath: userSounds + "/halfway.wav")
        // A copy of a built-in sound, as older versions of `make install` left there.
        try fileManager.copyItem(atPath: URLPath.repository + "/Sounds/countdown.wav", toPath: userSounds + "/countdown.wav")
        try "[audio]\nvolume = 0.5\n".write(toFile: home + "/.config/stretchd/config.toml", atomically: true, encoding: .utf8)
        try "name = \"Mine\"\n".write(toFile: home + "/.config/stretchd/routines/mine.toml", atomically: true, encoding: .utf8)
        try "{}\n".write(toFile: home + "/.local/state/stretchd/history.jsonl", atomically: true, encoding: .utf8)
        let before = try userFiles()
        #expect(before.count == 5)

        let install = try make("install-files")
        #expect(install.status == 0, "\(install.stdout)\(install.stderr)")
        #expect(try userFiles() == before)
        #expect(install.stdout.contains("copies of built-in sounds, left by an older make install: countdown.wav."))
        // The daemon is (re)started on the new binaries, which are stripped and run.
        #expect(systemctlCalls == ["--user show-environment", "--user daemon-reload", "--user enable stretchd",
                                   "--user restart stretchd"])
        for name in ["stretchd", "stretchctl"] {
            let installed = try #require(try fileManager.attributesOfItem(atPath: prefix + "/bin/" + name)[.size] as? Int)
            let built = try #require(
                try fileManager.attributesOfItem(atPath: Binaries.directory.appendingPathComponent(name).path)[.size] as? Int)
            #expect(installed < built * 3 / 4, "\(name) is stripped: \(installed) of \(built) bytes")
            let version = try run(prefix + "/bin/" + name, ["--version"], environment: ["PATH": "/usr/bin:/bin"])
            #expect(version.status == 0 && version.stdout.hasPrefix(name + " 0."))
        }
        // Built-in sounds are listed as built-in; the user's own file (and the stale copy) as theirs.
        let sounds = try run(prefix + "/bin/stretchctl", ["sounds"], environment: ["HOME": home, "PATH": "/usr/bin:/bin"])
        let sources = Dictionary(uniqueKeysWithValues: sounds.stdout.split(separator: "\n").dropFirst().map { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            return (String(fields.first!), String(fields.last!))
        })
        #expect(sources.count == 11, "\(sounds.stdout)")
        #expect(sources["halfway"] == userSounds + "/halfway.wav")
        #expect(sources["countdown"] == userSounds + "/countdown.wav")
        #expect(sources.filter { $0.value == "built-in" }.count == 9)
        let unit = try String(contentsOfFile: home + "/.config/systemd/user/stretchd.service", encoding: .utf8)
        #expect(unit.contains("\nExecStart=\(prefix)/bin/stretchd\n"))
        #expect(unit.contains("\nExecReload=\(prefix)/bin/stretchctl reload\n"))
        #expect(try verify(home + "/.config/systemd/user/stretchd.service") == "")

        let uninstall = try make("uninstall")
        #expect(uninstall.status == 0, "\(uninstall.stderr)")
        #expect(try userFiles() == before)
        #expect(systemctlCalls.suffix(2) == ["--user disable --now stretchd", "--user daemon-reload"])
        for path in [prefix + "/bin/stretchd", prefix + "/bin/stretchctl", home + "/.config/systemd/user/stretchd.service"] {
            #expect(!fileManager.fileExists(atPath: path), "\(path) is removed")
        }
    }

    @Test func aDaemonThatDoesNotStartFailsTheInstall() throws {
        let install = try make("install-files", fail: "restart")
        #expect(install.status != 0)
        #expect(install.stderr.contains("stretchd did not start: systemctl --user status stretchd"))
    }

    @Test func withoutAUserManagerTheInstallSaysHowToStartItLater() throws {
        let install = try make("install-files", fail: "show-environment")
        #expect(install.status == 0, "\(install.stderr)")
        #expect(install.stdout.contains("No user systemd manager is running here"))
        #expect(systemctlCalls == ["--user show-environment"])
    }

    /// What `systemd-analyze --user verify` says about a unit file (nothing when it is clean).
    func verify(_ unit: String) throws -> String {
        let runtime = try URLPath.temporaryDirectory()
        let result = try Binaries.run(
            program: URL(fileURLWithPath: "/usr/bin/systemd-analyze"), ["--user", "verify", unit],
            environment: ["XDG_RUNTIME_DIR": runtime, "PATH": "/usr/bin:/bin", "HOME": home])
        let text = result.stdout + result.stderr
        return result.status == 0 ? text : "exit \(result.status): \(text)"
    }
}
