import Foundation
import StretchSystem
import SystemPackage
import Testing

/// Reading a path a user gave must never block or read without bound. A hang fails the suite by its time limit.
@Suite(.timeLimit(.minutes(1))) struct FilesTests {
    let folder: String

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("stretchd-files-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    @Test func aFIFOIsRefusedAtOnceWithoutWaitingForAWriter() throws {
        let path = folder + "/fifo.toml"
        #expect(mkfifo(path, 0o600) == 0)
        let result = Files.readText(path)
        #expect(result == .failure(FileError(path: path, reason: .notRegularFile(.fifo))))
        #expect(result.failureDescription == "\(path): a FIFO (named pipe), not a regular file")
    }

    @Test func aDirectoryAndADeviceAreRefused() {
        #expect(Files.readBytes(folder, limit: 100) == .failure(FileError(path: folder, reason: .notRegularFile(.directory))))
        #expect(Files.readBytes("/dev/zero", limit: 100).failureDescription == "/dev/zero: a device, not a regular file")
    }

    @Test func aMissingFileIsToldApartByItsErrnoNotItsText() {
        let path = folder + "/absent.toml"
        guard case .failure(let error) = Files.readText(path) else { Issue.record("read a missing file"); return }
        #expect(error.isMissing)
        #expect(error.reason == .system(operation: "cannot open", errno: .noSuchFileOrDirectory))
        #expect(error.description == "\(path): cannot open: No such file or directory")
    }

    @Test func aPathThroughAFileIsAProblemButNotMissing() throws {
        try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/plain"))
        let path = folder + "/plain/inner.toml"
        guard case .failure(let error) = Files.readText(path) else { Issue.record("read through a file"); return }
        #expect(!error.isMissing)
        #expect(error.reason == .system(operation: "cannot open", errno: .notDirectory))
        #expect(error.description == "\(path): cannot open: Not a directory")
    }

    @Test func aFileOverTheLimitIsRefusedWithTheLimit() throws {
        let path = folder + "/big"
        try Data(repeating: 0x41, count: 101).write(to: URL(fileURLWithPath: path))
        #expect(Files.readBytes(path, limit: 100) == .failure(FileError(path: path, reason: .tooLarge(limit: 100))))
        #expect(Files.readBytes(path, limit: 101) == .success(Array(repeating: 0x41, count: 101)))
    }

    @Test func aFileThatReportsNoSizeIsStillCappedWhileReading() {
        // /proc files report size 0 and are read to their end; the cap holds while reading.
        #expect(Files.readBytes("/proc/self/status", limit: 10) == .failure(
            FileError(path: "/proc/self/status", reason: .tooLarge(limit: 10))))
        guard case .success(let text) = Files.readText("/proc/self/status") else { Issue.record("no status"); return }
        #expect(text.hasPrefix("Name:"))
    }

    @Test func textMustBeUTF8() throws {
        let path = folder + "/latin1"
        try Data([0x63, 0x61, 0x66, 0xE9]).write(to: URL(fileURLWithPath: path))
        #expect(Files.readText(path).failureDescription == "\(path): not UTF-8 text")
    }

    @Test func writesReplaceTheFileWholeAndReportTypedErrors() throws {
        let path = folder + "/out.wav"
        #expect(Files.writeBytes([1, 2, 3], to: path).failureDescription == nil)
        #expect(Files.readBytes(path, limit: 10) == .success([1, 2, 3]))
        let blocked = folder + "/missing-folder/out.wav"
        guard case .failure(let error) = Files.writeBytes([1], to: blocked) else { Issue.record("wrote"); return }
        #expect(error.description == "\(blocked): cannot create: No such file or directory")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["out.wav"])
    }

    @Test func aWriteThatFailsHalfWayLeavesTheEarlierFileAsItWasAndNoTemporaryFile() throws {
        let path = folder + "/render.wav"
        #expect(Files.writeBytes([1, 2, 3], to: path).failureDescription == nil)
        let failed = Files.write(to: path) { fd in
            _ = try fd.writeAll([9, 9, 9, 9])
            throw Errno.noSpace
        }
        #expect(failed.failureDescription == "\(path): cannot write: No space left on device")
        #expect(Files.readBytes(path, limit: 10) == .success([1, 2, 3]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["render.wav"])

        let streamed = Files.write(to: path) { fd in
            for piece in 0..<3 { _ = try fd.writeAll([UInt8(piece), UInt8(piece)]) }
        }
        #expect(streamed.failureDescription == nil)
        #expect(Files.readBytes(path, limit: 10) == .success([0, 0, 1, 1, 2, 2]))
    }

    @Test func relativePathsAreMadeAbsoluteAgainstTheWorkingFolder() throws {
        #expect(Files.absolute("/etc/x.toml") == "/etc/x.toml")
        let cwd = FileManager.default.currentDirectoryPath
        #expect(Files.absolute("./x.toml") == (cwd == "/" ? "/" : cwd + "/") + "./x.toml")
    }
}

extension Result {
    /// The failure's text, for comparing messages as a user reads them.
    var failureDescription: String? {
        guard case .failure(let error) = self else { return nil }
        return "\(error)"
    }
}

/// Writing replaces only a regular file: renaming over a device, a FIFO or a link would replace the thing itself.
@Suite(.timeLimit(.minutes(1))) struct FileWritingTests {
    let folder: String

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("stretchd-write-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    @Test func aFIFOOrALinkInTheWayIsRefusedAndLeftAsItWas() throws {
        let fifo = folder + "/out.wav", link = folder + "/link.wav"
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(symlink(folder + "/target.wav", link) == 0)
        #expect(Files.writeBytes([1], to: fifo).failureDescription == "\(fifo): a FIFO (named pipe), not a regular file")
        #expect(Files.writeBytes([1], to: link).failureDescription == "\(link): a symbolic link, not a regular file")
        var info = stat()
        #expect(lstat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
        #expect(!FileManager.default.fileExists(atPath: folder + "/target.wav"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["link.wav", "out.wav"])
    }

    @Test func aFileReplacedKeepsItsPermissions() throws {
        let path = folder + "/private.wav"
        #expect(FileManager.default.createFile(atPath: path, contents: Data([9]), attributes: [.posixPermissions: 0o600]))
        #expect(Files.writeBytes([1, 2], to: path).failureDescription == nil)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
        #expect(Files.readBytes(path, limit: 10) == .success([1, 2]))
    }
}
