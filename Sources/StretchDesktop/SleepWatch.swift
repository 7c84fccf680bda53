import DBus
import Logging
import ServiceLifecycle

/// The machine going to sleep and waking, from logind (org.freedesktop.login1 on the system bus): its
/// `PrepareForSleep(true)` becomes `DesktopEvents.aboutToSleep`, `PrepareForSleep(false)` `wokeUp`. While a session
/// runs (`holdSleepLock(true)`), a delay inhibitor lock makes logind wait (up to its `InhibitDelayMaxSec`, 5 s by
/// default) until `aboutToSleep` has returned, i.e. the session was stopped and recorded; the lock is released then,
/// and taken again on waking if the session still runs.
///
/// Without the system bus or logind, this is logged once at info and the daemon keeps its clock-based suspend
/// detection. A logind that restarts, or a bus that comes back (no request needed), gets the lock again if it is
/// held, and `PrepareForSleep` is matched again. `PrepareForSleep` counts only as a broadcast from logind's current
/// owner (a forgery from another client is ignored: see `SignalMatch`).
public final class SleepWatch: Service, Sendable {
    static let logind = "org.freedesktop.login1"
    static let path = "/org/freedesktop/login1"
    static let manager = "org.freedesktop.login1.Manager"

    enum Request: Sendable {
        case hold(Bool)
    }

    private let buses: BusConnections
    private let events: any DesktopEvents
    private let logger: Logger
    private let inbox = PeerInbox<Request>()

    public init(buses: BusConnections, events: any DesktopEvents, logger: Logger) {
        self.buses = buses
        self.events = events
        self.logger = logger
    }

    /// A session runs (true) or has ended (false): the delay lock is held exactly while a session runs. Returns at once.
    public func holdSleepLock(_ hold: Bool) {
        inbox.send(.hold(hold))
    }

    /// Returns once every request made before, and every signal the bus sent before, has been handled (while
    /// `run()` runs): for tests.
    func settled() async {
        await inbox.settled()
    }

    /// Watches for sleep and holds the lock as asked until cancelled or shut down (then the lock is released).
    public func run() async throws {
        let tie = PeerTie(
            inbox: inbox, buses: buses, bus: .system, peer: Self.logind,
            matches: [SignalMatch(sender: Self.logind, path: Self.path, interface: Self.manager, member: "PrepareForSleep")])
        let watcher = SleepWatcher(tie: tie, events: events, logger: logger)
        defer { watcher.release() }
        await inbox.run(watcher)
    }
}

/// The state `SleepWatch.run()` keeps: owned by that one task.
private final class SleepWatcher: PeerClient {
    typealias Request = SleepWatch.Request

    let tie: PeerTie<Request>
    let events: any DesktopEvents
    let logger: Logger
    var link: PeerLink? { tie.link }
    /// A session runs: the lock is to be held (except between PrepareForSleep(true) and (false)).
    var wanted = false
    /// Between PrepareForSleep(true) and PrepareForSleep(false).
    var sleeping = false
    /// The delay lock: held while this descriptor is open.
    var lock: BusFileDescriptor?
    /// The logind that gave `lock`.
    var lockOwner: String?
    /// logind's absence was logged, and it has not been seen since.
    var reportedMissing = false

    /// How long a call to logind may take: it runs in line with the requests.
    static let callTimeout = Duration.seconds(5)

    init(tie: PeerTie<Request>, events: any DesktopEvents, logger: Logger) {
        self.tie = tie
        self.events = events
        self.logger = logger
    }

    /// Watches logind's PrepareForSleep and owner on the system bus, if there is one (its absence is logged once by
    /// `BusConnections`) and not already.
    func connect() async {
        do {
            if let link = try await tie.open(), link.owner == nil {
                reportMissing("\(SleepWatch.logind) is not on the system bus")
            }
        } catch {
            if !error.isCancellation { reportMissing("\(error)") }
        }
    }

    func handle(_ request: Request) async {
        switch request {
        case .hold(let hold):
            wanted = hold
            if hold {
                await connect()
                await take()
            } else {
                release()
            }
        }
    }

    func shutDown() async {
        release()
    }

    func handle(_ event: PeerEvent) async {
        switch event {
        case .signal(let message):
            guard message.member == "PrepareForSleep", let starting = message.arguments.first?.bool else { return }
            if starting {
                sleeping = true
                // The daemon stops the session and records it; only then may the machine sleep.
                await events.aboutToSleep()
                release()
            } else {
                sleeping = false
                await events.wokeUp()
                await take()
            }
        case .ownerChanged(let owner):
            // The lock of a logind that exited or was replaced means nothing to the new one.
            if lockOwner != owner { release() }
            sleeping = false
            if owner != nil {
                if reportedMissing {
                    reportedMissing = false
                    logger.info("logind found: a running session is stopped and recorded before the machine sleeps")
                }
                await take()
            }
        case .lost, .connected:
            // Nothing survives the old connection: the lock's descriptor means nothing to a bus that restarted.
            tie.drop()
            release()
            sleeping = false
            await connect()
            await take()
        }
    }

    /// Takes the delay lock if it is wanted and not held.
    func take() async {
        guard wanted, !sleeping, lock == nil, let link else { return }
        let inhibit = MethodCall(
            destination: SleepWatch.logind, path: SleepWatch.path, interface: SleepWatch.manager, member: "Inhibit",
            arguments: ["sleep", "stretchd", "A stretch session is running; it stops and is recorded first", "delay"])
        do {
            let reply = try await link.connection.call(inhibit, timeout: Self.callTimeout)
            guard let descriptor = reply.arguments.first?.fileDescriptor else {
                reportMissing("logind's Inhibit reply held no descriptor (signature \(reply.signature))")
                return
            }
            lock = descriptor
            lockOwner = reply.sender
            logger.debug("sleep delayed while the session runs")
        } catch {
            if !error.isCancellation { reportMissing("\(error)") }
        }
    }

    /// Releases the lock, if held: logind may sleep.
    func release() {
        guard lock != nil else { return }
        lock = nil
        lockOwner = nil
        logger.debug("sleep no longer delayed")
    }

    /// Logs at info the first time since logind was last seen; at debug after that.
    func reportMissing(_ reason: String) {
        let message = "logind unavailable; a session running when the machine sleeps is noticed on waking"
        if reportedMissing {
            logger.debug("\(message)", metadata: ["reason": "\(reason)"])
        } else {
            reportedMissing = true
            logger.info("\(message): \(reason)")
        }
    }
}
