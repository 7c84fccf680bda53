import ALSA
import Clocks
import ControlProtocol
import Foundation
import InMemoryLogging
import Logging
import StretchConfig
import StretchCore
import StretchDaemon
import StretchSettings
import Synchronization
import TestSupport

/// Local time that moves with a test clock from `origin`; the test can suspend the machine or move the
/// wall clock.
final class TestTime: TimeSource, Sendable {
    let clock: TestClock<Duration>
    let origin: CivilTime
    private let state = Mutex((suspended: Duration.zero, wallShift: Duration.zero))

    init(clock: TestClock<Duration>, origin: CivilTime) {
        self.clock = clock
        self.origin = origin
    }

    var elapsed: Duration { TestClock<Duration>.Instant().duration(to: clock.now) }

    func now() -> Moment {
        let (suspended, shift) = state.withLock { ($0.suspended, $0.wallShift) }
        return Moment(awake: elapsed - suspended, elapsed: elapsed, local: origin.adding(elapsed + shift))
    }

    func duration(until local: CivilTime) -> Duration {
        max(.zero, now().local.duration(to: local))
    }

    func unixTime() -> Double { 1_800_000_000 + elapsed.inSeconds }

    /// The next stretch of clock time passes with the machine asleep.
    func willSuspend(for duration: Duration) { state.withLock { $0.suspended += duration } }

    func moveWallClock(by shift: Duration) { state.withLock { $0.wallShift += shift } }
}

/// Sound that works, or a missing device.
struct FakeAudio: BreakAudio {
    var works = true

    func chime() async throws(ALSAError) {
        guard works else { throw ALSAError(function: "snd_pcm_open", code: -2) }
    }

    func sessionStream() throws(ALSAError) -> any StreamOutput {
        throw ALSAError(function: "snd_pcm_open", code: -2)
    }
}

/// A daemon on a test clock, driven sleep by sleep.
struct DaemonHarness {
    let clock = TestClock()
    let time: TestTime
    let daemon: Daemon<TestClock<Duration>>
    let log = InMemoryLogHandler()
    let history: HistoryStore
    private var activity: AsyncStream<Daemon<TestClock<Duration>>.Activity>.Iterator
    private(set) var reminders: [(at: CivilTime, routine: String)] = []
    /// A sleep already reported but not yet handed to the test (a command's reply waited for it).
    private var pendingSleep: Duration?
    let running: Task<Void, any Error>

    /// Monday 2026-11-23 at `hour:minute`.
    static func monday(_ hour: Int, _ minute: Int = 0) -> CivilTime {
        CivilTime(year: 2026, month: 11, day: 23, hour: hour, minute: minute)
    }

    init(
        start: CivilTime = monday(9), config: DaemonConfig = .defaults, audio: FakeAudio = FakeAudio(),
        reload: @escaping @Sendable () -> Result<DaemonSettings, ConfigError> = { .failure(ConfigError([])) }
    ) throws {
        time = TestTime(clock: clock, origin: start)
        history = HistoryStore(path: NSTemporaryDirectory() + "history-\(UUID().uuidString).jsonl")
        let routines = config.routines.compactMap { RoutineLibrary().routine(id: $0) }
        let handler = log
        daemon = Daemon(
            settings: DaemonSettings(config: config, routines: routines, warnings: []), loadSettings: reload,
            makeAudio: { _ in audio }, clock: clock, time: time, history: history, notifier: nil, systemd: nil,
            logger: Logger(label: "test") { _ in handler })
        activity = daemon.activity.makeAsyncIterator()
        running = Task { [daemon] in try await daemon.run() }
    }

    /// Waits for the daemon to go to sleep, recording what it did before, and returns how long it sleeps.
    mutating func nextSleep() async -> Duration? {
        if let pendingSleep {
            self.pendingSleep = nil
            return pendingSleep
        }
        while let event = await activity.next() {
            switch event {
            case .sleeping(let duration):
                await clock.waitForSleeper()
                return duration
            case .reminded(let routine): reminders.append((time.now().local, routine))
            default: break
            }
        }
        return nil
    }

    /// Lets the daemon sleep, wake and sleep again until the wall clock shows `end`.
    mutating func run(until end: CivilTime) async {
        while let sleep = await nextSleep() {
            let left = time.now().local.duration(to: end)
            if sleep >= left {
                await clock.advance(by: left)
                return
            }
            await clock.advance(by: sleep)
        }
    }

    /// Sends a command, then waits for the daemon to settle back to sleep.
    mutating func command(_ command: Command, duration: String? = nil) async -> ControlReply {
        let reply = await daemon.handle(ControlRequest(command: command, duration: duration))
        pendingSleep = nil
        pendingSleep = await nextSleep()
        return reply
    }

    mutating func stop() async throws {
        running.cancel()
        while await activity.next() != nil {}
        try await running.value
        try await clock.checkSuspension()
    }
}
