import StretchCore

/// Reads a routine from its TOML text; see the README's "Routine files" section for the format.
public enum RoutineFile {
    /// Parses a routine; `defaultID` (usually the file name without `.toml`) is used when the file has no `id`.
    /// Either the whole routine loads, or none of it does and every problem found is returned.
    public static func parse(_ text: String, file: String, defaultID: String) -> Result<Routine, ConfigError> {
        parse(Array(text.utf8), file: file, defaultID: defaultID)
    }

    /// Parses a routine from the file's bytes, which must be UTF-8 TOML (a bad byte is reported at its line).
    public static func parse(_ bytes: [UInt8], file: String, defaultID: String) -> Result<Routine, ConfigError> {
        let reader: TableReader
        switch TableReader.read(bytes, file: file) {
        case .success(let root): reader = root
        case .failure(let error): return .failure(error)
        }

        let id = reader.string("id") ?? defaultID
        if !isValidID(id) {
            reader.report(
                "expected an id of lowercase letters, digits and dashes (like \"lunch-hips\"), got \"\(id)\"",
                at: reader.contains("id") ? "id" : nil)
        }
        let name = reader.string("name", required: true)
        if name?.isEmpty == true { reader.report("must not be empty", at: "name") }
        let summary = reader.string("description", multiline: true) ?? ""
        var timing = RoutineTiming()
        if let countdown = reader.int("countdown", in: RoutineLimits.countdown) { timing.countdown = countdown }
        if let value = reader.duration("switch_time", in: RoutineLimits.gap) { timing.switchTime = value }
        if let value = reader.duration("transition_time", in: RoutineLimits.gap) { timing.transitionTime = value }
        if let value = reader.duration("part_time", in: RoutineLimits.gap) { timing.partTime = value }
        if let value = reader.duration("breath", in: RoutineLimits.breath) { timing.breath = value }
        let sayLastRep = spoken(reader, "say_last_rep") ?? Routine.defaultLastRep
        let sayClosing = spoken(reader, "say_closing") ?? Routine.defaultClosing

        var steps: [Step] = []
        if let stepReaders = reader.tables("step", required: true) {
            if stepReaders.isEmpty { reader.report("a routine needs at least one [[step]]", at: "step") }
            if stepReaders.count > RoutineLimits.steps.upperBound {
                reader.report("at most \(RoutineLimits.steps.upperBound) steps, got \(stepReaders.count)", at: "step")
            }
            steps = stepReaders.compactMap(step)
        }
        reader.finish()

        return reader.result(name.map {
            Routine(
                id: id, name: $0, summary: summary, timing: timing, steps: steps, sayLastRep: sayLastRep,
                sayClosing: sayClosing)
        })
    }

