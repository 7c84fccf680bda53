extension StatusReport {
    /// What a person sees of a status: `watch` pushes a status exactly when this changes.
    ///
    /// Everything in the report except what changes merely because time passes: `nextBreakIn`, `worked`, the
    /// session's `phaseRemaining` and `remaining`, and `process`. So an idle daemon pushes nothing, a session pushes
    /// at each step, side, part and phase (getting ready, working) and on pause and resume, never each second.
    public struct Visible: Sendable, Hashable {
        public var state: State
        public var nextBreak: String?
        public var pausedUntil: String?
        public var deferredBecause: String?
        public var breaksToday: Int
        public var session: Session?

        public struct Session: Sendable, Hashable {
            public var routine: String
            public var step: Int
            public var steps: Int
            public var stepName: String
            public var side: String?
            public var part: String?
            public var phase: String
            public var paused: Bool
        }
    }

    public var visible: Visible {
        Visible(
            state: state, nextBreak: nextBreak, pausedUntil: pausedUntil, deferredBecause: deferredBecause,
            breaksToday: breaksToday,
            session: session.map {
                Visible.Session(
                    routine: $0.routine, step: $0.step, steps: $0.steps, stepName: $0.stepName, side: $0.side,
                    part: $0.part, phase: $0.phase, paused: $0.paused)
            })
    }
}
