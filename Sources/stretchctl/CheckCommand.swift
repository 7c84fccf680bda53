import ArgumentParser
import StretchConfig
import StretchCore

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate routine files.",
        discussion: """
            Checks each file's TOML syntax, keys, types and values, and that no two routines (these files or \
            the built-in ones) share an id or a name, and that every spoken prompt fits its gap between cues \
            (prompt lengths estimated from the text for now; --voice off skips this). Prints every problem as \
            file:line:column: key.path: message. Exits 1 when any file has a problem.
            """
    )

    @Argument(help: ArgumentHelp("Routine files to check.", valueName: "file"))
    var files: [String]

    @Option(help: ArgumentHelp("Check that the spoken prompts fit: on or off.", valueName: "on|off"))
    var voice: VoiceSetting = .on

    func validate() throws {
        if files.isEmpty { throw ValidationError("Give at least one routine file to check.") }
    }

    func run() throws {
        var library = RoutineLibrary()
        let builtInCount = library.entries.count
        var problems = library.add(files: files)
        for problem in problems { printError(problem.description) }
        let speech = voice == .on ? SpeechLengths.timing() : nil
        for entry in library.entries.dropFirst(builtInCount) {
            let path = entry.path ?? ""
            let spoken = speech.map { SessionPlanner.plan(entry.routine, speech: $0).speechProblems } ?? []
            let speechProblems = spoken.map {
                ConfigProblem(file: path, keyPath: $0.keyPath, message: $0.message)
            }
            for problem in speechProblems { printError(problem.description) }
            problems += speechProblems
            guard speechProblems.isEmpty else { continue }
            let plan = SessionPlanner.plan(entry.routine)
            print("\(path): ok: \(entry.routine.id), \(entry.routine.steps.count) steps, "
                + DurationText.format(plan.duration))
        }
        if !problems.isEmpty { throw ExitCode(1) }
    }
}
