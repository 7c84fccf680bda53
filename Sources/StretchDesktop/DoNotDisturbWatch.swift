import DBus
import EpollExecutor
import GVDB
import Logging
import StretchSystem
import ServiceLifecycle
import Synchronization

/// Watches the desktop's do-not-disturb switches on the session bus and reports each one's own state through
/// `DesktopEvents.doNotDisturbChanged(source:on:)` (the daemon combines them):
///
/// - "KDE": the `Inhibited` property of the notification server (`org.freedesktop.Notifications`), which Plasma
///   sets while do-not-disturb is on and announces with `PropertiesChanged`.
/// - "dunst": the `paused` property of dunst's `org.dunstproject.cmd0` interface on the same object; dunst announces
///   it with `PropertiesChanged` when it is set over D-Bus (`dunstctl set-paused`, since dunst 1.6), and since
///   1.13.1 also when paused by SIGUSR1/SIGUSR2.
/// - "GNOME": the `org.gnome.desktop.notifications show-banners` setting (false: do-not-disturb on), read once when
///   a GNOME Shell is on the bus and again when dconf's `Notify` signal says the key (or a folder above it)
///   changed: dconf has no D-Bus method to read a value, so it is read from dconf's own database file
///   (`DconfFileReader`), which dconf's writer replaces before it sends `Notify`. The bus passes on only the
///   `Notify`s under the key's folder (`arg0path`), and reads are coalesced (`CoalescedReads`): at most one runs,
///   and one starts per 250 ms, however many signals come (a desktop can send thousands).
///
/// Each is subscribed to first, then read, so no change is missed; a server that starts, exits or is replaced
/// (`NameOwnerChanged`) is read again. Signals count only from the current owner of the name that sends them
/// (the notification server, `ca.desrt.dconf`), as broadcasts: a forgery from another client changes nothing (see
/// `SignalMatch`). A switch that can no longer be read (its server left, the bus was lost) after it was reported on
/// is reported off. Nothing here wakes without a signal.
public struct DoNotDisturbWatch: Service {
    private let buses: BusConnections
    private let events: any DesktopEvents
    private let logger: Logger
    private let readShowBanners: @Sendable () async -> Bool?
    private let absences: AbsenceLog

    static let notifications = "org.freedesktop.Notifications"
    static let notificationsPath = "/org/freedesktop/Notifications"
    static let dunstInterface = "org.dunstproject.cmd0"
    static let gnomeShell = "org.gnome.Shell"
    /// The dconf key of `org.gnome.desktop.notifications show-banners`, and its folder.
    static let showBannersKey = "/org/gnome/desktop/notifications/show-banners"
    static let showBannersFolder = "/org/gnome/desktop/notifications/"
    /// dconf's writer service, which sends `Notify` for the user's database.
    static let dconf = "ca.desrt.dconf"
    /// The least time from the start of one read of `show-banners` to the start of the next.
    static let readSpacing = Duration.milliseconds(250)

    /// - Parameter readGNOMEShowBanners: Reads `show-banners` (nil: it cannot be read). By default (nil) it reads
    ///   the user's dconf database, `$XDG_CONFIG_HOME/dconf/user`.
    public init(
        buses: BusConnections, events: any DesktopEvents, logger: Logger,
        readGNOMEShowBanners: (@Sendable () async -> Bool?)? = nil
    ) {
        self.buses = buses
        self.events = events
        self.logger = logger
        let absences = AbsenceLog(logger: logger)
        self.absences = absences
        if let readGNOMEShowBanners {
            readShowBanners = readGNOMEShowBanners
        } else {
            let reader = DconfFileReader(path: DconfFileReader.userDatabase, absences: absences)
            readShowBanners = { await reader.showBanners() }
        }
    }

    /// Watches until the task is cancelled or a graceful shutdown begins: nothing needs finishing first.
    public func run() async {
        _ = try? await cancelWhenGracefulShutdown { await self.watch() }
    }

