import Foundation
// Testing is there only when building tests; `make release` builds this target too, without it.
#if canImport(Testing)
import Testing

extension Trait where Self == ConditionTrait {
    /// A suite that talks to a `PrivateBus` and python-dbusmock: skipped, with a note, where they cannot run.
    public static var needsPrivateBus: Self {
        .disabled(
            if: PrivateBus.unavailable != nil,
            "needs dbus-daemon and python3-dbusmock (Debian packages; make test-deps installs them)")
    }

    /// A measurement run by hand on a `PrivateBus`: only when the environment sets `variable` (and the bus can run).
    public static func measurementOnPrivateBus(_ variable: String) -> Self {
        .disabled(
            if: PrivateBus.unavailable != nil || ProcessInfo.processInfo.environment[variable] == nil,
            "a measurement: set \(variable) to the seconds to measure; needs dbus-daemon and python3-dbusmock")
    }
}
#endif
