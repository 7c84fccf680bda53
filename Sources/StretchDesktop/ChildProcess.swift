import CLinux
import EpollExecutor
import StretchSystem
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A short-lived helper program whose standard output the daemon wants (`gsettings get ...`), run without blocking
/// anything: its output is a pipe read on an `EpollLoop`, and it is reaped when its pidfd becomes readable.
///
/// The child starts with no signal blocked and every signal at its default action (`POSIX_SPAWN_SETSIGMASK`,
/// `POSIX_SPAWN_SETSIGDEF`): a child spawned from a thread that blocks SIGTERM would otherwise inherit that. Its
/// standard input and error are `/dev/null`.
enum ChildProcess {
    /// What the child wrote on its standard output, and how it ended.
    struct Outcome: Sendable, Hashable {
        var output: [UInt8]
        var ending: Ending
    }

    enum Ending: Sendable, Hashable, CustomStringConvertible {
        case exited(Int32)
        case killed(signal: Int32)

        var description: String {
            switch self {
            case .exited(let status): "exited with status \(status)"
            case .killed(let signal): "killed by signal \(signal)"
            }
        }
    }

    enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// It could not be started: `ENOENT` when the program is not installed.
        case notStarted(program: String, SystemCallError)
        /// A system call the parent makes failed (`ECANCELED`: the wait for the child was cancelled).
        case system(SystemCallError)
        /// It wrote more than it may, or did not finish in time: it was killed.
        case tooMuchOutput(limit: Int)
        case timedOut(Duration)

        var description: String {
            switch self {
            case .notStarted(let program, let error): "cannot run \(program): \(error.errno)"
            case .system(let error): "\(error)"
            case .tooMuchOutput(let limit): "it wrote more than \(limit) bytes"
            case .timedOut(let limit): "it did not finish within \(limit)"
            }
        }

        /// The program is not there to run.
        var isMissingProgram: Bool {
            if case .notStarted(_, let error) = self { return error.errno == .noSuchFileOrDirectory }
            return false
        }
    }

    /// Runs `arguments` (the program, searched on `PATH` when it has no slash, then its arguments) and returns its
    /// output once it has exited. A child that writes more than `limit` bytes, outlives `timeout`, or whose caller
    /// is cancelled is killed (SIGKILL) and reaped.
    static func run(
        _ arguments: [String], loop: EpollLoop, limit: Int = 64 * 1024, timeout: Duration = .seconds(10)
    ) async throws(Failure) -> Outcome {
        guard let program = arguments.first else {
            throw .notStarted(program: "", SystemCallError("posix_spawn", .invalidArgument))
        }
        var fds: [Int32] = [-1, -1]
        do {
            _ = try SystemCall.retrying("pipe2") { pipe2(&fds, O_CLOEXEC) }
        } catch {
            throw .system(error)
        }
        let reading = fds[0], writing = fds[1]
        defer { close(reading) }
        let child: pid_t
        do throws(Failure) {
            // Only the parent's end is non-blocking: the child writes as it always does.
            do {
                _ = try SystemCall.retrying("fcntl") { fcntl(reading, F_SETFL, O_NONBLOCK) }
            } catch {
                throw .system(error)
            }
            child = try spawn(program, arguments, stdout: writing)
        } catch {
            close(writing)
            throw error
        }
        close(writing)
        // Readable once the child has exited (nil before Linux 5.3: then only the output's end is waited for).
        let pidfd = pidfd_open(child, 0)
        defer { if pidfd >= 0 { close(pidfd) } }

        // The output to its end and the child's exit, or the deadline, whichever comes first.
        let outcome = await withTaskGroup(of: Result<[UInt8], Failure>?.self) { group in
            group.addTask {
                let output = await readAll(reading, loop: loop, limit: limit)
                guard case .success = output, pidfd >= 0 else { return output }
                if let failure = await waitReadable(pidfd, loop: loop, for: "waitpid") { return .failure(failure) }
                return output
            }
            group.addTask {
                do {
                    try await loop.sleep(until: .now + timeout)
                    return .failure(.timedOut(timeout))
                } catch {
                    return nil  // cancelled: the child finished first
                }
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        if case .success(let output)? = outcome, pidfd >= 0 {
            // It has exited: `waitpid` returns at once.
            return Outcome(output: output, ending: collect(child))
        }
        if case .success(let output)? = outcome {
            return Outcome(output: output, ending: await BlockingThread.shared.run { collect(child) })
        }
        // Too much output, too late, or the caller was cancelled: killed, then reaped (quickly, after SIGKILL).
        kill(child, SIGKILL)
        _ = await BlockingThread.shared.run { collect(child) }
        switch outcome {
        case .failure(let failure)?: throw failure
        default: throw .system(SystemCallError("waitpid", .canceled))
        }
    }

    /// Spawns `program` with its standard output on `stdout`.
    private static func spawn(_ program: String, _ arguments: [String], stdout: Int32) throws(Failure) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result =
            program.contains("/")
            ? posix_spawn(&pid, program, &actions, &attributes, &argv, environ)
            : posix_spawnp(&pid, program, &actions, &attributes, &argv, environ)
        guard result == 0 else {
            let function = program.contains("/") ? "posix_spawn" : "posix_spawnp"
            throw .notStarted(program: program, SystemCallError(function, Errno(rawValue: result)))
        }
        return pid
    }

    /// Reads `fd` to its end, waiting on the loop whenever it has nothing yet.
    private static func readAll(_ fd: Int32, loop: EpollLoop, limit: Int) async -> Result<[UInt8], Failure> {
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count: Int
            do {
                count = try SystemCall.retrying("read") {
                    buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                }
            } catch where error.errno == .resourceTemporarilyUnavailable {
                if let failure = await waitReadable(fd, loop: loop, for: "read") { return .failure(failure) }
                continue
            } catch {
                return .failure(.system(error))
            }
            if count == 0 { return .success(output) }
            output.append(contentsOf: buffer[0..<count])
            if output.count > limit { return .failure(.tooMuchOutput(limit: limit)) }
        }
    }

    /// Waits on the loop until `fd` is readable, before `function`; the failure when it cannot be watched, or
    /// when the task is cancelled (`ECANCELED`).
    private static func waitReadable(_ fd: Int32, loop: EpollLoop, for function: String) async -> Failure? {
        do {
            try await loop.waitReadable(fd)
            return nil
        } catch let error as SystemCallError {
            return .system(error)
        } catch {
            return .system(SystemCallError(function, .canceled))
        }
    }

    /// Collects the exit status of `child`, waiting for it to exit.
    private static func collect(_ child: pid_t) -> Ending {
        var status: Int32 = 0
        _ = try? SystemCall.retrying("waitpid") { waitpid(child, &status, 0) }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which are macros.
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .killed(signal: signal)
    }
}