    /// Watches each session bus connection in turn until cancelled.
    private func watch() async {
        for await connection in buses.connections(.session) {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await watchProperty(
                        connection, source: "KDE", interface: Self.notifications, name: "Inhibited")
                }
                group.addTask {
                    await watchProperty(
                        connection, source: "dunst", interface: Self.dunstInterface, name: "paused")
                }
                group.addTask { await watchGNOME(connection) }
            }
        }
        await untilCancelled()
    }

    // MARK: One source

    private enum Signal: Sendable {
        case owner(NameOwnerChange)
        case message(BusMessage)
    }

    /// A boolean property of the notification server's object: subscribed, read, and re-read when the server is
    /// replaced, until the connection ends or the task is cancelled.
    private func watchProperty(
        _ connection: BusConnection, source: String, interface: String, name: String
    ) async {
        let reported = LastReport { [events] on in await events.doNotDisturbChanged(source: source, on: on) }
        let what = "\(source) do-not-disturb"
        func read() async -> Bool? {
            do {
                let value = try await connection.property(
                    destination: Self.notifications, path: Self.notificationsPath, interface: interface, name: name)
                guard let flag = value.bool else {
                    absences.missing(what, "\(what) not followed: \(interface) \(name) is not a boolean (\(value.type))")
                    return nil
                }
                absences.present(what)
                return flag
            } catch {
                if !error.isCancellation, !error.isDisconnection {
                    absences.missing(what, "\(what) not followed: the notification server has no \(interface) \(name) (\(error))")
                }
                return nil
            }
        }
        do {
            let (owner, owners) = try await connection.watchNameOwner(Self.notifications)
            let changes = try await connection.signals(
                .propertiesChanged(sender: Self.notifications, path: Self.notificationsPath, interface: interface))
            if owner != nil {
                await reported.update(await read())
            } else {
                absences.missing(what, "\(what) not followed for now: no notification server on the session bus")
            }
            let signals = mergedStreams([
                relay(owners) { Signal.owner($0) },
                relay(changes) { Signal.message($0) },
            ])
            for try await signal in signals {
                switch signal {
                case .owner(let change):
                    await reported.update(change.newOwner == nil ? nil : await read())
                case .message(let message):
                    // PropertiesChanged(interface, changed a{sv}, invalidated as)
                    let arguments = message.arguments
                    if arguments.count > 1, let value = arguments[1].stringKeyed?[name]?.bool {
                        await reported.update(value)
                    } else if arguments.count > 2, arguments[2].strings?.contains(name) == true {
                        await reported.update(await read())
                    }
                }
            }
        } catch {
            if !isEnding(error) {
                absences.missing(what, "\(what) not followed: \(error)")
            }
        }
        // The connection ended: what it said is no longer known.
        if !Task.isCancelled { await reported.update(nil) }
    }

    /// GNOME's `show-banners`, read when a GNOME Shell is there and when dconf says it changed (coalesced).
    private func watchGNOME(_ connection: BusConnection) async {
        let reported = LastReport { [events] on in await events.doNotDisturbChanged(source: "GNOME", on: on) }
        let gnome = SharedFlag()
        let reads = CoalescedReads()
        do {
            let (shell, shells) = try await connection.watchNameOwner(Self.gnomeShell)
            let notifies = try await connection.signals(
                SignalMatch(
                    sender: Self.dconf, path: "/ca/desrt/dconf/Writer/user", interface: "ca.desrt.dconf.Writer",
                    member: "Notify", argumentPaths: [0: Self.showBannersFolder]))
            gnome.set(shell != nil)
            if shell != nil {
                await reported.update(await readShowBanners().map { !$0 })
            } else {
                absences.missing("GNOME do-not-disturb", "GNOME do-not-disturb not followed for now: no GNOME Shell on the session bus")
            }
            let signals = mergedStreams([
                relay(shells) { Signal.owner($0) },
                relay(notifies) { Signal.message($0) },
            ])
            let clock = LoopClock(loop: buses.loop)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    await reads.run(spacing: Self.readSpacing, sleep: { try await clock.sleep(for: $0) }) {
                        let value = await readShowBanners()
                        // GNOME Shell left during the read: what it said is no longer known.
                        guard gnome.isSet else { return }
                        await reported.update(value.map { !$0 })
                    }
                }
                for try await signal in signals {
                    switch signal {
                    case .owner(let change):
                        gnome.set(change.newOwner != nil)
                        if change.newOwner != nil {
                            absences.present("GNOME do-not-disturb")
                            reads.request()
                        } else {
                            await reported.update(nil)
                        }
                    case .message(let message):
                        guard gnome.isSet, Self.touchesShowBanners(message) else { continue }
                        reads.request()
                    }
                }
                group.cancelAll()
            }
        } catch {
            if !isEnding(error) {
                absences.missing("GNOME do-not-disturb", "GNOME do-not-disturb not followed: \(error)")
            }
        }
        if !Task.isCancelled { await reported.update(nil) }
    }

    /// Whether dconf's `Notify(prefix, paths, tag)` covers `show-banners`: the key itself, or a folder above it (a
    /// reset of the whole folder). Each path is relative to the prefix (`["show-banners"]` under
    /// `/org/gnome/desktop/notifications/`; `[""]` when the prefix is the key).
    static func touchesShowBanners(_ message: BusMessage) -> Bool {
        guard message.arguments.count >= 2, let prefix = message.arguments[0].string,
              let paths = message.arguments[1].strings
        else { return false }
        return paths.contains { path in
            let changed = prefix + path
            return changed == showBannersKey || (changed.hasSuffix("/") && showBannersKey.hasPrefix(changed))
        }
    }
}

