import Foundation

/// dconf databases as dconf's own tools write them: Debian's `dconf compile` (dconf-cli) turns a keyfile into the
/// GVDB file that dconf's writer service keeps at `$XDG_CONFIG_HOME/dconf/user`.
public enum DconfCompile {
    static let program = "/usr/bin/dconf"

    /// Why `dconf compile` cannot run here, or nil.
    public static let unavailable: String? =
        FileManager.default.isExecutableFile(atPath: program)
        ? nil : "dconf is not installed (Debian: dconf-cli; make test-deps installs it)"

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Writes the database of `keyfile` (`[org/gnome/desktop/notifications]` then `show-banners=false`) to `path`,
    /// making its folder: dconf replaces the file whole (a temporary file renamed over it), as its writer does.
    public static func write(_ keyfile: String, to path: String) throws {
        let folder = try URLPath.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try keyfile.write(toFile: folder + "/keyfile", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = ["compile", path, folder]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let said = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "dconf compile exited with \(process.terminationStatus): \(String(decoding: said, as: UTF8.self))")
        }
    }

    /// The database of `keyfile`, as bytes.
    public static func bytes(_ keyfile: String) throws -> [UInt8] {
        let folder = try URLPath.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try write(keyfile, to: folder + "/user")
        return try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/user")))
    }
}

#if canImport(Testing)
import Testing

extension Trait where Self == ConditionTrait {
    /// A suite that makes dconf databases with `dconf compile`: skipped, with a note, where it is not installed.
    public static var needsDconf: Self {
        .disabled(if: DconfCompile.unavailable != nil, "\(DconfCompile.unavailable ?? "")")
    }
}
#endif
