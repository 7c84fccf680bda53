#if canImport(Glibc)
import Glibc
#endif
import Logging
import StretchCore

/// Writes one line per log event to stderr; under systemd, with the `<N>` level prefix journald reads.
///
/// `JOURNAL_STREAM` is set by systemd when stderr is connected to the journal (systemd.exec(5)); then the
/// journal adds timestamps itself, so lines carry only the level prefix. In a terminal, lines start with the
/// local time and level instead.
public struct StderrLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let journal: Bool

    public init(label: String, level: Logger.Level, journal: Bool) {
        self.label = label
        self.logLevel = level
        self.journal = journal
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = journal ? "<\(Self.syslogPriority(event.level))>" : "\(Self.clockTime()) \(event.level) "
        line += Self.escapingControls("\(event.message)")
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            let text = Self.escapingControls("\(value)")
            line += " \(key)=" + (text.contains(" ") ? "\"\(text)\"" : text)
        }
        line += "\n"
        _ = line.utf8CString.withUnsafeBufferPointer { write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
    }

    /// One event is one line: a newline in a value (a step name, a path) would start a forged line, and under the
    /// journal a forged `<0>` prefix would claim the emergency level. Control characters are written as `\u{1B}`.
    static func escapingControls(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return text }
        var escaped = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control {
                escaped += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            } else {
                escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// sd-daemon(3) levels: 3 error, 4 warning, 5 notice, 6 info, 7 debug.
    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    private static func clockTime() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        func two(_ value: Int32) -> String { zeroPadded(value, width: 2) }
        return "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }
}
