import DBus
import EpollExecutor
import Logging
import ServiceLifecycle
import StretchCore

/// The break notification, with buttons, on the desktop's notification server (org.freedesktop.Notifications on
/// the session bus): "Start now" (the default action: clicking the notification, or dunst's menu), "Snooze" and
/// "Skip" come back as `DesktopEvents.notificationAnswered`, and so does the user dismissing it. After an answer the
/// notification is closed (dunst would keep it, its buttons dead); a new `show` replaces the one shown.
///
/// `show` and `withdraw` return at once: they queue requests that `run()` carries out in order, one at a time,
/// together with the server's signals. Without a session bus or a notification server, nothing is shown (logged
/// once at info); a server that appears later (or is activated by the bus on the next `show`) is used then. A
/// server that restarts, or a bus that comes back, while a notification is offered gets it again. `Notify` runs
/// beside the requests with no timeout: a reply that comes after the offer was withdrawn closes that notification.
public final class DesktopNotifications: Service, Sendable {
    static let server = "org.freedesktop.Notifications"
    static let path = "/org/freedesktop/Notifications"

    enum Request: Sendable {
        case show(title: String, body: String)
        case withdraw
        /// The reply to a `Notify` sent while the server was the `epoch`th seen: its id.
        case notified(Result<UInt32?, BusError>, epoch: Int)
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

    /// Shows the break notification, replacing the one shown (replaces_id); returns at once (non-blocking, ordered:
    /// the requests go through an AsyncStream that run() consumes).
    public func show(title: String, body: String) {
        inbox.send(.show(title: title, body: body))
    }

    /// Closes the break notification if one is shown (CloseNotification); returns at once.
    public func withdraw() {
        inbox.send(.withdraw)
    }

    /// Returns once every request made before, and every signal the bus sent before, has been handled (while
    /// `run()` runs): for tests.
    func settled() async {
        await inbox.settled()
    }

    /// Carries out the requests and reports the answers until cancelled or shut down (then it withdraws the
    /// notification: nobody would hear its buttons).
    public func run() async throws {
        let name = Self.server
        let tie = PeerTie(
            inbox: inbox, buses: buses, bus: .session, peer: name,
            // ActionInvoked and NotificationClosed: broadcast by GNOME, sent to us alone by dunst and KDE.
            matches: [SignalMatch(sender: name, path: Self.path, interface: name, unicast: true)])
        await inbox.run(NotificationClient(tie: tie, events: events, logger: logger))
    }
}

/// The state `DesktopNotifications.run()` keeps: owned by that one task.
private final class NotificationClient: PeerClient {
    typealias Request = DesktopNotifications.Request

    /// The server seen: its unique name and what it can do (read once per server).
    struct Server {
        var owner: String?
        var capabilities: Set<String>
    }

    let tie: PeerTie<Request>
    let events: any DesktopEvents
    let logger: Logger
    var link: PeerLink? { tie.link }
    var server: Server?
    /// Our notification's id on `server`, while it is shown.
    var shown: UInt32?
    /// What is to be shown (until withdrawn or answered): shown again on a server that restarts.
    var offer: (title: String, body: String)?
    /// A `Notify` was sent and its reply has not come: it runs beside the requests (a slow server holds nothing
    /// up), and its reply, however late, comes back as `.notified`.
    var notifying = false
    /// The offer changed while a `Notify` was in flight: shown again (replacing it) once its id is known.
    var changedWhileNotifying = false
    /// Signals about a notification not known yet, that came while a `Notify` was in flight (the user can answer
    /// before a slow server's reply comes): handled once the id is known. At most `earlyLimit`.
    var early: [BusMessage] = []
    static let earlyLimit = 16
    var awaitsReplies: Bool { notifying }
    /// Counts the servers and connections seen: a reply from an earlier one is about a notification that is gone.
    var epoch = 0
    /// Set at shutdown: a `Notify` reply that comes after closes its notification itself (nobody would hear it).
    let ended = SharedFlag()
    /// The server's absence was logged, and it has not been seen since.
    var reportedMissing = false

