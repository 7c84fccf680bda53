import EpollExecutor
import Logging

/// The session and system buses, shared by whatever talks D-Bus: each connected on first use, and again on a later
/// use after it was lost. A bus that cannot be reached, or that went away, is logged once at info (not at every
/// try), and its users carry on without it; when it comes back, that is logged once too.
public actor BusConnections {
    public enum Bus: String, Sendable, CaseIterable {
        /// The user's session bus: `DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus`.
        case session
        /// The system bus: `DBUS_SYSTEM_BUS_ADDRESS`, else `/run/dbus/system_bus_socket`.
        case system
    }

    /// Opens a connection to a bus; tests point it elsewhere.
    public typealias Opener = @Sendable (Bus, EpollLoop) throws(BusError) -> BusConnection

    /// The loop the connections are processed on: the one their users wait on for anything else too (a child's
    /// output, an inotify descriptor).
    public nonisolated let loop: EpollLoop
    private let logger: Logger
    private let open: Opener
    private var connections: [Bus: BusConnection] = [:]
    /// The buses whose absence was logged and not yet followed by a connection.
    private var reportedMissing: Set<Bus> = []

    public init(loop: EpollLoop, logger: Logger, open: @escaping Opener = BusConnections.standard) {
        self.loop = loop
        self.logger = logger
        self.open = open
    }

    /// The standard environment's buses (`sd_bus_open_user`, `sd_bus_open_system`).
    public static let standard: Opener = { (bus: Bus, loop: EpollLoop) throws(BusError) -> BusConnection in
        switch bus {
        case .session: try BusConnection.session(loop: loop)
        case .system: try BusConnection.system(loop: loop)
        }
    }

    /// The connection to `bus`, connected now if there was none or the last one was lost; nil when it cannot be
    /// reached (logged once at info until it can).
    public func connection(_ bus: Bus) -> BusConnection? {
        if let connection = connections[bus] {
            guard let lost = connection.lostReason else { return connection }
            connections[bus] = nil
            report(bus, "D-Bus \(bus.rawValue) bus lost", lost)
        }
        do {
            let connection = try open(bus, loop)
            connections[bus] = connection
            if reportedMissing.remove(bus) != nil {
                logger.info("D-Bus \(bus.rawValue) bus connected again", metadata: ["bus": "\(bus.rawValue)"])
            }
            return connection
        } catch {
            report(bus, "D-Bus \(bus.rawValue) bus unavailable; going on without it", error)
            return nil
        }
    }

    /// Each connection to `bus` as it becomes available: the current one (connected now if need be), then, after
    /// each loss, the next one once the bus can be reached again. A service watching signals runs on each in turn.
    /// The stream ends when the bus cannot be reached and there is no way to learn, without polling, that it is back.
    public nonisolated func connections(_ bus: Bus) -> AsyncStream<BusConnection> {
        AsyncStream { continuation in
            let task = Task {
                while !Task.isCancelled, let connection = await self.connection(bus) {
                    continuation.yield(connection)
                    guard await connection.disconnected() != nil else { break }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Logs `message` with `error` at info, unless this bus's absence was already logged.
    private func report(_ bus: Bus, _ message: String, _ error: BusError) {
        guard reportedMissing.insert(bus).inserted else { return }
        logger.info("\(message): \(error)", metadata: ["bus": "\(bus.rawValue)"])
    }
}
