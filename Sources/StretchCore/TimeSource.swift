/// Where time comes from: every reading of the clocks the daemon, its desktop watches and sessions take goes
/// through one of these, the machine's clocks (`SystemTime`) or a scripted timeline in tests. The core itself
/// never reads a clock: it is given readings.
public protocol TimeSource: Sendable {
    /// The current reading of all clocks.
    func now() -> Moment
    /// Real time from now until the wall clock shows `local` (zero when it already has).
    func duration(until local: CivilTime) -> Duration
    /// Seconds since 1970 (UTC), for records.
    func unixTime() -> Double
    /// Time the machine has been awake (`now().awake` alone): what tells a suspend from a stalled process.
    func awake() -> Duration
}

extension TimeSource {
    public func awake() -> Duration { now().awake }
}