    /// How long a call to the server may take: it runs in line with the requests, so a hung server must not hold
    /// them up for sd-bus's default 25 s. (`Notify` runs beside them, without a timeout.)
    static let callTimeout = Duration.seconds(5)

    /// The actions, as (key, label) pairs, each label once: "default" is clicking the notification itself (GNOME and
    /// KDE draw no button for it; dunst lists it in its menu with its label).
    static let actions = ["default", "Start now", "snooze", "Snooze", "skip", "Skip"]

    init(tie: PeerTie<Request>, events: any DesktopEvents, logger: Logger) {
        self.tie = tie
        self.events = events
        self.logger = logger
    }

    /// Watches the server's signals and owner on the session bus, if there is one (its absence is logged once by
    /// `BusConnections`) and not already.
    func connect() async {
        do {
            _ = try await tie.open()
        } catch {
            if !error.isCancellation { reportMissing("cannot watch the desktop notification server", error) }
        }
    }

    func handle(_ request: Request) async {
        switch request {
        case .show(let title, let body):
            offer = (title, body)
            await connect()
            await present()
        case .withdraw:
            offer = nil
            await close()
        case .notified(let result, let epoch):
            await notified(result, epoch: epoch)
        }
    }

    func shutDown() async {
        offer = nil
        ended.set()
        await close()
    }

    func handle(_ event: PeerEvent) async {
        switch event {
        case .signal(let message):
            await handleSignal(message)
        case .ownerChanged(let owner):
            // The owner our calls already found (a server the bus activated for them): nothing new.
            if let owner, owner == server?.owner { return }
            forgetServer()
            if owner != nil, offer != nil { await present() }
        case .lost, .connected:
            tie.drop()
            forgetServer()
            await connect()
            if offer != nil { await present() }
        }
    }

    /// The server is gone or replaced: what it showed went with it, and a reply still to come from it is ignored.
    func forgetServer() {
        server = nil
        shown = nil
        notifying = false
        changedWhileNotifying = false
        early = []
        epoch += 1
    }

    /// ActionInvoked(u id, s key) and NotificationClosed(u id, u reason), for our notification only (from the
    /// server's current owner: the connection checked that).
    func handleSignal(_ message: BusMessage) async {
        guard let shown else {
            if notifying, early.count < Self.earlyLimit { early.append(message) }
            return
        }
        guard message.arguments.count == 2, message.arguments[0].uint32 == shown else { return }
        switch message.member {
        case "ActionInvoked":
            offer = nil
            let answer: NotificationAnswer? = switch message.arguments[1].string {
            case "default": .start
            case "snooze": .snooze
            case "skip": .skip
            default: nil
            }
            if let answer { await events.notificationAnswered(answer) }
            // Some servers (dunst) keep it on screen, its buttons dead, until it is closed.
            await close()
        case "NotificationClosed":
            self.shown = nil
            offer = nil
            // 1 expired, 2 dismissed by the user, 3 closed by CloseNotification, 4 undefined.
            if message.arguments[1].uint32 == 2 { await events.notificationAnswered(.dismissed) }
        default:
            break
        }
    }

