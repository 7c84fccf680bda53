import ArgumentParser
import StretchAudio
import StretchConfig
import StretchCore

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate routine files.",
        discussion: """
            Checks each file's TOML syntax, keys, types and values, and that no two routines (these files or \
            the built-in ones) share an id or a name, and that every spoken prompt fits its gap between cues \
            (the prompts synthesized, where the voice loads; --voice off skips this, --voice on fails when the \
            voice cannot load). Prints every problem as \
            file:line:column: key.path: message. Exits 1 when any file has a problem.
            """
    )

    @Argument(help: ArgumentHelp("Routine files to check.", valueName: "file"))
    var files: [String]

    @Option(help: ArgumentHelp(
        "Check that the spoken prompts fit: on or off (default: as render and play).", valueName: "on|off"))
    var voice: VoiceSetting?

    func validate() throws {
        if files.isEmpty { throw ValidationError("Give at least one routine file to check.") }
    }

    func run() async throws {
        var library = RoutineLibrary()
        let builtInCount = library.entries.count
        var problems = library.add(files: files)
        for problem in problems { printError(problem.description) }
        let sounds = AudioOptions.defaultSounds()
        for entry in library.entries.dropFirst(builtInCount) {
            let path = entry.path ?? ""
            let session = try await VoicedSession.prepare(entry.routine, voice: voice, sounds: sounds)
            let speechProblems = session.plan.speechProblems.map {
                library.problem($0.message, at: $0.keyPath, of: entry.routine, file: path)
            } + session.unspoken.map {
                library.problem("cannot be spoken: \($0.error)", at: $0.keyPath, of: entry.routine, file: path)
            }
            for problem in speechProblems { printError(problem.description) }
            problems += speechProblems
            guard speechProblems.isEmpty else { continue }
            // The length as `routines`, `plan` and `render` show it.
            print("\(path): ok: \(entry.routine.id), \(entry.routine.steps.count) steps, "
                + DurationText.format(session.length(sounds: sounds)))
        }
        if !problems.isEmpty { throw ExitCode.badConfig }
    }
}
