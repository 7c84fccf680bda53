import CSDBus
import StretchSystem

#if canImport(Glibc)
import Glibc
#endif

/// A method call to send: where to, and its arguments.
public struct MethodCall: Sendable, Hashable {
    /// The peer's bus name, e.g. `org.freedesktop.Notifications`.
    public var destination: String
    public var path: String
    public var interface: String
    public var member: String
    public var arguments: [BusValue]

    public init(destination: String, path: String, interface: String, member: String, arguments: [BusValue] = []) {
        self.destination = destination
        self.path = path
        self.interface = interface
        self.member = member
        self.arguments = arguments
    }

    /// The bus's `GetNameOwner(name)`: the unique name that owns `name`, or the error `NameHasNoOwner`.
    public static func getNameOwner(_ name: String) -> MethodCall {
        MethodCall(
            destination: SignalMatch.busDriver, path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus",
            member: "GetNameOwner", arguments: [.string(name)])
    }

    /// `org.freedesktop.DBus.Properties.Get(interface, name)`, which returns a variant.
    public static func getProperty(destination: String, path: String, interface: String, name: String) -> MethodCall {
        MethodCall(
            destination: destination, path: path, interface: "org.freedesktop.DBus.Properties", member: "Get",
            arguments: [.string(interface), .string(name)])
    }

    /// `org.freedesktop.DBus.Properties.GetAll(interface)`, which returns `a{sv}`.
    public static func getAllProperties(destination: String, path: String, interface: String) -> MethodCall {
        MethodCall(
            destination: destination, path: path, interface: "org.freedesktop.DBus.Properties", member: "GetAll",
            arguments: [.string(interface)])
    }
}

/// A message received: a method's reply or a signal, its arguments read into Swift values.
public struct BusMessage: Sendable, Hashable {
    /// The sender's unique name (`:1.42`); nil on a direct connection.
    public var sender: String?
    /// The unique name a unicast message was sent to (ours); nil for a broadcast signal.
    public var destination: String?
    public var path: String?
    public var interface: String?
    public var member: String?
    /// The arguments' signature, e.g. `su`.
    public var signature: String
    public var arguments: [BusValue]

    public init(
        sender: String? = nil, destination: String? = nil, path: String? = nil, interface: String? = nil,
        member: String? = nil, signature: String = "", arguments: [BusValue] = []
    ) {
        self.sender = sender
        self.destination = destination
        self.path = path
        self.interface = interface
        self.member = member
        self.signature = signature
        self.arguments = arguments
    }
}

// MARK: Writing and reading sd-bus messages

/// Builds the `sd_bus_message` for `call` on `bus`; the caller unrefs it.
///
/// The corresponding C functions are `sd_bus_message_new_method_call`, `sd_bus_message_append_basic`,
/// `sd_bus_message_open_container` and `sd_bus_message_close_container`.
func newMethodCall(_ bus: OpaquePointer, _ call: MethodCall) throws(BusError) -> OpaquePointer {
    var message: OpaquePointer?
    try check(
        "sd_bus_message_new_method_call",
        sd_bus_message_new_method_call(bus, &message, call.destination, call.path, call.interface, call.member))
    guard let message else { throw BusError(function: "sd_bus_message_new_method_call", code: ENOMEM) }
    do {
        for argument in call.arguments { try append(argument, to: message) }
    } catch {
        sd_bus_message_unref(message)
        throw error
    }
    return message
}

