import DBus
@testable import EpollExecutor
import Foundation
import InMemoryLogging
import Logging
@testable import StretchDesktop
import Synchronization
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Sleeps that last until the test ends them: the delayed reads after a close, held.
final class HeldSleeps: Sendable {
    private let stream: AsyncStream<CheckedContinuation<Void, Never>>
    private let feed: AsyncStream<CheckedContinuation<Void, Never>>.Continuation

    init() { (stream, feed) = AsyncStream.makeStream() }

    func sleep(_ delay: Duration) async throws {
        await withCheckedContinuation { feed.yield($0) }
        try Task.checkCancellation()
    }

    /// The next sleep that started, to end it.
    func next() async -> CheckedContinuation<Void, Never>? {
        var iterator = stream.makeAsyncIterator()
        return await iterator.next()
    }
}

/// A devices folder and a /proc/asound stand-in in a temporary folder, and what CallWatch needs around them.
struct SoundFolders {
    let root: String
    var devices: String { root + "/snd" }
    var asound: String { root + "/asound" }

    init() throws {
        root = try URLPath.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: devices, withIntermediateDirectories: true)
    }

    /// Writes the status of substream 0 of capture device `card`,`device`.
    func status(card: Int = 0, device: Int = 0, _ text: String) throws {
        let folder = "\(asound)/card\(card)/pcm\(device)c/sub0"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try text.write(toFile: folder + "/status", atomically: true, encoding: .utf8)
    }

    /// Creates a node (a regular file standing in for the device).
    func node(_ name: String) {
        let fd = Glibc.open(devices + "/" + name, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
        close(fd)
    }

    /// Opens a node, as a program using the device does; close the descriptor to end it.
    func open(_ name: String) -> Int32 { Glibc.open(devices + "/" + name, O_RDONLY | O_CLOEXEC) }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}

@Suite(.timeLimit(.minutes(1)))
struct CallWatchMicrophoneTests {
    static let running = "state: RUNNING\nowner_pid   : 4242\ntrigger_time: 1.0\n"

    /// No D-Bus here: the GNOME part finds no bus and logs it.
    func noBuses(_ loop: EpollLoop, _ log: InMemoryLogHandler) -> BusConnections {
        // No address either: nothing to wait for, so the bus is given up on (logged once).
        BusConnections(loop: loop, logger: log.asLogger, open: { _, _ throws(BusError) in
            throw BusError(function: "sd_bus_open_user", code: ENOENT)
        }, address: { _ in nil })
    }

    @Test func aCaptureNodeOpenedOrClosedIsReadThroughInotifyAndPlaybackIsIgnored() async throws {
        let loop = EpollLoop()
        loop.startThread()
        defer { loop.stop() }
        let folders = try SoundFolders()
        defer { folders.remove() }
        try folders.status("closed\n")
        for name in ["pcmC0D0c", "pcmC0D0p", "controlC0"] { folders.node(name) }
        let events = RecordedEvents(), log = InMemoryLogHandler(), sleeps = HeldSleeps()
        let watch = CallWatch(
            buses: noBuses(loop, log), events: events, logger: log.asLogger, loop: loop, devices: folders.devices,
            procAsound: folders.asound, recheckDelays: [.milliseconds(250)], sleep: { try await sleeps.sleep($0) })
        let running = Task { await watch.run() }
        defer { running.cancel() }
        let microphone = "microphone hw:0,0"

        // At start, each capture device is read once.
        #expect(await events.nextUnlessCancelled() == .call(source: microphone, on: false))

        // Opened while running: on. Closed once its status says closed: off.
        try folders.status(Self.running)
        let capture = folders.open("pcmC0D0c")
        #expect(await events.nextUnlessCancelled() == .call(source: microphone, on: true))
        try folders.status("closed\n")
        close(capture)
        #expect(await events.nextUnlessCancelled() == .call(source: microphone, on: false))

        // Playback and control nodes wake nothing, even while the capture device reads running.
        try folders.status(Self.running)
        for name in ["pcmC0D0p", "controlC0"] { close(folders.open(name)) }
        // A device plugged in after the start: read when its node appears (the next event, so nothing came before).
        try folders.status(card: 1, "closed\n")
        folders.node("pcmC1D0c")
        #expect(await events.nextUnlessCancelled() == .call(source: "microphone hw:1,0", on: false))
        #expect(await events.pending() == [])

        // The kernel reports a close before the device is released: a close that still reads running is read
        // again after a delay.
        let again = folders.open("pcmC0D0c")
        #expect(await events.nextUnlessCancelled() == .call(source: microphone, on: true))
        close(again)
        let delayed = await sleeps.next()
        #expect(await events.pending() == [])
        try folders.status("closed\n")
        delayed?.resume()
        #expect(await events.nextUnlessCancelled() == .call(source: microphone, on: false))

        // A device unplugged while in use is off.
        try folders.status(card: 1, Self.running)
        let unplugged = folders.open("pcmC1D0c")
        #expect(await events.nextUnlessCancelled() == .call(source: "microphone hw:1,0", on: true))
        try FileManager.default.removeItem(atPath: folders.asound + "/card1")
        unlink(folders.devices + "/pcmC1D0c")
        #expect(await events.nextUnlessCancelled() == .call(source: "microphone hw:1,0", on: false))
        close(unplugged)

        running.cancel()
        await running.value
    }

