import ALSA
import Clocks
import ControlProtocol
import Foundation
import InMemoryLogging
import Logging
import StretchConfig
import StretchCore
import StretchHistory
@testable import StretchDaemon
import StretchSettings
import Synchronization
import TestSupport

/// Local time that moves with a test clock from `origin`; the test can suspend the machine or move the
/// wall clock. With `fallBackAt`, the wall clock goes back an hour once that much time has passed, as at the end
/// of daylight saving time, and `duration(until:)` answers as `mktime` does: a local time is taken in standard
/// time when it is one after the change.
final class TestTime: TimeSource, Sendable {
    let clock: TestClock<Duration>
    let origin: CivilTime
    let fallBackAt: Duration?
    private let state = Mutex((suspended: Duration.zero, wallShift: Duration.zero))

    init(clock: TestClock<Duration>, origin: CivilTime, fallBackAt: Duration? = nil) {
        self.clock = clock
        self.origin = origin
        self.fallBackAt = fallBackAt
    }

    var elapsed: Duration { TestClock<Duration>.Instant().duration(to: clock.now) }

    func now() -> Moment {
        let (suspended, shift) = state.withLock { ($0.suspended, $0.wallShift) }
        return Moment(awake: elapsed - suspended, elapsed: elapsed, local: local(at: elapsed, shift: shift))
    }

    private func local(at elapsed: Duration, shift: Duration) -> CivilTime {
        let fallenBack = fallBackAt.map { elapsed >= $0 } ?? false
        return origin.adding(elapsed + shift - (fallenBack ? .seconds(3600) : .zero))
    }

    func duration(until local: CivilTime) -> Duration {
        let shift = state.withLock { $0.wallShift }
        var at = origin.duration(to: local) - shift
        if let fallBackAt, at + .seconds(3600) >= fallBackAt { at += .seconds(3600) }
        return max(.zero, at - elapsed)
    }

    func unixTime() -> Double { 1_800_000_000 + elapsed.inSeconds }

    /// The next stretch of clock time passes with the machine asleep.
    func willSuspend(for duration: Duration) { state.withLock { $0.suspended += duration } }

    func moveWallClock(by shift: Duration) { state.withLock { $0.wallShift += shift } }

    /// The local time a record stamped `unixTime` was made at (by `unixTime()`).
    func local(unixTime: Double) -> CivilTime {
        local(at: .seconds(unixTime - 1_800_000_000), shift: state.withLock { $0.wallShift })
    }
}

/// Sound that works, or a missing device; with `sessions`, sessions play into a `CountingStream`.
struct FakeAudio: BreakAudio {
    var works = true
    var sessions = false
    /// With a voice: each prompt 1 s of a constant sample, by its text.
    var voice = false
    let stream = CountingStream()

    func voiced(_ plan: SessionPlan) async -> (plan: SessionPlan, speech: [String: [Int16]]) {
        guard voice else { return (plan, [:]) }
        let texts = SessionPlanner.spokenTexts(plan.routine)
        let speech = Dictionary(texts.map { ($0, [Int16](repeating: 1_000, count: 48_000)) }) { first, _ in first }
        return (SessionPlanner.plan(plan.routine, speech: SpeechTiming { _ in .seconds(1) }), speech)
    }

    func sessionStream(speaking speech: [String: [Int16]]) async throws(ALSAError) -> any StreamOutput {
        let stream = try sessionStream()
        self.stream.speak(speech)
        return stream
    }

    func chime() async throws(ALSAError) {
        stream.chimed()
        guard works, !stream.unplugged else { throw ALSAError(function: "snd_pcm_open", code: -2) }
    }

    func sessionStream() throws(ALSAError) -> any StreamOutput {
        guard sessions, !stream.unplugged else { throw ALSAError(function: "snd_pcm_open", code: -2) }
        return stream.open()
    }
}

/// A session's stream that plays nothing and counts: the frames written (at 48 kHz), the cues handed over, how
/// the session finished. A test can make the next fill hang, as a process stopped mid-write would.
final class CountingStream: StreamOutput, Sendable {
    let period = Duration.seconds(1)
    let lead = Duration.zero
    private let state = Mutex(State())

    struct State {
        var fills = 0
        var frames = 0
        var cues: [StreamCue] = []
        var prompts: [StreamPrompt] = []
        var speech: [String: [Int16]] = [:]
        var finished: SessionOutcome?
        var hangNextFill = false
        var hung: CheckedContinuation<Void, Never>?
        /// The harness's clock, and its time at the last fill.
        var clock: TestClock<Duration>?
        var lastFill: TestClock<Duration>.Instant?
        /// The harness's wall clock, and the times the reminder chime was asked for.
        var time: TestTime?
        var chimes: [CivilTime] = []
        /// The sound device is gone: the chime and sessions cannot open it.
        var unplugged = false
        /// Sessions opened so far; those opened and not finished; those that began to play and have not finished,
        /// and the most that ever played at once.
        var opened = 0
        var unfinished: Set<Int> = []
        var playing: Set<Int> = []
        var mostPlaying = 0
    }

