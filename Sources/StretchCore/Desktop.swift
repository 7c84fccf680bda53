/// What a button of the break's desktop notification asks for (clicking the notification itself is `start`).
public enum NotificationAnswer: Sendable, Hashable {
    case start
    case snooze
    case skip
    /// Closed by the user without a choice: the offer stands.
    case dismissed
}
