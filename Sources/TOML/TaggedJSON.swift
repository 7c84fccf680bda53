/// The toml-test suite's "tagged JSON": tables as JSON objects, arrays as JSON arrays, and every other value as
/// `{"type": T, "value": "TEXT"}`. Used by `toml-decode` and the conformance tests.
public enum TaggedJSON {
    public static func encode(_ table: TOMLTable) -> String {
        var out = ""
        write(table, to: &out)
        return out
    }

    static func write(_ table: TOMLTable, to out: inout String) {
        out += "{"
        for (index, entry) in table.entries.enumerated() {
            if index > 0 { out += "," }
            writeString(entry.key, to: &out)
            out += ":"
            write(entry.value, to: &out)
        }
        out += "}"
    }

    static func write(_ value: TOMLValue, to out: inout String) {
        switch value.kind {
        case .table(let table): write(table, to: &out)
        case .array(let array):
            out += "["
            for (index, element) in array.enumerated() {
                if index > 0 { out += "," }
                write(element, to: &out)
            }
            out += "]"
        case .string(let text): tagged("string", text, to: &out)
        case .integer(let number): tagged("integer", String(number), to: &out)
        case .float(let number): tagged("float", text(of: number), to: &out)
        case .boolean(let flag): tagged("bool", flag ? "true" : "false", to: &out)
        case .dateTime(let date):
            let type = switch date.kind {
            case .offsetDateTime: "datetime"
            case .localDateTime: "datetime-local"
            case .localDate: "date-local"
            case .localTime: "time-local"
            }
            tagged(type, date.text, to: &out)
        }
    }

    /// `inf`, `-inf` and `nan` as the suite writes them; other numbers as Swift prints them (shortest round trip).
    public static func text(of number: Double) -> String {
        if number.isNaN { return "nan" }
        if number.isInfinite { return number < 0 ? "-inf" : "inf" }
        return String(number)
    }

    static func tagged(_ type: String, _ value: String, to out: inout String) {
        out += "{\"type\":\"\(type)\",\"value\":"
        writeString(value, to: &out)
        out += "}"
    }

    static func writeString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{0}"..."\u{1F}", "\u{7F}":
                out += "\\u" + TOMLReader.hex(scalar.value, digits: 4)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
