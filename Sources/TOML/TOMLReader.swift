/// Reads TOML 1.0 documents: a recursive-descent parser over UTF-8 bytes, in one linear pass, with every key and
/// value located. Pure Swift: no Foundation, no C.
public enum TOMLReader {
    /// Larger documents are refused: 1 MiB, like config and routine files.
    public static let maximumSize = 1 << 20
    /// How deep tables, arrays, inline tables and dotted keys may nest.
    public static let maximumDepth = 64
    /// The longest string value or quoted key, in bytes of UTF-8 (64 KiB).
    public static let maximumStringLength = 64 << 10

    /// Parses a whole document; the error names the first problem with its line and column.
    public static func parse(_ text: String) throws(TOMLError) -> TOMLTable {
        var text = text
        let result: Result<TOMLTable, TOMLError> = text.withUTF8 { bytes in
            do throws(TOMLError) { return .success(try parse(bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Parses a whole document given as bytes, which must be UTF-8 (checked here, with the position of a bad byte).
    public static func parse(_ bytes: [UInt8]) throws(TOMLError) -> TOMLTable {
        let result: Result<TOMLTable, TOMLError> = bytes.withUnsafeBufferPointer { buffer in
            do throws(TOMLError) { return .success(try parse(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(TOMLError) -> TOMLTable {
        let start = try checkEncoding(bytes)
        var parser = Parser(bytes: bytes, start: start)
        try parser.parseDocument()
        return parser.root.freeze()
    }

    /// Checks the size, UTF-8 and that no control character other than tab and newline occurs anywhere (TOML
    /// allows them nowhere, not even in comments). Returns where the document starts, after a byte order mark.
    static func checkEncoding(_ bytes: UnsafeBufferPointer<UInt8>) throws(TOMLError) -> Int {
        var line = 1, lineStart = 0
        func position(_ index: Int) -> TOMLPosition {
            var column = 1
            for i in lineStart..<index where bytes[i] & 0xC0 != 0x80 { column += 1 }
            return TOMLPosition(line: line, column: column)
        }
        let start = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0
        let end = min(bytes.count, maximumSize)
        var i = start
        while i < end {
            let c = bytes[i]
            if c < 0x80 {
                if c == 0x0A {
                    line += 1
                    lineStart = i + 1
                } else if c == 0x0D {
                    if i + 1 >= bytes.count || bytes[i + 1] != 0x0A {
                        throw TOMLError(
                            "a carriage return (U+000D) is allowed only before a line feed; write it as \\r in a basic string",
                            at: position(i))
                    }
                } else if c == 0 {
                    throw TOMLError("a NUL byte (U+0000) is not allowed in TOML", at: position(i))
                } else if (c < 0x20 && c != 0x09) || c == 0x7F {
                    let code = hex(UInt32(c), digits: 4)
                    throw TOMLError(
                        "the control character U+\(code) is not allowed in TOML; write it as \\u\(code) in a basic string",
                        at: position(i))
                }
                i += 1
                continue
            }
            let length: Int
            var scalar: UInt32
            switch c {
            case 0xC2...0xDF: (length, scalar) = (2, UInt32(c & 0x1F))
            case 0xE0...0xEF: (length, scalar) = (3, UInt32(c & 0x0F))
            case 0xF0...0xF4: (length, scalar) = (4, UInt32(c & 0x07))
            default: throw TOMLError("invalid UTF-8: the byte 0x\(hex(UInt32(c), digits: 2)) cannot start a character", at: position(i))
            }
            for k in 1..<length {
                guard i + k < bytes.count, bytes[i + k] & 0xC0 == 0x80 else {
                    throw TOMLError("invalid UTF-8: an incomplete character", at: position(i))
                }
                scalar = scalar << 6 | UInt32(bytes[i + k] & 0x3F)
            }
            let minimum: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000
            if scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) {
                throw TOMLError("invalid UTF-8: an overlong or out-of-range character", at: position(i))
            }
            if scalar == 0xFEFF {
                throw TOMLError("a byte order mark (U+FEFF) is allowed only at the very start", at: position(i))
            }
            i += length
        }
        if bytes.count > maximumSize {
            throw TOMLError("the document is larger than 1 MiB (\(maximumSize) bytes); it is cut off here", at: position(end))
        }
        return start
    }

    static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

// MARK: - Building tables

/// A table while the document is read: mutable, shared by reference, and knowing how it was made.
final class TableNode {
    enum Origin {
        /// Made on the way to a `[a.b.c]` header's last part; may be given its own header later.
        case implicit
        /// Given by a `[header]` or `[[header]]`.
        case header
        /// Made by a dotted key `a.b = 1`.
        case dotted
    }

    enum Child {
        case value(TOMLValue)
        case table(TableNode)
        case arrayOfTables(ArrayOfTables)
    }

    final class ArrayOfTables {
        var tables: [TableNode] = []
        let position: TOMLPosition
        init(position: TOMLPosition) { self.position = position }
    }

    var origin: Origin
    var position: TOMLPosition
    let depth: Int
    private var entries: [(key: String, position: TOMLPosition, child: Child)] = []
    /// Key -> index in `entries`, kept only for larger tables: small ones are searched faster than hashed.
    private var indices: [String: Int]?

    init(origin: Origin, position: TOMLPosition, depth: Int) {
        self.origin = origin
        self.position = position
        self.depth = depth
    }

    func child(_ key: String) -> Child? {
        if let indices { return indices[key].map { entries[$0].child } }
        for entry in entries where entry.key == key { return entry.child }
        return nil
    }

    /// Adds a key that is not there yet.
    func add(_ key: String, at position: TOMLPosition, _ child: Child) {
        entries.append((key, position, child))
        if indices != nil {
            indices![key] = entries.count - 1
        } else if entries.count > 12 {
            var indices: [String: Int] = [:]
            for (index, entry) in entries.enumerated() { indices[entry.key] = index }
            self.indices = indices
        }
    }

    func freeze() -> TOMLTable {
        var frozen: [TOMLTable.Entry] = []
        frozen.reserveCapacity(entries.count)
        for (key, position, child) in entries {
            let value: TOMLValue
            switch child {
            case .value(let v): value = v
            case .table(let node): value = TOMLValue(.table(node.freeze()), at: node.position)
            case .arrayOfTables(let array):
                value = TOMLValue(
                    .array(array.tables.map { TOMLValue(.table($0.freeze()), at: $0.position) }), at: array.position)
            }
            frozen.append(TOMLTable.Entry(key: key, keyPosition: position, value: value))
        }
        return TOMLTable(entries: frozen)
    }
}

typealias KeyPart = (key: String, position: TOMLPosition)

// MARK: - The parser

struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    var i: Int
    var line = 1
    var lineStart: Int
    // The column of `columnIndex` on the current line, so columns cost linear time in all.
    var columnIndex: Int
    var columnValue = 1
    var columnLineStart: Int
    let root: TableNode
    var current: TableNode

    init(bytes: UnsafeBufferPointer<UInt8>, start: Int) {
        self.bytes = bytes
        i = start
        lineStart = start
        columnIndex = start
        columnLineStart = start
        root = TableNode(origin: .header, position: TOMLPosition(line: 1, column: 1), depth: 0)
        current = root
    }

    // MARK: Bytes and positions

    /// The byte at `index`, or 0 past the end (NUL cannot occur in a checked document).
    @inline(__always) func byte(_ offset: Int = 0) -> UInt8 {
        let index = i + offset
        return index < bytes.count ? bytes[index] : 0
    }

    var position: TOMLPosition { mutating get { position(at: i) } }

    /// The position of `index`, which must be on the current line.
    mutating func position(at index: Int) -> TOMLPosition {
        if columnLineStart != lineStart || index < columnIndex {
            columnLineStart = lineStart
            columnIndex = lineStart
            columnValue = 1
        }
        while columnIndex < index {
            if bytes[columnIndex] & 0xC0 != 0x80 { columnValue += 1 }
            columnIndex += 1
        }
        return TOMLPosition(line: line, column: columnValue)
    }

    mutating func fail(_ message: String) -> TOMLError { TOMLError(message, at: position) }

    /// What is at the current position, for messages: `"x"`, `a new line`, `the end of the document`.
    func found() -> String {
        let c = byte()
        if i >= bytes.count { return "the end of the document" }
        if c == 0x0A || c == 0x0D { return "the end of the line" }
        if c == 0x09 || c == 0x20 { return "a space" }
        var end = i + 1
        while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
        return "\"" + String(decoding: UnsafeBufferPointer(rebasing: bytes[i..<end]), as: UTF8.self) + "\""
    }

    mutating func skipSpaces() {
        while byte() == 0x20 || byte() == 0x09 { i += 1 }
    }

    /// Consumes a line feed or CR LF if there is one.
    mutating func newline() -> Bool {
        if byte() == 0x0A {
            i += 1
        } else if byte() == 0x0D && byte(1) == 0x0A {
            i += 2
        } else {
            return false
        }
        line += 1
        lineStart = i
        return true
    }

    mutating func skipComment() {
        guard byte() == UInt8(ascii: "#") else { return }
        while i < bytes.count, byte() != 0x0A, byte() != 0x0D { i += 1 }
    }

    /// Spaces, comments and newlines, as allowed between array elements.
    mutating func skipBlank() {
        while true {
            skipSpaces()
            skipComment()
            if !newline() { return }
        }
    }

    // MARK: Document

    mutating func parseDocument() throws(TOMLError) {
        while true {
            skipSpaces()
            if i >= bytes.count { return }
            if newline() { continue }
            let c = byte()
            if c == UInt8(ascii: "#") {
                skipComment()
            } else if c == UInt8(ascii: "[") {
                try parseHeader()
            } else {
                try parseKeyValue(into: current)
            }
            skipSpaces()
            skipComment()
            if i >= bytes.count { return }
            guard newline() else {
                let what = c == UInt8(ascii: "[") ? "a table header" : c == UInt8(ascii: "#") ? "a comment" : "a value"
                throw fail("expected the end of the line after \(what), found \(found())")
            }
        }
    }

    mutating func parseHeader() throws(TOMLError) {
        let start = position
        let isArray = byte(1) == UInt8(ascii: "[")
        i += isArray ? 2 : 1
        skipSpaces()
        let keys = try parseKey()
        skipSpaces()
        if isArray {
            guard byte() == UInt8(ascii: "]"), byte(1) == UInt8(ascii: "]") else {
                throw fail("expected \"]]\" to close the array of tables header, found \(found())")
            }
            i += 2
        } else {
            guard byte() == UInt8(ascii: "]") else {
                throw fail("expected \"]\" to close the table header, found \(found())")
            }
            i += 1
        }
        if keys.count > TOMLReader.maximumDepth {
            throw TOMLError("tables are nested too deeply (more than \(TOMLReader.maximumDepth) levels)", at: start)
        }
        current = try openTable(keys, isArray: isArray, at: start)
    }

    /// The table a header names, made if needed, following TOML's rules on defining tables once.
    mutating func openTable(_ keys: [KeyPart], isArray: Bool, at start: TOMLPosition) throws(TOMLError) -> TableNode {
        var table = root
        for (index, part) in keys.dropLast().enumerated() {
            switch table.child(part.key) {
            case nil:
                let node = TableNode(origin: .implicit, position: part.position, depth: index + 1)
                table.add(part.key, at: part.position, .table(node))
                table = node
            case .table(let node): table = node
            case .arrayOfTables(let array): table = array.tables[array.tables.count - 1]
            case .value(let value):
                throw TOMLError(
                    "\(name(keys[...index])) is already defined as \(describe(value)) at \(value.position), not as a table",
                    at: part.position)
            }
        }
        let last = keys[keys.count - 1]
        let existing = table.child(last.key)
        if isArray {
            switch existing {
            case nil:
                let array = TableNode.ArrayOfTables(position: start)
                table.add(last.key, at: last.position, .arrayOfTables(array))
                let node = TableNode(origin: .header, position: start, depth: keys.count)
                array.tables.append(node)
                return node
            case .arrayOfTables(let array):
                let node = TableNode(origin: .header, position: start, depth: keys.count)
                array.tables.append(node)
                return node
            case .table(let node):
                throw TOMLError(
                    "\(name(keys[...])) is already defined as a table at \(node.position); it cannot become an array of tables",
                    at: last.position)
            case .value(let value):
                throw TOMLError(
                    "\(name(keys[...])) is already defined as \(describe(value)) at \(value.position); "
                        + "it cannot become an array of tables", at: last.position)
            }
        }
        switch existing {
        case nil:
            let node = TableNode(origin: .header, position: start, depth: keys.count)
            table.add(last.key, at: last.position, .table(node))
            return node
        case .table(let node) where node.origin == .implicit:
            node.origin = .header
            node.position = start
            return node
        case .table(let node):
            let how = node.origin == .dotted ? " by dotted keys" : ""
            throw TOMLError("the table \(name(keys[...])) is already defined\(how) at \(node.position)", at: last.position)
        case .arrayOfTables(let array):
            throw TOMLError(
                "\(name(keys[...])) is already defined as an array of tables at \(array.position)", at: last.position)
        case .value(let value):
            throw TOMLError(
                "\(name(keys[...])) is already defined as \(describe(value)) at \(value.position), not as a table",
                at: last.position)
        }
    }

    mutating func parseKeyValue(into table: TableNode) throws(TOMLError) {
        let keys = try parseKey()
        skipSpaces()
        guard byte() == UInt8(ascii: "=") else {
            throw fail("expected \"=\" after the key \(name(keys[...])), found \(found())")
        }
        i += 1
        skipSpaces()
        let depth = table.depth + keys.count
        if depth > TOMLReader.maximumDepth {
            throw TOMLError(
                "keys are nested too deeply (more than \(TOMLReader.maximumDepth) levels)", at: keys[keys.count - 1].position)
        }
        let value = try parseValue(depth: depth)
        try insert(value, at: keys, into: table)
    }

    /// Puts a value under a (dotted) key, making the tables on the way; only tables made by dotted keys can be
    /// extended by dotted keys.
    mutating func insert(_ value: TOMLValue, at keys: [KeyPart], into start: TableNode) throws(TOMLError) {
        var table = start
        for (index, part) in keys.dropLast().enumerated() {
            switch table.child(part.key) {
            case nil:
                let node = TableNode(origin: .dotted, position: part.position, depth: table.depth + 1)
                table.add(part.key, at: part.position, .table(node))
                table = node
            case .table(let node) where node.origin == .dotted:
                table = node
            case .table(let node):
                throw TOMLError(
                    "the table \(name(keys[...index])) is already defined at \(node.position); add keys under its header",
                    at: part.position)
            case .arrayOfTables(let array):
                throw TOMLError(
                    "\(name(keys[...index])) is an array of tables (defined at \(array.position)); dotted keys cannot extend it",
                    at: part.position)
            case .value(let value):
                throw TOMLError(
                    "\(name(keys[...index])) is already defined as \(describe(value)) at \(value.position), not as a table",
                    at: part.position)
            }
        }
        let last = keys[keys.count - 1]
        if let existing = table.child(last.key) {
            let location: TOMLPosition
            switch existing {
            case .value(let value): location = value.position
            case .table(let node): location = node.position
            case .arrayOfTables(let array): location = array.position
            }
            throw TOMLError("the key \(name(keys[...])) is already defined at \(location)", at: last.position)
        }
        table.add(last.key, at: last.position, .value(value))
    }

    func name(_ keys: ArraySlice<KeyPart>) -> String {
        "\"" + keys.map(\.key).joined(separator: ".") + "\""
    }

    func describe(_ value: TOMLValue) -> String {
        switch value.kind {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .boolean: "a boolean"
        case .dateTime: "a date or time"
        case .array: "an array"
        case .table: "an inline table"
        }
    }

    // MARK: Keys

    static func isBare(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || c == 0x2D
    }

    /// A simple or dotted key; spaces around the dots are allowed.
    mutating func parseKey() throws(TOMLError) -> [KeyPart] {
        var parts: [KeyPart] = []
        while true {
            let start = position
            let c = byte()
            if Self.isBare(c) {
                let begin = i
                while Self.isBare(byte()) { i += 1 }
                parts.append((String(decoding: UnsafeBufferPointer(rebasing: bytes[begin..<i]), as: UTF8.self), start))
            } else if c == UInt8(ascii: "\"") {
                if byte(1) == c && byte(2) == c { throw fail("a key cannot be a multi-line string") }
                parts.append((try parseBasicString(at: start), start))
            } else if c == UInt8(ascii: "'") {
                if byte(1) == c && byte(2) == c { throw fail("a key cannot be a multi-line string") }
                parts.append((try parseLiteralString(at: start), start))
            } else {
                throw fail(parts.isEmpty ? "expected a key, found \(found())" : "expected a key after \".\", found \(found())")
            }
            if parts.count > TOMLReader.maximumDepth {
                throw TOMLError("a dotted key has more than \(TOMLReader.maximumDepth) parts", at: start)
            }
            skipSpaces()
            guard byte() == UInt8(ascii: ".") else { return parts }
            i += 1
            skipSpaces()
        }
    }

    // MARK: Values

    mutating func parseValue(depth: Int) throws(TOMLError) -> TOMLValue {
        let start = position
        let c = byte()
        switch c {
        case UInt8(ascii: "\""):
            if byte(1) == c && byte(2) == c { return TOMLValue(.string(try parseMultilineBasicString(at: start)), at: start) }
            return TOMLValue(.string(try parseBasicString(at: start)), at: start)
        case UInt8(ascii: "'"):
            if byte(1) == c && byte(2) == c {
                return TOMLValue(.string(try parseMultilineLiteralString(at: start)), at: start)
            }
            return TOMLValue(.string(try parseLiteralString(at: start)), at: start)
        case UInt8(ascii: "t"):
            try expectWord("true")
            return TOMLValue(.boolean(true), at: start)
        case UInt8(ascii: "f"):
            try expectWord("false")
            return TOMLValue(.boolean(false), at: start)
        case UInt8(ascii: "["):
            return try parseArray(depth: depth + 1, at: start)
        case UInt8(ascii: "{"):
            return try parseInlineTable(depth: depth + 1, at: start)
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            if isDigits(0, 4) && byte(4) == UInt8(ascii: "-") { return try parseDateTime(at: start) }
            if isDigits(0, 2) && byte(2) == UInt8(ascii: ":") { return try parseDateTime(at: start) }
            return try parseNumber(at: start)
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "i"), UInt8(ascii: "n"):
            return try parseNumber(at: start)
        default:
            if i >= bytes.count || c == 0x0A || c == 0x0D { throw fail("expected a value, found \(found())") }
            throw fail("expected a value (a string in quotes, a number, true or false, a date, an array or a table), "
                + "found \(found())")
        }
    }

    mutating func expectWord(_ word: StaticString) throws(TOMLError) {
        let start = i
        let count = word.utf8CodeUnitCount
        for k in 0..<count where byte(k) != word.utf8Start[k] {
            throw fail("expected a value, found \(found()) (strings need quotes; true and false are lower-case)")
        }
        i = start + count
        if Self.isBare(byte()) {
            i = start
            throw fail("expected a value, found \(found()) (strings need quotes)")
        }
    }

    mutating func parseArray(depth: Int, at start: TOMLPosition) throws(TOMLError) -> TOMLValue {
        if depth > TOMLReader.maximumDepth {
            throw TOMLError("arrays and tables are nested too deeply (more than \(TOMLReader.maximumDepth) levels)", at: start)
        }
        i += 1
        var elements: [TOMLValue] = []
        while true {
            skipBlank()
            if byte() == UInt8(ascii: "]") {
                i += 1
                return TOMLValue(.array(elements), at: start)
            }
            if byte() == UInt8(ascii: ",") { throw fail("expected a value or \"]\" in the array, found \",\"") }
            if i >= bytes.count { throw TOMLError("the array opened here is never closed with \"]\"", at: start) }
            elements.append(try parseValue(depth: depth))
            skipBlank()
            if byte() == UInt8(ascii: ",") {
                i += 1
            } else if byte() == UInt8(ascii: "]") {
                i += 1
                return TOMLValue(.array(elements), at: start)
            } else if i >= bytes.count {
                throw TOMLError("the array opened here is never closed with \"]\"", at: start)
            } else {
                throw fail("expected \",\" or \"]\" in the array, found \(found())")
            }
        }
    }

    mutating func parseInlineTable(depth: Int, at start: TOMLPosition) throws(TOMLError) -> TOMLValue {
        if depth > TOMLReader.maximumDepth {
            throw TOMLError("arrays and tables are nested too deeply (more than \(TOMLReader.maximumDepth) levels)", at: start)
        }
        i += 1
        let node = TableNode(origin: .dotted, position: start, depth: depth)
        skipSpaces()
        if byte() == UInt8(ascii: "}") {
            i += 1
            return TOMLValue(.table(node.freeze()), at: start)
        }
        while true {
            skipSpaces()
            if byte() == 0x0A || byte() == 0x0D || i >= bytes.count {
                throw fail("an inline table must be on one line, closed with \"}\" (TOML 1.0)")
            }
            let keys = try parseKey()
            skipSpaces()
            guard byte() == UInt8(ascii: "=") else {
                throw fail("expected \"=\" after the key \(name(keys[...])), found \(found())")
            }
            i += 1
            skipSpaces()
            if depth + keys.count > TOMLReader.maximumDepth {
                throw TOMLError("keys are nested too deeply (more than \(TOMLReader.maximumDepth) levels)",
                                at: keys[keys.count - 1].position)
            }
            let value = try parseValue(depth: depth + keys.count - 1)
            try insert(value, at: keys, into: node)
            skipSpaces()
            if byte() == UInt8(ascii: ",") {
                i += 1
                skipSpaces()
                if byte() == UInt8(ascii: "}") { throw fail("a trailing comma is not allowed in an inline table (TOML 1.0)") }
            } else if byte() == UInt8(ascii: "}") {
                i += 1
                return TOMLValue(.table(node.freeze()), at: start)
            } else if byte() == 0x0A || byte() == 0x0D || i >= bytes.count {
                throw fail("an inline table must be on one line, closed with \"}\" (TOML 1.0)")
            } else {
                throw fail("expected \",\" or \"}\" in the inline table, found \(found())")
            }
        }
    }

    // MARK: Strings

    mutating func checkLength(_ count: Int, _ start: TOMLPosition) throws(TOMLError) {
        if count > TOMLReader.maximumStringLength {
            throw TOMLError("the string starting here is longer than 64 KiB (\(TOMLReader.maximumStringLength) bytes)", at: start)
        }
    }

    /// `"..."`, with escapes, on one line.
    mutating func parseBasicString(at start: TOMLPosition) throws(TOMLError) -> String {
        i += 1
        var text: [UInt8] = []
        while true {
            let c = byte()
            if c == UInt8(ascii: "\"") {
                i += 1
                break
            }
            if c == UInt8(ascii: "\\") {
                try parseEscape(into: &text)
            } else if i >= bytes.count || c == 0x0A || c == 0x0D {
                throw TOMLError("this string is not closed with \" before the end of the line", at: start)
            } else {
                text.append(c)
                i += 1
            }
            try checkLength(text.count, start)
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// `'...'`, as written, on one line.
    mutating func parseLiteralString(at start: TOMLPosition) throws(TOMLError) -> String {
        i += 1
        let begin = i
        while byte() != UInt8(ascii: "'") {
            if i >= bytes.count || byte() == 0x0A || byte() == 0x0D {
                throw TOMLError("this string is not closed with ' before the end of the line", at: start)
            }
            i += 1
        }
        try checkLength(i - begin, start)
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[begin..<i]), as: UTF8.self)
        i += 1
        return text
    }

    /// After an opening `"""` or `'''`: a newline right after it is not part of the string.
    mutating func skipFirstNewline() {
        i += 3
        _ = newline()
    }

    /// At a run of the quote character inside a multi-line string: true when the run closes the string (adding
    /// up to two quotes of the run to the text).
    mutating func closes(_ quote: UInt8, _ text: inout [UInt8]) throws(TOMLError) -> Bool {
        var run = 0
        while byte(run) == quote { run += 1 }
        if run < 3 {
            text.append(contentsOf: repeatElement(quote, count: run))
            i += run
            return false
        }
        if run > 5 {
            i += 5
            throw fail("too many quotes: at most two quotes may stand right before the closing delimiter")
        }
        text.append(contentsOf: repeatElement(quote, count: run - 3))
        i += run
        return true
    }

    mutating func parseMultilineBasicString(at start: TOMLPosition) throws(TOMLError) -> String {
        skipFirstNewline()
        var text: [UInt8] = []
        while true {
            let c = byte()
            if c == UInt8(ascii: "\"") {
                if try closes(c, &text) { break }
            } else if c == UInt8(ascii: "\\") {
                // A backslash ending a line removes it and the blank space that follows.
                var k = 1
                while byte(k) == 0x20 || byte(k) == 0x09 { k += 1 }
                if byte(k) == 0x0A || (byte(k) == 0x0D && byte(k + 1) == 0x0A) {
                    i += k
                    while newline() || byte() == 0x20 || byte() == 0x09 {
                        if byte() == 0x20 || byte() == 0x09 { i += 1 }
                    }
                } else {
                    try parseEscape(into: &text)
                }
            } else if newline() {
                text.append(0x0A)
            } else if i >= bytes.count {
                throw TOMLError("this multi-line string is not closed with \"\"\"", at: start)
            } else {
                text.append(c)
                i += 1
            }
            try checkLength(text.count, start)
        }
        return String(decoding: text, as: UTF8.self)
    }

    mutating func parseMultilineLiteralString(at start: TOMLPosition) throws(TOMLError) -> String {
        skipFirstNewline()
        var text: [UInt8] = []
        while true {
            let c = byte()
            if c == UInt8(ascii: "'") {
                if try closes(c, &text) { break }
            } else if newline() {
                text.append(0x0A)
            } else if i >= bytes.count {
                throw TOMLError("this multi-line string is not closed with '''", at: start)
            } else {
                text.append(c)
                i += 1
            }
            try checkLength(text.count, start)
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// A backslash escape in a basic string: `\b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX`.
    mutating func parseEscape(into text: inout [UInt8]) throws(TOMLError) {
        let escapeStart = position
        let c = byte(1)
        let simple: UInt8?
        switch c {
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "\""): simple = 0x22
        case UInt8(ascii: "\\"): simple = 0x5C
        case UInt8(ascii: "u"), UInt8(ascii: "U"): simple = nil
        default:
            i += 1
            let what = c == 0x20 || c == 0x09 ? "a backslash before a space" : c == 0 ? "a backslash at the end"
                : "\\\(found().dropFirst().dropLast())"
            throw TOMLError(
                "\(what) is not an escape TOML 1.0 knows; "
                    + "use \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX or \\UXXXXXXXX (or a literal string in single quotes)",
                at: escapeStart)
        }
        if let simple {
            text.append(simple)
            i += 2
            return
        }
        let digits = c == UInt8(ascii: "u") ? 4 : 8
        var scalar: UInt32 = 0
        for k in 0..<digits {
            let d = byte(2 + k)
            let value: UInt8
            switch d {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = d - 0x30
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = d - 0x61 + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = d - 0x41 + 10
            default:
                throw TOMLError("\\\(c == UInt8(ascii: "u") ? "u" : "U") needs exactly \(digits) hexadecimal digits", at: escapeStart)
            }
            scalar = scalar << 4 | UInt32(value)
        }
        guard let unicode = Unicode.Scalar(scalar) else {
            throw TOMLError("U+\(TOMLReader.hex(scalar, digits: 4)) is not a Unicode scalar value", at: escapeStart)
        }
        text.append(contentsOf: UTF8.encode(unicode)!)
        i += 2 + digits
    }

    // MARK: Numbers

    func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    func isDigits(_ offset: Int, _ count: Int) -> Bool {
        for k in offset..<(offset + count) where !isDigit(byte(k)) { return false }
        return true
    }

    mutating func parseNumber(at start: TOMLPosition) throws(TOMLError) -> TOMLValue {
        let begin = i
        while true {
            let c = byte()
            if Self.isBare(c) || c == UInt8(ascii: "+") || c == UInt8(ascii: ".") { i += 1 } else { break }
        }
        let token = UnsafeBufferPointer(rebasing: bytes[begin..<i])
        let text = String(decoding: token, as: UTF8.self)
        func invalid(_ why: String = "") -> TOMLError {
            TOMLError("\"\(text)\" is not a valid number\(why.isEmpty ? "" : ": " + why)", at: start)
        }
        if token.isEmpty { throw fail("expected a value, found \(found())") }
        var body = token[...]
        var negative = false
        if body.first == UInt8(ascii: "+") || body.first == UInt8(ascii: "-") {
            negative = body.first == UInt8(ascii: "-")
            body = body.dropFirst()
        }
        if body.elementsEqual("inf".utf8) { return TOMLValue(.float(negative ? -.infinity : .infinity), at: start) }
        if body.elementsEqual("nan".utf8) { return TOMLValue(.float(negative ? -.nan : .nan), at: start) }
        if body.count > 2, body.first == UInt8(ascii: "0"),
           let radix: Int64 = switch body[body.startIndex + 1] {
               case UInt8(ascii: "x"): 16
               case UInt8(ascii: "o"): 8
               case UInt8(ascii: "b"): 2
               default: nil
           }
        {
            if body.count != token.count { throw invalid("a hexadecimal, octal or binary integer cannot have a sign") }
            let digits = body.dropFirst(2)
            guard digits.first != UInt8(ascii: "_"), digits.last != UInt8(ascii: "_") else {
                throw invalid("an underscore must stand between two digits")
            }
            var value: Int64 = 0
            var previous: UInt8 = 0
            for d in digits {
                if d == UInt8(ascii: "_") {
                    if previous == d { throw invalid("an underscore must stand between two digits") }
                    previous = d
                    continue
                }
                previous = d
                let digit: Int64
                switch d {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = Int64(d - 0x30)
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = Int64(d - 0x61 + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = Int64(d - 0x41 + 10)
                default: throw invalid()
                }
                if digit >= radix { throw invalid() }
                let (shifted, o1) = value.multipliedReportingOverflow(by: radix)
                let (sum, o2) = shifted.addingReportingOverflow(digit)
                if o1 || o2 { throw invalid("it does not fit in 64 bits") }
                value = sum
            }
            return TOMLValue(.integer(value), at: start)
        }
        // Decimal: an integer part, then an optional fraction and exponent.
        var index = body.startIndex
        func digitRun() -> Bool {
            let runStart = index
            var previous: UInt8 = 0
            while index < body.endIndex {
                let c = body[index]
                if isDigit(c) {
                } else if c == UInt8(ascii: "_") {
                    if !isDigit(previous) { return false }
                } else {
                    break
                }
                previous = c
                index += 1
            }
            return index > runStart && isDigit(previous)
        }
        let integerStart = index
        guard digitRun() else {
            throw invalid(body.isEmpty ? "" : "digits are needed, with an underscore only between two digits")
        }
        if body[integerStart] == UInt8(ascii: "0") && index - integerStart > 1 {
            throw invalid("leading zeros are not allowed")
        }
        var isFloat = false
        if index < body.endIndex && body[index] == UInt8(ascii: ".") {
            index += 1
            guard digitRun() else { throw invalid("a decimal point needs digits on both sides") }
            isFloat = true
        }
        if index < body.endIndex && (body[index] == UInt8(ascii: "e") || body[index] == UInt8(ascii: "E")) {
            index += 1
            if index < body.endIndex && (body[index] == UInt8(ascii: "+") || body[index] == UInt8(ascii: "-")) { index += 1 }
            guard digitRun() else { throw invalid("an exponent needs digits") }
            isFloat = true
        }
        if index != body.endIndex { throw invalid() }
        if isFloat {
            let plain = String(decoding: token.lazy.filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
            guard let value = Double(plain) else { throw invalid() }
            return TOMLValue(.float(value), at: start)
        }
        var value: Int64 = 0
        for d in body where d != UInt8(ascii: "_") {
            let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = negative
                ? shifted.subtractingReportingOverflow(Int64(d - 0x30)) : shifted.addingReportingOverflow(Int64(d - 0x30))
            if o1 || o2 { throw invalid("it does not fit in 64 bits") }
            value = sum
        }
        return TOMLValue(.integer(value), at: start)
    }

    // MARK: Dates and times

    mutating func number(_ count: Int) -> Int? {
        var value = 0
        for k in 0..<count {
            let c = byte(k)
            guard isDigit(c) else { return nil }
            value = value * 10 + Int(c - 0x30)
        }
        i += count
        return value
    }

    mutating func expect(_ c: UInt8, _ start: TOMLPosition, _ what: String) throws(TOMLError) {
        guard byte() == c else { throw TOMLError("not a valid \(what): \(detail())", at: start) }
        i += 1
    }

    func detail() -> String { "found \(found()) where the format needs something else" }

    mutating func parseDateTime(at start: TOMLPosition) throws(TOMLError) -> TOMLValue {
        let begin = i
        var kind: TOMLDateTime.Kind
        if byte(2) == UInt8(ascii: ":") {
            try parseTime(start)
            kind = .localTime
        } else {
            let what = "date (YYYY-MM-DD)"
            guard let year = number(4) else { throw TOMLError("not a valid \(what)", at: start) }
            try expect(UInt8(ascii: "-"), start, what)
            guard let month = number(2) else { throw TOMLError("not a valid \(what): the month needs two digits", at: start) }
            try expect(UInt8(ascii: "-"), start, what)
            guard let day = number(2) else { throw TOMLError("not a valid \(what): the day needs two digits", at: start) }
            guard (1...12).contains(month) else { throw TOMLError("not a valid date: there is no month \(month)", at: start) }
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
            guard (1...days).contains(day) else {
                throw TOMLError("not a valid date: month \(month) of \(year) has no day \(day)", at: start)
            }
            kind = .localDate
            let separator = byte()
            if separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t")
                || (separator == UInt8(ascii: " ") && isDigits(1, 2) && byte(3) == UInt8(ascii: ":"))
            {
                i += 1
                try parseTime(start)
                kind = .localDateTime
                let c = byte()
                if c == UInt8(ascii: "Z") || c == UInt8(ascii: "z") {
                    i += 1
                    kind = .offsetDateTime
                } else if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
                    i += 1
                    let what = "time offset (+HH:MM or -HH:MM)"
                    guard let hours = number(2) else { throw TOMLError("not a valid \(what)", at: start) }
                    try expect(UInt8(ascii: ":"), start, what)
                    guard let minutes = number(2), hours < 24, minutes < 60 else {
                        throw TOMLError("not a valid \(what)", at: start)
                    }
                    kind = .offsetDateTime
                }
            }
        }
        if Self.isBare(byte()) || byte() == UInt8(ascii: ".") || byte() == UInt8(ascii: ":") || byte() == UInt8(ascii: "+") {
            throw fail("unexpected \(found()) after the date or time (dates are YYYY-MM-DD, times HH:MM:SS)")
        }
        var text = Array(UnsafeBufferPointer(rebasing: bytes[begin..<i]))
        if text.count > 10, kind != .localTime { text[10] = UInt8(ascii: "T") }
        if text.last == UInt8(ascii: "z") { text[text.count - 1] = UInt8(ascii: "Z") }
        return TOMLValue(.dateTime(TOMLDateTime(kind: kind, text: String(decoding: text, as: UTF8.self))), at: start)
    }

    /// `HH:MM:SS` with an optional fraction of a second; TOML 1.0 requires the seconds.
    mutating func parseTime(_ start: TOMLPosition) throws(TOMLError) {
        let what = "time (HH:MM:SS)"
        guard let hour = number(2) else { throw TOMLError("not a valid \(what): the hour needs two digits", at: start) }
        try expect(UInt8(ascii: ":"), start, what)
        guard let minute = number(2) else { throw TOMLError("not a valid \(what): the minutes need two digits", at: start) }
        guard byte() == UInt8(ascii: ":") else {
            throw TOMLError("not a valid \(what): TOML 1.0 requires the seconds", at: start)
        }
        i += 1
        guard let second = number(2) else { throw TOMLError("not a valid \(what): the seconds need two digits", at: start) }
        guard hour < 24, minute < 60, second <= 60 else {
            let text = [hour, minute, second].map { $0 < 10 ? "0\($0)" : "\($0)" }.joined(separator: ":")
            throw TOMLError("not a valid time: \(text) is out of range", at: start)
        }
        if byte() == UInt8(ascii: ".") {
            i += 1
            guard isDigit(byte()) else { throw TOMLError("not a valid \(what): a fraction of a second needs digits", at: start) }
            while isDigit(byte()) { i += 1 }
        }
    }
}
