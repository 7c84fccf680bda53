@testable import EpollExecutor
import Foundation
import StretchSystem
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The inotify reader on a real temporary folder. Events are made before `next(on:)` is called, so one call reads
/// them all (the kernel queues them as the calls that cause them return); where the wait itself is tested, the
/// event comes once the reader is seen waiting on the loop.
@Suite(.timeLimit(.minutes(1))) struct FolderWatchTests {
    let loop: EpollLoop
    let folder: String

    init() throws {
        loop = EpollLoop()
        loop.startThread()
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("stretchd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    /// Removes the folder and stops the loop.
    func end() {
        try? FileManager.default.removeItem(atPath: folder)
        loop.stop()
    }

    func create(_ name: String) {
        close(open(folder + "/" + name, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600))
    }

    @Test func onlyTheNamesWatchedForComeEachOnceWithItsLastEvent() async throws {
        defer { end() }
        let watch = try FolderWatch()
        try watch.watch(folder, for: [.created, .deleted], names: ["bus"])
        // Watched again for more: both names and both kinds of events count.
        try watch.watch(folder, for: [.movedIn], names: ["other-bus"])
        create("unrelated")
        create("bus")
        unlink(folder + "/bus")
        create("bus")
        rename(folder + "/unrelated", folder + "/other-bus")
        create("late")
        unlink(folder + "/bus")
        let changes = try #require(try await watch.next(on: loop))
        #expect(changes == FolderWatch.Changes(names: [
            FolderWatch.Change(folder: folder, name: "bus", event: .deleted),
            FolderWatch.Change(folder: folder, name: "other-bus", event: .movedIn),
        ]))
        #expect(watch.isWatching)
    }

    @Test func anyNameInTheOrderTheyFirstCame() async throws {
        defer { end() }
        let watch = try FolderWatch()
        try watch.watch(folder, for: [.created, .opened, .closed])
        create("b")
        create("a")
        close(open(folder + "/b", O_RDONLY | O_CLOEXEC))
        let changes = try #require(try await watch.next(on: loop))
        #expect(changes.names == [
            FolderWatch.Change(folder: folder, name: "b", event: .closedReadOnly),
            FolderWatch.Change(folder: folder, name: "a", event: .closedAfterWriting),
        ])
    }

    /// 200 names of 255 bytes (each event 272 bytes with its header and padding) fill more than one read: all are
    /// drained, each name exact, without its padding.
    @Test func longNamesAcrossSeveralReadsAreDecodedExactly() async throws {
        defer { end() }
        let watch = try FolderWatch()
        try watch.watch(folder, for: .created)
        let names = (0..<200).map { index in String(format: "%03d", index) + String(repeating: "é", count: 126) }
        #expect(names.allSatisfy { $0.utf8.count == 255 })
        for name in names { create(name) }
        let changes = try #require(try await watch.next(on: loop))
        #expect(changes.names.map(\.name) == names)
        #expect(changes.names.allSatisfy { $0.event == .created && $0.folder == folder })
    }

    /// More than `readsPerBatch` bufferfuls queued: the first call stops there, the next one reads the rest.
    @Test func aQueueLargerThanABatchComesInTurns() async throws {
        defer { end() }
        let watch = try FolderWatch()
        try watch.watch(folder, for: .created)
        // 272 bytes an event: about 1.2 MB, more than 64 reads of 16 KiB, fewer events than the kernel queues.
        let names = (0..<4_500).map { index in String(format: "%04d", index) + String(repeating: "x", count: 251) }
        for name in names { create(name) }
        let first = try #require(try await watch.next(on: loop)).names.map(\.name)
        let second = try #require(try await watch.next(on: loop)).names.map(\.name)
        #expect(!first.isEmpty && first.count < names.count)
        #expect(first + second == names)
    }

    @Test func waitsOnTheLoopUntilSomethingHappens() async throws {
        defer { end() }
        let watch = try FolderWatch()
        try watch.watch(folder, for: .created)
        let loop = loop
        let waiting = Task { try await watch.next(on: loop) }
        var rounds = 0
        while loop.waiterCount == 0 && rounds < 1_000_000 {
            await Task.yield()
            rounds += 1
        }
        #expect(loop.waiterCount == 1)
        create("bus")
        let changes = try #require(try await waiting.value)
        #expect(changes.names.map(\.name) == ["bus"])
    }

    @Test func aCancelledWaitReturnsNil() async throws {
        defer { end() }
        let watch = try FolderWatch()
        try watch.watch(folder, for: .created)
        let loop = loop
        let waiting = Task { try await watch.next(on: loop) }
        waiting.cancel()
        #expect(try await waiting.value == nil)
        #expect(loop.waiterCount == 0)
    }

    /// More events than the kernel queues (`max_queued_events`): the overflow is reported.
    @Test func anOverflowIsReported() async throws {
        defer { end() }
        let limit = try #require(Int(
            try String(contentsOfFile: "/proc/sys/fs/inotify/max_queued_events", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)))
        let watch = try FolderWatch()
        try watch.watch(folder, for: [.opened, .closed])
        create("file")
        // An open and a close each: never two identical events in a row, which the kernel would merge.
        for _ in 0...(limit / 2) { close(open(folder + "/file", O_RDONLY | O_CLOEXEC)) }
        // Where the kernel queues more than its default 16,384 events, they take more than one call to read.
        var batches: [FolderWatch.Changes] = []
        repeat {
            batches.append(try #require(try await watch.next(on: loop)))
        } while batches.last?.overflowed == false && batches.count < 100
        #expect(batches.last?.overflowed == true)
        #expect(batches.allSatisfy { $0.names.map(\.name) == ["file"] || $0.names.isEmpty })
    }

    @Test func aRemovedFolderIsReportedOnceAndNoLongerWatched() async throws {
        defer { end() }
        let watch = try FolderWatch()
        try watch.watch(folder, for: .created)
        try FileManager.default.removeItem(atPath: folder)
        let changes = try #require(try await watch.next(on: loop))
        #expect(changes == FolderWatch.Changes(foldersGone: [folder]))
        #expect(!watch.isWatching)
    }

    @Test func aFolderMovedAwayIsGoneToo() async throws {
        defer { end() }
        let moved = folder + "-moved"
        defer { try? FileManager.default.removeItem(atPath: moved) }
        let watch = try FolderWatch()
        try watch.watch(folder, for: .created)
        #expect(rename(folder, moved) == 0)
        // Made in the folder where it now is: not watched there any more.
        close(open(moved + "/ignored", O_CREAT | O_WRONLY | O_CLOEXEC, 0o600))
        let changes = try #require(try await watch.next(on: loop))
        #expect(changes == FolderWatch.Changes(foldersGone: [folder]))
        #expect(!watch.isWatching)
    }

    @Test func whatCannotBeWatchedNamesTheCallAndTheReason() throws {
        defer { end() }
        let watch = try FolderWatch()
        #expect(throws: SystemCallError("inotify_add_watch", .noSuchFileOrDirectory)) {
            try watch.watch(folder + "/missing", for: .created)
        }
        create("file")
        #expect(throws: SystemCallError("inotify_add_watch", .notDirectory)) {
            try watch.watch(folder + "/file", for: .created)
        }
        #expect(!watch.isWatching)
    }
}
