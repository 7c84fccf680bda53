import CSDBus
import StretchSystem
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// An sd-bus call that failed, or a D-Bus error reply, with sd-bus's own text.
///
/// `name` and `message` are the D-Bus error's (`org.freedesktop.DBus.Error.UnknownMethod`, "Unknown method ...")
/// where there is one: an error reply from a peer, or an error sd-bus made up itself (a call that timed out, a
/// connection that closed). Otherwise they are nil and the system's text for `code` says what went wrong.
public struct BusError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The C function that failed or whose call came back as an error, e.g. `sd_bus_start`.
    public let function: String
    /// The `errno` value (positive): sd-bus returns `-errno`; for error replies, the one sd-bus maps the name to
    /// (`EIO` for names it does not know).
    public let code: Int32
    /// The D-Bus error name, e.g. `org.freedesktop.DBus.Error.ServiceUnknown`.
    public let name: String?
    /// The D-Bus error message, as the peer (or sd-bus) wrote it.
    public let message: String?

    public init(function: String, code: Int32, name: String? = nil, message: String? = nil) {
        self.function = function
        self.code = code
        self.name = name
        self.message = message
    }

    /// The message if there is one, else the system's text for `code`.
    public var text: String { message ?? "\(Errno(rawValue: code))" }

    /// `org.freedesktop.DBus.Error.UnknownMethod: Unknown method Foo (sd_bus_call_async)`, or
    /// `No such file or directory (sd_bus_start)`. The name and message, which a peer wrote, are escaped and cut
    /// (`LogText`): this goes into log lines.
    public var description: String {
        if let name { return "\(LogText.escaping(name)): \(LogText.escaping(text)) (\(function))" }
        return "\(LogText.escaping(text)) (\(function))"
    }

    /// The call was given up because its task was cancelled (`ECANCELED`).
    public var isCancellation: Bool { code == ECANCELED && name == nil }

    /// The connection is gone: the bus closed it, or it was closed here (`ECONNRESET`, `ENOTCONN`, `EPIPE`,
    /// `ESHUTDOWN`, or sd-bus's `NoReply` "Connection terminated" for calls in flight).
    public var isDisconnection: Bool {
        [ECONNRESET, ENOTCONN, EPIPE, ESHUTDOWN].contains(code) && (name == nil || name == Self.disconnectedName)
    }

    /// The name used for a connection that ended: sd-bus's own local `Disconnected` signal.
    static let disconnectedName = "org.freedesktop.DBus.Local.Disconnected"

    /// The connection ended under us (`sd_bus_process` failed, e.g. `ENOTCONN` once sd-bus saw the socket close):
    /// named as sd-bus's local `Disconnected` signal, so that a log line says what happened.
    static func lost(code: Int32) -> BusError {
        BusError(
            function: "sd_bus_process", code: code, name: disconnectedName,
            message: "the connection to the bus was lost (\(Errno(rawValue: code)))")
    }

    /// A system call made for the bus that failed (waiting on its socket, duplicating a descriptor it sent).
    init(_ error: SystemCallError) {
        self.init(function: error.function, code: error.errno.rawValue)
    }

    /// A task waiting on the bus was cancelled.
    static func cancelled(_ function: String) -> BusError { BusError(function: function, code: ECANCELED) }

    /// The error an `sd_bus_error` holds (copied; the caller still frees it), or the errno's text without one.
    init(function: String, code: Int32, error: UnsafePointer<sd_bus_error>?) {
        let name = error?.pointee.name.map { String(cString: $0) }
        let message = error?.pointee.message.map { String(cString: $0) }
        self.init(function: function, code: code, name: name, message: message)
    }
}

/// The one place an sd-bus return value is checked: negative means failure (`-errno`), with the `sd_bus_error`
/// the call filled in, if it takes one.
@discardableResult
func check(_ function: String, _ result: Int32, _ error: UnsafePointer<sd_bus_error>? = nil) throws(BusError) -> Int32 {
    guard result >= 0 else {
        let filled = error.flatMap { $0.pointee.name == nil ? nil : $0 }
        throw BusError(function: function, code: -result, error: filled)
    }
    return result
}
