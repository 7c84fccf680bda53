#if canImport(Glibc)
import Glibc
#endif

/// What `BusConnections` needs of a D-Bus address (the D-Bus specification's "Server Addresses"): where the
/// standard environment says a bus is, and the socket files its `unix:path=` entries name, whose (re)appearance
/// says that the bus may be back.
enum BusAddress {
    /// The address sd-bus connects to for `bus`: `DBUS_SESSION_BUS_ADDRESS`, else `unix:path=$XDG_RUNTIME_DIR/bus`
    /// (nil without either); `DBUS_SYSTEM_BUS_ADDRESS`, else `unix:path=/run/dbus/system_bus_socket`.
    static func environment(_ bus: BusConnections.Bus) -> String? {
        func variable(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
        switch bus {
        case .session:
            if let address = variable("DBUS_SESSION_BUS_ADDRESS") { return address }
            return variable("XDG_RUNTIME_DIR").map { "unix:path=" + escape($0 + "/bus") }
        case .system:
            return variable("DBUS_SYSTEM_BUS_ADDRESS") ?? "unix:path=/run/dbus/system_bus_socket"
        }
    }

    /// The socket files that `address`'s `unix:path=` entries name, unescaped, in order. Entries of other kinds
    /// (`unix:abstract=`, `tcp:`, ...) and malformed ones name none.
    static func socketPaths(_ address: String) -> [String] {
        address.split(separator: ";", omittingEmptySubsequences: true).compactMap { entry -> String? in
            guard let colon = entry.firstIndex(of: ":"), entry[..<colon] == "unix" else { return nil }
            for pair in entry[entry.index(after: colon)...].split(separator: ",") {
                guard let equals = pair.firstIndex(of: "="), pair[..<equals] == "path" else { continue }
                return unescape(pair[pair.index(after: equals)...]).flatMap { $0.isEmpty ? nil : $0 }
            }
            return nil
        }
    }

    /// `address` without the `guid=` of its entries: the bus listening there, whichever run of it. A bus started
    /// again at the same socket has a new guid, and sd-bus turns away a server whose guid is not the address's
    /// (`EPERM`, once authenticated), so an address that named one run would never reach the bus again.
    static func withoutGuid(_ address: String) -> String {
        address.split(separator: ";", omittingEmptySubsequences: false).map { entry in
            guard let colon = entry.firstIndex(of: ":") else { return String(entry) }
            let pairs = entry[entry.index(after: colon)...].split(separator: ",").filter { !$0.hasPrefix("guid=") }
            return entry[...colon] + pairs.joined(separator: ",")
        }.joined(separator: ";")
    }

    /// A value as an address writes it: bytes other than `[-0-9A-Za-z_/.\*]` as `%XX`.
    static func escape(_ value: String) -> String {
        var escaped = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "/"),
                UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "*"):
                escaped.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789abcdef".utf8)
                escaped += "%" + String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return escaped
    }

    /// An address value with its `%XX` escapes decoded; nil when an escape is malformed or decodes to a NUL.
    static func unescape(_ value: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = value.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexDigit), let low = iterator.next().flatMap(hexDigit) else {
                return nil
            }
            guard high << 4 | low != 0 else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
