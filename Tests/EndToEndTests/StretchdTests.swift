import Foundation
import Testing

@Suite struct StretchdTests {
    /// Starts the daemon, waits for its start-up line, stops it with `signal` and returns everything it logged.
    func startAndStop(with signal: Int32) throws -> (status: Int32, log: String) {
        let process = Binaries.process("stretchd", [], environment: try Binaries.cleanEnvironment())
        let err = Pipe()
        process.standardError = err
        try process.run()
        var log = ""
        while !log.contains(" started ") {
            let data = err.fileHandleForReading.availableData
            if data.isEmpty { break }
            log += String(decoding: data, as: UTF8.self)
        }
        kill(process.processIdentifier, signal)
        log += String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, log)
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func logsTheNextBreakAndStopsCleanlyOnSignal(signal: Int32) throws {
        let (status, log) = try startAndStop(with: signal)
        #expect(status == 0, "\(log)")
        let started = try #require(log.split(separator: "\n").first { $0.contains(" started ") })
        #expect(started.contains("next_break=\""), "\(started)")
        #expect(log.hasSuffix("info stopped\n"), "\(log)")
    }
}
