import CALSA
import Synchronization

/// Where libasound's own messages go instead of stderr.
///
/// libasound prints "ALSA lib ..." lines on many failures (opening `default` with no sound card prints five).
/// Installing a handler routes them to one closure, so the daemon can log them at debug level and report the
/// failure itself in one clear line.
public enum ALSALog {
    private static let sink = Mutex<(@Sendable (String) -> Void)?>(nil)

    /// Sends every libasound message to `handler` from now on.
    public static func route(to handler: @escaping @Sendable (String) -> Void) {
        sink.withLock { $0 = handler }
        calsa_route_errors_to_log()
    }

    static func receive(_ text: String) {
        let handler = sink.withLock { $0 }
        handler?(text)
    }
}

@_cdecl("calsa_log_message")
func calsaLogMessage(
    _ file: UnsafePointer<CChar>?, _ line: Int32, _ function: UnsafePointer<CChar>?, _ code: Int32,
    _ message: UnsafePointer<CChar>?
) {
    let where_ = "\(file.map { String(cString: $0) } ?? "?"):\(line) (\(function.map { String(cString: $0) } ?? "?"))"
    var text = "ALSA lib \(where_) \(message.map { String(cString: $0) } ?? "")"
    if code != 0 { text += ": \(String(cString: snd_strerror(code)))" }
    ALSALog.receive(text)
}
