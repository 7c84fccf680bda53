import Synchronization
import ALSA
import Clocks
import InMemoryLogging
import Logging
import StretchAudio
import StretchCore
import Testing
import TestSupport

/// A short routine with holds, reps with return beats and a side switch: every kind of cue.
let shortRoutine = Routine(
    id: "short", name: "Short",
    timing: RoutineTiming(countdown: 2, switchTime: .seconds(2), transitionTime: .seconds(3), partTime: .seconds(1)),
    steps: [
        Step(name: "Hold", sides: .both(first: .right), exercise: .hold([
            HoldPart(name: "a", length: .time(.milliseconds(2500))), HoldPart(name: "b", length: .time(.seconds(2))),
        ])),
        Step(name: "Reps", sides: .none, exercise: .reps(Reps(count: 4, tempo: .milliseconds(1500), returnBeat: true))),
        Step(name: "Last", sides: .none, exercise: .hold([HoldPart(length: .time(.seconds(3)))])),
    ])

/// Plays a session through `stream` on a test clock, advancing to every deadline the scheduler sleeps until.
/// `act` may act instead at a given sleep (pause, skip) and return true. Returns each played cue with the stream
/// time at which the scheduler played it.
func playLive(
    _ plan: SessionPlan, into stream: any StreamOutput, clock: TestClock<Duration>,
    act: (CueScheduler<TestClock<Duration>>, TestClock<Duration>.Instant) async -> Bool = { _, _ in false }
) async throws -> [(cue: PlannedCue, at: Duration)] {
    struct Silent: CueOutput { func play(_ cue: PlannedCue, of plan: SessionPlan) async {} }
    let scheduler = CueScheduler(
        plan: plan, clock: clock, output: Silent(), stream: stream, awake: TestAwakeTime(clock: clock).read)
    let start = clock.now
    let session = Task { await scheduler.run() }
    var played: [(PlannedCue, Duration)] = []
    for await event in scheduler.events {
        switch event {
        case .sleeping(let until):
            await clock.waitForSleeper()
            if await act(scheduler, until) { continue }
            await clock.advance(to: until)
        case .played(let cue):
            played.append((cue, start.duration(to: clock.now)))
        default:
            break
        }
    }
    _ = await session.value
    try await clock.checkSuspension()
    return played
}

