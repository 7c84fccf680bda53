import DBus
import Logging
import ServiceLifecycle
import StretchCore

/// The break notification, with buttons, on the desktop's notification server (org.freedesktop.Notifications on
/// the session bus): "Start now" (also clicking the notification), "Snooze" and "Skip" come back as
/// `DesktopEvents.notificationAnswered`, and so does the user dismissing it.
///
/// `show` and `withdraw` return at once: they queue requests that `run()` carries out in order, one at a time,
/// together with the server's signals. Without a session bus or a notification server, nothing is shown (logged
/// once at info); a server that appears later (or is activated by the bus on the next `show`) is used then. A
/// server that restarts while a notification is shown gets it again.
public final class DesktopNotifications: Service, Sendable {
    static let server = "org.freedesktop.Notifications"
    static let path = "/org/freedesktop/Notifications"

    enum Request: Sendable {
        case show(title: String, body: String)
        case withdraw
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
            matches: [SignalMatch(sender: name, path: Self.path, interface: name)])
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
    /// The server's absence was logged, and it has not been seen since.
    var reportedMissing = false

    /// How long a call to the server may take: it runs in line with the requests, so a hung server must not hold
    /// them up for sd-bus's default 25 s.
    static let callTimeout = Duration.seconds(5)

    /// The actions, as (key, label) pairs: "default" is clicking the notification itself.
    static let actions = ["default", "Start now", "start", "Start now", "snooze", "Snooze", "skip", "Skip"]

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
        }
    }

    func shutDown() async {
        offer = nil
        await close()
    }

    func handle(_ event: PeerEvent) async {
        switch event {
        case .signal(let message):
            await handleSignal(message)
        case .ownerChanged(let owner):
            // The owner our calls already found (a server the bus activated for them): nothing new.
            if let owner, owner == server?.owner { return }
            server = nil
            shown = nil
            if owner != nil, offer != nil { await present() }
        case .lost:
            tie.drop()
            server = nil
            shown = nil
            await connect()
            if offer != nil { await present() }
        }
    }

    /// ActionInvoked(u id, s key) and NotificationClosed(u id, u reason), for our notification only.
    func handleSignal(_ message: BusMessage) async {
        guard let shown, let server, message.sender == server.owner,
              message.arguments.count == 2, message.arguments[0].uint32 == shown
        else { return }
        switch message.member {
        case "ActionInvoked":
            // The server closes the notification after an action (its NotificationClosed is then not ours).
            self.shown = nil
            offer = nil
            let answer: NotificationAnswer? = switch message.arguments[1].string {
            case "default", "start": .start
            case "snooze": .snooze
            case "skip": .skip
            default: nil
            }
            if let answer { await events.notificationAnswered(answer) }
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
    /// known (a call that also starts a server the bus can activate).
    func present() async {
        guard let link, let offer else { return }
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
        do {
            let reply = try await link.connection.call(notify, timeout: Self.callTimeout)
            shown = reply.arguments.first?.uint32
            logger.debug("notification shown", metadata: ["id": "\(shown.map { "\($0)" } ?? "none")", "buttons": "\(buttons)"])
        } catch {
            if !error.isCancellation { reportMissing("the desktop notification server refused the notification", error) }
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
