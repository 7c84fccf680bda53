import Logging
import StretchAudio
import StretchConfig
import StretchCore
import StretchSystem

#if canImport(Glibc)
import Glibc
#endif

/// `make bench`: measures what the issues set targets for, on this machine, in a release build; each figure is
/// printed beside its goal (issue 24's), met or not, with the command that reproduces it (`DaemonBenchmark.figure`). `make bench ONLY="idle render"`
/// (or `stretchd-bench idle render`) measures only those.
@main
struct Benchmark {
    static let figures: [(name: String, what: String)] = [
        ("startup", "start to READY=1"),
        ("idle", "idle wakeups over STRETCHD_BENCH_IDLE seconds (default 60), idle RSS and PSS; without, then with the buses"),
        ("live", "CPU per minute of a live session, and where its cues land"),
        ("render", "stretchctl render of a 2.5 h routine: peak RSS, real-time factor"),
        ("status", "status with a 200 MB history"),
        ("history", "history --days 7 and --days 3660 on ten years of records"),
        ("size", "the installed (stripped) binaries"),
        ("speed", "render speed in-process (a 20-minute session)"),
        ("toml", "the TOML reader on large documents"),
        ("speech", "spoken prompts: a routine's prompts synthesized, RSS before, during and after"),
    ]

    static func main() async throws {
        let asked = CommandLine.arguments.dropFirst().flatMap { $0.split(whereSeparator: { $0 == "," || $0 == " " }) }
            .map(String.init)
        if let unknown = asked.first(where: { name in !figures.contains { $0.name == name } }) {
            print(unknown == "help" ? "The figures (make bench ONLY=\"name ...\"):" : "stretchd-bench: no figure \"\(unknown)\"; the figures:")
            for figure in figures { print("  \(figure.name): \(figure.what)") }
            exit(unknown == "help" ? 0 : 2)
        }
        let chosen = asked.isEmpty ? figures.map(\.name) : asked
        print("stretchd benchmarks (release build, \(chosen.count == figures.count ? "every figure" : chosen.joined(separator: ", ")))")
        var failed: [String] = []
        for name in chosen {
            // A case that fails says why and the others still run: one broken figure must not hide the rest.
            do {
                try await measure(name)
            } catch {
                print("\(name): failed: \(error)")
                failed.append(name)
            }
        }
        let met = verdicts.filter(\.met).map(\.name), missed = verdicts.filter { !$0.met }.map(\.name)
        print("goals: \(met.count) met, \(missed.count) not met\(missed.isEmpty ? "" : ": " + missed.joined(separator: "; "))"
            + (failed.isEmpty ? "" : "; failed to measure: " + failed.joined(separator: ", ")))
        if !failed.isEmpty { exit(1) }
    }

    /// Each figure's goal and whether it was met, in the order printed (`DaemonBenchmark.figure` adds them).
    nonisolated(unsafe) static var verdicts: [(name: String, met: Bool)] = []

    /// Runs the case `name` of `figures`.
    static func measure(_ name: String) async throws {
        switch name {
        case "startup": try DaemonBenchmark.startUp()
        case "idle":
            let seconds = Environment.variables["STRETCHD_BENCH_IDLE"].flatMap { Int($0) } ?? 60
            try DaemonBenchmark.idle(seconds: seconds)
        case "live":
            try DaemonBenchmark.liveSession()
            try await cuePlacement()
        case "render": try DaemonBenchmark.render()
        case "status": try DaemonBenchmark.statusWithBigHistory()
        case "history": try DaemonBenchmark.historyOfTenYears()
        case "size": try DaemonBenchmark.binarySize()
        case "speed": renderSpeed()
        case "toml": TOMLBenchmark.run()
        case "speech": try await SpeechBenchmark.run()
        default: break
        }
    }

    /// CPU time of this process so far.
    static func cpuTime() -> Duration {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec)
    }

    /// A 20-minute routine: ten stretches, each held 45 s per side.
    static let twentyMinutes = Routine(
        id: "twenty", name: "Twenty minutes",
        steps: (1...10).map {
            Step(name: "Stretch \($0)", sides: .both(first: .right), exercise: .hold([HoldPart(length: .time(.seconds(45)))]))
        })

    static func renderSpeed() {
        let sounds = SoundSet()
        let plan = SessionPlanner.plan(twentyMinutes)
        var best = Duration.seconds(1000)
        var frames = 0
        for _ in 0..<5 {
            let before = cpuTime()
            frames = SessionRenderer.render(plan, sounds: sounds).count
            best = min(best, cpuTime() - before)
        }
        let audio = Double(frames) / Double(sounds.rate)
        print("render: a \(DurationText.format(plan.duration)) session (\(frames) frames at 48 kHz) in "
            + "\(format(best.inSeconds * 1000)) ms of CPU (best of 5): \(format(audio / best.inSeconds, 0)) "
            + "audio seconds per CPU second")
    }

    /// Plays a short routine live on the real clock into libasound's `file` device, then measures how far each
    /// cue's first sample is from its planned frame.
    static func cuePlacement() async throws {
        let routine = try RoutineLibrary().resolve("desk-basics").get()
        var short = routine
        short.steps = [routine.steps[0]]
        short.timing.breath = .seconds(2)
        let plan = SessionPlanner.plan(short)
        let path = "/tmp/stretchd-bench-\(getpid()).wav"
        defer { unlink(path) }
        let sounds = SoundSet()
        let output = try LiveAudioOutput(
            deviceName: "file:'\(path)',wav", sounds: sounds, volume: 1,
            logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() })
        struct Silent: CueOutput { func play(_ cue: PlannedCue, of plan: SessionPlan) async {} }
        let scheduler = CueScheduler(
            plan: plan, clock: ContinuousClock(), output: Silent(), stream: output, awake: SystemTime().awake)
        _ = await scheduler.run()

        guard case .success(let bytes) = Files.readBytes(path, limit: 1 << 30) else { return }
        let captured = try WAV.read(bytes).samples
        var errors: [Int] = []
        var searchFrom = 0
        for cue in plan.cues {
            let sound = sounds.sound(for: cue)
            let soundOnset = sound.firstIndex { $0 != 0 } ?? 0
            let expected = SessionRenderer.frame(of: cue.at, rate: sounds.rate) + soundOnset
            guard let found = captured[max(searchFrom, expected - 24_000)...].firstIndex(where: { $0 != 0 }) else {
                continue
            }
            errors.append(found - expected)
            searchFrom = found + sound.count - soundOnset
        }
        let worst = errors.map { abs($0) }.max() ?? 0
        print("placement: \(errors.count) of \(plan.cues.count) cues found in the captured stream; "
            + "worst error \(worst) frames (\(format(Double(worst) / 48, 2)) ms), "
            + "\(errors.filter { $0 == 0 }.count) exactly on their planned frame")
    }

}

/// `value` rounded to `decimals` places, for the report.
func format(_ value: Double, _ decimals: Int = 1) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    return decimals == 0 ? String(Int(rounded)) : String(rounded)
}
