/// Text from outside (a path, a bus name, a line read from a socket) as it may go into a log line: control
/// characters and backslashes escaped (`\n`, `\\`, `\u{1B}`), so it cannot fake a line of its own or a journal level
/// prefix, invalid UTF-8 shown as `�`, and cut to about `limit` bytes (marked with `…`), so it cannot flood the log.
public enum LogText {
    public static let limit = 200

    public static func escaping(_ text: some StringProtocol, limit: Int = LogText.limit) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            let piece: String = switch scalar {
            case "\n": #"\n"#
            case "\t": #"\t"#
            case "\r": #"\r"#
            case "\\": #"\\"#
            case _ where scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format:
                scalar.escaped(asASCII: true)
            default: String(scalar)
            }
            guard escaped.utf8.count + piece.utf8.count <= limit else { return escaped + "…" }
            escaped += piece
        }
        return escaped
    }

    /// Bytes that may not be UTF-8 (a line read from a socket).
    public static func escaping(bytes: some Collection<UInt8>, limit: Int = LogText.limit) -> String {
        // At most 4 bytes a character: what is beyond cannot be shown anyway.
        escaping(String(decoding: bytes.prefix(limit * 4 + 4), as: UTF8.self), limit: limit)
    }
}