    var chimes: [CivilTime] { state.withLock { $0.chimes } }

    func chimed() { state.withLock { $0.chimes.append($0.time?.now().local ?? CivilTime(day: 0, time: .zero)) } }

    var fills: Int { state.withLock { $0.fills } }
    var frames: Int { state.withLock { $0.frames } }
    var finished: SessionOutcome? { state.withLock { $0.finished } }
    var cues: [StreamCue] { state.withLock { $0.cues } }
    var prompts: [StreamPrompt] { state.withLock { $0.prompts } }
    var speech: [String: [Int16]] { state.withLock { $0.speech } }

    func speak(_ speech: [String: [Int16]]) { state.withLock { $0.speech = speech } }

    func fill(through streamTime: Duration, starting cues: [StreamCue], speaking prompts: [StreamPrompt]) async {
        state.withLock { $0.prompts += prompts }
        await fill(through: streamTime, starting: cues)
    }
    var isHung: Bool { state.withLock { $0.hung != nil } }

    var unplugged: Bool {
        get { state.withLock { $0.unplugged } }
        set { state.withLock { $0.unplugged = newValue } }
    }

    /// Sessions opened and not finished (a session abandoned before it played is finished by the daemon).
    var unfinishedSessions: Int { state.withLock { $0.unfinished.count } }
    /// The most sessions that ever played at once: more than one is two sessions heard together.
    var mostPlaying: Int { state.withLock { $0.mostPlaying } }

    /// Opens a session on this stream: it starts afresh, and what the session writes is told apart from what
    /// any other session writes.
    func open() -> any StreamOutput {
        let number = state.withLock { state in
            state = State(
                clock: state.clock, time: state.time, chimes: state.chimes, unplugged: state.unplugged,
                opened: state.opened + 1, unfinished: state.unfinished, playing: state.playing,
                mostPlaying: state.mostPlaying)
            state.unfinished.insert(state.opened)
            return state.opened
        }
        return Session(stream: self, number: number)
    }

    /// One session's stream: writes to the counting stream, noting which session plays.
    private struct Session: StreamOutput {
        let stream: CountingStream
        let number: Int
        var period: Duration { stream.period }
        var lead: Duration { stream.lead }

        func fill(through streamTime: Duration, starting cues: [StreamCue]) async {
            stream.plays(number)
            await stream.fill(through: streamTime, starting: cues)
        }

        func fill(through streamTime: Duration, starting cues: [StreamCue], speaking prompts: [StreamPrompt]) async {
            stream.plays(number)
            await stream.fill(through: streamTime, starting: cues, speaking: prompts)
        }

        func finish(_ outcome: SessionOutcome) async {
            stream.state.withLock { _ = ($0.unfinished.remove(number), $0.playing.remove(number)) }
            await stream.finish(outcome)
        }
    }

    private func plays(_ session: Int) {
        state.withLock { state in
            state.playing.insert(session)
            state.mostPlaying = max(state.mostPlaying, state.playing.count)
        }
    }

    func attach(_ clock: TestClock<Duration>, _ time: TestTime) { state.withLock { ($0.clock, $0.time) = (clock, time) } }

    /// Whether a session runs and has not yet done its fill for the clock's current period: it is behind.
    var isBehind: Bool {
        state.withLock { state in
            guard let clock = state.clock, let lastFill = state.lastFill, state.finished == nil, state.hung == nil,
                  !state.hangNextFill
            else { return false }
            return lastFill.duration(to: clock.now) >= period
        }
    }

    func fill(through streamTime: Duration, starting cues: [StreamCue]) async {
        let hang = state.withLock { state in
            state.fills += 1
            state.lastFill = state.clock?.now
            state.frames = Int((streamTime.inSeconds * 48_000).rounded())
            state.cues += cues
            defer { state.hangNextFill = false }
            return state.hangNextFill
        }
        if hang { await withCheckedContinuation { continuation in state.withLock { $0.hung = continuation } } }
    }

    func finish(_ outcome: SessionOutcome) async { state.withLock { $0.finished = outcome } }

    /// The next fill does not return until `release()`.
    func hangNextFill() { state.withLock { $0.hangNextFill = true } }

    /// Waits until the fill `hangNextFill()` asked for has begun and hangs: time advanced before then would pass
    /// before the stall, and a `release()` before then would release nothing.
    func untilHung() async {
        while state.withLock({ $0.hung == nil }) { await Task.yield() }
    }

    func release() {
        let hung = state.withLock { state in
            defer { state.hung = nil }
            return state.hung
        }
        hung?.resume()
    }
}

/// A daemon on a test clock, driven sleep by sleep: after each step the harness waits for the daemon's loop to
/// settle (`Daemon.settled()`: every input handled, every record written, nothing begun beside the loop still
/// out, no timer overdue), so a test never races it.
struct DaemonHarness {
    let clock = TestClock()
    let time: TestTime
    let daemon: Daemon<TestClock<Duration>>
    let log = InMemoryLogHandler()
    let history: HistoryStore
    let stream: CountingStream
    let running: Task<Void, any Error>
    /// What the daemon asked of the desktop, in order.
    let desktop: DesktopAsked

