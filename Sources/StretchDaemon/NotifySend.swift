import Dispatch
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Shows a desktop notification, where a desktop session is there.
public protocol DesktopNotifier: Sendable {
    func notify(title: String, body: String)
}

/// Runs `notify-send` (libnotify) without waiting for it; does nothing outside a desktop session.
public struct NotifySend: DesktopNotifier {
    private let logger: Logger
    private static let reaper = DispatchQueue(label: "stretchd.notify-send.reaper")

    /// Nil when there is no session bus to show a notification on.
    public init?(environment: [String: String], logger: Logger) {
        guard environment["DBUS_SESSION_BUS_ADDRESS"] != nil || environment["XDG_RUNTIME_DIR"] != nil else { return nil }
        self.logger = logger
    }

    public func notify(title: String, body: String) {
        let arguments = ["notify-send", "--app-name=stretchd", "--icon=preferences-desktop", title, body]
        var pid: pid_t = 0
        var argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let result = posix_spawnp(&pid, "notify-send", nil, nil, &argv, environ)
        if result != 0 {
            logger.debug("no desktop notification", metadata: ["reason": "\(String(cString: strerror(result)))"])
            return
        }
        // Reap it in the background so it does not linger as a zombie. A serial queue of its own, not a global
        // one: those start libdispatch's once-a-second worker-pool monitor, which would wake an idle daemon.
        let child = pid
        Self.reaper.async {
            var status: Int32 = 0
            waitpid(child, &status, 0)
        }
    }
}
