import Foundation
import StretchCore
import StretchDaemon
import Testing

@Suite struct StateStoreTests {
    func store() -> StateStore {
        StateStore(path: NSTemporaryDirectory() + "stretchd-\(UUID().uuidString)/state/state.json")
    }

    static let snapshot = BreakCycle.Snapshot(
        savedAt: 1_800_000_000.25,
        timer: BreakTimer.Saved(
            worked: .milliseconds(1_234_500), dueAt: .seconds(3600), snoozed: true, paused: true,
            pausedUntil: CivilTime(year: 2026, month: 11, day: 23, hour: 14, minute: 30), away: .seconds(42)),
        openBreak: "hips", nextRoutine: "desk")

    func write(_ text: String, to store: StateStore) throws {
        let folder = String(store.path[..<store.path.lastIndex(of: "/")!])
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try text.write(toFile: store.path, atomically: false, encoding: .utf8)
    }

    @Test func whatIsSavedIsReadBackInAFolderOfItsOwn() throws {
        let store = store()
        #expect(try store.save(Self.snapshot).get() == ())
        #expect(store.load() == .state(Self.snapshot))
        let text = try String(contentsOfFile: store.path, encoding: .utf8)
        #expect(text.hasSuffix("}\n") && text.split(separator: "\n").count == 1, "one JSON line: \(text)")
        let folder = String(store.path[..<store.path.lastIndex(of: "/")!])
        let mode = try FileManager.default.attributesOfItem(atPath: folder)[.posixPermissions] as? Int
        #expect(mode == 0o700)
        let empty = BreakCycle.Snapshot(
            savedAt: 1, timer: BreakTimer.Saved(worked: .zero, dueAt: .seconds(60), snoozed: false, paused: false,
                                                pausedUntil: nil, away: .zero),
            openBreak: nil, nextRoutine: nil)
        #expect(try store.save(empty).get() == ())
        #expect(store.load() == .state(empty), "replaced whole")
    }

    @Test func noFileIsAFreshStart() {
        #expect(store().load() == .none)
    }

    @Test(arguments: [
        ("{\"version\":1", "not a state file this version wrote"),
        ("garbage\n", "not a state file this version wrote"),
        (#"{"version":2,"saved_at":1,"worked":0,"due_at":0,"snoozed":false,"paused":false,"away":0}"#,
         "written by another version (state version 2, not 1)"),
        (#"{"version":1,"saved_at":1,"worked":-5,"due_at":0,"snoozed":false,"paused":false,"away":0}"#,
         "worked out of range (-5.0)"),
        (#"{"version":1,"saved_at":1,"worked":0,"due_at":1e300,"snoozed":false,"paused":false,"away":0}"#,
         "due_at out of range (1e+300)"),
        (#"{"version":1,"saved_at":0,"worked":0,"due_at":0,"snoozed":false,"paused":false,"away":0}"#,
         "saved_at out of range (0.0)"),
        (String(repeating: " ", count: 5000), "too large (more than 4096 bytes)"),
    ])
    func aCorruptOldOrHugeFileIsIgnoredAndSaysWhy(text: String, why: String) throws {
        let store = store()
        try write(text, to: store)
        #expect(store.load() == .ignored("\(store.path): \(why)"))
    }

    @Test func aFIFOInThePlaceOfTheFileIsIgnoredWithoutBlocking() throws {
        let store = store()
        try write("", to: store)
        unlink(store.path)
        #expect(mkfifo(store.path, 0o600) == 0)
        #expect(store.load() == .ignored("\(store.path): a FIFO (named pipe), not a regular file"))
        #expect(throws: (any Error).self) { try store.save(Self.snapshot).get() }
    }
}
