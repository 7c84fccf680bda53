import DBus
import Logging
import StretchSystem
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Whether someone is at the desk: the screen lock and the idle time of the user's graphical session, reported
/// through `DesktopEvents.lockChanged` and `idleChanged(since:)` (a `CLOCK_MONOTONIC` time; nil when active or
/// unknown).
///
/// - logind, on the system bus: the user's graphical session is the `Display` of the user's object (found with
///   `GetUser`; the `self` and `auto` paths never send signals), followed again whenever it changes. Its
///   `LockedHint` gives the lock, its `IdleHint` and `IdleSinceHintMonotonic` the idle time. No graphical session
///   reports unlocked and active (nothing known).
/// - GNOME's Mutter idle monitor, on the session bus (`MutterIdleMonitor.swift`): exact idle and active events.
///
/// Merged: the lock always comes from logind. Idle comes from Mutter while its idle monitor is on the session bus
/// and answers, and from logind's `IdleHint` otherwise (and again as soon as Mutter leaves): GNOME sets `IdleHint`
/// only after its idle delay (minutes), dated when it was set, while Mutter's watch fires `idleWatch` after the
/// last input and says so to the millisecond.
///
/// Only signals wake it: no timers, no polling. A missing bus, logind, user or Mutter is logged once at info and
/// the rest goes on; `run()` ends only when its task is cancelled.
public final class PresenceWatch: Service, Sendable {
    let buses: BusConnections
    let events: any DesktopEvents
    let logger: Logger
    let user: uid_t
    let idleWatch: Duration
    let notes: AbsenceLog

    /// - Parameters:
    ///   - user: Whose graphical session to follow.
    ///   - idleWatch: How long without input counts as idle on GNOME (the Mutter idle watch's interval).
    public init(
        buses: BusConnections, events: any DesktopEvents, logger: Logger, user: uid_t = getuid(),
        idleWatch: Duration = .seconds(5)
    ) {
        self.buses = buses
        self.events = events
        self.logger = logger
        notes = AbsenceLog(logger: logger)
        self.user = user
        self.idleWatch = idleWatch
    }

    /// Watches until the task is cancelled or a graceful shutdown begins: nothing needs finishing first.
    public func run() async {
        _ = try? await cancelWhenGracefulShutdown { await self.watch() }
    }

