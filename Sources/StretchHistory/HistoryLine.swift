import FoundationEssentials

/// What one line of the history file holds: a good record, nothing, or something skipped with a warning.
public enum HistoryLine {
    case record(HistoryRecord)
    case blank
    /// Not a good record: why, for a warning.
    case skipped(String)

    /// Lines longer than this are skipped (readers hand them over as nil).
    public static let maximumLength = 64 * 1024

    /// Judges one line of the file, without its newline (`line` nil: longer than `maximumLength`); `complete`
    /// when a newline ended it. Each line that is not a good record (unreadable, torn by a crash, out of range,
    /// holding a NUL byte, too long) is `skipped` with the reason.
    public init(_ line: [UInt8]?, complete: Bool, decoder: JSONDecoder) {
        guard let line, line.count <= Self.maximumLength else {
            self = .skipped("a line longer than 64 KiB; line skipped")
            return
        }
        if line.contains(0) {
            self = .skipped("a NUL byte; line skipped")
            return
        }
        if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }) {
            self = .blank
            return
        }
        guard complete else {
            self = .skipped("skipped a torn record (the last write was cut short)")
            return
        }
        let record: HistoryRecord
        if let quick = HistoryRecord(flat: line) {
            record = quick
        } else {
            do {
                record = try decoder.decode(HistoryRecord.self, from: Data(line))
            } catch {
                self = .skipped(Self.describe(error, in: line))
                return
            }
        }
        if let problem = record.problem {
            self = .skipped("skipped a record: \(problem)")
            return
        }
        self = .record(record)
    }

    private static func describe(_ error: any Error, in line: [UInt8]) -> String {
        if case DecodingError.dataCorrupted(let context) = error,
           context.codingPath.last?.stringValue == "event",
           let object = try? JSONDecoder().decode([String: LooseValue].self, from: Data(line)),
           case .string(let event)? = object["event"]
        {
            let known = HistoryRecord.Event.allCases.map(\.rawValue).joined(separator: ", ")
            return "skipped a record: unknown event \"\(event)\" (known: \(known))"
        }
        return "skipped an unreadable record"
    }
}

/// Just enough of a JSON value to name an unknown event.
private enum LooseValue: Decodable {
    case string(String), other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = (try? container.decode(String.self)).map(LooseValue.string) ?? .other
    }
}
