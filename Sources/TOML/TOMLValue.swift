/// Where something is written in a TOML document: 1-based line, and 1-based column counted in Unicode scalars.
public struct TOMLPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public static func < (a: TOMLPosition, b: TOMLPosition) -> Bool { (a.line, a.column) < (b.line, b.column) }

    public var description: String { "\(line):\(column)" }
}

/// A date, a time or both, as TOML writes them; kept as text (with a `T` separator and an upper-case `Z`).
public struct TOMLDateTime: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// `1979-05-27T07:32:00Z`, `1979-05-27T00:32:00-07:00`
        case offsetDateTime
        /// `1979-05-27T07:32:00`
        case localDateTime
        /// `1979-05-27`
        case localDate
        /// `07:32:00`
        case localTime
    }

    public var kind: Kind
    public var text: String

    public init(kind: Kind, text: String) {
        self.kind = kind
        self.text = text
    }

    public var description: String { text }
}

/// One value of a TOML document, with the position where it starts.
///
/// A table given by a `[header]` or `[[header]]` starts at the header's `[`; one made by dotted keys at the key.
public struct TOMLValue: Sendable {
    public enum Kind: Sendable {
        case string(String)
        case integer(Int64)
        case float(Double)
        case boolean(Bool)
        case dateTime(TOMLDateTime)
        case array([TOMLValue])
        case table(TOMLTable)
    }

    public var kind: Kind
    public var position: TOMLPosition

    public init(_ kind: Kind, at position: TOMLPosition) {
        self.kind = kind
        self.position = position
    }

    public var string: String? { if case .string(let value) = kind { value } else { nil } }
    public var integer: Int64? { if case .integer(let value) = kind { value } else { nil } }
    public var float: Double? { if case .float(let value) = kind { value } else { nil } }
    public var boolean: Bool? { if case .boolean(let value) = kind { value } else { nil } }
    public var dateTime: TOMLDateTime? { if case .dateTime(let value) = kind { value } else { nil } }
    public var array: [TOMLValue]? { if case .array(let value) = kind { value } else { nil } }
    public var table: TOMLTable? { if case .table(let value) = kind { value } else { nil } }
}

/// A TOML table: its keys in the order they were written, each with the position of the key.
public struct TOMLTable: Sendable {
    public struct Entry: Sendable {
        public var key: String
        /// Where the key (for a dotted key, this part of it) is written.
        public var keyPosition: TOMLPosition
        public var value: TOMLValue
    }

    public private(set) var entries: [Entry] = []
    /// Key -> index in `entries`, kept only for larger tables: small ones are searched faster than hashed.
    private var indices: [String: Int]?
    private static let indexedCount = 12

    public init() {}

    init(entries: [Entry]) {
        self.entries = entries
        if entries.count > Self.indexedCount { buildIndex() }
    }

    public var keys: [String] { entries.map(\.key) }
    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    private func index(of key: String) -> Int? {
        if let indices { return indices[key] }
        return entries.firstIndex { $0.key == key }
    }

    private mutating func buildIndex() {
        var indices: [String: Int] = [:]
        indices.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() { indices[entry.key] = index }
        self.indices = indices
    }

    public func contains(_ key: String) -> Bool { index(of: key) != nil }

    public subscript(key: String) -> TOMLValue? { index(of: key).map { entries[$0].value } }

    public func entry(_ key: String) -> Entry? { index(of: key).map { entries[$0] } }

    /// Adds a key at the end; a key already present is replaced where it stands.
    public mutating func set(_ key: String, at keyPosition: TOMLPosition, to value: TOMLValue) {
        let entry = Entry(key: key, keyPosition: keyPosition, value: value)
        if let index = index(of: key) {
            entries[index] = entry
            return
        }
        entries.append(entry)
        if indices != nil {
            indices![key] = entries.count - 1
        } else if entries.count > Self.indexedCount {
            buildIndex()
        }
    }
}

/// Why a document could not be read, and where.
public struct TOMLError: Error, Sendable, Hashable, CustomStringConvertible {
    public var position: TOMLPosition
    public var message: String

    public init(_ message: String, at position: TOMLPosition) {
        self.message = message
        self.position = position
    }

    public var line: Int { position.line }
    public var column: Int { position.column }

    /// `line:column: message`
    public var description: String { "\(position): \(message)" }
}
