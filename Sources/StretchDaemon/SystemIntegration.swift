#if canImport(Glibc)
import Glibc
#endif
import CLinux
import ControlProtocol
import Dispatch
import StretchSystem
import Logging

/// Tells systemd about the daemon's state (sd_notify(3)): `READY=1` once the socket listens, `STATUS=` lines.
///
/// The protocol is one datagram to the socket in `$NOTIFY_SOCKET`; writing it directly spares a dependency on
/// libsystemd. Without `NOTIFY_SOCKET` (not started by systemd) there is nothing to do.
public struct SystemdNotifier: Sendable {
    private let address: UnixSocketAddress

    public init?(environment: [String: String]) {
        guard let text = environment["NOTIFY_SOCKET"], let address = UnixSocketAddress(systemdNotation: text) else {
            return nil
        }
        self.address = address
    }

    public func send(_ message: String) {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        // Never block the daemon on systemd: if its queue is full, this status line is dropped.
        _ = message.withCString { text in
            address.withSocketAddress { sendto(fd, text, strlen(text), Int32(MSG_DONTWAIT | MSG_NOSIGNAL), $0, $1) }
        }
    }
}

/// Shows a desktop notification, where a desktop session is there.
public protocol DesktopNotifier: Sendable {
    func notify(title: String, body: String)
}

/// Runs `notify-send` (libnotify) without waiting for it; does nothing outside a desktop session.
public struct NotifySend: DesktopNotifier {
    private let logger: Logger

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
        // Reap it in the background so it does not linger as a zombie.
        let child = pid
        DispatchQueue.global().async {
            var status: Int32 = 0
            waitpid(child, &status, 0)
        }
    }
}

/// Calls back when the wall clock is set (by hand, or stepped by NTP), so work hours can be recomputed at once.
///
/// A `timerfd` on `CLOCK_REALTIME` armed with `TFD_TIMER_CANCEL_ON_SET` becomes readable, failing with
/// `ECANCELED`, whenever the clock is set; a dispatch source waits for that without any polling. Daylight-saving
/// changes do not set the clock (only the local offset moves), so they need no wake-up: the next wake-up time is
/// computed with `mktime`, which knows the offset in force then.
public final class WallClockMonitor {
    private let source: any DispatchSourceRead

    public init?(onChange: @escaping @Sendable () -> Void) {
        let fd = timerfd_create(CLOCK_REALTIME, Int32(TFD_CLOEXEC | TFD_NONBLOCK))
        guard fd >= 0 else { return nil }
        guard WallClockMonitor.arm(fd) else {
            close(fd)
            return nil
        }
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: DispatchQueue.global())
        source.setEventHandler {
            var expirations: UInt64 = 0
            if read(fd, &expirations, 8) < 0, errno == ECANCELED {
                _ = WallClockMonitor.arm(fd)
                onChange()
            }
        }
        source.setCancelHandler { close(fd) }
        source.resume()
        self.source = source
    }

    deinit { source.cancel() }

    /// Arms the timer for the far future, so it only ever fires by being cancelled by a clock change.
    private static func arm(_ fd: Int32) -> Bool {
        var spec = itimerspec()
        spec.it_value.tv_sec = time_t(Int32.max)
        return timerfd_settime(fd, Int32(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET), &spec, nil) == 0
    }
}

/// Whether stderr is connected to the journal: `JOURNAL_STREAM` names stderr's device and inode (systemd.exec(5)).
public func stderrIsJournal(environment: [String: String]) -> Bool {
    guard let value = environment["JOURNAL_STREAM"] else { return false }
    let parts = value.split(separator: ":")
    guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
    var info = stat()
    guard fstat(STDERR_FILENO, &info) == 0 else { return false }
    return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
}

/// This process's resource use so far (`getrusage(RUSAGE_SELF)` covers every thread, ended ones included).
public func processReport() -> ProcessReport {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
    // /proc/self/statm: size and resident, in pages.
    var resident = 0
    if case .success(let statm) = Files.readText("/proc/self/statm") {
        resident = (Int(statm.split(separator: " ").dropFirst().first ?? "") ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
    }
    return ProcessReport(residentKiB: resident, cpuSeconds: cpu, contextSwitches: usage.ru_nvcsw + usage.ru_nivcsw)
}
