#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import StretchConfig
import StretchCore
import StretchSystem

/// Where user routines come from; shared by every subcommand that looks routines up.
struct RoutineOptions: ParsableArguments {
    @Option(
        name: .customLong("routines-dir"),
        help: ArgumentHelp(
            "Directory of user routine files (*.toml).", valueName: "dir"))
    var routinesDirectory: String = XDGPaths.current.routinesDirectory

    /// The built-in routines and the user's, warning on stderr about user files that failed to load.
    func library() -> RoutineLibrary {
        let (library, problems) = RoutineLibrary.load(directory: routinesDirectory)
        for problem in problems { printError("warning: skipped \(problem)") }
        return library
    }

    /// Resolves a ROUTINE argument (id or path), or fails with the reasons; with the library it was found in, read
    /// once (its warnings printed once).
    func resolve(_ reference: String) throws -> (routine: Routine, library: RoutineLibrary) {
        let library = library()
        switch library.resolve(reference) {
        case .success(let routine): return (routine, library)
        case .failure(let error):
            // An id that names no routine is a bad value on the command line; a file's problems, a config error.
            guard RoutineLibrary.isPath(reference) else { throw ValidationError(error.description) }
            printError(error.description)
            throw ExitCode.badConfig
        }
    }
}

extension VoicedSession {
    /// Warnings about the spoken prompts of `routine` (found by `reference` in `library`) that do not fit or cannot
    /// be spoken, each at its file, line and column.
    func speechWarnings(of routine: Routine, in library: RoutineLibrary, reference: String) -> [String] {
        let problems = plan.speechProblems.map { ($0.message, $0.keyPath) }
            + unspoken.map { ("cannot be spoken, so it is left out: \($0.error)", $0.keyPath) }
        let file = RoutineLibrary.isPath(reference) ? reference : nil
        return problems.map { "warning: \(library.problem($0, at: $1, of: routine, file: file))" }
    }
}

extension ExitCode {
    /// A config or routine file with problems: 78, EX_CONFIG of sysexits.h, as stretchd exits on a bad config.
    static let badConfig = ExitCode(EX_CONFIG)
}

/// Writes a line to standard error.
func printError(_ text: String) {
    let line = text + "\n"
    _ = line.utf8CString.withUnsafeBufferPointer { write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
}
