#if canImport(Glibc)
import Glibc
#endif

/// A D-Bus type, as a signature spells it: `s`, `a{sv}`, `(uo)`.
public indirect enum BusType: Sendable, Hashable, CustomStringConvertible {
    case byte, boolean, int16, uint16, int32, uint32, int64, uint64, double, string, objectPath, signature, unixFD
    case variant
    case array(BusType)
    /// `a{kv}`: an array of dictionary entries.
    case dictionary(key: BusType, value: BusType)
    case structure([BusType])

    /// The signature: `a{sv}`.
    public var signature: String {
        switch self {
        case .byte: "y"
        case .boolean: "b"
        case .int16: "n"
        case .uint16: "q"
        case .int32: "i"
        case .uint32: "u"
        case .int64: "x"
        case .uint64: "t"
        case .double: "d"
        case .string: "s"
        case .objectPath: "o"
        case .signature: "g"
        case .unixFD: "h"
        case .variant: "v"
        case .array(let element): "a" + element.signature
        case .dictionary(let key, let value): "a{" + key.signature + value.signature + "}"
        case .structure(let fields): "(" + fields.map(\.signature).joined() + ")"
        }
    }

    public var description: String { signature }

    /// The basic (non-container) type for a type code, e.g. `s`.
    static func basic(_ code: UInt8) -> BusType? {
        switch code {
        case UInt8(ascii: "y"): .byte
        case UInt8(ascii: "b"): .boolean
        case UInt8(ascii: "n"): .int16
        case UInt8(ascii: "q"): .uint16
        case UInt8(ascii: "i"): .int32
        case UInt8(ascii: "u"): .uint32
        case UInt8(ascii: "x"): .int64
        case UInt8(ascii: "t"): .uint64
        case UInt8(ascii: "d"): .double
        case UInt8(ascii: "s"): .string
        case UInt8(ascii: "o"): .objectPath
        case UInt8(ascii: "g"): .signature
        case UInt8(ascii: "h"): .unixFD
        case UInt8(ascii: "v"): .variant
        default: nil
        }
    }

    /// The types a signature lists, in order (`sa{sv}` is a string and a dictionary); nil if it is not a valid
    /// signature.
    public static func parse(_ signature: String) -> [BusType]? {
        var bytes = Array(signature.utf8)[...]
        var types: [BusType] = []
        while !bytes.isEmpty {
            guard let type = parseOne(&bytes, depth: 0) else { return nil }
            types.append(type)
        }
        return types
    }

    /// One complete type from the front of `bytes`.
    private static func parseOne(_ bytes: inout ArraySlice<UInt8>, depth: Int) -> BusType? {
        // D-Bus allows 32 levels of arrays and 32 of structures; 64 in all keeps a hostile signature bounded.
        guard depth < 64, let code = bytes.popFirst() else { return nil }
        if let basic = basic(code) { return basic }
        switch code {
        case UInt8(ascii: "a"):
            if bytes.first == UInt8(ascii: "{") {
                bytes.removeFirst()
                guard let key = parseOne(&bytes, depth: depth + 1), key.isBasic,
                      let value = parseOne(&bytes, depth: depth + 1), bytes.popFirst() == UInt8(ascii: "}")
                else { return nil }
                return .dictionary(key: key, value: value)
            }
            return parseOne(&bytes, depth: depth + 1).map { .array($0) }
        case UInt8(ascii: "("):
            var fields: [BusType] = []
            while bytes.first != UInt8(ascii: ")") {
                guard let field = parseOne(&bytes, depth: depth + 1) else { return nil }
                fields.append(field)
            }
            bytes.removeFirst()
            return fields.isEmpty ? nil : .structure(fields)
        default:
            return nil
        }
    }

    /// Neither a container nor a variant: can be a dictionary's key.
    var isBasic: Bool {
        switch self {
        case .variant, .array, .dictionary, .structure: false
        default: true
        }
    }
}

/// A file descriptor received from (or to send over) the bus, owned: closed when the last reference goes. A
/// logind inhibitor lock, for instance, is held exactly as long as its descriptor is open.
public final class BusFileDescriptor: Sendable, Hashable, CustomStringConvertible {
    /// The descriptor; valid while this object lives.
    public let rawValue: Int32

    /// Takes ownership of `rawValue`.
    public init(owning rawValue: Int32) { self.rawValue = rawValue }

