import StretchCore
import StretchSystem
import TOML

extension RoutineFile {
    /// Where `keyPath` (`step[2]`, `step[1].parts[2]`, `say_closing`: the key paths problems name) is written in
    /// a routine's TOML text: the key, or the header of an element of an array of tables. Nil when the text is not
    /// TOML or has no such key.
    public static func position(of keyPath: String, in bytes: [UInt8]) -> (line: Int, column: Int)? {
        guard var table = try? TOMLReader.parse(bytes) else { return nil }
        var position: TOMLPosition?
        for segment in keyPath.split(separator: ".") {
            // `name` or `name[index]`, the index counting from 1.
            let parts = segment.split(separator: "[", maxSplits: 1)
            guard let name = parts.first, let entry = table.entry(String(name)) else { return nil }
            var value = entry.value
            position = entry.keyPosition
            if parts.count == 2 {
                guard let index = Int(parts[1].dropLast()), let array = value.array, array.indices.contains(index - 1)
                else { return nil }
                value = array[index - 1]
                position = value.position
            }
            if let inner = value.table { table = inner }
        }
        return position.map { ($0.line, $0.column) }
    }
}

extension RoutineLibrary {
    /// A problem with `keyPath` of `routine`, located where it is written: in `file` when given (a routine loaded
    /// from a path), else in the file of the library's routine with its id, or in the built-in routine's text
    /// (`built-in hips-for-back:12:1`). Without line and column when the file cannot be read again.
    public func problem(_ message: String, at keyPath: String, of routine: Routine, file: String? = nil)
        -> ConfigProblem
    {
        let entryPath = entries.first { $0.routine.id == routine.id }?.path
        let bytes: [UInt8]?
        let shown: String
        if let path = file ?? entryPath {
            shown = path
            bytes = try? Files.readBytes(path, limit: Files.maximumSize).get()
        } else if let builtIn = BuiltInRoutines.files.first(where: { $0.id == routine.id }) {
            shown = "built-in \(builtIn.id)"
            bytes = Array(builtIn.text.utf8)
        } else {
            shown = routine.id
            bytes = nil
        }
        let position = bytes.flatMap { RoutineFile.position(of: keyPath, in: $0) }
        return ConfigProblem(
            file: shown, line: position?.line, column: position?.column, keyPath: keyPath, message: message)
    }
}