@Suite struct LiveAudioOutputTests {
    let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    /// Runs a live session into libasound's `file` plugin and returns what reached it.
    func capture(
        pauseAt pause: Duration? = nil, for pauseLength: Duration = .zero, skipAt skip: Duration? = nil
    ) async throws -> (played: [(cue: PlannedCue, at: Duration)], captured: [Int16], sounds: SoundSet) {
        let path = try URLPath.temporaryDirectory() + "/live.wav"
        let sounds = SoundSet()
        let clock = TestClock()
        var paused = false, resumed = false, skipped = false
        do {
            let output = try LiveAudioOutput(
                deviceName: "file:'\(path)',wav", sounds: sounds, volume: 0.5, logger: logger)
            // Each command is given while the scheduler sleeps past its moment (see `playLive`).
            let played = try await playLive(SessionPlanner.plan(shortRoutine), into: output, clock: clock) { scheduler, until in
                let now = TestClock<Duration>.Instant().duration(to: clock.now)
                let sleepEnd = TestClock<Duration>.Instant().duration(to: until)
                if let pause, !paused, sleepEnd > pause {
                    paused = true
                    await clock.advance(by: pause - now)
                    await scheduler.pause()
                    return true
                }
                if let pause, paused, !resumed, sleepEnd > pause + pauseLength {
                    resumed = true
                    await clock.advance(by: pause + pauseLength - now)
                    await scheduler.resume()
                    return true
                }
                if let skip, !skipped, TestClock<Duration>.Instant().duration(to: until) > skip {
                    skipped = true
                    await clock.advance(by: skip - now)
                    await scheduler.skipStep()
                    return true
                }
                return false
            }
            let audio = try WAV.read(try #require(FileBytes.read(path)))
            #expect(audio.rate == 48_000 && audio.channels == 1)
            return (played, audio.samples.map { Int16(($0 * 32768).rounded()) }, sounds)
        }
    }

    @Test func theCapturedStreamPlacesEveryCueAtItsPlannedFrame() async throws {
        let (played, captured, sounds) = try await capture()
        let plan = SessionPlanner.plan(shortRoutine)
        #expect(played.map(\.cue) == plan.cues)
        #expect(played.allSatisfy { $0.at == $0.cue.at })
        expectCues(played.map { ($0.cue, SessionRenderer.frame(of: $0.cue.at, rate: 48_000)) }, in: captured,
                   sounds: sounds, volume: 0.5)
        // The live stream is the offline render, sample for sample.
        let offline = SessionRenderer.render(plan, sounds: sounds, volume: 0.5)
        #expect(captured.count == offline.count && captured.elementsEqual(offline))
    }

    @Test func pauseAndResumeShiftTheRestOfTheStream() async throws {
        let (played, captured, sounds) = try await capture(pauseAt: .milliseconds(4200), for: .milliseconds(2750))
        let plan = SessionPlanner.plan(shortRoutine)
        #expect(played.map(\.cue) == plan.cues)
        // Cues before the pause keep their times; the rest move by one shift: the pause's length, measured
        // between the first moments not yet written when it began and ended (within one lead of 2.75 s).
        for (cue, at) in played where cue.at <= .milliseconds(4200) { #expect(at == cue.at, "\(cue.cue)") }
        let shifts = Set(played.filter { $0.cue.at > .milliseconds(4200) }.map { $0.at - $0.cue.at })
        #expect(shifts.count == 1)
        #expect(shifts.allSatisfy { abs(($0 - .milliseconds(2750)).inSeconds) <= 0.15 }, "\(shifts)")
        expectCues(played.map { ($0.cue, SessionRenderer.frame(of: $0.at, rate: 48_000)) }, in: captured,
                   sounds: sounds, volume: 0.5)
    }

    @Test func skipKeepsTheRestOfTheStreamOnItsFrames() async throws {
        let (played, captured, sounds) = try await capture(skipAt: .milliseconds(3500))
        #expect(played.contains { $0.cue.cue == .stepEnd })
        #expect(!played.contains { $0.cue.step == 0 && $0.cue.side == .left })
        expectCues(played.map { ($0.cue, SessionRenderer.frame(of: $0.at, rate: 48_000)) }, in: captured,
                   sounds: sounds, volume: 0.5)
    }

    /// `null` and `file` devices never make a writer wait: they take every frame at once and hold none back, so
    /// the end of a session closes them at once.
    @Test func theNullDeviceTakesEveryFrameAtOnceAndHoldsNone() throws {
        let device = try PCMDevice(name: "null", rate: 48_000)
        let second = [Int16](repeating: 1_000, count: 48_000)
        for _ in 0..<3 {
            #expect(try second.withUnsafeBufferPointer { samples throws(ALSAError) in try device.write(samples) } == 48_000)
        }
        #expect(try device.delay() == 0)
    }

    @Test func anUnusableDeviceIsOneClearError() throws {
        let error = #expect(throws: ALSAError.self) {
            _ = try LiveAudioOutput(deviceName: "hw:97,0", sounds: SoundSet(), volume: 1, logger: logger)
        }
        #expect(error?.function == "snd_pcm_open")
        #expect(error?.description == "Invalid argument (snd_pcm_open)")
    }
}

/// A device that works, fails, and comes back, counting what it is sent.
final class FlakyDevice: PCMSink, @unchecked Sendable {
    var frames = 0
    var failing = false
    func write(_ samples: UnsafeBufferPointer<Int16>) throws(ALSAError) -> Int {
        if failing { throw ALSAError(function: "snd_pcm_writei", code: -19) }
        frames += samples.count
        return samples.count
    }
    func delay() throws(ALSAError) -> Int { 0 }
}

@Suite struct DeviceLossTests {
    @Test func theSessionCarriesOnThroughADeviceFailureAndAudioComesBack() async throws {
        let device = FlakyDevice()
        let opens = Mutex(0)
        let log = InMemoryLogHandler()
        let clock = TestClock()
        let output = try LiveAudioOutput(
            deviceName: "flaky", sounds: SoundSet(), volume: 1, logger: Logger(label: "test") { _ in log }
        ) { () throws(ALSAError) in
            // The first open succeeds; the device then fails, refuses one reopen, and works again.
            let count = opens.withLock { $0 += 1; return $0 }
            if count == 2 { throw ALSAError(function: "snd_pcm_open", code: -19) }
            device.failing = false
            return device
        }
        let plan = SessionPlanner.plan(shortRoutine)
        var failedAt: Duration?
        let played = try await playLive(plan, into: output, clock: clock) { _, until in
            let at = TestClock<Duration>.Instant().duration(to: until)
            if failedAt == nil, at >= .seconds(3) {
                failedAt = at
                device.failing = true
            }
            return false
        }
        #expect(played.map(\.cue) == plan.cues)
        #expect(played.allSatisfy { $0.at == $0.cue.at }, "timing is unaffected")
        let warnings = log.entries.filter { $0.level == .warning }
        #expect(warnings.count == 1)
        #expect(warnings.first?.metadata["error"] == "No such device (snd_pcm_writei)")
        #expect(log.entries.contains { $0.message == "audio device works again" })
        #expect(opens.withLock { $0 } == 3)
        // Audio was lost only from the failure at 3 s until the second retry, two plus two seconds later.
        let total = SessionRenderer.render(plan, sounds: SoundSet()).count
        let lost = Double(total - device.frames) / 48_000
        #expect((3.8...4.2).contains(lost), "lost \(lost) s of audio")
    }
}

/// A device that takes every frame at once, keeping them in order.
final class RecordingDevice: PCMSink, @unchecked Sendable {
    var taken: [Int16] = []
    func write(_ samples: UnsafeBufferPointer<Int16>) throws(ALSAError) -> Int {
        taken.append(contentsOf: samples)
        return samples.count
    }
    func delay() throws(ALSAError) -> Int { 0 }
}

/// A sound card on a test clock that takes at most `chunk` frames a write and refuses every third write outright,
/// as a non-blocking device answers `-EAGAIN` when it has no room. It plays what it took at 48 kHz from the first
/// write (going quiet, not losing frames, if it runs dry).
final class SlowDevice: PCMSink, @unchecked Sendable {
    let clock: TestClock<Duration>
    let chunk: Int
    var taken: [Int16] = []
    var partial = 0, refused = 0
    private var writes = 0
    private var queued = 0
    private var updated: TestClock<Duration>.Instant?

