import DBus
import EpollExecutor
import Logging
import ServiceLifecycle
import StretchSystem
import Synchronization
import SystemPackage

/// Watches for signs of a call and reports each through `DesktopEvents.callChanged(source:on:)`:
///
/// - "microphone hw:C,D": an ALSA capture device in use. inotify on the devices folder (`/dev/snd`) reports opens
///   and closes of its `pcmC<card>D<device>c` nodes (playback `p` nodes and control nodes are ignored: the daemon's
///   own playback wakes nothing but the read of that event); after those that came together (`FolderWatch`), the
///   device's substream `status` files in `/proc/asound/card<card>/pcm<device>c/sub*/` are read once: in use while
///   any of them is not `closed`. The kernel sends the close event before the device is released, so a close that
///   still reads "in use" is read again 0.25 s and 2 s later (only then: nothing is read while nothing happens).
/// - "GNOME idle inhibitor": gnome-session's `IsInhibited(8)` (idle), read at start and at each `InhibitorAdded` or
///   `InhibitorRemoved` signal: a call in a browser or a meeting app inhibits idle (so does a video playing).
///
/// A microphone that bypasses `/dev/snd` (a Bluetooth headset, which PipeWire reaches over the Bluetooth socket) is
/// not seen; with PipeWire or PulseAudio, a capture device stays open (in use) for a few seconds after the last
/// recording client stops.
public struct CallWatch: Service {
    private let buses: BusConnections
    private let events: any DesktopEvents
    private let logger: Logger
    private let loop: EpollLoop
    private let devices: String
    private let procAsound: String
    private let absences: AbsenceLog
    /// After a close that still reads "in use", the delays (each from the one before) of the reads that follow.
    private let recheckDelays: [Duration]
    private let sleep: @Sendable (Duration) async throws -> Void

    static let sessionManager = "org.gnome.SessionManager"
    static let sessionManagerPath = "/org/gnome/SessionManager"
    /// gnome-session's `GSM_INHIBITOR_FLAG_IDLE`.
    static let idleFlag: UInt32 = 8

    public init(
        buses: BusConnections, events: any DesktopEvents, logger: Logger, loop: EpollLoop,
        devices: String = "/dev/snd", procAsound: String = "/proc/asound"
    ) {
        self.init(
            buses: buses, events: events, logger: logger, loop: loop, devices: devices, procAsound: procAsound,
            recheckDelays: [.milliseconds(250), .milliseconds(1750)],
            sleep: { [loop] delay in try await loop.sleep(until: .now + delay) })
    }

    /// `sleep` waits between the reads after a close (tests hold it).
    init(
        buses: BusConnections, events: any DesktopEvents, logger: Logger, loop: EpollLoop, devices: String,
        procAsound: String, recheckDelays: [Duration], sleep: @escaping @Sendable (Duration) async throws -> Void
    ) {
        self.buses = buses
        self.events = events
        self.logger = logger
        self.loop = loop
        self.devices = devices
        self.procAsound = procAsound
        self.absences = AbsenceLog(logger: logger)
        self.recheckDelays = recheckDelays
        self.sleep = sleep
    }

    /// Watches until the task is cancelled or a graceful shutdown begins: nothing needs finishing first.
    public func run() async {
        _ = try? await cancelWhenGracefulShutdown { await self.watch() }
    }

