/// What a button of the break's desktop notification asks for (clicking the notification itself is `start`).
public enum NotificationAnswer: Sendable, Hashable {
    case start
    case snooze
    case skip
    /// Closed by the user without a choice: the offer stands.
    case dismissed
}

/// What the desktop says of the person at the desk. The owner keeps it up to date from every source and feeds the
/// whole of it to the `BreakCycle` on each change.
public struct DesktopState: Sendable, Hashable {
    /// The graphical session is locked.
    public var locked: Bool
    /// The awake time (`Moment.awake`) since which the user has given no input; nil: active, or not known.
    public var idleSince: Duration?
    /// The do-not-disturb switches that are on, by source ("GNOME", "KDE", "dunst").
    public var doNotDisturb: Set<String>
    /// Signs of a call, by source ("microphone hw:0,0", "GNOME idle inhibitor").
    public var calls: Set<String>

    public init(locked: Bool = false, idleSince: Duration? = nil, doNotDisturb: Set<String> = [], calls: Set<String> = []) {
        self.locked = locked
        self.idleSince = idleSince
        self.doNotDisturb = doNotDisturb
        self.calls = calls
    }
}

/// Why a break that is due is not announced yet.
public enum DeferReason: Sendable, Hashable, CustomStringConvertible {
    case locked
    case doNotDisturb(source: String)
    case call(source: String)

    public var description: String {
        switch self {
        case .locked: "the screen is locked"
        case .doNotDisturb(let source): "do-not-disturb is on (\(source))"
        case .call(let source): "in a call (\(source))"
        }
    }
}
