import Foundation
import Testing

/// `toml-decode`, the toml-test suite's decoder interface.
@Suite struct TOMLDecodeTests {
    func decode(_ input: String) throws -> Binaries.Result {
        let process = Binaries.process("toml-decode", [], environment: try Binaries.cleanEnvironment())
        let stdin = Pipe(), out = Pipe(), err = Pipe()
        process.standardInput = stdin
        process.standardOutput = out
        process.standardError = err
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Binaries.Result(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test func aValidDocumentBecomesTaggedJSON() throws {
        let result = try decode("a = 1\n[t]\nb = [\"x\", 1979-05-27]\n")
        #expect(result.status == 0 && result.stderr.isEmpty)
        #expect(result.stdout == #"{"a":{"type":"integer","value":"1"},"t":{"b":[{"type":"string","value":"x"},"#
            + #"{"type":"date-local","value":"1979-05-27"}]}}"# + "\n")
    }

    @Test func anInvalidDocumentIsAMessageAndExitStatusOne() throws {
        let result = try decode("a = 1\n[/x]\n")
        #expect(result.status == 1 && result.stdout.isEmpty)
        #expect(result.stderr == "stdin:2:2: expected a key, found \"/\"\n")
    }
}
