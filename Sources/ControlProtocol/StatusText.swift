import FoundationEssentials
import StretchCore

/// A status in words for a status bar or a terminal: what `stretchctl watch` prints. Pure: the same status and
/// date give the same text.
///
/// `text` is short enough for a bar: "next break 10:40", "time to stretch", "Hip 90/90 · right · 0:42" (the time
/// left in the current part when the status was sent: a bar is not updated each second), "paused until 14:00".
public struct StatusText: Sendable, Hashable {
    /// For a bar.
    public var text: String
    /// Shorter still, for a crowded bar (i3bar's `short_text`): "10:40", "0:42", "stretch".
    public var shortText: String
    /// Several lines: state, next break, breaks today, the session.
    public var tooltip: String
    /// The state's name (`working`, `break-due`, `deferred`, `in-session`, `snoozed`, `paused`, `off-hours`), for
    /// styling.
    public var state: String

    /// `today`: the local date (`2026-11-23`); a next break on that day is shown as its time alone.
    public init(_ status: StatusReport, today: String?) {
        state = status.state.rawValue
        let next = status.nextBreak.map { Self.shortTime($0, today: today) }
        switch status.state {
        case .inSession:
            if let session = status.session {
                var parts = [session.stepName]
                if let side = session.side { parts.append(side) }
                if let part = session.part { parts.append(part) }
                let time = Self.clock(session.phaseRemaining)
                let now = session.paused ? "paused" : session.phase == "getting-ready" ? "get ready \(time)" : time
                parts.append(now)
                text = parts.joined(separator: " · ")
                shortText = session.paused ? "paused" : time
            } else {
                text = "stretching"
                shortText = "stretch"
            }
        case .breakDue:
            text = "time to stretch"
            shortText = "stretch"
        case .deferred:
            text = "break waits" + (status.deferredBecause.map { ": \($0)" } ?? "")
            shortText = "waits"
        case .working:
            text = next.map { "next break \($0)" } ?? "no break scheduled"
            shortText = next ?? "-"
        case .snoozed:
            text = "snoozed · next break \(next ?? "not scheduled")"
            shortText = next ?? "snoozed"
        case .paused:
            text = status.pausedUntil.map { "paused until \(Self.shortTime($0, today: today))" } ?? "paused"
            shortText = "paused"
        case .offHours:
            text = next.map { "off hours · next break \($0)" } ?? "off hours"
            shortText = "off"
        }
        var lines = ["stretchd: \(status.state.rawValue)"]
        if let session = status.session {
            var line = "Session: \(session.routine), step \(session.step)/\(session.steps) \(session.stepName)"
            let details = [session.side, session.part].compactMap { $0 }.joined(separator: ", ")
            if !details.isEmpty { line += " (\(details))" }
            line += ", \(Self.clock(session.remaining)) left"
            if session.paused { line += " [paused]" }
            lines.append(line)
        }
        if let nextBreak = status.nextBreak { lines.append("Next break: \(nextBreak)") }
        if let until = status.pausedUntil { lines.append("Paused until: \(until)") }
        if let why = status.deferredBecause { lines.append("Break waits: \(why)") }
        if let problem = status.soundProblem { lines.append("No sound: \(problem)") }
        lines.append("Breaks today: \(status.breaksToday)")
        tooltip = lines.joined(separator: "\n")
    }

    /// One line for a person: `working: next break 10:40`.
    public var line: String { "\(state): \(text)" }

    /// waybar's custom module with `return-type: json`: one object per line.
    public var waybar: String {
        Self.json(["text": text, "tooltip": tooltip, "class": state, "alt": state])
    }

    /// i3blocks with `interval=persist` and `format=json`: one object per line, each updating the block.
    public var i3blocks: String {
        var block = ["full_text": text, "short_text": shortText]
        if let color = color { block["color"] = color }
        return Self.json(block)
    }

    /// A colour for states that ask for attention or are quiet; the bar's own otherwise.
    var color: String? {
        switch state {
        case StatusReport.State.breakDue.rawValue: "#FFB000"
        case StatusReport.State.inSession.rawValue: "#8FD16F"
        case StatusReport.State.paused.rawValue, StatusReport.State.offHours.rawValue: "#888888"
        default: nil
        }
    }

    /// `2026-11-23 10:40:30` -> `10:41` on that day, `2026-11-24 09:00` on another: a bar shows minutes, rounded
    /// up so that a time is never shown earlier than it is (a break at 10:40:30 has not come at 10:40).
    static func shortTime(_ time: String, today: String?) -> String {
        let shown = minutesRoundedUp(time)
        guard let today, shown.hasPrefix(today + " ") else { return shown }
        return String(shown.dropFirst(today.count + 1))
    }

    /// `2026-11-23 23:59:30` -> `2026-11-24 00:00`; a time without seconds, or not a time, as it is.
    static func minutesRoundedUp(_ time: String) -> String {
        let fields = time.split(separator: " ")
        guard fields.count == 2 else { return time }
        let date = fields[0].split(separator: "-").compactMap { Int($0) }
        let clock = fields[1].split(separator: ":").compactMap { Int($0) }
        guard date.count == 3, clock.count == 3 else { return time }
        let minute = CivilTime(year: date[0], month: date[1], day: date[2], hour: clock[0], minute: clock[1])
        return (clock[2] > 0 ? minute.adding(.seconds(60)) : minute).description
    }

    /// Seconds as `m:ss`, or `h:mm:ss` from an hour; negative or not finite as `0:00`.
    static func clock(_ seconds: Double) -> String {
        let total = seconds.isFinite && seconds > 0 ? Int(min(seconds, 1e9).rounded()) : 0
        let hours = total / 3600, minutes = total % 3600 / 60, rest = total % 60
        let ss = rest < 10 ? "0\(rest)" : "\(rest)"
        if hours > 0 { return "\(hours):\(minutes < 10 ? "0" : "")\(minutes):\(ss)" }
        return "\(minutes):\(ss)"
    }

    /// Strings only: encoding cannot fail.
    private static func json(_ object: [String: String]) -> String {
        let line = (try? ControlCoding.line(object)) ?? Array("{}\n".utf8)
        return String(decoding: line.dropLast(), as: UTF8.self)
    }
}