    init(clock: TestClock<Duration>, chunk: Int) {
        self.clock = clock
        self.chunk = chunk
    }

    /// Plays what the time since the last call allows.
    private func play() {
        let now = clock.now
        if let updated { queued = max(0, queued - Int((updated.duration(to: now) / .seconds(1)) * 48_000)) }
        updated = now
    }

    func write(_ samples: UnsafeBufferPointer<Int16>) throws(ALSAError) -> Int {
        play()
        writes += 1
        if writes % 3 == 0 {
            refused += 1
            return 0
        }
        let count = min(chunk, samples.count)
        if count < samples.count { partial += 1 }
        taken.append(contentsOf: samples.prefix(count))
        queued += count
        return count
    }

    func delay() throws(ALSAError) -> Int {
        play()
        return queued
    }
}

/// Mixes sounds at the given frames into a stream of `count` frames, as the whole stream at once.
func mix(_ placed: [(frame: Int, samples: [Int16])], count: Int, volume: Float) -> [Int16] {
    var sum = [Int32](repeating: 0, count: count)
    for (start, samples) in placed {
        for (offset, sample) in samples.enumerated() where start + offset < count { sum[start + offset] += Int32(sample) }
    }
    return sum.map { Int16(clamping: Int32((Float($0) * volume).rounded())) }
}

@Suite struct LiveStreamTests {
    let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
    let plan = SessionPlanner.plan(shortRoutine)
    let sounds = SoundSet()

    /// Checks a recorded stream against the cues placed at these stream times: every sample equal, silence after.
    func expectStream(_ recorded: [Int16], cues: [(PlannedCue, Duration)], sourceLocation: SourceLocation = #_sourceLocation) {
        let placed = cues.map { (SessionRenderer.frame(of: $0.1, rate: 48_000), sounds.sound(for: $0.0)) }
        let end = placed.map { $0.0 + $0.1.count }.max() ?? 0
        #expect(recorded.count >= end, "the last sound rings out", sourceLocation: sourceLocation)
        let expected = mix(placed, count: recorded.count, volume: 0.5)
        let first = recorded.indices.first { recorded[$0] != expected[$0] }
        #expect(first == nil, "first different frame \(first ?? -1)", sourceLocation: sourceLocation)
    }

