import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A system call that failed: the C function's name and its errno, typed as swift-system's `Errno`, whose
/// description is the system's own text. `write: No space left on device`.
public struct SystemCallError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The C function, as in its manual page: `write`, `connect`.
    public var function: String
    public var errno: Errno

    public init(_ function: String, _ errno: Errno) {
        self.function = function
        self.errno = errno
    }

    /// The error of the call that just failed, from the thread's `errno`.
    public static func last(_ function: String) -> SystemCallError {
        SystemCallError(function, Errno(rawValue: Glibc.errno))
    }

    public var description: String { "\(function): \(errno)" }
}

/// The one way system calls are made outside swift-system: retried while interrupted by a signal, and a failure
/// turned into a `SystemCallError` naming the function.
public enum SystemCall {
    /// Calls `body` (which returns -1 and sets errno on failure, as the C calls do) until it is not interrupted.
    public static func retrying<Result: FixedWidthInteger>(
        _ function: String, _ body: () -> Result
    ) throws(SystemCallError) -> Result {
        while true {
            let result = body()
            if result != -1 { return result }
            if Glibc.errno != EINTR { throw .last(function) }
        }
    }

    /// Writes all of `bytes` to `fd`. A short write (a disk that filled up, a pipe that filled) goes on with the
    /// rest, so the reason it stopped is the errno of the next call (`ENOSPC`, `EAGAIN`), never a silent loss.
    public static func writeAll(_ fd: Int32, _ bytes: some Collection<UInt8>) throws(SystemCallError) {
        let bytes = Array(bytes)
        var done = 0
        while done < bytes.count {
            let count = try retrying("write") {
                bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            }
            // Only a file with no room left answers a write of something with nothing.
            guard count > 0 else { throw SystemCallError("write", .noSpace) }
            done += count
        }
    }
}
