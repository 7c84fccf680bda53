import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A private `dbus-daemon` in a temporary folder, and python-dbusmock peers on it, for tests that talk to a real
/// bus. Stop it with `stop()` (the daemon and every mock are terminated and the folder removed).
///
/// It listens in its own folder, or at a given address (`unix:path=...` to be started again at the same socket
/// with `restart()`, as a bus that comes back; `unix:abstract=...` for one with no socket file).
///
/// The configuration is the one that worked in the spike (../shared/DESIGN.md): a `unix:dir=` listener, EXTERNAL
/// authentication, and a policy that allows everything, including a bare `<allow eavesdrop="true"/>` (without it
/// even the reply to `Hello` is refused).
public final class PrivateBus: @unchecked Sendable {
    // @unchecked: `mocks`, `daemon` and `address` are only changed by the test that owns the bus.

    /// The bus's address, e.g. `unix:path=/tmp/.../dbus-abc,guid=...` (a new guid after `restart()`).
    public private(set) var address: String
    public let directory: String
    private var daemon: Process
    private var mocks: [Process] = []

    /// Why D-Bus tests cannot run here, or nil: no `dbus-daemon` on the PATH, or no Python with `dbusmock`.
    public static let unavailable: String? = {
        if dbusDaemon == nil { return "dbus-daemon is not installed (Debian: dbus-daemon; make test-deps installs it)" }
        if python == nil { return "python3-dbusmock is not installed (Debian: python3-dbusmock; make test-deps installs it)" }
        return nil
    }()

    static let dbusDaemon: String? = ["/usr/bin/dbus-daemon", "/bin/dbus-daemon"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// A Python 3 that can import `dbusmock`: Debian's, whose packages the `python3` of a version manager (pyenv)
    /// on the PATH does not see.
    static let python: String? = ["/usr/bin/python3", "/usr/local/bin/python3"].first { candidate in
        guard FileManager.default.isExecutableFile(atPath: candidate) else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: candidate)
        process.arguments = ["-c", "import dbusmock"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// Starts a bus and returns once it listens (its address is read from `--print-address`, which it prints when
    /// ready): at `listen`, a D-Bus listening address, or in a new socket in its folder when nil.
    public init(listen: String? = nil) throws {
        guard Self.dbusDaemon != nil else { throw Unavailable(reason: Self.unavailable ?? "no dbus-daemon") }
        directory = try URLPath.temporaryDirectory()
        try """
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>session</type>
              <listen>\(listen ?? "unix:dir=\(directory)")</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow send_destination="*" eavesdrop="true"/>
                <allow eavesdrop="true"/>
                <allow own="*"/>
              </policy>
            </busconfig>
            """.write(toFile: directory + "/bus.conf", atomically: true, encoding: .utf8)
        do {
            (daemon, address) = try Self.launch(config: directory + "/bus.conf")
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// Starts the daemon again after `killDaemon()`, with the same configuration (so at the same socket path, for
    /// a `unix:path=` bus), and returns once it listens.
    public func restart() throws {
        killDaemon()
        (daemon, address) = try Self.launch(config: directory + "/bus.conf")
    }

    /// Runs `dbus-daemon` with `config`; returns once it printed its address.
    private static func launch(config: String) throws -> (Process, String) {
        guard let dbusDaemon else { throw Unavailable(reason: unavailable ?? "no dbus-daemon") }
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: dbusDaemon)
        daemon.arguments = ["--config-file=\(config)", "--nofork", "--nopidfile", "--print-address"]
        let output = Pipe()
        daemon.standardOutput = output
        daemon.standardError = FileHandle.nullDevice
        try daemon.run()
        // One line, written once the socket listens; end of file if the daemon failed to start.
        let line = output.fileHandleForReading.readFirstLine()
        let address = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !address.isEmpty else {
            kill(daemon)
            throw Unavailable(reason: "dbus-daemon did not start (status \(daemon.terminationStatus))")
        }
        return (daemon, address)
    }

    /// Starts `python3 -m dbusmock` on this bus (as its session bus, and as its system bus too) with `arguments`,
    /// e.g. `["--template", "notification_daemon"]`; the caller waits for its name to appear on the bus.
    @discardableResult
    public func startMock(_ arguments: [String]) throws -> Process {
        guard let python = Self.python else { throw Unavailable(reason: Self.unavailable ?? "no dbusmock") }
        let mock = Process()
        mock.executableURL = URL(fileURLWithPath: python)
        mock.arguments = ["-m", "dbusmock"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["DBUS_SESSION_BUS_ADDRESS"] = address
        environment["DBUS_SYSTEM_BUS_ADDRESS"] = address
        mock.environment = environment
        mock.standardOutput = FileHandle.nullDevice
        mock.standardError = FileHandle.nullDevice
        try mock.run()
        mocks.append(mock)
        return mock
    }

    /// Terminates the mocks (as when a service exits), leaving the bus running.
    public func stopMocks() {
        for mock in mocks where mock.isRunning {
            Self.kill(mock)
        }
    }

    /// Ends the bus daemon (as when it crashes or the session ends), leaving the mocks to notice.
    public func killDaemon() {
        if daemon.isRunning { Self.kill(daemon) }
    }

    /// Terminates the mocks and the daemon, and removes the folder.
    public func stop() {
        stopMocks()
        killDaemon()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// SIGKILL, since children spawned by the test process inherit its blocked signals (SIGTERM among them), and
    /// neither dbus-daemon nor Python unblocks them.
    private static func kill(_ process: Process) {
        _ = Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    public struct Unavailable: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }
}