    /// Shows `offer`, replacing ours if it is shown; reads the server's capabilities first if this server's are not
    /// known (a call that also starts a server the bus can activate). While a `Notify` is in flight, waits for its
    /// id instead, so that the new one replaces it.
    func present() async {
        guard let link, let offer else { return }
        guard !notifying else {
            changedWhileNotifying = true
            return
        }
        let server: Server
        if let known = self.server {
            server = known
        } else {
            do {
                let reply = try await link.connection.call(call("GetCapabilities"), timeout: Self.callTimeout)
                server = Server(owner: reply.sender, capabilities: Set(reply.arguments.first?.strings ?? []))
            } catch {
                if !error.isCancellation { reportMissing("no desktop notification server; breaks are not shown", error) }
                return
            }
            self.server = server
            shown = nil
            if reportedMissing {
                reportedMissing = false
                logger.info("desktop notification server found")
            }
        }
        let buttons = server.capabilities.contains("actions")
        let body = server.capabilities.contains("body-markup") ? Self.escapingMarkup(offer.body) : offer.body
        let notify = call("Notify", [
            "stretchd", .uint32(shown ?? 0), "preferences-desktop", .string(offer.title), .string(body),
            .strings(buttons ? Self.actions : []),
            // Normal urgency: a break can wait, and critical notifications stay over full-screen windows.
            .variantDictionary(["urgency": .byte(1)]),
            // 0: never expires. An offer of a break stays until it is answered or withdrawn (-1 would leave it to
            // the server, which usually hides it after a few seconds).
            .int32(0),
        ])
        notifying = true
        changedWhileNotifying = false
        let executor = tie.buses.loop.taskExecutor
        Task(executorPreference: executor) { [notify, connection = link.connection, inbox = tie.inbox, epoch, ended] in
            await NotificationClient.send(notify, on: connection, then: inbox, epoch: epoch, ended: ended)
        }
    }

    /// Sends `Notify`, waits for its reply however long it takes, and hands it to the inbox; after shutdown,
    /// closes the notification at once instead (nobody would hear its buttons).
    static func send(
        _ notify: MethodCall, on connection: BusConnection, then inbox: PeerInbox<Request>, epoch: Int,
        ended: SharedFlag
    ) async {
        let result: Result<UInt32?, BusError>
        do {
            result = .success(try await connection.call(notify, timeout: BusConnection.noTimeout).arguments.first?.uint32)
        } catch {
            result = .failure(error)
        }
        guard ended.isSet else {
            inbox.send(.notified(result, epoch: epoch))
            return
        }
        if case .success(let id?) = result {
            let close = MethodCall(
                destination: DesktopNotifications.server, path: DesktopNotifications.path,
                interface: DesktopNotifications.server, member: "CloseNotification", arguments: [.uint32(id)])
            _ = try? await connection.call(close, timeout: callTimeout)
        }
    }

    /// The reply to our `Notify`: the id is kept, unless the offer was withdrawn or answered meanwhile (then the
    /// notification is closed at once: no orphan) or changed (then it is replaced).
    func notified(_ result: Result<UInt32?, BusError>, epoch: Int) async {
        guard epoch == self.epoch, notifying else { return }
        notifying = false
        let early = early
        self.early = []
        switch result {
        case .success(let id):
            shown = id
            logger.debug("notification shown", metadata: ["id": "\(id.map { "\($0)" } ?? "none")"])
            for message in early { await handleSignal(message) }
            if offer == nil {
                await close()
            } else if changedWhileNotifying {
                await present()
            }
        case .failure(let error):
            if !error.isCancellation { reportMissing("the desktop notification server refused the notification", error) }
            if changedWhileNotifying { await present() }
        }
    }

    /// Closes our notification, if shown.
    func close() async {
        guard let shown, let link else { return }
        self.shown = nil
        do {
            try await link.connection.call(call("CloseNotification", [.uint32(shown)]), timeout: Self.callTimeout)
        } catch {
            logger.debug("could not close the notification", metadata: ["error": "\(error)"])
        }
    }

    func call(_ member: String, _ arguments: [BusValue] = []) -> MethodCall {
        MethodCall(
            destination: DesktopNotifications.server, path: DesktopNotifications.path,
            interface: DesktopNotifications.server, member: member, arguments: arguments)
    }

    /// Logs at info the first time since the server was last seen; at debug after that.
    func reportMissing(_ message: String, _ error: BusError) {
        if reportedMissing {
            logger.debug("\(message)", metadata: ["error": "\(error)"])
        } else {
            reportedMissing = true
            logger.info("\(message): \(error)")
        }
    }

    /// The body with `&`, `<` and `>` escaped, for servers that read it as markup.
    static func escapingMarkup(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}

