/// The sounds of a session, by what they tell someone stretching with eyes closed.
public enum Cue: String, Sendable, Hashable, CaseIterable, Codable {
    /// One per countdown beat before a timed part; the last one a second before it starts.
    case countdown
    case holdStart = "hold-start"
    /// The exact midpoint of a hold.
    case halfway
    case holdEnd = "hold-end"
    /// One per repetition, carrying its number and the count (the last one plays `SoundName.lastRep`).
    case repBeat = "rep-beat"
    /// The softer beat at the middle of a repetition, when the step asks for it.
    case repReturn = "rep-return"
    case switchSide = "switch-side"
    case stepEnd = "step-end"
    case sessionEnd = "session-end"
}

extension Cue {
    /// The sound named like this cue.
    public var sound: SoundName {
        switch self {
        case .countdown: .countdown
        case .holdStart: .holdStart
        case .halfway: .halfway
        case .holdEnd: .holdEnd
        case .repBeat: .repBeat
        case .repReturn: .repReturn
        case .switchSide: .switchSide
        case .stepEnd: .stepEnd
        case .sessionEnd: .sessionEnd
        }
    }
}

/// A cue at its offset from the session's start, with where in the routine it belongs.
public struct PlannedCue: Sendable, Hashable {
    public var at: Duration
    public var cue: Cue
    /// Index into the routine's steps.
    public var step: Int
    public var side: Side?
    /// Index into the hold's parts; nil for reps.
    public var part: Int?
    /// The repetition's number, from 1, and the count, for `rep-beat` and `rep-return`.
    public var rep: Int?
    public var of: Int?
    /// What is heard, decided by the planner: the cue's own sound, or `last-rep` for a set's last `rep-beat`.
    public var sound: SoundName

    /// A cue playing `sound`, by default the one named like the cue.
    public init(
        at: Duration, cue: Cue, step: Int, side: Side?, part: Int? = nil, rep: Int? = nil, of: Int? = nil,
        sound: SoundName? = nil
    ) {
        self.at = at
        self.cue = cue
        self.sound = sound ?? cue.sound
        self.step = step
        self.side = side
        self.part = part
        self.rep = rep
        self.of = of
    }
}

/// A stretch of work the user does in place: one hold part, or one set of reps, on one side.
public struct TimedPart: Sendable, Hashable {
    public var step: Int
    public var side: Side?
    /// Index into the hold's parts; nil for reps.
    public var part: Int?
    public var start: Duration
    public var end: Duration
}

/// Everything a session will do, known before it starts: the timeline the scheduler plays and the renderer writes.
public struct SessionPlan: Sendable, Hashable {
    public let routine: Routine
    /// In order of `at`; offsets never decrease.
    public let cues: [PlannedCue]
    public let parts: [TimedPart]
    /// From the start to `session-end`.
    public let duration: Duration
    /// With a voice: the spoken prompts, in order of `at`, each in a silent gap between cues; empty without.
    public internal(set) var prompts: [PlannedPrompt] = []
    /// With a voice: the prompts that did not fit their gap (left out of `prompts`, so nothing overlaps).
    public internal(set) var speechProblems: [SpeechProblem] = []
    /// The time before the first countdown: zero without a voice; with one, `transitionTime`, for the first step's
    /// prompt and getting into position, as before every later step.
    public internal(set) var leadIn: Duration = .zero

    public func stepName(of cue: PlannedCue) -> String { routine.steps[cue.step].name }

    /// The name of the hold part a cue belongs to, when the hold has named parts.
    public func partName(step: Int, part: Int?) -> String? {
        guard let part, case .hold(let holdParts) = routine.steps[step].exercise else { return nil }
        return holdParts[part].name
    }

    /// Where the session is at `position` from its start.
    public func progress(at position: Duration) -> SessionProgress {
        let remaining = max(.zero, duration - position)
        guard let index = parts.firstIndex(where: { position < $0.end }) else {
            let last = parts.last
            return SessionProgress(
                step: last?.step ?? 0, side: nil, part: nil, phase: .finished,
                phaseRemaining: .zero, sessionRemaining: remaining)
        }
        let current = parts[index]
        let active = position >= current.start
        return SessionProgress(
            step: current.step, side: current.side, part: partName(step: current.step, part: current.part),
            phase: active ? .working : .gettingReady,
            phaseRemaining: active ? current.end - position : current.start - position,
            sessionRemaining: remaining)
    }
}

/// Where a running session is, for status lines and progress bars.
public struct SessionProgress: Sendable, Hashable {
    public enum Phase: String, Sendable, Hashable {
        /// Counting down, changing sides, or moving into the next stretch.
        case gettingReady = "getting-ready"
        /// Holding or repeating.
        case working
        case finished
    }

    public var step: Int
    public var side: Side?
    public var part: String?
    public var phase: Phase
    /// Time left in this phase: until the hold or set ends, or until it starts.
    public var phaseRemaining: Duration
    public var sessionRemaining: Duration

