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

    /// Resolves a ROUTINE argument (id or path), or fails with the reasons.
    func routine(_ reference: String) throws -> Routine {
        switch library().resolve(reference) {
        case .success(let routine): return routine
        case .failure(let error):
            printError(error.description)
            throw ExitCode(1)
        }
    }
}

/// Writes a line to standard error.
func printError(_ text: String) {
    let line = text + "\n"
    _ = line.utf8CString.withUnsafeBufferPointer { write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
}
