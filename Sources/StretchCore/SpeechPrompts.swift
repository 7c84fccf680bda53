/// A spoken prompt at its offset from the session's start, with where in the routine it belongs.
public struct PlannedPrompt: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Before a step's first countdown: its spoken name, setup, first side and, for a hold in parts, the first part.
        case step
        /// After `switch-side`, before the new side's first countdown: the side (and the first part of a hold in parts).
        case side
        /// Before the countdown of a later part of a hold on the same side.
        case part
        /// Just before the last repetition's beat of a set (of two or more).
        case lastRep = "last-rep"
        /// After `session-end`.
        case closing
    }

    /// Where the prompt starts; for a prompt that did not fit (in a `SpeechProblem`), where it would have started.
    public var at: Duration
    /// How long it sounds, as the caller's length function said.
    public var length: Duration
    public var text: String
    public var kind: Kind
    /// Index into the routine's steps (the last step for the closing prompt).
    public var step: Int
    public var side: Side?
    /// Index into the hold's parts; nil for reps and for `last-rep` and `closing`.
    public var part: Int?

    public init(
        at: Duration, length: Duration, text: String, kind: Kind, step: Int, side: Side?, part: Int? = nil
    ) {
        self.at = at
        self.length = length
        self.text = text
        self.kind = kind
        self.step = step
        self.side = side
        self.part = part
    }

    public var end: Duration { at + length }

    /// Where in the routine file the prompt's texts are: `step[2]`, or `step[1].parts[2]` for a part's prompt.
    public var keyPath: String {
        let step = "step[\(step + 1)]"
        if kind == .part, let part { return step + ".parts[\(part + 1)]" }
        return step
    }
}

/// What the planner must know to place spoken prompts: how long each prompt and each tone sounds.
///
/// The caller gives the lengths (the synthesizer's real ones, or an estimate), so the planner stays pure.
public struct SpeechTiming {
    /// How long the voice takes to say a prompt's text (the length of the samples the synthesizer makes for it).
    public var length: (String) -> Duration
    /// How long each tone rings. By default `SessionPlanner.cueGap`: the time the planner already leaves after a tone.
    public var toneLength: (SoundName) -> Duration
    /// Silence kept between a prompt and the tone before it and after it.
    public var pause: Duration
    /// Texts the voice could not speak: left out of the plan, so one bad prompt costs only itself.
    public var unspoken: Set<String> = []

    public static let defaultPause = Duration.milliseconds(250)

    public init(
        pause: Duration = defaultPause,
        toneLength: @escaping (SoundName) -> Duration = { _ in SessionPlanner.cueGap },
        length: @escaping (String) -> Duration
    ) {
        self.pause = pause
        self.toneLength = toneLength
        self.length = length
    }
}

/// A prompt too long for its gap: it is left out of the plan, and `check` and `plan` say what to change.
public struct SpeechProblem: Sendable, Hashable, CustomStringConvertible {
    /// The prompt as it would have been: `at` where it would have started.
    public var prompt: PlannedPrompt
    public var stepName: String
    /// The time free for speech in its gap: from the end of the tone before it (and a pause) to a pause before the
    /// next cue.
    public var room: Duration
    /// The routine setting that makes the gap, and its value.
    public var gapKey: String
    public var gap: Duration

    /// Where in the routine file: `step[2]`, or `step[1].parts[2]` for a part's prompt.
    public var keyPath: String { prompt.keyPath }

    /// The texts that make the prompt, by their keys: what to shorten.
    public var texts: String

    /// What is wrong and what to change, without the key path.
    public var message: String {
        let context = [stepName, prompt.side.map { "\($0.rawValue) side" }].compactMap { $0 }.joined(separator: ", ")
        return "(\(context)) the \(prompt.kind.rawValue) prompt \"\(prompt.text)\" takes "
            + "\(DurationText.format(prompt.length)), but its gap leaves \(DurationText.format(max(.zero, room))) for "
            + "speech: lengthen \(gapKey) (now \(DurationText.format(gap))) or shorten \(texts)"
    }

    public var description: String { "\(keyPath): \(message)" }
}

extension SessionPlan {
    /// Where the last prompt ends, or zero: the closing prompt plays after `session-end`, so past `duration`.
    public var promptsEnd: Duration { prompts.map(\.end).max() ?? .zero }
}

extension SessionPlanner {
    /// Every text a voiced plan of `routine` speaks, each once, in order: to synthesize them all before planning
    /// with their real lengths.
    public static func spokenTexts(_ routine: Routine) -> [String] {
        var seen: Set<String> = []
        return spokenPrompts(routine).map(\.text).filter { seen.insert($0).inserted }
    }

    /// The first prompt that says `text` in a voiced plan of `routine`: where a text that cannot be spoken is.
    public static func firstPrompt(saying text: String, in routine: Routine) -> PlannedPrompt? {
        spokenPrompts(routine).first { $0.text == text }
    }

    /// Every prompt of a voiced plan of `routine`, in order, whether or not it fits its gap.
    private static func spokenPrompts(_ routine: Routine) -> [PlannedPrompt] {
        let plan = plan(routine, speech: SpeechTiming(length: { _ in .zero }))
        return (plan.prompts + plan.speechProblems.map(\.prompt)).sorted { $0.at < $1.at }
    }
}