/// Appends one value (containers recursively) to `message`.
func append(_ value: BusValue, to message: OpaquePointer) throws(BusError) {
    func basic<T>(_ code: Character, _ value: T) throws(BusError) {
        var value = value
        let result = withUnsafePointer(to: &value) { sd_bus_message_append_basic(message, CChar(code.asciiValue!), $0) }
        try check("sd_bus_message_append_basic", result)
    }
    func container(_ code: Character, _ contents: String, _ body: () throws(BusError) -> Void) throws(BusError) {
        try check("sd_bus_message_open_container", sd_bus_message_open_container(message, CChar(code.asciiValue!), contents))
        try body()
        try check("sd_bus_message_close_container", sd_bus_message_close_container(message))
    }
    switch value {
    case .byte(let byte): try basic("y", byte)
    // D-Bus booleans are 32-bit on the wire, and sd-bus reads them from an `int`.
    case .boolean(let flag): try basic("b", Int32(flag ? 1 : 0))
    case .int16(let number): try basic("n", number)
    case .uint16(let number): try basic("q", number)
    case .int32(let number): try basic("i", number)
    case .uint32(let number): try basic("u", number)
    case .int64(let number): try basic("x", number)
    case .uint64(let number): try basic("t", number)
    case .double(let number): try basic("d", number)
    // For strings, sd-bus takes the characters themselves, not a pointer to a pointer.
    case .string(let text), .objectPath(let text), .signature(let text):
        let code: CChar = switch value {
        case .objectPath: CChar(UInt8(ascii: "o"))
        case .signature: CChar(UInt8(ascii: "g"))
        default: CChar(UInt8(ascii: "s"))
        }
        try check("sd_bus_message_append_basic", sd_bus_message_append_basic(message, code, text))
    // sd-bus duplicates the descriptor: ours stays open.
    case .unixFD(let descriptor): try basic("h", descriptor.rawValue)
    case .variant(let inner):
        try container("v", inner.type.signature) { () throws(BusError) in try append(inner, to: message) }
    case .array(let element, let elements):
        try container("a", element.signature) { () throws(BusError) in
            for element in elements { try append(element, to: message) }
        }
    case .dictionary(let key, let valueType, let entries):
        try container("a", "{" + key.signature + valueType.signature + "}") { () throws(BusError) in
            for entry in entries {
                try container("e", key.signature + valueType.signature) { () throws(BusError) in
                    try append(entry.key, to: message)
                    try append(entry.value, to: message)
                }
            }
        }
    case .structure(let fields):
        try container("r", fields.map(\.type.signature).joined()) { () throws(BusError) in
            for field in fields { try append(field, to: message) }
        }
    }
}

/// Reads a received message's header fields and all its arguments.
///
/// The corresponding C functions are `sd_bus_message_get_sender`, `sd_bus_message_get_destination` (and the other
/// header getters),
/// `sd_bus_message_peek_type`, `sd_bus_message_read_basic`, `sd_bus_message_enter_container` and
/// `sd_bus_message_exit_container`.
func read(_ message: OpaquePointer) throws(BusError) -> BusMessage {
    func text(_ pointer: UnsafePointer<CChar>?) -> String? { pointer.map { String(cString: $0) } }
    return BusMessage(
        sender: text(sd_bus_message_get_sender(message)),
        destination: text(sd_bus_message_get_destination(message)),
        path: text(sd_bus_message_get_path(message)),
        interface: text(sd_bus_message_get_interface(message)),
        member: text(sd_bus_message_get_member(message)),
        signature: text(sd_bus_message_get_signature(message, 1)) ?? "",
        arguments: try readValues(message))
}

/// Reads values up to the end of the current container (or of the message).
private func readValues(_ message: OpaquePointer) throws(BusError) -> [BusValue] {
    var values: [BusValue] = []
    while true {
        var type: CChar = 0
        var contents: UnsafePointer<CChar>?
        guard try check("sd_bus_message_peek_type", sd_bus_message_peek_type(message, &type, &contents)) > 0 else {
            return values
        }
        values.append(try readValue(message, UInt8(bitPattern: type), contents.map { String(cString: $0) } ?? ""))
    }
}