    @Test func aDeviceThatTakesPartOfEachWriteOrNoneLosesNoFrameAndTheEndWaitsUntilItHasPlayed() async throws {
        let clock = TestClock()
        let device = SlowDevice(clock: clock, chunk: 5_000)
        let waits = Mutex(0)
        let output = try LiveAudioOutput(
            deviceName: "slow", sounds: sounds, volume: 0.5, logger: logger,
            wait: { duration in
                waits.withLock { $0 += 1 }
                await clock.advance(by: duration)
            }
        ) { device }
        // Each fill is more than one write takes, so fills are taken in part, and some writes not at all.
        #expect(5_000 < SessionRenderer.frame(of: output.period, rate: 48_000))
        let played = try await playLive(plan, into: output, clock: clock)
        #expect(played.map(\.cue) == plan.cues)
        #expect(device.partial > 10 && device.refused > 10, "partial \(device.partial), refused \(device.refused)")
        #expect(firstDifference(device.taken, SessionRenderer.render(plan, sounds: sounds, volume: 0.5)) == nil, "every frame, in order")
        // The session ended only once the device had played it all, waiting on the clock.
        #expect(try device.delay() == 0)
        #expect(waits.withLock { $0 } > 1)
    }

    @Test func pauseTakesEffectAtTheFirstFrameNotYetWritten() async throws {
        let device = RecordingDevice()
        let clock = TestClock()
        let output = try LiveAudioOutput(deviceName: "recording", sounds: sounds, volume: 0.5, logger: logger) { device }
        // Paused 50 ms before a cue: that cue was already written, within the lead, and plays; the pause starts
        // where the last fill ended. The clock then runs on through the pause, the scheduler writing silence on
        // its period, and the resume too takes effect at the first frame not yet written: the rest of the session
        // moves by the time between the two.
        let written = try #require(plan.cues.first { $0.at > .seconds(4) })
        let pauseAt = written.at - .milliseconds(50)
        let pauseLength = Duration.milliseconds(3_020)
        let pausePoint = output.period * Int(pauseAt / output.period) + output.lead
        let resumePoint = output.period * Int((pauseAt + pauseLength) / output.period) + output.lead
        #expect(pausePoint > written.at && plan.cues.contains { $0.at >= pausePoint })
        // Each command is given while the scheduler sleeps past its moment; in between, the scheduler wakes on its
        // own deadlines, so the silence it writes while paused ends on a period, where `resumePoint` expects it.
        var paused = false, resumed = false
        _ = try await playLive(plan, into: output, clock: clock) { scheduler, until in
            let sleepEnd = TestClock<Duration>.Instant().duration(to: until)
            let now = TestClock<Duration>.Instant().duration(to: clock.now)
            if !paused, sleepEnd > pauseAt {
                paused = true
                await clock.advance(by: pauseAt - now)
                await scheduler.pause()
                return true
            }
            if paused, !resumed, sleepEnd > pauseAt + pauseLength {
                resumed = true
                await clock.advance(by: pauseAt + pauseLength - now)
                await scheduler.resume()
                return true
            }
            return false
        }
        expectStream(device.taken, cues: plan.cues.map { ($0, $0.at < pausePoint ? $0.at : $0.at + resumePoint - pausePoint) })
    }

    @Test func skipTakesEffectAtTheFirstFrameNotYetWritten() async throws {
        let device = RecordingDevice()
        let clock = TestClock()
        let output = try LiveAudioOutput(deviceName: "recording", sounds: sounds, volume: 0.5, logger: logger) { device }
        let stepEnd = try #require(plan.cues.firstIndex { $0.cue == .stepEnd })
        let skipAt = plan.cues[stepEnd].at - .milliseconds(1_030)
        let skipPoint = output.period * Int(skipAt / output.period) + output.lead
        #expect(skipPoint < plan.cues[stepEnd].at)
        var skipped = false
        _ = try await playLive(plan, into: output, clock: clock) { scheduler, until in
            guard !skipped, TestClock<Duration>.Instant().duration(to: until) > skipAt else { return false }
            skipped = true
            await clock.advance(by: skipAt - TestClock<Duration>.Instant().duration(to: clock.now))
            await scheduler.skipStep()
            return true
        }
        // What was written stays; the step's end sounds at the first frame not written, the rest follows it.
        let kept = plan.cues[..<stepEnd].filter { $0.at < skipPoint }.map { ($0, $0.at) }
        let moved = plan.cues[stepEnd...].map { ($0, skipPoint + $0.at - plan.cues[stepEnd].at) }
        expectStream(device.taken, cues: kept + moved)
    }
}
