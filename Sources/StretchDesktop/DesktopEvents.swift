import StretchCore

/// What the desktop's D-Bus sources tell the daemon. Each source is a Service that calls these when what it watches
/// changes, and once when it starts watching, with the value it found then (so a source that restarts, or a bus
/// that comes back, corrects whatever the daemon believed). Sources name themselves (`source`), so the daemon can
/// say why a break is deferred and keep one source's "off" from cancelling another's "on".
public protocol DesktopEvents: Sendable {
    /// A button of the break notification was pressed, or it was clicked or dismissed.
    func notificationAnswered(_ answer: NotificationAnswer) async
    /// The machine is about to sleep (logind's `PrepareForSleep(true)`). Returns once a running session has been
    /// stopped and recorded; the source releases its sleep lock after that.
    func aboutToSleep() async
    /// The machine woke (`PrepareForSleep(false)`).
    func wokeUp() async
    /// The user's graphical session was locked (true) or unlocked.
    func lockChanged(_ locked: Bool) async
    /// The user has given no input since this time of `CLOCK_MONOTONIC` (the awake clock the break timer reads);
    /// nil: active again, or no longer known.
    func idleChanged(since: Duration?) async
    /// A do-not-disturb switch (`source`: "KDE", "GNOME", "dunst") turned on or off.
    func doNotDisturbChanged(source: String, on: Bool) async
    /// A sign of a call (`source`: "microphone hw:0,0", "GNOME idle inhibitor") appeared or went away.
    func callChanged(source: String, on: Bool) async
}
