import Logging
import StretchCore
import StretchDesktop

/// Shows the break's desktop notification, and closes it when the break is no longer offered.
public protocol DesktopNotifier: Sendable {
    func show(title: String, body: String)
    func withdraw()
}

/// Holds off the machine's sleep while a session runs, so that it can be stopped and recorded first.
public protocol SleepLock: Sendable {
    func holdSleepLock(_ hold: Bool)
}

/// The desktop's sources report to the daemon: each report updates `desktop` and feeds the whole of it to the
/// cycle, which decides what it means (time away, a reminder that waits, a polite start).
extension Daemon: DesktopEvents {
    public func notificationAnswered(_ answer: NotificationAnswer) async {
        logger.info("notification answered", metadata: ["answer": "\(answer)"])
        await feed(.notificationAnswered(answer))
        poke()
    }

    public func aboutToSleep() async {
        logger.info("the machine is about to sleep")
        let running = session
        await feed(.aboutToSleep)
        // The session's end, and its record, before the machine sleeps.
        await running?.task.value
    }

    public func wokeUp() async {
        logger.info("the machine woke up")
        await feed(.slept)
        poke()
    }

    public func lockChanged(_ locked: Bool) async {
        guard desktop.locked != locked else { return }
        logger.info(locked ? "screen locked" : "screen unlocked")
        desktop.locked = locked
        await desktopChanged()
    }

    public func idleChanged(since: Duration?) async {
        guard desktop.idleSince != since else { return }
        logger.debug(since == nil ? "user active" : "user idle")
        desktop.idleSince = since
        await desktopChanged()
    }

    public func doNotDisturbChanged(source: String, on: Bool) async {
        guard desktop.doNotDisturb.contains(source) != on else { return }
        logger.info(on ? "do-not-disturb on" : "do-not-disturb off", metadata: ["source": "\(source)"])
        if on { desktop.doNotDisturb.insert(source) } else { desktop.doNotDisturb.remove(source) }
        await desktopChanged()
    }

    public func callChanged(source: String, on: Bool) async {
        guard desktop.calls.contains(source) != on else { return }
        logger.info(on ? "call started" : "call ended", metadata: ["source": "\(source)"])
        if on { desktop.calls.insert(source) } else { desktop.calls.remove(source) }
        await desktopChanged()
    }

    private func desktopChanged() async {
        await feed(.desktop(desktop))
        // What the loop waits for may have changed (time away becoming a break, a polite start).
        poke()
    }
}

extension DesktopNotifications: DesktopNotifier {}
extension SleepWatch: SleepLock {}
