import Foundation

/// The repository and fresh temporary folders, for tests.
public enum URLPath {
    /// The repository root, from this file's path.
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// A fresh temporary directory.
    public static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("stretchd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Whole files as bytes, for tests.
public enum FileBytes {
    public static func read(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    }

    public static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}

extension FileHandle {
    /// What a child process writes here up to its first newline (that line may come with more after it), or all
    /// of it when it ends first: waits only as long as the child takes to write that line.
    public func readFirstLine() -> Data {
        var read = Data()
        while !read.contains(UInt8(ascii: "\n")) {
            let chunk = availableData
            if chunk.isEmpty { break }
            read.append(chunk)
        }
        return read
    }
}
