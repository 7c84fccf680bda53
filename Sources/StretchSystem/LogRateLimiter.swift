/// Decides which of many repeated events to log: the first of each kind, then at most one per `interval`,
/// counting those left out. Pure: the caller passes the time of each event, so tests need no waiting.
///
/// The control server uses it for refused peers (one line per uid per minute), so a client of another user
/// that connects in a loop cannot flood the log; the D-Bus connections for forged signals (one line per name per
/// minute). `LogRateLimiter.suffix(leftOut)` says how many were left out.
public struct LogRateLimiter<Key: Hashable & Sendable, Instant: InstantProtocol & Sendable>: Sendable
where Instant.Duration == Duration {
    public let interval: Duration
    /// For each key logged within the last `interval`: when, and how many events were left out since.
    private var logged: [Key: (at: Instant, leftOut: Int)] = [:]

    public init(interval: Duration) { self.interval = interval }

    /// Whether to log an event of `key` happening `now`: nil to stay quiet, or how many events of `key` were left
    /// out since the last one logged (to say so in the line).
    public mutating func shouldLog(_ key: Key, at now: Instant) -> Int? {
        if let last = logged[key], last.at.duration(to: now) < interval {
            logged[key]?.leftOut += 1
            return nil
        }
        let leftOut = logged[key]?.leftOut ?? 0
        // Forget keys whose interval is over and that have nothing left to report, so the table stays small.
        logged = logged.filter { $0.value.leftOut > 0 || $0.value.at.duration(to: now) < interval }
        logged[key] = (now, 0)
        return leftOut
    }

    /// What a logged line ends with to say how many were left out before it: "" for none.
    public static func suffix(_ leftOut: Int) -> String {
        leftOut > 0 ? " (and \(leftOut) more in the last minute)" : ""
    }
}