/// Reads a value again when signals say it changed, however many come: at most one read runs, and the next starts
/// `spacing` after the last one ended, at the earliest; requests in between make one read, so the latest is
/// honoured. The wait is a one-shot after a read that a request started, never a periodic timer.
final class CoalescedReads: Sendable {
    private let requests: AsyncStream<Void>
    private let requested: AsyncStream<Void>.Continuation

    init() {
        // One pending request is all that matters.
        (requests, requested) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks for a read; returns at once.
    func request() {
        requested.yield()
    }

    /// Runs `read` for the requests, until the task is cancelled.
    func run(
        spacing: Duration, sleep: @Sendable (Duration) async throws -> Void, _ read: @Sendable () async -> Void
    ) async {
        for await _ in requests {
            await read()
            do { try await sleep(spacing) } catch { return }
        }
    }
}

/// Reads GNOME's `show-banners` from dconf's database file, where GSettings reads it too: dconf offers no D-Bus
/// method to read a value, and its writer service replaces the file (by a rename, so a read sees the old file or the
/// new one whole) before it sends `Notify`. Read and parsed on `BlockingThread.shared`, never on the loop. No file
/// or no key there is the schema's default (banners shown), as is a value of another type; a file that cannot be
/// read is logged once at info, and the value is then unknown (nil).
final class DconfFileReader: Sendable {
    private let path: String
    private let absences: AbsenceLog

    /// The default of `show-banners` in GNOME's schema.
    static let showBannersDefault = true
    /// Far above what a settings database holds, so that nothing huge is read by mistake.
    static let sizeLimit = 16 << 20

    /// The database dconf's default profile (`user-db:user`) writes: `$XDG_CONFIG_HOME/dconf/user`.
    static var userDatabase: String { XDGPaths.current.configHome + "/dconf/user" }

    init(path: String, absences: AbsenceLog) {
        self.path = path
        self.absences = absences
    }

    /// `show-banners` as GSettings would read it; nil when the file cannot be read.
    func showBanners() async -> Bool? {
        let what = "dconf database"
        let path = self.path
        let read = await BlockingThread.shared.run {
            Files.readBytes(path, limit: Self.sizeLimit).map { DconfBoolean(key: DoNotDisturbWatch.showBannersKey, in: $0) }
        }
        let setting: DconfBoolean
        switch read {
        case .success(let read): setting = read
        case .failure(let error) where error.isMissing:
            absences.present(what)
            return Self.showBannersDefault
        case .failure(let error):
            absences.missing(what, "GNOME do-not-disturb not followed: \(LogText.escaping(error.description))")
            return nil
        }
        switch setting {
        case .set(let value):
            absences.present(what)
            return value
        case .notSet:
            absences.present(what)
            return Self.showBannersDefault
        case .otherType(let type):
            absences.missing(
                what, "GNOME show-banners in \(LogText.escaping(path)) is of type '\(type)', not a boolean: the default (banners shown) applies, as in GSettings")
            return Self.showBannersDefault
        case .unreadable(let reason):
            absences.missing(
                what, "GNOME do-not-disturb not followed: \(LogText.escaping(path)) is not a dconf database that can be read: \(reason)")
            return nil
        }
    }
}
