/// Which signals a subscription receives: a D-Bus match rule, and whom they are trusted from. Fields left nil match
/// anything.
///
/// The bus applies match rules to broadcasts only: a unicast signal addressed to us reaches us whatever they say. So
/// the connection checks each signal itself (`accepts`): it counts only from the `sender` (for a well-known name, its
/// current owner, followed through the bus's own `NameOwnerChanged`), and only as a broadcast unless `unicast`.
public struct SignalMatch: Sendable, Hashable {
    /// A bus name: the well-known one (`org.freedesktop.Notifications`) is resolved by the bus, and signals count
    /// only from its current owner.
    public var sender: String?
    public var path: String?
    public var interface: String?
    public var member: String?
    /// String arguments that must be equal: `[0: "org.freedesktop.login1.Session"]` is `arg0='...'`.
    public var arguments: [Int: String]
    /// Path arguments that must be this path, below it or above it (a folder ending in `/`): `[0: "/org/gnome/"]` is
    /// `arg0path='/org/gnome/'`, which matches `/org/gnome/a`, `/org/gnome/` and `/org/`, not `/org/gnomex`.
    public var argumentPaths: [Int: String]
    /// Whether the service also sends these signals to us alone (Mutter's `WatchFired`, dunst's `ActionInvoked`):
    /// then a unicast signal counts too. Otherwise only broadcasts do.
    public var unicast: Bool

    public init(
        sender: String? = nil, path: String? = nil, interface: String? = nil, member: String? = nil,
        arguments: [Int: String] = [:], argumentPaths: [Int: String] = [:], unicast: Bool = false
    ) {
        self.sender = sender
        self.path = path
        self.interface = interface
        self.member = member
        self.arguments = arguments
        self.argumentPaths = argumentPaths
        self.unicast = unicast
    }

    /// The bus itself: the sender of `NameOwnerChanged`, which no client can send as.
    public static let busDriver = "org.freedesktop.DBus"

    /// Whether `sender` is a well-known name (not a unique `:1.42`, not the bus): its owner is followed.
    var followsOwner: Bool {
        guard let sender else { return false }
        return !sender.hasPrefix(":") && sender != Self.busDriver
    }

    /// Whether `signal` counts: sent as a broadcast (unless `unicast`) by `sender` (`owner` for a well-known one:
    /// nil while it has none or is not known yet).
    func accepts(_ signal: BusMessage, owner: String?) -> Bool {
        guard unicast || signal.destination == nil else { return false }
        guard let sender else { return true }
        let expected = followsOwner ? owner : sender
        return expected != nil && signal.sender == expected
    }

    /// `org.freedesktop.DBus.Properties.PropertiesChanged` of one object and interface.
    public static func propertiesChanged(sender: String, path: String, interface: String) -> SignalMatch {
        SignalMatch(
            sender: sender, path: path, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged",
            arguments: [0: interface])
    }

    /// The bus's `NameOwnerChanged(name, old owner, new owner)` for one name: a peer that starts, exits or is
    /// replaced.
    public static func nameOwnerChanged(_ name: String) -> SignalMatch {
        SignalMatch(
            sender: busDriver, path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus",
            member: "NameOwnerChanged", arguments: [0: name])
    }

    /// The rule as the bus's `AddMatch` takes it: `type='signal',sender='...',arg0='...'`. A quote in a value is
    /// written `'\''` (close the quotes, an escaped quote, open them again).
    public var rule: String {
        var parts = ["type='signal'"]
        func add(_ key: String, _ value: String?) {
            guard let value else { return }
            parts.append(key + "='" + value.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'")
        }
        add("sender", sender)
        add("path", path)
        add("interface", interface)
        add("member", member)
        for (index, value) in arguments.sorted(by: { $0.key < $1.key }) { add("arg\(index)", value) }
        for (index, value) in argumentPaths.sorted(by: { $0.key < $1.key }) { add("arg\(index)path", value) }
        return parts.joined(separator: ",")
    }
}

/// A bus name's owner changing: `NameOwnerChanged`.
public struct NameOwnerChange: Sendable, Hashable {
    public var name: String
    /// The unique name that owned it; nil when the name had no owner (the peer started).
    public var oldOwner: String?
    /// The unique name that owns it now; nil when the name is gone (the peer exited).
    public var newOwner: String?

    public init(name: String, oldOwner: String?, newOwner: String?) {
        self.name = name
        self.oldOwner = oldOwner
        self.newOwner = newOwner
    }

    /// From the signal's `(sss)` arguments; nil for anything else.
    public init?(_ message: BusMessage) {
        guard message.arguments.count == 3, let name = message.arguments[0].string,
              let old = message.arguments[1].string, let new = message.arguments[2].string
        else { return nil }
        self.init(name: name, oldOwner: old.isEmpty ? nil : old, newOwner: new.isEmpty ? nil : new)
    }
}