    /// Monday 2026-11-23 at `hour:minute`.
    static func monday(_ hour: Int, _ minute: Int = 0) -> CivilTime {
        CivilTime(year: 2026, month: 11, day: 23, hour: hour, minute: minute)
    }

    /// `routines`: the routines breaks take, instead of the built-in ones `config` names.
    init(
        start: CivilTime = monday(9), fallBackAt: Duration? = nil, config: DaemonConfig = .defaults,
        routines: [Routine]? = nil, audio: FakeAudio = FakeAudio(), history lines: [String] = [],
        reload: @escaping @Sendable () -> Result<DaemonSettings, ConfigError> = { .failure(ConfigError([])) }
    ) throws {
        time = TestTime(clock: clock, origin: start, fallBackAt: fallBackAt)
        audio.stream.attach(clock, time)
        stream = audio.stream
        history = HistoryStore(path: NSTemporaryDirectory() + "history-\(UUID().uuidString).jsonl")
        if !lines.isEmpty {
            try (lines.joined(separator: "\n") + "\n").write(toFile: history.path, atomically: true, encoding: .utf8)
        }
        let routines = routines ?? config.routines.compactMap { RoutineLibrary().routine(id: $0) }
        let handler = log
        daemon = Daemon(
            settings: DaemonSettings(config: config, routines: routines, warnings: []), loadSettings: reload,
            makeAudio: { _ in audio }, clock: clock, time: time, history: history, systemd: nil,
            logger: Logger(label: "test") { _ in handler })
        running = Task { [daemon] in try await daemon.run() }
        desktop = DesktopAsked(daemon.desktopRequests)
    }

    /// The reminders so far: when each chime was asked for (by the test's wall clock), and the routine the log
    /// line of each reminder names.
    var reminders: [(at: CivilTime, routine: String)] {
        let routines = log.entries.filter { $0.message == "break due: time to stretch" }.map { "\($0.metadata["routine"] ?? "")" }
        return Array(zip(stream.chimes, routines))
    }

    /// Waits for the daemon to settle, and returns how long it then sleeps.
    func nextSleep() async -> Duration? {
        let sleep = await daemon.settled()
        // The loop's timer may not have begun its sleep yet: a test clock moved before then, to that very
        // deadline, keeps the sleep until its next move, and the timer would never go off.
        if sleep > .zero { await clock.waitForSleeper() }
        return sleep
    }

    /// Waits until the session ends, and returns how.
    func sessionEnd() async -> SessionOutcome? {
        // The session's end reaches the loop as an input once its scheduler returns: a few turns at most.
        for _ in 0..<10_000 {
            _ = await daemon.settled()
            if let finished = stream.finished, await daemon.status().session == nil {
                // Its record is written beside the loop.
                _ = await daemon.settled()
                return finished
            }
            await Task.yield()
        }
        return nil
    }

    /// Lets `duration` pass a second at a time, waiting for a running session to catch up after each, so that
    /// none of its wake-ups is late however busy the machine running the tests is.
    func pass(_ duration: Duration) async {
        var left = duration
        while left > .zero {
            let step = min(left, .seconds(1))
            await clock.advance(by: step)
            left -= step
            // Advancing by nothing lets the session run, and wakes a sleep it started only now for this very
            // instant (TestClock keeps such a sleep until the next advance, so a plain yield could wait forever).
            while stream.isBehind { await clock.advance(by: .zero) }
        }
    }

    /// Lets the daemon sleep, wake and sleep again until the wall clock shows `end`.
    func run(until end: CivilTime) async {
        while let sleep = await nextSleep() {
            let left = time.now().local.duration(to: end)
            if sleep >= left || sleep == .zero {
                await clock.advance(by: max(.zero, left))
                _ = await nextSleep()
                return
            }
            await clock.advance(by: sleep)
        }
    }

    /// Sends a command, then waits for the daemon to settle.
    func command(_ request: ControlRequest) async -> ControlReply {
        let reply = await daemon.handle(request)
        _ = await daemon.settled()
        return reply
    }

    /// Waits for the daemon to settle after a desktop report or a change of time.
    func settle() async {
        _ = await daemon.settled()
    }

    func stop() async throws {
        running.cancel()
        try await running.value
        try await clock.checkSuspension()
    }
}

/// What the daemon asked of the desktop, as words, in order; read by the test's own task.
final class DesktopAsked {
    private var requests: AsyncStream<DesktopRequest>.Iterator
    /// Everything taken so far.
    private(set) var all: [String] = []

    init(_ stream: AsyncStream<DesktopRequest>) { requests = stream.makeAsyncIterator() }

    /// Waits for `count` more requests (they are sent in order as the loop runs), and returns everything so far.
    @discardableResult
    func take(_ count: Int) async -> [String] {
        for _ in 0..<count {
            guard let request = await requests.next() else { break }
            let words = switch request {
            case .notify(let title, let body): "show \(title): \(body)"
            case .withdrawNotification: "withdraw"
            case .holdSleepLock(let hold): hold ? "hold" : "release"
            }
            all.append(words)
        }
        return all
    }
}