    static func isValidID(_ id: String) -> Bool {
        guard let first = id.unicodeScalars.first, id.unicodeScalars.count <= 64, first != "-" else { return false }
        return id.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    private static let repsKeys = ["reps", "tempo", "return_beat"]
    private static let holdKeys = ["hold", "parts"]

    private static func step(_ reader: TableReader) -> Step? {
        let name = reader.string("name", required: true)
        if name?.isEmpty == true { reader.report("must not be empty", at: "name") }
        let instructions = reader.string("instructions", multiline: true) ?? ""
        let kind = reader.choice("kind", ["hold", "reps"], required: true)
        let sidesText = reader.choice("sides", ["both", "none"]) ?? "none"
        let firstSide = reader.choice("first_side", ["left", "right"]).flatMap(Side.init(rawValue:))
        if firstSide != nil, sidesText == "none" {
            reader.report("applies only to a step with sides = \"both\"", at: "first_side")
        }
        let sides: StepSides = sidesText == "both" ? .both(first: firstSide ?? .right) : .none
        let say = spoken(reader, "say")
        if say == nil, let name { checkSpeakable(name, reader) }
        let setup = spoken(reader, "setup") ?? ""
        var sideSay: [Side: String] = [:]
        for side in Side.allCases {
            let key = "say_\(side.rawValue)"
            guard let text = spoken(reader, key) else { continue }
            if sidesText == "none" {
                reader.report("applies only to a step with sides = \"both\"", at: key)
            }
            sideSay[side] = text
        }

        let exercise: Exercise?
        switch kind {
        case "hold":
            rejectKeys(repsKeys, of: reader, kind: "reps")
            exercise = holdExercise(reader)
        case "reps":
            rejectKeys(holdKeys, of: reader, kind: "hold")
            let count = reader.int("reps", in: RoutineLimits.reps, required: true)
            let tempo = reader.duration("tempo", in: RoutineLimits.tempo) ?? .seconds(4)
            let returnBeat = reader.bool("return_beat") ?? false
            exercise = count.map { .reps(Reps(count: $0, tempo: tempo, returnBeat: returnBeat)) }
        default:
            exercise = nil
        }
        reader.allow(repsKeys + holdKeys)
        reader.finish()
        guard let name, let exercise else { return nil }
        return Step(
            name: name, instructions: instructions, sides: sides, exercise: exercise, say: say, setup: setup,
            sideSay: sideSay)
    }

    private static func holdExercise(_ reader: TableReader) -> Exercise? {
        switch (reader.contains("hold"), reader.contains("parts")) {
        case (true, true):
            _ = reader.value("parts")
            reader.report("give either hold or parts, not both", at: "parts")
            return nil
        case (false, false):
            reader.report("a hold step needs hold = \"1m\" (or parts = [...] for a hold in several parts)", at: nil)
            return nil
        case (true, false):
            return reader.holdLength("hold").map { .hold([HoldPart(length: $0)]) }
        case (false, true):
            guard let partReaders = reader.tables("parts") else { return nil }
            guard RoutineLimits.parts.contains(partReaders.count) else {
                let limits = RoutineLimits.parts
                reader.report("expected \(limits.lowerBound) to \(limits.upperBound) parts, got \(partReaders.count)",
                              at: "parts")
                return nil
            }
            let parts = partReaders.map { part -> HoldPart? in
                let name = part.string("name", required: true)
                let length = part.holdLength("hold", required: true)
                let say = spoken(part, "say")
                if say == nil, let name { checkSpeakable(name, part) }
                part.finish()
                guard let name, let length else { return nil }
                return HoldPart(name: name, length: length, say: say)
            }
            let complete = parts.compactMap { $0 }
            return complete.count == parts.count ? .hold(complete) : nil
        }
    }

    /// Text the voice speaks: one line (no control characters but tab), at most `RoutineLimits.spokenText`
    /// characters, with a word in it; or empty, to say nothing there.
    private static func spoken(_ reader: TableReader, _ key: String) -> String? {
        guard let text = reader.string(key) else { return nil }
        let limit = RoutineLimits.spokenText
        if text.count > limit {
            reader.report("spoken text of at most \(limit) characters, got \(text.count): say less here", at: key)
            return nil
        }
        if !text.isEmpty, !text.contains(where: { $0.isLetter || $0.isNumber }) {
            reader.report("expected words to speak (or \"\" to say nothing), got \"\(text)\"", at: key)
            return nil
        }
        return text
    }

    /// A name is spoken when there is no `say`: it must not be longer than a spoken text.
    private static func checkSpeakable(_ name: String, _ reader: TableReader) {
        let limit = RoutineLimits.spokenText
        if name.count > limit {
            reader.report(
                "longer than \(limit) characters (\(name.count)), too long to speak: add a shorter say", at: "name")
        }
    }

    private static func rejectKeys(_ keys: [String], of reader: TableReader, kind: String) {
        for key in keys where reader.contains(key) {
            _ = reader.value(key)
            reader.report("applies only to kind = \"\(kind)\"", at: key)
        }
    }
}
