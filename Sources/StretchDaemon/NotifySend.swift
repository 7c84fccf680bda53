import CLinux
import EpollExecutor
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Runs `notify-send` (libnotify) without waiting for it; does nothing outside a desktop session.
public struct NotifySend: DesktopNotifier {
    private let logger: Logger
    private let loop: EpollLoop

    /// Nil when there is no session bus to show a notification on. Children are reaped on `loop`.
    public init?(environment: [String: String], logger: Logger, loop: EpollLoop) {
        guard environment["DBUS_SESSION_BUS_ADDRESS"] != nil || environment["XDG_RUNTIME_DIR"] != nil else { return nil }
        self.logger = logger
        self.loop = loop
    }

    /// notify-send cannot close what it showed.
    public func withdraw() {}

    public func show(title: String, body: String) {
        let arguments = ["notify-send", "--app-name=stretchd", "--icon=preferences-desktop", title, body]
        var pid: pid_t = 0
        var argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let result = posix_spawnp(&pid, "notify-send", nil, nil, &argv, environ)
        if result != 0 {
            logger.debug("no desktop notification", metadata: ["reason": "\(String(cString: strerror(result)))"])
            return
        }
        ChildReaper.reap(pid, on: loop)
    }
}

/// Collects the exit status of children the daemon does not wait for, so they do not linger as zombies.
public enum ChildReaper {
    /// Reaps `child` when it exits: its pidfd becomes readable then, and `loop` waits for that without a thread
    /// or a timer. (Without pidfds, before Linux 5.3, `waitpid` blocks the blocking-work thread instead.) The
    /// task ends once the child is reaped.
    @discardableResult
    public static func reap(_ child: pid_t, on loop: EpollLoop) -> Task<Void, Never> {
        let pidfd = pidfd_open(child, 0)
        guard pidfd >= 0 else { return Task { await BlockingThread.shared.run { wait(for: child) } } }
        return Task(executorPreference: loop.taskExecutor) {
            // Only cancellation ends the wait early, and nothing cancels this task.
            try? await loop.waitReadable(pidfd)
            close(pidfd)
            wait(for: child)
        }
    }

    /// Collects the exit status of `child`, waiting for it to exit.
    private static func wait(for child: pid_t) {
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0, errno == EINTR {}
    }
}