    @Test func noDevicesFolderIsLoggedOnceAndTheWatchEndsOnlyWhenCancelled() async throws {
        let loop = EpollLoop()
        loop.startThread()
        defer { loop.stop() }
        let events = RecordedEvents(), log = InMemoryLogHandler()
        let watch = CallWatch(
            buses: noBuses(loop, log), events: events, logger: log.asLogger, loop: loop,
            devices: "/nonexistent/stretchd-test/snd", procAsound: "/nonexistent/stretchd-test/asound")
        let running = Task { await watch.run() }
        #expect(await yieldsUntil { log.infos.contains("microphones not watched: no /nonexistent/stretchd-test/snd (no sound card)") })
        #expect(await yieldsUntil { log.infos.contains { $0.hasPrefix("D-Bus session bus unavailable") } })
        running.cancel()
        await running.value
        #expect(await yieldsUntil { log.infos.contains { $0.contains("will not reconnect") } })
        #expect(log.infos.count == 3, "each once: \(log.infos)")
        #expect(await events.pending() == [])
    }

    @Test func onlyCapturePCMNodeNamesAreCaptureDevices() {
        #expect(CallWatch.CaptureDevice(node: "pcmC0D0c")?.source == "microphone hw:0,0")
        #expect(CallWatch.CaptureDevice(node: "pcmC12D3c")?.source == "microphone hw:12,3")
        for name in ["pcmC0D0p", "controlC0", "pcmCD0c", "pcmC0Dc", "pcmC0D0cc", "pcmCxD0c", "pcmC+1D0c", "pcmC1D-0c", "pcmC0D0", "timer", "seq", "hwC0D0"] {
            #expect(CallWatch.CaptureDevice(node: name) == nil, "\(name)")
        }
    }
}

@Suite(.needsPrivateBus, .timeLimit(.minutes(1)))
struct CallWatchInhibitorTests {
    static let manager = "org.gnome.SessionManager"
    static let path = "/org/gnome/SessionManager"

    @Test func gnomesIdleInhibitionIsReadAtStartAndAtEachInhibitorAddedOrRemoved() async throws {
        let bus = try DesktopMockBus()
        defer { bus.stop() }
        try await bus.mocks.startMock(name: Self.manager, path: Self.path, interface: Self.manager)
        func inhibited(_ code: String) async throws {
            // AddMethod(interface, name, in signature, out signature, code) replaces the method.
            try await bus.mocks.call(Self.manager, Self.path, "AddMethod", [.string(Self.manager), "IsInhibited", "u", "b", .string(code)])
        }
        func signal(_ name: String) async throws {
            try await bus.mocks.emit(Self.manager, Self.path, interface: Self.manager, name, "o", [.objectPath("/org/gnome/SessionManager/Inhibitor7")])
        }
        try await inhibited("ret = False")
        let events = RecordedEvents()
        let watch = CallWatch(
            buses: bus.buses, events: events, logger: bus.logger, loop: bus.loop,
            devices: "/nonexistent/stretchd-test/snd", procAsound: "/nonexistent/stretchd-test/asound")
        let running = Task { await watch.run() }
        defer { running.cancel() }
        let source = "GNOME idle inhibitor"
        #expect(await events.nextUnlessCancelled() == .call(source: source, on: false))

        // Only the idle flag (8) answers true: the watch asks for idle.
        try await inhibited("ret = args[0] == 8")
        try await signal("InhibitorAdded")
        #expect(await events.nextUnlessCancelled() == .call(source: source, on: true))
        try await inhibited("ret = False")
        try await signal("InhibitorRemoved")
        #expect(await events.nextUnlessCancelled() == .call(source: source, on: false))

        // The session manager exits while inhibited: off.
        try await inhibited("ret = True")
        try await signal("InhibitorAdded")
        #expect(await events.nextUnlessCancelled() == .call(source: source, on: true))
        try await bus.mocks.stopMocks(owning: Self.manager)
        #expect(await events.nextUnlessCancelled() == .call(source: source, on: false))
        #expect(await events.pending() == [])
        running.cancel()
        await running.value
    }
}

