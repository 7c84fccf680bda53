/// The one-line progress display of a playing session (`stretchctl play` on a terminal), fitted to a width.
///
/// At full width: `[######------------------] 9:40 left  Hip 90/90 stretch (right, lean forward)  now 0:45`.
/// As the terminal narrows, the least useful fields go first: the bar shrinks and then goes, then the time left
/// in the session, then the part's name, then the step's name is shortened; the side and the time left in the
/// hold (or until it starts) stay to the last.
public struct ProgressLine: Sendable, Hashable {
    /// How much of the session is done, 0 to 1.
    public var done: Double
    public var sessionRemaining: Duration
    public var step: String
    public var side: String?
    public var part: String?
    /// `now` while holding or repeating, `get ready` before, `paused`.
    public var phase: String
    public var phaseRemaining: Duration

    /// The widest progress bar, and the narrowest worth drawing.
    public static let barWidth = 24
    public static let minimumBarWidth = 8

    public init(
        done: Double, sessionRemaining: Duration, step: String, side: String?, part: String?, phase: String,
        phaseRemaining: Duration
    ) {
        self.done = done
        self.sessionRemaining = sessionRemaining
        self.step = step
        self.side = side
        self.part = part
        self.phase = phase
        self.phaseRemaining = phaseRemaining
    }

    /// Where `progress` stands in `plan`.
    public init(_ progress: SessionProgress, of plan: SessionPlan, paused: Bool) {
        self.init(
            done: 1 - progress.sessionRemaining.inSeconds / max(1, plan.duration.inSeconds),
            sessionRemaining: progress.sessionRemaining, step: plan.routine.steps[progress.step].name,
            side: progress.side?.rawValue, part: progress.part,
            phase: paused ? "paused" : progress.phase == .working ? "now" : "get ready",
            phaseRemaining: progress.phaseRemaining)
    }

    /// The richest line that fits in a terminal `width` columns wide (one column per character). It stays off
    /// the last column, so the terminal never wraps it.
    public func text(width: Int) -> String {
        let limit = max(1, width - 1)
        let timer = "\(phase) \(DurationText.clock(phaseRemaining))"
        let left = "\(DurationText.clock(sessionRemaining)) left"
        let fullName = Self.label(step, [side, part])
        let candidates = [
            "\(left)  \(fullName)  \(timer)",
            "\(fullName)  \(timer)",
            "\(Self.label(step, [side]))  \(timer)",
        ]
        // The bar takes what the first candidate leaves, up to its full width.
        let barRoom = limit - candidates[0].count - 3
        if barRoom >= Self.minimumBarWidth {
            return "\(bar(width: min(Self.barWidth, barRoom))) \(candidates[0])"
        }
        if let fitting = candidates.first(where: { $0.count <= limit }) { return fitting }
        // The step's name, shortened.
        let sideText = side.map { " (\($0))" } ?? ""
        let room = limit - sideText.count - 2 - timer.count
        if room >= 4 {
            var short = step.prefix(room - 1)
            while short.last == " " { short.removeLast() }
            return "\(short)…\(sideText)  \(timer)"
        }
        // Very narrow: what matters while eyes are on the screen at all.
        return String(((side.map { "\($0) " } ?? "") + timer).prefix(limit))
    }

    private func bar(width: Int) -> String {
        let filled = min(width, max(0, Int((done * Double(width)).rounded())))
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
    }

    /// `Hip 90/90 stretch (right, lean forward)`.
    private static func label(_ step: String, _ details: [String?]) -> String {
        let present = details.compactMap { $0 }
        return present.isEmpty ? step : "\(step) (\(present.joined(separator: ", ")))"
    }
}
