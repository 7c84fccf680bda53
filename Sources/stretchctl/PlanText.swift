import StretchCore

/// The human-readable form of a plan: the steps, then a compact timeline.
enum PlanText {
    /// `length` is the session's as it sounds (`VoicedSession.length`).
    static func render(_ plan: SessionPlan, length: Duration) -> String {
        let routine = plan.routine
        var text = "\(routine.name) (\(routine.id)): \(routine.steps.count) steps, "
            + "\(DurationText.format(length))\n"
        if !routine.summary.isEmpty { text += wrap(routine.summary, indent: "") + "\n" }
        text += "\n"
        for (index, step) in routine.steps.enumerated() {
            text += "\(index + 1). \(step.name): \(describe(step, timing: routine.timing))\n"
            if !step.instructions.isEmpty { text += wrap(step.instructions, indent: "   ") + "\n" }
        }
        text += "\nTimeline\n"
        for line in timeline(plan) { text += line + "\n" }
        return text
    }

    static func describe(_ step: Step, timing: RoutineTiming) -> String {
        var parts: [String] = []
        switch step.exercise {
        case .hold(let holds):
            parts.append("hold " + holds.map { hold in
                let length = describe(hold.length, breath: timing.breath)
                return hold.name.map { "\($0) \(length)" } ?? length
            }.joined(separator: ", then "))
        case .reps(let reps):
            parts.append("\(reps.count) reps, one every \(DurationText.format(reps.tempo))")
        }
        if case .both(let first) = step.sides { parts.append("each side, \(first.rawValue) first") }
        return parts.joined(separator: "; ")
    }

    static func describe(_ length: HoldLength, breath: Duration) -> String {
        switch length {
        case .time(let duration): DurationText.format(duration)
        case .breaths(let count):
            "\(count) breaths (\(DurationText.format(length.duration(breath: breath))))"
        }
    }

    /// One line per cue, except that a run of countdown beats or of one set's rep beats is one line.
    static func timeline(_ plan: SessionPlan) -> [String] {
        var lines: [String] = []
        var lastContext = ""
        var index = 0
        let cues = plan.cues
        let prompts = plan.prompts
        var nextPrompt = 0
        while index < cues.count {
            let cue = cues[index]
            var end = index + 1
            var label = cue.cue.rawValue
            switch cue.cue {
            case .countdown:
                while end < cues.count, cues[end].cue == .countdown { end += 1 }
                label = "countdown x\(end - index)"
            case .repBeat, .repReturn:
                while end < cues.count, cues[end].cue == .repBeat || cues[end].cue == .repReturn { end += 1 }
                let beats = cues[index..<end].filter { $0.cue == .repBeat }
                let returns = end - index - beats.count
                label = "rep-beat x\(beats.count)" + (returns > 0 ? " + rep-return x\(returns)" : "")
                if beats.count > 1 {
                    label += ", every \(DurationText.format(beats[beats.startIndex + 1].at - beats[beats.startIndex].at))"
                }
            case .switchSide:
                label += " to \(cue.side?.rawValue ?? "other side")"
            default:
                break
            }
            var context = plan.stepName(of: cue)
            let details = [cue.side?.rawValue, plan.partName(step: cue.step, part: cue.part)].compactMap { $0 }
            if !details.isEmpty { context += " (\(details.joined(separator: ", ")))" }
            let shown = cue.cue == .switchSide || cue.cue == .stepEnd || cue.cue == .sessionEnd || context == lastContext
                ? "" : context
            if cue.cue != .switchSide && cue.cue != .stepEnd && cue.cue != .sessionEnd { lastContext = context }
            let time = DurationText.clock(cue.at)
            let padded = String(repeating: " ", count: max(0, 8 - time.count)) + time
            let labelColumn = label + String(repeating: " ", count: max(1, 42 - label.count))
            while nextPrompt < prompts.count, prompts[nextPrompt].at < cue.at {
                lines.append(promptLine(prompts[nextPrompt]))
                nextPrompt += 1
            }
            lines.append("\(padded)  \(shown.isEmpty ? label : labelColumn + shown)")
            index = end
        }
        lines += prompts[nextPrompt...].map(promptLine)
        return lines
    }

    /// A spoken prompt: when, how long, and what is said.
    static func promptLine(_ prompt: PlannedPrompt) -> String {
        let time = DurationText.clock(prompt.at)
        let label = "speech \(DurationText.format(prompt.length))"
        return String(repeating: " ", count: max(0, 8 - time.count)) + time + "  " + label
            + String(repeating: " ", count: max(1, 42 - label.count)) + "\"\(prompt.text)\""
    }

    /// Wraps text at 100 columns with an indent.
    static func wrap(_ text: String, indent: String) -> String {
        var lines: [String] = []
        var line = indent
        for word in text.split(separator: " ") {
            if line.count + word.count + 1 > 100, line.count > indent.count {
                lines.append(line)
                line = indent
            }
            line += (line.count > indent.count ? " " : "") + word
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }
}
