import EpollExecutor
import Logging
import StretchSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The session and system buses, shared by whatever talks D-Bus: each connected on first use, and again on a later
/// use after it was lost. A bus that cannot be reached, or that went away, is logged once at info (not at every
/// try), and its users carry on without it; when it comes back, that is logged once too. A forged signal (see
/// `SignalMatch`) is logged as a warning, at most once a minute for each name it claimed to come from.
public actor BusConnections {
    public enum Bus: String, Sendable, CaseIterable {
        /// The user's session bus: `DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus`.
        case session
        /// The system bus: `DBUS_SYSTEM_BUS_ADDRESS`, else `/run/dbus/system_bus_socket`.
        case system
    }

    /// Opens a connection to a bus; tests point it elsewhere.
    public typealias Opener = @Sendable (Bus, EpollLoop) throws(BusError) -> BusConnection
    /// The D-Bus address a bus is opened at (nil: none), whose `unix:path=` socket files are watched for while
    /// the bus cannot be reached; tests point it elsewhere, with an `Opener` that agrees.
    public typealias Address = @Sendable (Bus) -> String?

    /// The loop the connections are processed on: the one their users wait on for anything else too (a child's
    /// output, an inotify descriptor).
    public nonisolated let loop: EpollLoop
    private let logger: Logger
    private let open: Opener
    private let address: Address
    private var connections: [Bus: BusConnection] = [:]
    /// The buses whose absence was logged and not yet followed by a connection.
    private var reportedMissing: Set<Bus> = []
    /// The buses whose "will not reconnect" was logged and not yet followed by a connection.
    private var reportedUnwatchable: Set<Bus> = []
    private let refusals: RefusalLog

    public init(
        loop: EpollLoop, logger: Logger, open: @escaping Opener = BusConnections.standard,
        address: @escaping Address = BusConnections.environment
    ) {
        self.loop = loop
        self.logger = logger
        refusals = RefusalLog(logger: logger)
        self.open = open
        self.address = address
    }

    /// The standard environment's buses, at the addresses sd-bus reads (`environment`), without their `guid=`: a
    /// bus that restarts at the same socket is reached again (see `BusAddress.withoutGuid`).
    public static let standard: Opener = { (bus: Bus, loop: EpollLoop) throws(BusError) -> BusConnection in
        guard let address = environment(bus) else {
            throw BusError(
                function: "sd_bus_set_address", code: ENOMEDIUM,
                message: "no address: neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set")
        }
        return try BusConnection.connect(address: BusAddress.withoutGuid(address), loop: loop)
    }

    /// The standard environment's addresses, as sd-bus reads them: `DBUS_SESSION_BUS_ADDRESS`, else
    /// `unix:path=$XDG_RUNTIME_DIR/bus`; `DBUS_SYSTEM_BUS_ADDRESS`, else `unix:path=/run/dbus/system_bus_socket`.
    public static let environment: Address = { bus in BusAddress.environment(bus) }

    /// The connection to `bus`, connected now if there was none or the last one was lost; nil when it cannot be
    /// reached (logged once at info until it can).
    public func connection(_ bus: Bus) -> BusConnection? {
        try? attempt(bus).get()
    }

    /// `connection(_:)`, with the error when the bus cannot be reached.
    private func attempt(_ bus: Bus) -> Result<BusConnection, BusError> {
        if let connection = connections[bus] {
            guard let lost = connection.lostReason else { return .success(connection) }
            connections[bus] = nil
            report(bus, "D-Bus \(bus.rawValue) bus lost", lost)
        }
        do {
            let connection = try open(bus, loop)
            connection.reportRefusedSignals { [refusals] refused in refusals.log(refused, on: bus) }
            connections[bus] = connection
            reportedUnwatchable.remove(bus)
            if reportedMissing.remove(bus) != nil {
                logger.info("D-Bus \(bus.rawValue) bus connected again", metadata: ["bus": "\(bus.rawValue)"])
            }
            return .success(connection)
        } catch {
            report(bus, "D-Bus \(bus.rawValue) bus unavailable; going on without it", error)
            return .failure(error)
        }
    }

    /// Each connection to `bus` as it becomes available: the current one (connected now if need be), then, after
    /// each loss, the next one once the bus can be reached again. A service watching signals runs on each in turn.
    ///
    /// No polling: while the bus cannot be reached, the folder of its socket file (the address's `unix:path=`) is
    /// watched with inotify on the loop, and a connection is tried when a file of that name is created, moved in or
    /// changed (tried again a few times within about 2.5 s while it refuses, as a socket is bound before it
    /// listens). A connection the bus turns away while connecting counts as a failed try. The stream ends, logged
    /// once at info, when the bus cannot be reached and there is nothing to watch: an address without a socket file
    /// (`unix:abstract=`, `tcp:`), or a folder that is missing or removed. It also ends when the connection is
    /// closed here, or when iteration stops.
    public nonisolated func connections(_ bus: Bus) -> AsyncStream<BusConnection> {
        AsyncStream { continuation in
            let task = Task {
                await self.follow(bus) { continuation.yield($0) }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// How long to wait before each new try, after the socket appeared, while connecting is refused.
    static let refusedRetries: [Duration] = (0..<8).map { .milliseconds(10 << $0) }

    /// The work of `connections(_:)`: yields each connection, and returns when there is none to wait for.
    private nonisolated func follow(_ bus: Bus, yield: (BusConnection) -> Void) async {
        var appeared = false
        while !Task.isCancelled {
            // Watched before trying, so that a bus that starts in between is not missed.
            let watch = Result { () throws(SocketWatch.Unwatchable) in try SocketWatch.watching(address(bus)) }
            var result = await attempt(bus)
            if appeared {
                // The socket is there but may not listen yet.
                for delay in Self.refusedRetries {
                    guard case .failure(let error) = result, error.code == ECONNREFUSED else { break }
                    guard (try? await LoopClock(loop: loop).sleep(for: delay)) != nil else { return }
                    result = await attempt(bus)
                }
            }
            if case .success(let connection) = result {
                yield(connection)
                // nil: closed here, or iteration stopped.
                guard await connection.disconnected() != nil else { return }
                appeared = false
                // Lost while connecting (a bus that turns us away) is a failed try: the next waits for the socket
                // to change, or this would connect and be refused again and again.
                guard !connection.wasAccepted else { continue }
            }
            let event: SocketWatch.Event?
            switch watch {
            case .success(let watch): event = await watch.next(on: loop)
            case .failure(let reason): event = .unwatchable(reason)
            }
            switch event {
            case nil: return
            case .appeared: appeared = true
            case .unwatchable(let reason):
                await reportUnwatchable(bus, reason)
                return
            }
        }
    }

    /// Logs that `bus` will not be reconnected, unless that was logged since it was last connected.
    private func reportUnwatchable(_ bus: Bus, _ reason: SocketWatch.Unwatchable) {
        guard reportedUnwatchable.insert(bus).inserted else { return }
        logger.info(
            "D-Bus \(bus.rawValue) bus: \(reason); will not reconnect; restart stretchd to use it again",
            metadata: ["bus": "\(bus.rawValue)"])
    }

    /// Logs `message` with `error` at info, unless this bus's absence was already logged.
    private func report(_ bus: Bus, _ message: String, _ error: BusError) {
        guard reportedMissing.insert(bus).inserted else { return }
        logger.info("\(message): \(error)", metadata: ["bus": "\(bus.rawValue)"])
    }
}

/// Logs forged signals as warnings: at most one line a minute for each name they claimed to come from.
private final class RefusalLog: Sendable {
    private let logger: Logger
    private let limiter = Mutex(LogRateLimiter<String, ContinuousClock.Instant>(interval: .seconds(60)))

    init(logger: Logger) { self.logger = logger }

    func log(_ refused: RefusedSignal, on bus: BusConnections.Bus) {
        let signal = refused.signal, expected = refused.expected
        let claimed = expected.sender ?? signal.interface ?? "?"
        guard let leftOut = limiter.withLock({ $0.shouldLog(claimed, at: ContinuousClock.now) }) else { return }
        let why = if signal.destination != nil && !expected.unicast {
            "sent to us alone, where it is broadcast"
        } else {
            "not from the owner of \(LogText.escaping(claimed))"
        }
        logger.warning(
            """
            ignored a forged D-Bus signal \(LogText.escaping("\(signal.interface ?? "?").\(signal.member ?? "?")")) \
            from \(LogText.escaping(signal.sender ?? "?")): \(why)\
            \(LogRateLimiter<String, ContinuousClock.Instant>.suffix(leftOut))
            """,
            metadata: ["bus": "\(bus.rawValue)"])
    }
}
