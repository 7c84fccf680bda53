#if canImport(Glibc)
import Glibc
#endif
import StretchCore

/// The machine's clocks: `CLOCK_MONOTONIC` (stops in suspend), `CLOCK_BOOTTIME`, and local wall time.
public struct SystemTime: TimeSource {
    public init() {}

    public func now() -> Moment {
        Moment(awake: read(CLOCK_MONOTONIC), elapsed: read(CLOCK_BOOTTIME), local: Self.civil(realtime: read(CLOCK_REALTIME)))
    }

    public func duration(until local: CivilTime) -> Duration {
        max(.zero, Self.realtime(of: local) - read(CLOCK_REALTIME))
    }

    public func unixTime() -> Double { read(CLOCK_REALTIME).inSeconds }

    public func awake() -> Duration { read(CLOCK_MONOTONIC) }

    private func read(_ clock: clockid_t) -> Duration {
        var time = timespec()
        clock_gettime(clock, &time)
        return .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec)
    }

    /// The local civil time of a `CLOCK_REALTIME` reading (`localtime_r`, so the TZ rules apply).
    public static func civil(realtime: Duration) -> CivilTime {
        var seconds = time_t(realtime.components.seconds)
        var parts = tm()
        localtime_r(&seconds, &parts)
        let subsecond = realtime - .seconds(realtime.components.seconds)
        return CivilTime(
            year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday),
            hour: Int(parts.tm_hour), minute: Int(parts.tm_min), second: Int(parts.tm_sec)
        ).adding(subsecond)
    }

    /// The `CLOCK_REALTIME` reading at which the wall clock shows `local` (`mktime` resolves DST).
    public static func realtime(of local: CivilTime) -> Duration {
        let (year, month, day) = local.date
        let seconds = Int32(local.time.components.seconds)
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = seconds / 3600
        parts.tm_min = seconds % 3600 / 60
        parts.tm_sec = seconds % 60
        parts.tm_isdst = -1
        return .seconds(mktime(&parts)) + (local.time - .seconds(local.time.components.seconds))
    }
}
