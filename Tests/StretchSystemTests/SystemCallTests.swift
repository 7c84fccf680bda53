import Foundation
import Synchronization
import StretchSystem
import SystemPackage
import Testing

/// System calls: retried when interrupted, a failure typed with the C function's name and the system's text.
@Suite struct SystemCallTests {
    @Test func aFailureNamesTheFunctionAndTheSystemsReason() {
        #expect(throws: SystemCallError("close", .badFileDescriptor)) {
            try SystemCall.retrying("close") { close(-1) }
        }
        #expect(SystemCallError("write", .noSpace).description == "write: No space left on device")
    }

    @Test func aFullDeviceIsReportedAsNoSpace() throws {
        let fd = open("/dev/full", O_WRONLY | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }
        #expect(throws: SystemCallError("write", .noSpace)) { try SystemCall.writeAll(fd, [UInt8](repeating: 1, count: 10)) }
    }

    /// A pipe with room for part of the bytes takes that part (a short write); the rest fails with the reason,
    /// here that the pipe is full (a disk gives ENOSPC the same way), rather than being dropped unseen.
    @Test func aShortWriteEndsInTheErrnoOfTheRest() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        #expect(fcntl(ends[1], F_SETFL, O_NONBLOCK) == 0)
        // More than a pipe holds (64 KiB by default): the first write takes what fits.
        let size = 1 << 20
        #expect(throws: SystemCallError("write", .resourceTemporarilyUnavailable)) {
            try SystemCall.writeAll(ends[1], [UInt8](repeating: 7, count: size))
        }
        #expect(fcntl(ends[0], F_SETFL, O_NONBLOCK) == 0)
        var buffer = [UInt8](repeating: 0, count: size)
        let taken = read(ends[0], &buffer, buffer.count)
        #expect(taken > 0 && taken < size, "the part that fitted was written, the rest was not")
    }

    @Test func everythingIsWrittenAcrossShortWrites() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        let readEnd = ends[0], writeEnd = ends[1]
        defer { close(readEnd) }
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0) }
        // A pipe of 64 KiB takes 200,000 bytes in several writes while a reader drains it.
        let finished = DispatchSemaphore(value: 0)
        let received = Mutex<[UInt8]>([])
        let reader = Thread {
            defer { finished.signal() }
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = read(readEnd, &buffer, buffer.count)
                if count <= 0 { break }
                received.withLock { $0 += buffer[..<count] }
            }
        }
        reader.start()
        try SystemCall.writeAll(writeEnd, bytes)
        close(writeEnd)
        finished.wait()
        #expect(received.withLock { $0 } == bytes)
    }
}