/// Places the prompts of a voiced plan in the silences between its cues.
///
/// Each prompt goes as early as its gap allows: `pause` after the tone before it has rung out (at 0 for the first
/// prompt), and must end `pause` before the next cue. The gaps are the lead-in and `transition_time` (step
/// prompts), `switch_time` (side prompts), `part_time` (part prompts), the half repetition or repetition before a
/// set's last beat (`Last one.`), and the time after `session-end` (the closing line, which always fits).
struct SpeechPlacer {
    let routine: Routine
    let speech: SpeechTiming

    private struct WorkKey: Hashable {
        var step: Int
        var side: Side?
        var part: Int?
    }

    func place(_ cues: [PlannedCue]) -> ([PlannedPrompt], [SpeechProblem]) {
        var prompts: [PlannedPrompt] = []
        var problems: [SpeechProblem] = []
        /// When the latest tone so far has rung out; nil before the first.
        var ringing: Duration?
        var started: Set<WorkKey> = []

        func add(_ text: String, kind: PlannedPrompt.Kind, before cue: PlannedCue, part: Int?, gapKey: String,
                 gap: Duration, texts: String) {
            guard !text.isEmpty, !speech.unspoken.contains(text) else { return }
            let start = ringing.map { $0 + speech.pause } ?? .zero
            let prompt = PlannedPrompt(
                at: start, length: speech.length(text), text: text, kind: kind, step: cue.step, side: cue.side,
                part: part)
            let room = cue.at - speech.pause - start
            if prompt.length <= room {
                prompts.append(prompt)
            } else {
                problems.append(SpeechProblem(
                    prompt: prompt, stepName: routine.steps[cue.step].name, room: room, gapKey: gapKey, gap: gap,
                    texts: texts))
            }
        }

        for cue in cues {
            let step = routine.steps[cue.step]
            switch cue.cue {
            case .countdown, .holdStart, .repBeat:
                // The first cue of a timed part: its countdown, or its start when there is no countdown.
                let key = WorkKey(step: cue.step, side: cue.side, part: cue.part)
                if started.insert(key).inserted {
                    let firstSide = step.sides.order.first.flatMap { $0 } == cue.side
                    let firstPart = (cue.part ?? 0) == 0
                    let partText = part(cue.part, of: step)
                    let sideKey = cue.side.map { ", say_\($0.rawValue)" } ?? ""
                    let partKey = partText.isEmpty ? "" : ", the first part's say"
                    if !firstPart {
                        add(sentences([partText]), kind: .part, before: cue, part: cue.part, gapKey: "part_time",
                            gap: routine.timing.partTime, texts: "the part's say")
                    } else if !firstSide {
                        add(sentences([step.spoken(side: cue.side), partText]), kind: .side, before: cue,
                            part: cue.part, gapKey: "switch_time", gap: routine.timing.switchTime,
                            texts: String((sideKey + partKey).dropFirst(2)))
                    } else {
                        add(sentences([step.spokenName, step.setup, step.spoken(side: cue.side), partText]),
                            kind: .step, before: cue, part: cue.part, gapKey: "transition_time",
                            gap: routine.timing.transitionTime, texts: "say, setup" + sideKey + partKey)
                    }
                }
                if cue.cue == .repBeat, let rep = cue.rep, let of = cue.of, rep == of, of >= 2,
                   case .reps(let reps) = step.exercise
                {
                    add(sentences([routine.sayLastRep]), kind: .lastRep, before: cue, part: nil, gapKey: "tempo",
                        gap: reps.tempo, texts: "say_last_rep (\"\" says nothing)")
                }
            default:
                break
            }
            let rings = cue.at + speech.toneLength(cue.sound)
            ringing = max(ringing ?? rings, rings)
        }

        let closing = sentences([routine.sayClosing])
        if let last = cues.last, !closing.isEmpty, !speech.unspoken.contains(closing) {
            prompts.append(PlannedPrompt(
                at: (ringing ?? last.at) + speech.pause, length: speech.length(closing), text: closing,
                kind: .closing, step: last.step, side: nil))
        }
        return (prompts, problems)
    }

    /// What is said for a part of a hold in parts; empty for reps and a single unnamed hold.
    private func part(_ index: Int?, of step: Step) -> String {
        guard let index, case .hold(let parts) = step.exercise, parts.indices.contains(index) else { return "" }
        return parts[index].spoken
    }

    /// The texts as one prompt: each trimmed, started with a capital and ended with a full stop if it has none;
    /// empty ones left out.
    func sentences(_ texts: [String]) -> String {
        texts.compactMap { text -> String? in
            var sentence = String(text.trimmingSpaces())
            guard let first = sentence.first else { return nil }
            if first.isASCII, first.isLowercase { sentence = first.uppercased() + sentence.dropFirst() }
            if let last = sentence.last, !".!?".contains(last) { sentence += "." }
            return sentence
        }.joined(separator: " ")
    }
}
