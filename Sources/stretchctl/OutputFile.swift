import StretchSystem
import SystemPackage

/// A file a command writes at a path the user named: it replaces only what is safe to replace.
enum OutputFile {
    /// Why `path` must not be written, or nil: nothing is there, or an earlier WAV file (a render written again)
    /// when `replacingWAV` is true. Anything else there (a routine file given as the output by mistake, a sound of
    /// the user's own) is kept.
    static func refusal(_ path: String, replacingWAV: Bool) -> String? {
        guard !path.isEmpty else { return "an empty path names no file" }
        guard let existing = try? FilePath(path).stat(followTargetSymlink: false) else { return nil }
        guard existing.type == .regular else { return "\(path) is not a regular file; not replacing it" }
        if replacingWAV, case .success(let fd) = Files.openRegularFile(path) {
            defer { try? fd.close() }
            var magic = [UInt8](repeating: 0, count: 4)
            let count = (try? magic.withUnsafeMutableBytes { try fd.read(into: $0) }) ?? 0
            if count == 4, magic == Array("RIFF".utf8) { return nil }
            return "\(path) exists and is not a WAV file; not replacing it (remove it first, or choose another name)"
        }
        return "\(path) exists; not replacing it (remove it first, or use --force)"
    }
}
