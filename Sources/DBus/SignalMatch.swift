/// Which signals a subscription receives: a D-Bus match rule. Fields left nil match anything.
public struct SignalMatch: Sendable, Hashable {
    /// A bus name: the well-known one (`org.freedesktop.Notifications`) is resolved by the bus.
    public var sender: String?
    public var path: String?
    public var interface: String?
    public var member: String?
    /// String arguments that must be equal: `[0: "org.freedesktop.login1.Session"]` is `arg0='...'`.
    public var arguments: [Int: String]

    public init(
        sender: String? = nil, path: String? = nil, interface: String? = nil, member: String? = nil,
        arguments: [Int: String] = [:]
    ) {
        self.sender = sender
        self.path = path
        self.interface = interface
        self.member = member
        self.arguments = arguments
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
            sender: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus",
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
    init?(_ message: BusMessage) {
        guard message.arguments.count == 3, let name = message.arguments[0].string,
              let old = message.arguments[1].string, let new = message.arguments[2].string
        else { return nil }
        self.init(name: name, oldOwner: old.isEmpty ? nil : old, newOwner: new.isEmpty ? nil : new)
    }
}
