import Foundation
import Testing
import TestSupport

/// Exit statuses and messages of both binaries' command lines.
@Suite struct CommandLineTests {
    @Test(arguments: [
        ["stretchctl", "help", "nosuch"], ["stretchctl", "nosuch"], ["stretchctl", "status", "--bogus"],
        ["stretchctl", "history", "--days", "x"], ["stretchctl", "history", "--days", "0"],
        ["stretchctl", "sounds", "play", "nope"], ["stretchctl", "sounds", "nosuch"], ["stretchd", "--bogus"],
        ["stretchd", "--log-level", "loud"], ["stretchd", "extra"], ["stretchd", "--config"],
        ["stretchd", "--log-level=loud"], ["stretchd", "--socket", "/tmp/x.sock", "extra"], ["stretchd", "-x"],
        ["stretchctl", "snooze", "soon"], ["stretchctl", "pause", "0s"], ["stretchctl", "plan", "no-such-routine"],
    ])
    func usageErrorsExit64WithTheUsage(command: [String]) throws {
        let result = try Binaries.run(command[0], Array(command.dropFirst()))
        #expect(result.status == 64, "\(command): \(result.stderr)")
        #expect(result.stderr.hasPrefix("Error: "), "\(command): \(result.stderr)")
        #expect(result.stderr.contains("Usage: \(command[0])"), "\(command): \(result.stderr)")
    }

    @Test func stretchdHelpListsItsOptionsAndExitStatuses() throws {
        for flag in ["--help", "-h"] {
            let result = try Binaries.run("stretchd", ["--log-level", "debug", flag])
            #expect(result.status == 0)
            #expect(result.stdout.hasPrefix("OVERVIEW: The stretchd daemon"))
            #expect(result.stdout.contains(
                "USAGE: stretchd [--config <path>] [--socket <path>] [--log-level <log-level>]"))
            for option in ["--config <path>", "--socket <path>", "--log-level <log-level>", "--version", "64 a bad"] {
                #expect(result.stdout.contains(option), "\(option)")
            }
        }
    }

    @Test func stretchdUsageErrorsSayWhatWasWrong() throws {
        let level = try Binaries.run("stretchd", ["--log-level=loud"])
        #expect(level.stderr.hasPrefix("Error: The value 'loud' is invalid for '--log-level <log-level>'"))
        #expect(level.stderr.contains("  - critical\n"))
        let missing = try Binaries.run("stretchd", ["--socket"])
        #expect(missing.stderr.hasPrefix("Error: Missing value for '--socket <path>'\n"))
        let unknown = try Binaries.run("stretchd", ["--sockets", "x"])
        #expect(unknown.stderr.hasPrefix("Error: Unknown option '--sockets'\n"))
    }

    /// `--name=value` reaches the daemon as `--name value` does: here a config that is not there stops it.
    @Test func stretchdTakesOptionValuesAfterAnEqualsSign() throws {
        let environment = try Binaries.cleanEnvironment()
        let home = environment["HOME"]!
        for arguments in [["--config=\(home)/nope.toml"], ["--config", "\(home)/nope.toml"]] {
            let result = try Binaries.run(
                "stretchd", arguments + ["--socket=\(home)/control.sock", "--log-level=error"], environment: environment)
            #expect(result.status == 78, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("\(home)/nope.toml"), "\(arguments): \(result.stderr)")
        }
    }

    @Test func helpAboutAnExistingCommandSucceeds() throws {
        let result = try Binaries.run("stretchctl", ["help", "sounds", "play"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE: stretchctl sounds play <name>"))
    }

    @Test func anUnknownSoundNamesTheSoundsAndShowsItsOwnUsage() throws {
        let result = try Binaries.run("stretchctl", ["sounds", "play", "nope"])
        #expect(result.stderr.hasPrefix("Error: No sound named \"nope\"; sounds: countdown, hold-start, halfway,"))
        #expect(result.stderr.contains("Usage: stretchctl sounds play <name> [--device <name>]"))
    }

    @Test func checkConfigWithoutAConfigFileSaysTheDefaultsAreInUse() throws {
        let environment = try Binaries.cleanEnvironment()
        let result = try Binaries.run("stretchctl", ["check-config"], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "\(environment["HOME"]!)/.config/stretchd/config.toml: no config file; the built-in "
            + "defaults are in use: breaks every 50m, routines hips-for-back, desk-basics\n")
        // A file named on the command line must be there.
        let named = try Binaries.run("stretchctl", ["check-config", environment["HOME"]! + "/nope.toml"],
                                     environment: environment)
        #expect(named.status == 78)
    }

    @Test func ctrlCStopsPlayWithStatus130() throws {
        let dir = try URLPath.temporaryDirectory()
        try """
            name = "Long"
            [[step]]
            name = "Hold"
            kind = "hold"
            hold = "5m"
            """.write(toFile: dir + "/long.toml", atomically: true, encoding: .utf8)
        let process = Binaries.process(
            "stretchctl", ["play", dir + "/long.toml", "--device", "file:'\(dir)/live.wav',wav", "--voice", "off"],
            environment: try Binaries.cleanEnvironment())
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Once it shows the session, it is playing.
        let shown = out.fileHandleForReading.readFirstLine()
        #expect(String(decoding: shown, as: UTF8.self).hasPrefix("Long: 1 steps, 5m"))
        kill(process.processIdentifier, SIGINT)
        let rest = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 130)
        #expect(rest.contains("Stopped during step 1, Hold."))
    }
}
