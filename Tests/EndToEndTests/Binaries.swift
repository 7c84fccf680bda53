import Foundation

/// The built `stretchd` and `stretchctl`, run as a user would run them.
enum Binaries {
    /// The build folder: the test bundle sits next to the executables.
    static let directory: URL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        .deletingLastPathComponent()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// An environment with a fresh, empty home so nothing of the machine's user leaks in.
    static func cleanEnvironment() throws -> [String: String] {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("stretchd-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        return ["HOME": home.path, "PATH": "/usr/bin:/bin", "TZ": "UTC", "LANG": "C.UTF-8"]
    }

    static func process(_ name: String, _ arguments: [String], environment: [String: String]) -> Process {
        let process = Process()
        process.executableURL = directory.appendingPathComponent(name)
        process.arguments = arguments
        process.environment = environment
        return process
    }

    /// Runs a binary to completion (in `directory`, when given) and returns its exit status and output.
    static func run(
        _ name: String, _ arguments: [String], environment: [String: String]? = nil, in directory: String? = nil
    ) throws -> Result {
        try run(program: self.directory.appendingPathComponent(name), arguments,
                environment: try environment ?? cleanEnvironment(), in: directory)
    }

    /// Runs any program (make, systemd-analyze) to completion the same way.
    static func run(
        program: URL, _ arguments: [String], environment: [String: String], in directory: String? = nil
    ) throws -> Result {
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        process.environment = environment
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }
}
