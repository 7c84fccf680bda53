import ArgumentParser
import StretchConfig
import StretchCore

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate routine files.",
        discussion: """
            Checks each file's TOML syntax, keys, types and values, and that no two routines (these files or \
            the built-in ones) share an id or a name. Prints every problem as file:line:column: key.path: message. \
            Exits 1 when any file has a problem.
            """
    )

    @Argument(help: ArgumentHelp("Routine files to check.", valueName: "file"))
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("Give at least one routine file to check.") }
    }

    func run() throws {
        var library = RoutineLibrary()
        let builtInCount = library.entries.count
        let problems = library.add(files: files)
        for problem in problems { printError(problem.description) }
        for entry in library.entries.dropFirst(builtInCount) {
            let plan = SessionPlanner.plan(entry.routine)
            print("\(entry.path ?? ""): ok: \(entry.routine.id), \(entry.routine.steps.count) steps, "
                + DurationText.format(plan.duration))
        }
        if !problems.isEmpty { throw ExitCode(1) }
    }
}