/// Not a test but a measurement, run by hand: `STRETCHD_MEASURE_QUIET_IDLE=60 swift test --skip-build --filter
/// theWatchesIdle` runs DoNotDisturbWatch and CallWatch on one loop (a notification server with Inhibited and
/// paused, a GNOME Shell, a session manager and a stand-in /dev/snd with a capture node), waits for their first
/// reports, and prints how often the loop's thread was switched to over that many seconds; 0 means it never woke.
@Suite(.measurementOnPrivateBus("STRETCHD_MEASURE_QUIET_IDLE"))
struct QuietIdleMeasurement {
    @Test func theWatchesIdle() async throws {
        let seconds = Int(ProcessInfo.processInfo.environment["STRETCHD_MEASURE_QUIET_IDLE"] ?? "") ?? 60
        let bus = try DesktopMockBus()
        defer { bus.stop() }
        let template = try DoNotDisturbWatchTests.serverTemplate(in: bus.mocks.bus.directory)
        try await bus.mocks.startMock(["--template", template], owning: "org.freedesktop.Notifications")
        try await bus.mocks.startMock(name: "org.gnome.Shell", path: "/org/gnome/Shell", interface: "org.gnome.Shell")
        try await bus.mocks.startMock(name: "org.gnome.SessionManager", path: "/org/gnome/SessionManager", interface: "org.gnome.SessionManager")
        try await bus.mocks.call("org.gnome.SessionManager", "/org/gnome/SessionManager", "AddMethod", ["org.gnome.SessionManager", "IsInhibited", "u", "b", "ret = False"])
        let folders = try SoundFolders()
        defer { folders.remove() }
        try folders.status("closed\n")
        folders.node("pcmC0D0c")
        let events = RecordedEvents()
        let quiet = DoNotDisturbWatch(buses: bus.buses, events: events, logger: bus.logger) { true }
        let calls = CallWatch(
            buses: bus.buses, events: events, logger: bus.logger, loop: bus.loop, devices: folders.devices,
            procAsound: folders.asound)
        // STRETCHD_MEASURE_QUIET_BASELINE=1: the same without the watches, to tell what the rest costs.
        let baseline = ProcessInfo.processInfo.environment["STRETCHD_MEASURE_QUIET_BASELINE"] != nil
        let running = Task(executorPreference: bus.loop.taskExecutor) {
            guard !baseline else { return }
            async let a: Void = quiet.run()
            async let b: Void = calls.run()
            _ = await (a, b)
        }
        defer { running.cancel() }
        // KDE, dunst, GNOME, the microphone and the inhibitor, once each.
        for _ in 0..<(baseline ? 0 : 5) { _ = await events.nextUnlessCancelled() }
        let thread = try await Task(executorPreference: bus.loop.taskExecutor) {
            try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")
        }.value
        func switches() throws -> Int {
            let status = try String(contentsOfFile: "/proc/\(thread)/status", encoding: .utf8)
            var total = 0
            for line in status.split(separator: "\n") where line.contains("ctxt_switches:") {
                total += Int(line.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "") ?? 0
            }
            return total
        }
        /// Every thread of the test process, those that ended included (the relays of merged signal streams run
        /// on the global executor here).
        func processSwitches() -> Int {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            return usage.ru_nvcsw + usage.ru_nivcsw
        }
        #expect(await yieldsUntil { bus.loop.isParked && bus.loop.pendingTimerCount == 0 })
        let before = try switches(), processBefore = processSwitches()
        try await Task.sleep(for: .seconds(seconds))
        let after = try switches(), processAfter = processSwitches()
        print("quiet idle: the loop thread running DoNotDisturbWatch and CallWatch was switched to \(after - before) times in \(seconds) s")
        print("quiet idle: all the test process's threads together: \(processAfter - processBefore) switches (the test's own sleep ends once)")
        #expect(await events.pending() == [])
    }
}