    /// Watches logind and Mutter, each on every connection to its bus in turn, and reports what they say, merged,
    /// in order. Returns when the task is cancelled.
    private func watch() async {
        let (observations, observe) = AsyncStream<Observation>.makeStream()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.watchLogind(observe) }
            group.addTask { await self.watchMutter(observe) }
            // One reporter, so the reports keep the order of what was seen. Ends when the task is cancelled.
            var merge = Merge()
            for await observation in observations {
                for report in merge.apply(observation) {
                    switch report {
                    case .locked(let locked):
                        logger.debug("session lock", metadata: ["locked": "\(locked)"])
                        await events.lockChanged(locked)
                    case .idle(let since):
                        logger.debug("session idle", metadata: ["since": "\(since.map { "\($0)" } ?? "active")"])
                        await events.idleChanged(since: since)
                    }
                }
            }
            group.cancelAll()
        }
        observe.finish()
    }

    // MARK: What the sources saw, and how it is merged

    /// One source's view.
    enum Observation: Sendable, Equatable {
        /// logind's hints for the user's graphical session; `fresh` when just read (reported even if unchanged).
        /// Unlocked and active, not fresh, when logind is gone or cannot be read.
        case logind(locked: Bool, idleSince: Duration?, fresh: Bool)
        /// Mutter's idle monitor is there and says this.
        case mutter(idleSince: Duration?, fresh: Bool)
        /// Mutter's idle monitor went away or failed: idle comes from logind again.
        case mutterGone
    }

    enum Report: Sendable, Equatable {
        case locked(Bool)
        case idle(since: Duration?)
    }

    /// The merge: the lock from logind; idle from Mutter while it is there, else from logind. What was just read
    /// (`fresh`) is reported even if unchanged (it corrects what the daemon believed); anything else only when it
    /// changes what was reported. Before any report the daemon believes unlocked and active.
    struct Merge {
        var logindIdle: Duration?
        var mutterPresent = false
        var reportedLocked = false
        var reportedIdle: Duration?

        mutating func apply(_ observation: Observation) -> [Report] {
            var reports: [Report] = []
            switch observation {
            case .logind(let locked, let idleSince, let fresh):
                logindIdle = idleSince
                if fresh || locked != reportedLocked { reports.append(.locked(locked)) }
                if !mutterPresent, fresh || idleSince != reportedIdle { reports.append(.idle(since: idleSince)) }
            case .mutter(let idleSince, let fresh):
                mutterPresent = true
                if fresh || idleSince != reportedIdle { reports.append(.idle(since: idleSince)) }
            case .mutterGone:
                mutterPresent = false
                if logindIdle != reportedIdle { reports.append(.idle(since: logindIdle)) }
            }
            for report in reports {
                switch report {
                case .locked(let locked): reportedLocked = locked
                case .idle(let since): reportedIdle = since
                }
            }
            return reports
        }
    }

    // MARK: logind

    static let login1 = "org.freedesktop.login1"
    static let managerPath = "/org/freedesktop/login1"
    static let managerInterface = "org.freedesktop.login1.Manager"
    static let userInterface = "org.freedesktop.login1.User"
    static let sessionInterface = "org.freedesktop.login1.Session"
    static let unknown = Observation.logind(locked: false, idleSince: nil, fresh: false)

    /// logind on each system bus connection in turn; after each, nothing is known.
    func watchLogind(_ observe: AsyncStream<Observation>.Continuation) async {
        await followOwners(
            of: Self.login1, on: .system, gone: Self.unknown, observe,
            failure: ("logind-bus", "logind: watching it on the system bus failed")
        ) { owner, connection in
            await self.followUser(owner: owner, on: connection, observe)
        }
    }

    /// The user's graphical session, while logind (`owner`) runs.
    func followUser(owner: String?, on connection: BusConnection, _ observe: AsyncStream<Observation>.Continuation)
        async
    {
        guard let owner else {
            notes.missing("logind-absent", "logind is not on the system bus: no lock or idle from it until it starts")
            observe.yield(Self.unknown)
            return
        }
        notes.present("logind-absent")
        do {
            let userPath = try await resolveUser(owner: owner, on: connection)
            let changes = try await connection.signals(
                .propertiesChanged(sender: owner, path: userPath, interface: Self.userInterface))
            let display = try await displaySession(of: userPath, on: connection)
            notes.present("logind-user")
            var iterator = changes.makeAsyncIterator()
            try await Self.following(
                display,
                next: {
                    while let message = try await iterator.next() {
                        guard let change = PropertiesChange(message) else { continue }
                        if let value = change.changed["Display"] { return Self.sessionPath(value) }
                        if change.invalidated.contains("Display") {
                            return try await self.displaySession(of: userPath, on: connection)
                        }
                    }
                    return nil
                },
                each: { session in await self.followSession(session, owner: owner, on: connection, observe) })
        } catch {
            note("logind-user", "logind: reading user \(user)'s graphical session failed", error)
            observe.yield(Self.unknown)
        }
    }

    /// The user's object path: `GetUser`, or, while logind does not know the user (no session yet), the path of
    /// the `UserNew` signal that announces them.
    func resolveUser(owner: String, on connection: BusConnection) async throws -> String {
        let added = try await connection.signals(
            SignalMatch(sender: owner, path: Self.managerPath, interface: Self.managerInterface, member: "UserNew"))
        do {
            let reply = try await connection.call(
                MethodCall(
                    destination: Self.login1, path: Self.managerPath, interface: Self.managerInterface,
                    member: "GetUser", arguments: [.uint32(user)]))
            guard let path = reply.arguments.first?.string else {
                throw BusError(function: "org.freedesktop.login1.Manager.GetUser", code: EBADMSG)
            }
            notes.present("user-unknown")
            return path
        } catch let error as BusError where error.name == "org.freedesktop.login1.NoSuchUser" {
            notes.missing("user-unknown", "logind does not know user \(user) yet: no lock or idle until they log in")
        }
        for try await signal in added {
            guard signal.arguments.count == 2, signal.arguments[0].uint32 == user,
                  let path = signal.arguments[1].string
            else { continue }
            notes.present("user-unknown")
            return path
        }
        throw Self.ended()
    }

    /// The user's `Display` session's object path; "/" for none.
    func displaySession(of userPath: String, on connection: BusConnection) async throws -> String {
        let display = try await connection.property(
            destination: Self.login1, path: userPath, interface: Self.userInterface, name: "Display")
        return Self.sessionPath(display)
    }

    /// The object path of a `(so)` session reference; "/" (none) for anything else.
    static func sessionPath(_ value: BusValue) -> String {
        guard case .structure(let fields) = value.unwrapped, fields.count == 2, let path = fields[1].string,
              !path.isEmpty
        else { return "/" }
        return path
    }

    /// One session's `LockedHint` and `IdleHint`: subscribed, read, reported, then each change; "/" reports
    /// unlocked and active.
    func followSession(
        _ path: String, owner: String, on connection: BusConnection, _ observe: AsyncStream<Observation>.Continuation
    ) async {
        guard path != "/" else {
            observe.yield(.logind(locked: false, idleSince: nil, fresh: true))
            return
        }
        do {
            let changes = try await connection.signals(
                .propertiesChanged(sender: owner, path: path, interface: Self.sessionInterface))
            var hints = SessionHints()
            hints.update(
                try await connection.properties(destination: Self.login1, path: path, interface: Self.sessionInterface))
            observe.yield(hints.observation(fresh: true))
            notes.present("logind-session")
            for try await message in changes {
                guard let change = PropertiesChange(message) else { continue }
                hints.update(change.changed)
                // Invalidated only: read them again.
                if change.invalidated.contains(where: SessionHints.names.contains) {
                    hints.update(
                        try await connection.properties(
                            destination: Self.login1, path: path, interface: Self.sessionInterface))
                }
                observe.yield(hints.observation(fresh: false))
            }
        } catch {
            note("logind-session", "logind: reading session \(path) failed", error)
            observe.yield(Self.unknown)
        }
    }

    /// A session's hints as last read.
    struct SessionHints {
        static let names: Set<String> = ["LockedHint", "IdleHint", "IdleSinceHintMonotonic"]
        var locked = false
        var idle = false
        /// `IdleSinceHintMonotonic`, microseconds of `CLOCK_MONOTONIC`; 0 when logind does not say.
        var idleSinceMicroseconds: Int64 = 0
        /// When `IdleHint` came without a time: when it was seen, kept while it lasts.
        var seenIdle: Duration?

        mutating func update(_ properties: [String: BusValue]) {
            if let locked = properties["LockedHint"]?.bool { self.locked = locked }
            if let idle = properties["IdleHint"]?.bool { self.idle = idle }
            if let since = properties["IdleSinceHintMonotonic"]?.integer { idleSinceMicroseconds = since }
        }

        mutating func observation(fresh: Bool) -> Observation {
            var since: Duration?
            if !idle {
                seenIdle = nil
            } else if idleSinceMicroseconds > 0 {
                since = .microseconds(idleSinceMicroseconds)
            } else {
                seenIdle = seenIdle ?? SystemTime().awake()
                since = seenIdle
            }
            return .logind(locked: locked, idleSince: since, fresh: fresh)
        }
    }

    // MARK: Shared

    /// Runs `follow` with each owner of `name` in turn (nil while it has none), the previous one ended first, on
    /// each connection to `bus` in turn; after each connection, `gone` is observed. A failure to watch the name is
    /// noted (`failure`: its key and message).
    func followOwners(
        of name: String, on bus: BusConnections.Bus, gone: Observation, _ observe: AsyncStream<Observation>.Continuation,
        failure: (key: String, message: String), each follow: @escaping @Sendable (String?, BusConnection) async -> Void
    ) async {
        for await connection in buses.connections(bus) {
            do {
                let (owner, changes) = try await connection.watchNameOwner(name)
                var owners = changes.makeAsyncIterator()
                try await Self.following(owner, next: { try await owners.next().map(\.newOwner) }) { owner in
                    await follow(owner, connection)
                }
            } catch {
                note(failure.key, failure.message, error)
            }
            observe.yield(gone)
        }
    }

    /// Runs `follow` on `first`, and again on each different value `next` returns, the previous one cancelled and
    /// finished before (so nothing it subscribed to is heard after); returns when `next` returns nil.
    static func following<Value: Sendable & Equatable>(
        _ first: Value, next: () async throws -> Value?, each follow: @escaping @Sendable (Value) async -> Void
    ) async throws {
        var current = first
        while true {
            let value = current
            let changed: Value? = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await follow(value) }
                defer { group.cancelAll() }
                while let candidate = try await next() {
                    if candidate != value { return candidate }
                }
                return nil
            }
            guard let changed else { return }
            current = changed
        }
    }

    /// Why a stream ended without an error: the task was cancelled, or the connection closed.
    static func ended() -> any Error {
        Task.isCancelled ? CancellationError() : BusError(function: "sd_bus_close", code: ENOTCONN)
    }

    /// Logs `error` once at info under `key`, unless it is a cancellation or the bus going away (which
    /// `BusConnections` logs).
    func note(_ key: String, _ message: String, _ error: any Error) {
        if error is CancellationError || isEnding(error) { return }
        notes.missing(key, "\(message): \(error)")
    }
}

/// `PropertiesChanged(interface, changed, invalidated)`.
struct PropertiesChange {
    var changed: [String: BusValue]
    var invalidated: [String]

    init?(_ message: BusMessage) {
        guard message.arguments.count == 3, let changed = message.arguments[1].stringKeyed,
              let invalidated = message.arguments[2].strings
        else { return nil }
        self.changed = changed.mapValues(\.unwrapped)
        self.invalidated = invalidated
    }
}