    deinit { close(rawValue) }

    public static func == (lhs: BusFileDescriptor, rhs: BusFileDescriptor) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
    public var description: String { "fd \(rawValue)" }
}

/// A D-Bus value with its type: what a method takes and returns, and what a signal carries.
public indirect enum BusValue: Sendable, Hashable {
    case byte(UInt8)
    case boolean(Bool)
    case int16(Int16)
    case uint16(UInt16)
    case int32(Int32)
    case uint32(UInt32)
    case int64(Int64)
    case uint64(UInt64)
    case double(Double)
    case string(String)
    case objectPath(String)
    case signature(String)
    case unixFD(BusFileDescriptor)
    case variant(BusValue)
    /// The element type is needed for an empty array.
    case array(BusType, [BusValue])
    /// `a{kv}`, entries in the order sent.
    case dictionary(key: BusType, value: BusType, [DictionaryEntry])
    case structure([BusValue])

    public struct DictionaryEntry: Sendable, Hashable {
        public var key: BusValue
        public var value: BusValue
        public init(key: BusValue, value: BusValue) {
            self.key = key
            self.value = value
        }
    }

    /// The value's type.
    public var type: BusType {
        switch self {
        case .byte: .byte
        case .boolean: .boolean
        case .int16: .int16
        case .uint16: .uint16
        case .int32: .int32
        case .uint32: .uint32
        case .int64: .int64
        case .uint64: .uint64
        case .double: .double
        case .string: .string
        case .objectPath: .objectPath
        case .signature: .signature
        case .unixFD: .unixFD
        case .variant: .variant
        case .array(let element, _): .array(element)
        case .dictionary(let key, let value, _): .dictionary(key: key, value: value)
        case .structure(let fields): .structure(fields.map(\.type))
        }
    }

    // MARK: Building

    /// `as`.
    public static func strings(_ strings: [String]) -> BusValue { .array(.string, strings.map { .string($0) }) }

    /// `a{sv}`: string keys, each value wrapped in a variant, in key order (the usual shape of hints and
    /// properties).
    public static func variantDictionary(_ values: [String: BusValue]) -> BusValue {
        .dictionary(
            key: .string, value: .variant,
            values.sorted { $0.key < $1.key }.map { DictionaryEntry(key: .string($0.key), value: .variant($0.value)) })
    }

    // MARK: Reading

    /// The value inside any variants.
    public var unwrapped: BusValue {
        if case .variant(let inner) = self { return inner.unwrapped }
        return self
    }

    /// A string, object path or signature (inside variants too).
    public var string: String? {
        switch unwrapped {
        case .string(let text), .objectPath(let text), .signature(let text): text
        default: nil
        }
    }

    public var bool: Bool? {
        if case .boolean(let value) = unwrapped { return value }
        return nil
    }

    public var uint32: UInt32? {
        if case .uint32(let value) = unwrapped { return value }
        return nil
    }

    /// Any integer type that fits in an `Int64`.
    public var integer: Int64? {
        switch unwrapped {
        case .byte(let value): Int64(value)
        case .int16(let value): Int64(value)
        case .uint16(let value): Int64(value)
        case .int32(let value): Int64(value)
        case .uint32(let value): Int64(value)
        case .int64(let value): value
        case .uint64(let value): Int64(exactly: value)
        default: nil
        }
    }

    /// The elements of an array.
    public var array: [BusValue]? {
        if case .array(_, let elements) = unwrapped { return elements }
        return nil
    }

    /// An array of strings.
    public var strings: [String]? {
        guard let array else { return nil }
        var strings: [String] = []
        for element in array {
            guard let text = element.string else { return nil }
            strings.append(text)
        }
        return strings
    }

    /// A dictionary with string keys (`a{sv}`, `a{ss}`, ...); a later duplicate key wins.
    public var stringKeyed: [String: BusValue]? {
        guard case .dictionary(_, _, let entries) = unwrapped else { return nil }
        var result: [String: BusValue] = [:]
        for entry in entries {
            guard let key = entry.key.string else { return nil }
            result[key] = entry.value
        }
        return result
    }

    public var fileDescriptor: BusFileDescriptor? {
        if case .unixFD(let descriptor) = unwrapped { return descriptor }
        return nil
    }
}

extension BusValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension BusValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
}
