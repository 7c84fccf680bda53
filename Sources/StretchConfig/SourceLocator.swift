/// Finds the line a key path was written on, so problems found after parsing still point into the file.
///
/// TOMLKit reports positions only for syntax errors; for a wrong value we look the key up in the text: the
/// `n`-th `[[array]]` header, then the key's assignment after it. This handles files written the usual way
/// (tables as headers, values one per line); when the key cannot be found, the problem has no line.
struct SourceLocator {
    private let lines: [Substring]

    init(text: String) {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// The 1-based line of a key path like `countdown`, `step[2].hold` or `schedule.hours`.
    func line(of keyPath: String) -> Int? {
        var searchFrom = 0
        var tableName: [String] = []
        for component in keyPath.split(separator: ".") {
            let name = component.prefix { $0 != "[" }
            let index = component.firstIndex(of: "[").flatMap { Int(component[$0...].dropFirst().dropLast()) }
            let header = tableName + [String(name)]
            let headerText = header.joined(separator: ".")
            let found = index.map { nthLine(matching: "[[\(headerText)]]", n: $0, from: searchFrom) }
                ?? nthLine(matching: "[\(headerText)]", n: 1, from: searchFrom)
            if let found {
                searchFrom = found + 1
                tableName = header
            } else {
                // Not a table of its own: the key, or the inline value holding the rest of the path.
                return assignment(of: String(name), from: searchFrom)
            }
        }
        return searchFrom > 0 ? searchFrom : nil
    }

    /// The line of `key = ...` in the table whose body starts at `start`.
    private func assignment(of key: String, from start: Int) -> Int? {
        for index in start..<lines.count {
            let line = lines[index].trimmingCharacters()
            if index > start, line.hasPrefix("[") { return nil }
            if line.hasPrefix(key), line.dropFirst(key.count).trimmingCharacters().hasPrefix("=") { return index + 1 }
        }
        return nil
    }

    private func nthLine(matching header: String, n: Int, from start: Int) -> Int? {
        var seen = 0
        for index in start..<lines.count 
            where lines[index].prefix(while: { $0 != "#" }).replacingSpaces() == header
        {
            seen += 1
            if seen == n { return index }
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> Substring {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map { index(after: $0) } ?? endIndex
        return self[start..<Swift.max(start, end)]
    }

    fileprivate func replacingSpaces() -> String { String(filter { !$0.isWhitespace }) }
}
