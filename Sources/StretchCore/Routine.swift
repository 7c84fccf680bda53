/// A side of the body: stretches done on both sides run once per side.
public enum Side: String, Sendable, Hashable, CaseIterable {
    case left, right

    /// The side done after this one.
    public var other: Side { self == .left ? .right : .left }
}

/// Whether a step is done once, or once on each side starting with `first`.
public enum StepSides: Sendable, Hashable {
    case none
    case both(first: Side)

    /// The sides in the order they are done; `[nil]` for a step without sides.
    public var order: [Side?] {
        switch self {
        case .none: [nil]
        case .both(let first): [first, first.other]
        }
    }
}

/// How long a hold lasts: a time, or a number of slow breaths whose length is set when planning.
public enum HoldLength: Sendable, Hashable {
    case time(Duration)
    case breaths(Int)

    /// The hold's length when one breath takes `breath`.
    public func duration(breath: Duration) -> Duration {
        switch self {
        case .time(let duration): duration
        case .breaths(let count): breath * count
        }
    }
}

/// One timed part of a hold on one side; the Hip 90/90 has two ("lean forward", then "rotate").
public struct HoldPart: Sendable, Hashable {
    /// Shown and logged when the hold has more than one part; nil for a single-part hold.
    public var name: String?
    public var length: HoldLength
    /// Spoken before the part's countdown instead of its name ("Now rotate toward the back leg."); nil: the name;
    /// empty: nothing.
    public var say: String?

    public init(name: String? = nil, length: HoldLength, say: String? = nil) {
        self.name = name
        self.length = length
        self.say = say
    }

    /// What is said before this part's countdown: `say`, else the name; empty when nothing is said.
    public var spoken: String { say ?? name ?? "" }
}

/// A dynamic move done in a steady rhythm, one beat per repetition.
public struct Reps: Sendable, Hashable {
    public var count: Int
    /// The length of one repetition.
    public var tempo: Duration
    /// Whether a softer beat marks the return half of each repetition.
    public var returnBeat: Bool

    public init(count: Int, tempo: Duration, returnBeat: Bool = false) {
        self.count = count
        self.tempo = tempo
        self.returnBeat = returnBeat
    }
}

/// What a step asks the body to do.
public enum Exercise: Sendable, Hashable {
    /// A static stretch: its parts are held one after another on each side.
    case hold([HoldPart])
    case reps(Reps)
}

/// One stretch of a routine.
public struct Step: Sendable, Hashable {
    public var name: String
    /// Short instructions in the project's own words, for `stretchctl plan` and notifications.
    public var instructions: String
    public var sides: StepSides
    public var exercise: Exercise
    /// The name as it is spoken ("Hip ninety-ninety" for "Hip 90/90"); nil: the name; empty: nothing.
    public var say: String?
    /// Spoken after the name, before the step's first countdown: how to get into position.
    public var setup: String
    /// Spoken before each side's first countdown ("Left leg in front."); a side not given here gets
    /// `Step.defaultSideSay`. Empty: nothing.
    public var sideSay: [Side: String]

    public init(
        name: String, instructions: String = "", sides: StepSides, exercise: Exercise, say: String? = nil,
        setup: String = "", sideSay: [Side: String] = [:]
    ) {
        self.name = name
        self.instructions = instructions
        self.sides = sides
        self.exercise = exercise
        self.say = say
        self.setup = setup
        self.sideSay = sideSay
    }

    /// What is said for a side when the routine does not say: "Right side." or "Left side.".
    public static func defaultSideSay(_ side: Side) -> String { side == .right ? "Right side." : "Left side." }

    /// The spoken name: `say`, else the name.
    public var spokenName: String { say ?? name }

    /// What is said for `side`; empty for a step without sides.
    public func spoken(side: Side?) -> String {
        guard let side else { return "" }
        return sideSay[side] ?? Self.defaultSideSay(side)
    }
}

/// The gaps and countdown around a routine's timed parts.
public struct RoutineTiming: Sendable, Hashable {
    /// Countdown beats, one second apart, before each timed part; the last is one second before it starts.
    public var countdown: Int
    /// From the switch-side cue to the next countdown: time to change sides.
    public var switchTime: Duration
    /// From the step-end cue to the next countdown: time to get into the next stretch.
    public var transitionTime: Duration
    /// From the end of one part of a hold to the countdown of the next part on the same side.
    public var partTime: Duration
    /// The length of one slow breath, for holds measured in breaths.
    public var breath: Duration

    public init(
        countdown: Int = 3,
        switchTime: Duration = .seconds(10),
        transitionTime: Duration = .seconds(15),
        partTime: Duration = .seconds(5),
        breath: Duration = .seconds(6)
    ) {
        self.countdown = countdown
        self.switchTime = switchTime
        self.transitionTime = transitionTime
        self.partTime = partTime
        self.breath = breath
    }
}

/// An ordered list of stretches with its timing.
public struct Routine: Sendable, Hashable {
    /// Short name used on the command line and in config, e.g. `hips-for-back`.
    public var id: String
    public var name: String
    public var summary: String
    public var timing: RoutineTiming
    public var steps: [Step]
    /// Spoken just before the last repetition of a set of reps; empty: nothing.
    public var sayLastRep: String
    /// Spoken after the `session-end` cue; empty: nothing.
    public var sayClosing: String

    public static let defaultLastRep = "Last one."
    public static let defaultClosing = "Session complete. Well done."

    public init(
        id: String, name: String, summary: String = "", timing: RoutineTiming = .init(), steps: [Step],
        sayLastRep: String = Routine.defaultLastRep, sayClosing: String = Routine.defaultClosing
    ) {
        self.id = id
        self.name = name
        self.summary = summary
        self.timing = timing
        self.steps = steps
        self.sayLastRep = sayLastRep
        self.sayClosing = sayClosing
    }
}

/// The bounds a routine must keep, so a typo ("60m" for "60s", 1000 reps) is caught instead of planned.
public enum RoutineLimits {
    public static let countdown = 0...10
    public static let reps = 1...200
    public static let holdLength = Duration.seconds(1)...Duration.seconds(30 * 60)
    public static let breaths = 1...60
    public static let breath = Duration.seconds(2)...Duration.seconds(20)
    public static let tempo = Duration.milliseconds(500)...Duration.seconds(60)
    /// Gaps may be zero (no time to reposition), never longer than ten minutes.
    public static let gap = Duration.zero...Duration.seconds(10 * 60)
    public static let steps = 1...100
    public static let parts = 1...10
    /// Characters in one spoken text (`say`, `setup`, ...): a sentence or two, said in a gap between cues.
    public static let spokenText = 300
}
