#if canImport(Glibc)
import Glibc
#endif

extension HistoryRecord {
    /// The record on a line as the daemon writes it (a flat JSON object of plain strings, numbers and nulls), read
    /// some 20 times faster than `JSONDecoder` does: ten years of records in tens of milliseconds. Nil for
    /// anything else (escapes, non-ASCII bytes, nested values, duplicate or missing keys, an unknown event, a
    /// number that is not plain): `JSONDecoder` then decides, and words the error.
    public init?(flat line: [UInt8]) {
        guard let record = line.withUnsafeBufferPointer(Self.init(flatBytes:)) else { return nil }
        self = record
    }

    /// `init(flat:)` on the line's bytes in place: no copy, and no allocation beyond the strings kept (short ones
    /// are stored inline), so reading a line costs no allocation.
    private init?(flatBytes line: UnsafeBufferPointer<UInt8>) {
        var time: Double?, date: String?, event: Event?, routine: String??, step: Int??, minutes: Double??
        var reason: String??
        var reader = FlatJSONReader(line: line)
        guard reader.expect(UInt8(ascii: "{")) else { return nil }
        var first = true
        while true {
            if first, reader.expect(UInt8(ascii: "}")) { break }
            if !first {
                if reader.expect(UInt8(ascii: "}")) { break }
                guard reader.expect(UInt8(ascii: ",")) else { return nil }
            }
            first = false
            guard let key = reader.stringBytes(), reader.expect(UInt8(ascii: ":")) else { return nil }
            switch Key(key) {
            case .time:
                guard time == nil, let value = reader.number(), let parsed = reader.double(value.bytes), parsed.isFinite else { return nil }
                time = parsed
            case .date:
                guard date == nil, let value = reader.string() else { return nil }
                date = value
            case .event:
                guard event == nil, let value = reader.string(), let known = Event(rawValue: value) else { return nil }
                event = known
            case .routine:
                guard routine == nil, let value = reader.optionalString() else { return nil }
                routine = value
            case .reason:
                guard reason == nil, let value = reader.optionalString() else { return nil }
                reason = value
            case .step:
                guard step == nil, let value = reader.optionalNumber() else { return nil }
                if let value {
                    guard value.integer, let parsed = Int(String(decoding: value.bytes, as: UTF8.self)) else { return nil }
                    step = .some(parsed)
                } else {
                    step = .some(nil)
                }
            case .minutes:
                guard minutes == nil, let value = reader.optionalNumber() else { return nil }
                if let value {
                    guard let parsed = reader.double(value.bytes), parsed.isFinite else { return nil }
                    minutes = .some(parsed)
                } else {
                    minutes = .some(nil)
                }
            case nil:
                // Other keys are ignored, as JSONDecoder ignores them; only plain values here.
                if reader.null() || reader.stringBytes() != nil || reader.number() != nil { continue }
                return nil
            }
        }
        guard reader.atEnd, let time, let date, let event else { return nil }
        self.init(
            time: time, date: date, event: event, routine: routine ?? nil, step: step ?? nil, minutes: minutes ?? nil,
            reason: reason ?? nil)
    }
}

/// A key `HistoryRecord(flat:)` knows, told from its bytes without making a String of them (it runs for each
/// key of every line read).
private enum Key {
    case time, date, event, routine, reason, step, minutes

    init?(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) {
        func spells(_ name: StaticString) -> Bool {
            name.utf8CodeUnitCount == bytes.count
                && UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount).elementsEqual(bytes)
        }
        if spells("time") { self = .time }
        else if spells("date") { self = .date }
        else if spells("event") { self = .event }
        else if spells("routine") { self = .routine }
        else if spells("minutes") { self = .minutes }
        else if spells("step") { self = .step }
        else if spells("reason") { self = .reason }
        else { return nil }
    }
}

/// The pieces of a flat JSON object, for `HistoryRecord(flat:)`: a struct over the line's bytes in place, so
/// reading needs no exclusivity checks at run time and no copies.
private struct FlatJSONReader {
    let line: UnsafeBufferPointer<UInt8>
    var index = 0

    init(line: UnsafeBufferPointer<UInt8>) { self.line = line }

    mutating func skipSpace() {
        while index < line.count, line[index] == 0x20 || line[index] == 0x09 || line[index] == 0x0A || line[index] == 0x0D {
            index += 1
        }
    }

    var atEnd: Bool {
        mutating get {
            skipSpace()
            return index == line.count
        }
    }

    mutating func expect(_ byte: UInt8) -> Bool {
        skipSpace()
        guard index < line.count, line[index] == byte else { return false }
        index += 1
        return true
    }

    /// A string without escapes or non-ASCII bytes.
    mutating func string() -> String? {
        stringBytes().map { String(decoding: $0, as: UTF8.self) }
    }

    /// The bytes of a string without escapes or non-ASCII bytes, quotes left out.
    mutating func stringBytes() -> Slice<UnsafeBufferPointer<UInt8>>? {
        guard expect(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < line.count, line[index] != UInt8(ascii: "\"") {
            guard line[index] >= 0x20, line[index] < 0x80, line[index] != UInt8(ascii: "\\") else { return nil }
            index += 1
        }
        guard index < line.count else { return nil }
        index += 1
        return line[start..<(index - 1)]
    }

    private mutating func digits() -> Int {
        let from = index
        while index < line.count, line[index] >= UInt8(ascii: "0"), line[index] <= UInt8(ascii: "9") { index += 1 }
        return index - from
    }

    /// The bytes of a JSON number, -?digits(.digits)?([eE][+-]?digits)?, and whether it is an integer.
    mutating func number() -> (bytes: Slice<UnsafeBufferPointer<UInt8>>, integer: Bool)? {
        skipSpace()
        let start = index
        var integer = true
        if index < line.count, line[index] == UInt8(ascii: "-") { index += 1 }
        let whole = index
        guard digits() > 0 else { return nil }
        if line[whole] == UInt8(ascii: "0"), index - whole > 1 { return nil }
        if index < line.count, line[index] == UInt8(ascii: ".") {
            index += 1
            integer = false
            guard digits() > 0 else { return nil }
        }
        if index < line.count, line[index] == UInt8(ascii: "e") || line[index] == UInt8(ascii: "E") {
            index += 1
            integer = false
            if index < line.count, line[index] == UInt8(ascii: "+") || line[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { return nil }
        }
        return (line[start..<index], integer)
    }

    /// The value of a JSON number's bytes (from `number()`), parsed in a copy on the stack: `strtod` rounds
    /// correctly, as `Double(String)` does, without the String a long number would allocate. (stretchd never
    /// sets a locale, so the decimal point is the C locale's.)
    func double(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Double? {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { text in
            for (offset, byte) in bytes.enumerated() { text[offset] = CChar(bitPattern: byte) }
            text[bytes.count] = 0
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(text.baseAddress!, &end)
            return end == text.baseAddress! + bytes.count ? value : nil
        }
    }

    mutating func optionalString() -> String?? {
        if null() { return .some(nil) }
        return string().map { .some($0) }
    }

    mutating func optionalNumber() -> (bytes: Slice<UnsafeBufferPointer<UInt8>>, integer: Bool)?? {
        if null() { return .some(nil) }
        return number().map { .some($0) }
    }

    mutating func null() -> Bool {
        skipSpace()
        guard index + 4 <= line.count, line[index..<(index + 4)].elementsEqual("null".utf8) else { return false }
        index += 4
        return true
    }
}
