import DBus
import Logging
import StretchSystem

#if canImport(Glibc)
import Glibc
#endif

/// GNOME's idle monitor, for `PresenceWatch`: `org.gnome.Mutter.IdleMonitor` on the session bus.
///
/// One idle watch of `idleWatch`: when it fires, idle since `idleWatch` ago, and a user-active watch (Mutter fires
/// it once, at the next input, and forgets it): when that fires, active. At the start, `GetIdletime` says whether
/// the user is idle already. A new owner of the name (gnome-shell restarted) gets its watches again; Mutter drops a
/// client's watches itself when the client leaves the bus.
extension PresenceWatch {
    static let mutter = "org.gnome.Mutter.IdleMonitor"
    static let mutterPath = "/org/gnome/Mutter/IdleMonitor/Core"
    static let mutterInterface = "org.gnome.Mutter.IdleMonitor"

    /// Mutter on each session bus connection in turn; after each, idle comes from logind.
    func watchMutter(_ observe: AsyncStream<Observation>.Continuation) async {
        await followOwners(
            of: Self.mutter, on: .session, gone: .mutterGone, observe,
            failure: ("mutter-bus", "GNOME's idle monitor: watching it on the session bus failed")
        ) { owner, connection in
            await self.followMutter(owner: owner, on: connection, observe)
        }
    }

    /// Mutter's idle and active watches, while it (`owner`) runs.
    func followMutter(owner: String?, on connection: BusConnection, _ observe: AsyncStream<Observation>.Continuation)
        async
    {
        guard let owner else {
            notes.missing(
                "mutter-absent", "GNOME's idle monitor (\(Self.mutter)) is not on the session bus: idle from logind alone")
            observe.yield(.mutterGone)
            return
        }
        notes.present("mutter-absent")
        do {
            // Only this owner's signals: a watch id means nothing to another. Mutter sends them to the watch's
            // client alone.
            let fired = try await connection.signals(
                SignalMatch(
                    sender: owner, path: Self.mutterPath, interface: Self.mutterInterface, member: "WatchFired",
                    unicast: true))
            let interval = Self.milliseconds(idleWatch)
            let idleID = try await mutterCall("AddIdleWatch", [.uint64(interval)], on: connection).uint32
            let idletime = try await mutterCall("GetIdletime", [], on: connection).integer
            guard let idleID, let idletime, idletime >= 0 else {
                throw BusError(function: "org.gnome.Mutter.IdleMonitor", code: EBADMSG)
            }
            // The active watch is added before idle is reported, so an input right after the report is heard.
            notes.present("mutter-failed")
            var activeID: UInt32?
            if UInt64(idletime) >= interval {
                activeID = try await addUserActiveWatch(on: connection)
                observe.yield(.mutter(idleSince: SystemTime().awake() - .milliseconds(idletime), fresh: true))
            } else {
                observe.yield(.mutter(idleSince: nil, fresh: true))
            }
            for try await signal in fired {
                guard let id = signal.arguments.first?.uint32 else { continue }
                if id == idleID, activeID == nil {
                    // (Mutter fires a new idle watch at once when the user is idle already: ignored then.)
                    let now = SystemTime().awake()
                    activeID = try await addUserActiveWatch(on: connection)
                    observe.yield(.mutter(idleSince: now - idleWatch, fresh: false))
                } else if id == activeID {
                    activeID = nil
                    observe.yield(.mutter(idleSince: nil, fresh: false))
                }
            }
        } catch {
            if Task.isCancelled { return }
            note("mutter-failed", "GNOME's idle monitor did not answer; idle from logind alone", error)
            observe.yield(.mutterGone)
        }
    }

    private func addUserActiveWatch(on connection: BusConnection) async throws -> UInt32 {
        guard let id = try await mutterCall("AddUserActiveWatch", [], on: connection).uint32 else {
            throw BusError(function: "org.gnome.Mutter.IdleMonitor.AddUserActiveWatch", code: EBADMSG)
        }
        return id
    }

    /// A method of the idle monitor; its reply's first argument.
    private func mutterCall(_ member: String, _ arguments: [BusValue], on connection: BusConnection) async throws
        -> BusValue
    {
        let reply = try await connection.call(
            MethodCall(
                destination: Self.mutter, path: Self.mutterPath, interface: Self.mutterInterface, member: member,
                arguments: arguments))
        guard let value = reply.arguments.first else {
            throw BusError(function: "org.gnome.Mutter.IdleMonitor.\(member)", code: EBADMSG)
        }
        return value
    }

    /// Whole milliseconds of `duration`, at least 1 (Mutter refuses an idle watch of 0).
    static func milliseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        let total = seconds * 1_000 + attoseconds / 1_000_000_000_000_000
        return UInt64(max(1, total))
    }
}