/// Reads the value `peek_type` announced: its type code and, for containers, its contents' signature.
private func readValue(_ message: OpaquePointer, _ code: UInt8, _ contents: String) throws(BusError) -> BusValue {
    func basic<T>(_ initial: T) throws(BusError) -> T {
        var value = initial
        let result = withUnsafeMutablePointer(to: &value) { sd_bus_message_read_basic(message, CChar(bitPattern: code), $0) }
        try check("sd_bus_message_read_basic", result)
        return value
    }
    func inside(_ body: () throws(BusError) -> BusValue) throws(BusError) -> BusValue {
        try check(
            "sd_bus_message_enter_container",
            sd_bus_message_enter_container(message, CChar(bitPattern: code), contents))
        let value = try body()
        try check("sd_bus_message_exit_container", sd_bus_message_exit_container(message))
        return value
    }
    let malformed = BusError(function: "sd_bus_message_peek_type", code: EBADMSG)
    switch code {
    case UInt8(ascii: "y"): return .byte(try basic(UInt8(0)))
    case UInt8(ascii: "b"): return .boolean(try basic(Int32(0)) != 0)
    case UInt8(ascii: "n"): return .int16(try basic(Int16(0)))
    case UInt8(ascii: "q"): return .uint16(try basic(UInt16(0)))
    case UInt8(ascii: "i"): return .int32(try basic(Int32(0)))
    case UInt8(ascii: "u"): return .uint32(try basic(UInt32(0)))
    case UInt8(ascii: "x"): return .int64(try basic(Int64(0)))
    case UInt8(ascii: "t"): return .uint64(try basic(UInt64(0)))
    case UInt8(ascii: "d"): return .double(try basic(Double(0)))
    case UInt8(ascii: "s"), UInt8(ascii: "o"), UInt8(ascii: "g"):
        // The string stays the message's: copied here.
        guard let pointer = try basic(UnsafePointer<CChar>?.none) else { throw malformed }
        let text = String(cString: pointer)
        return code == UInt8(ascii: "s") ? .string(text) : code == UInt8(ascii: "o") ? .objectPath(text) : .signature(text)
    case UInt8(ascii: "h"):
        // The descriptor stays the message's: a duplicate of it is ours.
        let received = try basic(Int32(-1))
        do {
            let duplicate = try SystemCall.retrying("fcntl(F_DUPFD_CLOEXEC)") { fcntl(received, F_DUPFD_CLOEXEC, 3) }
            return .unixFD(BusFileDescriptor(owning: duplicate))
        } catch {
            throw BusError(error)
        }
    case UInt8(ascii: "v"):
        return try inside { () throws(BusError) in
            guard let inner = try readValues(message).first else { throw malformed }
            return .variant(inner)
        }
    case UInt8(ascii: "a"):
        if contents.hasPrefix("{") {
            // peek_type gives a dictionary's contents as `{sv}`.
            guard let types = BusType.parse(String(contents.dropFirst().dropLast())), types.count == 2 else {
                throw malformed
            }
            return try inside { () throws(BusError) in
                var entries: [BusValue.DictionaryEntry] = []
                for entry in try readValues(message) {
                    guard case .structure(let pair) = entry, pair.count == 2 else { throw malformed }
                    entries.append(BusValue.DictionaryEntry(key: pair[0], value: pair[1]))
                }
                return .dictionary(key: types[0], value: types[1], entries)
            }
        }
        guard let element = BusType.parse(contents)?.first else { throw malformed }
        return try inside { () throws(BusError) in .array(element, try readValues(message)) }
    case UInt8(ascii: "r"), UInt8(ascii: "e"):
        // A dictionary entry is read as a two-field structure; the array above turns it into an entry.
        return try inside { () throws(BusError) in .structure(try readValues(message)) }
    default:
        throw malformed
    }
}

/// The error an error reply carries, as a `BusError` for `function`; nil for any other message.
///
/// The corresponding C functions are `sd_bus_message_is_method_error`, `sd_bus_message_get_error` and
/// `sd_bus_message_get_errno`.
func replyError(_ message: OpaquePointer, function: String) -> BusError? {
    guard sd_bus_message_is_method_error(message, nil) > 0 else { return nil }
    let code = sd_bus_message_get_errno(message)
    return BusError(function: function, code: code > 0 ? code : EIO, error: sd_bus_message_get_error(message))
}