    /// Watches the microphones and GNOME's idle inhibitors until cancelled.
    private func watch() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await watchMicrophones() }
            group.addTask {
                for await connection in buses.connections(.session) { await watchInhibitors(connection) }
            }
        }
        await untilCancelled()
    }

    // MARK: Microphones

    /// An ALSA capture device: its node is `pcmC<card>D<device>c`.
    struct CaptureDevice: Sendable, Hashable, Comparable {
        var card: Int
        var device: Int

        /// The device a node name names; nil for anything but a capture PCM node.
        init?(node name: String) {
            guard name.hasPrefix("pcmC"), name.hasSuffix("c") else { return nil }
            let numbers = name.dropFirst(4).dropLast().split(separator: "D", omittingEmptySubsequences: false)
            guard numbers.count == 2, numbers.allSatisfy({ !$0.isEmpty && $0.count < 6 && $0.allSatisfy { ("0"..."9").contains($0) } }),
                  let card = Int(numbers[0]), let device = Int(numbers[1]), card >= 0, device >= 0
            else { return nil }
            self.card = card
            self.device = device
        }

        var node: String { "pcmC\(card)D\(device)c" }
        var source: String { "microphone hw:\(card),\(device)" }

        static func < (lhs: Self, rhs: Self) -> Bool { (lhs.card, lhs.device) < (rhs.card, rhs.device) }
    }

    /// What the devices folder's reader and the delayed reads hand to the one task that reads and reports, in
    /// order.
    private enum Work: Sendable {
        /// The last thing that happened to a device's node since the folder was last read.
        case event(CaptureDevice, FolderWatch.Events)
        case recheck(CaptureDevice, generation: Int)
        /// Every capture node read afresh: at start, and after the kernel's queue overflowed (events were lost).
        case rescan
        /// The folder itself went away (deleted, moved, unmounted).
        case folderGone
    }

    private func watchMicrophones() async {
        let (work, feed) = AsyncStream<Work>.makeStream()
        let microphones = Microphones(watch: self, feed: feed)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await readEvents(feed)
                feed.finish()
            }
            for await item in work {
                if await microphones.handle(item) { break }
            }
            group.cancelAll()
        }
        await microphones.end(cancelled: Task.isCancelled)
    }

    /// Watches the devices folder and hands what happens there to `feed`, until the folder goes, reading fails or
    /// the task is cancelled.
    private func readEvents(_ feed: AsyncStream<Work>.Continuation) async {
        let folder: FolderWatch
        do {
            folder = try FolderWatch()
        } catch {
            logger.info("microphones not watched: \(error)")
            return
        }
        do {
            try folder.watch(devices, for: [.opened, .closed, .created, .deleted, .movedOut, .movedIn])
        } catch {
            if error.errno == .noSuchFileOrDirectory {
                logger.info("microphones not watched: no \(devices) (no sound card)")
            } else {
                logger.info("microphones not watched: \(devices): \(error)")
            }
            return
        }
        // Watched first, then read: a change from now on comes as an event.
        feed.yield(.rescan)
        while true {
            let changes: FolderWatch.Changes
            do {
                guard let next = try await folder.next(on: loop) else { return }
                changes = next
            } catch {
                logger.info("microphones no longer watched: reading inotify events: \(error)")
                return
            }
            if !changes.foldersGone.isEmpty {
                feed.yield(.folderGone)
                return
            }
            // Lost events: whatever came with them is read afresh anyway.
            if changes.overflowed {
                feed.yield(.rescan)
                continue
            }
            for change in changes.names {
                if let device = CaptureDevice(node: change.name) { feed.yield(.event(device, change.event)) }
            }
        }
    }

    /// The capture devices' reported states, touched only by the task that handles `Work` (and the delayed reads'
    /// tasks, which only hand work back).
    private final class Microphones: @unchecked Sendable {
        // @unchecked: every field is used by that one task, in turn.
        let watch: CallWatch
        let feed: AsyncStream<Work>.Continuation
        var reports: [CaptureDevice: LastReport] = [:]
        /// Per device, the delayed reads after a close, and which round of them is current.
        var rechecks: [CaptureDevice: (generation: Int, task: Task<Void, Never>)] = [:]
        var generation = 0

        init(watch: CallWatch, feed: AsyncStream<Work>.Continuation) {
            self.watch = watch
            self.feed = feed
        }

        /// Handles one piece of work; true when watching is over.
        func handle(_ work: Work) async -> Bool {
            switch work {
            case .event(let device, let event):
                if !event.isDisjoint(with: [.deleted, .movedOut]) {
                    cancelRecheck(device)
                    await reports.removeValue(forKey: device)?.update(nil)
                } else {
                    await check(device, afterClose: !event.isDisjoint(with: .closed))
                }
            case .recheck(let device, let generation):
                guard rechecks[device]?.generation == generation else { return false }
                let inUse = watch.inUse(device)
                await report(device).update(inUse)
                if inUse != true { cancelRecheck(device) }
            case .rescan:
                await rescan()
            case .folderGone:
                watch.logger.info("microphones no longer watched: \(watch.devices) went away")
                return true
            }
            return false
        }

        /// Every capture node there now, read once; devices gone since are forgotten.
        private func rescan() async {
            let present = Set((Files.list(watch.devices, suffix: "c") ?? []).compactMap(CaptureDevice.init(node:)))
            for device in reports.keys where !present.contains(device) {
                cancelRecheck(device)
                await reports.removeValue(forKey: device)?.update(nil)
            }
            for device in present.sorted() { await check(device, afterClose: false) }
        }

        private func report(_ device: CaptureDevice) -> LastReport {
            if let report = reports[device] { return report }
            let events = watch.events, source = device.source
            let report = LastReport { on in await events.callChanged(source: source, on: on) }
            reports[device] = report
            return report
        }

        /// Reads the device's status and reports it; after a close that still reads "in use", reads it again later.
        private func check(_ device: CaptureDevice, afterClose: Bool) async {
            cancelRecheck(device)
            let inUse = watch.inUse(device)
            await report(device).update(inUse)
            guard afterClose, inUse == true, !watch.recheckDelays.isEmpty else { return }
            generation += 1
            let round = generation, delays = watch.recheckDelays, sleep = watch.sleep, feed = feed
            let task = Task(executorPreference: watch.loop.taskExecutor) {
                for delay in delays {
                    do { try await sleep(delay) } catch { return }
                    feed.yield(.recheck(device, generation: round))
                }
            }
            rechecks[device] = (round, task)
        }

        private func cancelRecheck(_ device: CaptureDevice) {
            rechecks.removeValue(forKey: device)?.task.cancel()
        }

        /// Watching ended: delayed reads are cancelled; unless the task was cancelled (shutdown), a device reported
        /// in use is reported off, as nothing will say when it is closed.
        func end(cancelled: Bool) async {
            for device in Array(rechecks.keys) { cancelRecheck(device) }
            guard !cancelled else { return }
            for report in reports.values { await report.update(nil) }
        }
    }

    /// Whether any substream of `device` is open (its `status` is not `closed`); nil when that cannot be read
    /// (logged once).
    func inUse(_ device: CaptureDevice) -> Bool? {
        let folder = "\(procAsound)/card\(device.card)/pcm\(device.device)c"
        let substreams = (Files.list(folder, suffix: "") ?? []).filter { $0.hasPrefix("sub") }
        var read = false
        for substream in substreams {
            switch Files.readText("\(folder)/\(substream)/status") {
            case .success(let status):
                read = true
                if status.split(whereSeparator: \.isWhitespace) != ["closed"] {
                    absences.present(folder)
                    return true
                }
            case .failure(let error):
                absences.missing(folder, "cannot tell whether \(device.source) is in use: \(error)")
            }
        }
        guard read else {
            if substreams.isEmpty {
                absences.missing(folder, "cannot tell whether \(device.source) is in use: no \(folder)/sub*/status")
            }
            return nil
        }
        absences.present(folder)
        return false
    }

    // MARK: GNOME's idle inhibitors

    private enum Signal: Sendable {
        case owner(NameOwnerChange)
        case inhibitors
    }

    private func watchInhibitors(_ connection: BusConnection) async {
        let events = events
        let reported = LastReport { on in await events.callChanged(source: "GNOME idle inhibitor", on: on) }
        let what = "GNOME idle inhibitor"
        func read() async -> Bool? {
            do {
                let reply = try await connection.call(
                    MethodCall(
                        destination: Self.sessionManager, path: Self.sessionManagerPath, interface: Self.sessionManager,
                        member: "IsInhibited", arguments: [.uint32(Self.idleFlag)]))
                guard let inhibited = reply.arguments.first?.bool else {
                    absences.missing(what, "GNOME idle inhibitors not followed: IsInhibited replied \(reply.signature)")
                    return nil
                }
                absences.present(what)
                return inhibited
            } catch {
                if !isEnding(error) {
                    absences.missing(what, "GNOME idle inhibitors not followed: \(error)")
                }
                return nil
            }
        }
        do {
            let (owner, owners) = try await connection.watchNameOwner(Self.sessionManager)
            func inhibitorSignal(_ member: String) async throws(BusError) -> AsyncThrowingStream<BusMessage, any Error> {
                try await connection.signals(
                    SignalMatch(
                        sender: Self.sessionManager, path: Self.sessionManagerPath, interface: Self.sessionManager,
                        member: member))
            }
            let added = try await inhibitorSignal("InhibitorAdded")
            let removed = try await inhibitorSignal("InhibitorRemoved")
            if owner != nil {
                await reported.update(await read())
            } else {
                absences.missing(what, "GNOME idle inhibitors not followed for now: no GNOME session manager on the session bus")
            }
            let signals = mergedStreams([
                relay(owners) { Signal.owner($0) },
                relay(added) { _ in Signal.inhibitors },
                relay(removed) { _ in Signal.inhibitors },
            ])
            for try await signal in signals {
                switch signal {
                case .owner(let change):
                    await reported.update(change.newOwner == nil ? nil : await read())
                case .inhibitors:
                    await reported.update(await read())
                }
            }
        } catch {
            if !isEnding(error) { absences.missing(what, "GNOME idle inhibitors not followed: \(error)") }
        }
        if !Task.isCancelled { await reported.update(nil) }
    }
}