    public init(
        step: Int, side: Side?, part: String?, phase: Phase, phaseRemaining: Duration, sessionRemaining: Duration
    ) {
        self.step = step
        self.side = side
        self.part = part
        self.phase = phase
        self.phaseRemaining = phaseRemaining
        self.sessionRemaining = sessionRemaining
    }
}

/// Turns a routine into the session's timeline.
///
/// Per timed part: countdown beats one second apart ending one second before the start; then `hold-start`,
/// `halfway` and `hold-end` for a hold, or a `rep-beat` at the start of each repetition (and `rep-return` at its
/// middle) for reps. After a part comes the next part's countdown (`partTime` later), or `switch-side`, or
/// `step-end`, or `session-end`, one `cueGap` after the part so it never sounds over the `hold-end` cue.
/// The user's time to move (`switchTime`, `transitionTime`) runs from that cue to the next countdown.
public enum SessionPlanner {
    public static let cueGap = Duration.seconds(1)

    /// The session's timeline; with `speech` (a voice), also its spoken prompts, placed in the gaps between cues.
    /// Without it the plan has tones only, exactly as before there was a voice.
    public static func plan(_ routine: Routine, speech: SpeechTiming? = nil) -> SessionPlan {
        let timing = routine.timing
        var cues: [PlannedCue] = []
        var parts: [TimedPart] = []
        let leadIn = speech != nil && !routine.steps.isEmpty ? timing.transitionTime : .zero
        var now = leadIn

        for (stepIndex, step) in routine.steps.enumerated() {
            let sides = step.sides.order
            for (sideIndex, side) in sides.enumerated() {
                let work = workParts(of: step.exercise)
                for (workIndex, part) in work.enumerated() {
                    for beat in 0..<timing.countdown {
                        cues.append(PlannedCue(
                            at: now + .seconds(beat), cue: .countdown, step: stepIndex, side: side, part: part.index))
                    }
                    let start = now + .seconds(timing.countdown)
                    let end = start + part.cues(into: &cues, start: start, step: stepIndex, side: side, timing: timing)
                    parts.append(TimedPart(step: stepIndex, side: side, part: part.index, start: start, end: end))

                    if workIndex < work.count - 1 {
                        now = end + timing.partTime
                    } else if sideIndex < sides.count - 1 {
                        let next = sides[sideIndex + 1]
                        cues.append(PlannedCue(at: end + cueGap, cue: .switchSide, step: stepIndex, side: next))
                        now = end + cueGap + timing.switchTime
                    } else if stepIndex < routine.steps.count - 1 {
                        cues.append(PlannedCue(at: end + cueGap, cue: .stepEnd, step: stepIndex, side: nil))
                        now = end + cueGap + timing.transitionTime
                    } else {
                        cues.append(PlannedCue(at: end + cueGap, cue: .sessionEnd, step: stepIndex, side: nil))
                        now = end + cueGap
                    }
                }
            }
        }
        var plan = SessionPlan(routine: routine, cues: cues, parts: parts, duration: now)
        if let speech {
            plan.leadIn = leadIn
            (plan.prompts, plan.speechProblems) = SpeechPlacer(routine: routine, speech: speech).place(cues)
        }
        return plan
    }

    /// One timed part of an exercise on one side, before it is placed on the timeline.
    private enum WorkPart {
        case hold(index: Int, length: HoldLength)
        case reps(Reps)

        var index: Int? {
            if case .hold(let index, _) = self { index } else { nil }
        }

        /// Appends the part's cues from `start` and returns how long the part lasts.
        func cues(into cues: inout [PlannedCue], start: Duration, step: Int, side: Side?, timing: RoutineTiming)
            -> Duration
        {
            switch self {
            case .hold(let index, let length):
                let length = length.duration(breath: timing.breath)
                cues.append(PlannedCue(at: start, cue: .holdStart, step: step, side: side, part: index))
                cues.append(PlannedCue(at: start + length / 2, cue: .halfway, step: step, side: side, part: index))
                cues.append(PlannedCue(at: start + length, cue: .holdEnd, step: step, side: side, part: index))
                return length
            case .reps(let reps):
                for rep in 1...reps.count {
                    let beat = start + reps.tempo * (rep - 1)
                    // The last repetition sounds different, so it is known to be the last without counting.
                    cues.append(PlannedCue(
                        at: beat, cue: .repBeat, step: step, side: side, rep: rep, of: reps.count,
                        sound: rep == reps.count ? .lastRep : .repBeat))
                    if reps.returnBeat {
                        cues.append(PlannedCue(
                            at: beat + reps.tempo / 2, cue: .repReturn, step: step, side: side, rep: rep, of: reps.count))
                    }
                }
                return reps.tempo * reps.count
            }
        }
    }

    private static func workParts(of exercise: Exercise) -> [WorkPart] {
        switch exercise {
        case .hold(let holdParts): holdParts.enumerated().map { .hold(index: $0.offset, length: $0.element.length) }
        case .reps(let reps): [.reps(reps)]
        }
    }
}
