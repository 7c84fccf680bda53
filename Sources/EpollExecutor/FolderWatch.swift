import StretchSystem
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The one inotify reader: folders watched for what happens to names in them, read on an `EpollLoop` without
/// polling (an idle watch costs no wake-up). Each `next(on:)` drains the queue, however many events it holds, into
/// one `Changes`: a name touched many times counts once. One task uses a watch at a time.
///
/// A watched folder that goes away (removed, moved elsewhere, its file system unmounted) is reported once in
/// `Changes.foldersGone` and no longer watched: its path no longer leads to what is watched.
///
/// The corresponding C functions are `inotify_init1`, `inotify_add_watch` and `inotify_rm_watch`.
public final class FolderWatch {
    /// What can happen to a name in a folder: inotify's event bits.
    public struct Events: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let opened = Events(rawValue: UInt32(IN_OPEN))
        public static let closedAfterWriting = Events(rawValue: UInt32(IN_CLOSE_WRITE))
        public static let closedReadOnly = Events(rawValue: UInt32(IN_CLOSE_NOWRITE))
        public static let closed: Events = [.closedAfterWriting, .closedReadOnly]
        public static let created = Events(rawValue: UInt32(IN_CREATE))
        public static let deleted = Events(rawValue: UInt32(IN_DELETE))
        /// Renamed out of the folder (or to another name in it).
        public static let movedOut = Events(rawValue: UInt32(IN_MOVED_FROM))
        /// Renamed into the folder (or from another name in it).
        public static let movedIn = Events(rawValue: UInt32(IN_MOVED_TO))
        /// Mode, owner or times changed.
        public static let attributesChanged = Events(rawValue: UInt32(IN_ATTRIB))
    }

    /// What happened to one name: the last of its events in the batch.
    public struct Change: Sendable, Hashable {
        public var folder: String
        public var name: String
        public var event: Events

        public init(folder: String, name: String, event: Events) {
            self.folder = folder
            self.name = name
            self.event = event
        }
    }

    /// What the queue held when it was drained.
    public struct Changes: Sendable, Hashable {
        /// Each name watched for that something happened to, once, in the order they first came.
        public var names: [Change] = []
        /// The kernel's queue overflowed: events were lost, so anything watched may have changed.
        public var overflowed = false
        /// The watched folders that went away, no longer watched.
        public var foldersGone: [String] = []

        public init(names: [Change] = [], overflowed: Bool = false, foldersGone: [String] = []) {
            self.names = names
            self.overflowed = overflowed
            self.foldersGone = foldersGone
        }

        var isEmpty: Bool { names.isEmpty && !overflowed && foldersGone.isEmpty }
    }

    /// A watched folder: its path as given, the events asked for, the names they count for (nil: any).
    private struct Watched {
        var folder: String
        var events: Events
        var names: Set<String>?
    }

    private let fd: Int32
    /// The last `next(on:)` stopped reading with events left in the queue.
    private var cutShort = false
    static let readsPerBatch = 64
    /// Per watch descriptor.
    private var watches: [Int32: Watched] = [:]
    /// Room for many events at once (each 16 bytes and a name of at most NAME_MAX + 1), aligned as the kernel
    /// writes them.
    private let buffer = UnsafeMutableRawBufferPointer.allocate(
        byteCount: 16 * 1024, alignment: MemoryLayout<inotify_event>.alignment)

    /// An inotify instance that watches nothing yet.
    public init() throws(SystemCallError) {
        do {
            fd = try SystemCall.retrying("inotify_init1") { inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)) }
        } catch {
            buffer.deallocate()
            throw error
        }
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    /// Whether any folder is still watched.
    public var isWatching: Bool { !watches.isEmpty }

    /// Watches `folder` (which must be a folder) for `events` on `names` (nil: any name). Watching the same
    /// folder again adds to what it is watched for.
    public func watch(_ folder: String, for events: Events, names: Set<String>? = nil) throws(SystemCallError) {
        let mask = events.rawValue | UInt32(IN_DELETE_SELF | IN_MOVE_SELF) | UInt32(IN_ONLYDIR) | UInt32(IN_MASK_ADD)
        let descriptor = try SystemCall.retrying("inotify_add_watch") { inotify_add_watch(fd, folder, mask) }
        guard var watched = watches[descriptor] else {
            watches[descriptor] = Watched(folder: folder, events: events, names: names)
            return
        }
        watched.events.formUnion(events)
        watched.names = names.flatMap { names in watched.names?.union(names) }
        watches[descriptor] = watched
    }

    /// Waits for changes to the names watched for (or an overflow, or a folder gone), reads every event queued,
    /// and returns what they amount to; nil when the task is cancelled. Throws when the queue cannot be read or
    /// waited for.
    ///
    /// A queue that refills as fast as it is read (a program opening a watched folder's files in a loop) is read
    /// `readsPerBatch` times at most before the loop's other tasks get their turn.
    public func next(on loop: EpollLoop) async throws(SystemCallError) -> Changes? {
        while !Task.isCancelled {
            if cutShort { await Task.yield() }
            var batch = Batch()
            var reads = 0
            while reads < Self.readsPerBatch, try readQueued(into: &batch) { reads += 1 }
            cutShort = reads == Self.readsPerBatch
            if !batch.changes.isEmpty { return batch.changes }
            if cutShort { continue }
            do {
                try await loop.waitReadable(fd)
            } catch let error as SystemCallError {
                throw error
            } catch {
                return nil
            }
        }
        return nil
    }

    /// The changes being drained, and where each name's change is in them (per watch descriptor).
    private struct Batch {
        var changes = Changes()
        var positions: [Int32: [String: Int]] = [:]
    }

    /// Reads one bufferful of events into `batch`; false when none was queued.
    private func readQueued(into batch: inout Batch) throws(SystemCallError) -> Bool {
        let count: Int
        do {
            count = try SystemCall.retrying("read") { read(fd, buffer.baseAddress, buffer.count) }
        } catch where error.errno == .resourceTemporarilyUnavailable {
            return false
        }
        var offset = 0
        let header = MemoryLayout<inotify_event>.size
        // The kernel writes whole events; a count that ends inside one is not trusted past it.
        while count - offset >= header {
            let event = buffer.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
            let end = offset + header + Int(event.len)
            guard end <= count else { break }
            // The name is padded with NULs to the length the kernel chose.
            let name = String(decoding: buffer[(offset + header)..<end].prefix { $0 != 0 }, as: UTF8.self)
            offset = end
            record(event, name: name, in: &batch)
        }
        return count > 0
    }

    private func record(_ event: inotify_event, name: String, in batch: inout Batch) {
        if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
            batch.changes.overflowed = true
            return
        }
        // Events of a folder already reported gone (the `IN_IGNORED` that follows its removal) are dropped.
        guard let watched = watches[event.wd] else { return }
        if event.mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED) != 0 {
            watches[event.wd] = nil
            // A folder moved elsewhere would still be watched there.
            if event.mask & UInt32(IN_IGNORED) == 0 { inotify_rm_watch(fd, event.wd) }
            batch.changes.foldersGone.append(watched.folder)
            return
        }
        let happened = Events(rawValue: event.mask).intersection(watched.events)
        guard !name.isEmpty, !happened.isEmpty, watched.names?.contains(name) ?? true else { return }
        if let index = batch.positions[event.wd]?[name] {
            batch.changes.names[index].event = happened
        } else {
            batch.positions[event.wd, default: [:]][name] = batch.changes.names.count
            batch.changes.names.append(Change(folder: watched.folder, name: name, event: happened))
        }
    }
}
