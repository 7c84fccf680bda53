import ALSA
import ArgumentParser
import StretchAudio
import StretchCore
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

struct PlayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "play",
        abstract: "Run a routine's session now, with its cue sounds.",
        discussion: """
            Plays the session on an ALSA device, the device open for the whole session, and shows where you are: \
            a progress line on a terminal, one line per cue otherwise. On a terminal, Space or p pauses and \
            resumes, n skips to the next step, q stops. Ctrl-C stops at once with a short fade.
            """
    )

    @OptionGroup var routineOptions: RoutineOptions

    @Argument(help: ArgumentHelp("A routine id or the path to a routine file.", valueName: "routine"))
    var routine: String

    @OptionGroup var audio: AudioOptions

    func run() async throws {
        let plan = SessionPlanner.plan(try routineOptions.routine(routine))
        let logger = audio.logger()
        let stream: LiveAudioOutput
        do {
            stream = try LiveAudioOutput(
                deviceName: audio.device, sounds: audio.sounds(), volume: audio.volume, logger: logger)
        } catch {
            throw deviceFailure(audio.device, error)
        }
        let terminal = Terminal()
        print("\(plan.routine.name): \(plan.routine.steps.count) steps, \(DurationText.format(plan.duration))"
            + (terminal.interactive ? "  (space: pause, n: next step, q: stop)" : ""))
        let scheduler = CueScheduler(
            plan: plan, clock: ContinuousClock(),
            output: terminal.showsProgress ? StepLineOutput() as any CueOutput : ConsoleCueOutput(), stream: stream)

        let interrupts = Task {
            for await _ in await UnixSignalsSequence(trapping: .sigint, .sigterm) { await scheduler.stop() }
        }
        let display = Task { await terminal.follow(scheduler) }
        let outcome = await scheduler.run()
        display.cancel()
        await display.value
        interrupts.cancel()
        terminal.restore()
        switch outcome {
        case .completed: print("Session complete.")
        case .stopped(let step): print("Stopped during step \(step + 1), \(plan.routine.steps[step].name).")
        case .interrupted(let step):
            print("Stopped during step \(step + 1): the clock jumped ahead (did the machine sleep?).")
        }
    }
}

/// Prints each cue as a line: time into the session, cue, and where in the routine it belongs.
struct ConsoleCueOutput: CueOutput {
    func play(_ cue: PlannedCue, of plan: SessionPlan) async {
        var line = "\(DurationText.clock(cue.at))  \(cue.cue.rawValue)"
        if let rep = cue.rep, let count = cue.of { line += " \(rep)/\(count)" }
        line += "  " + where_(cue, in: plan)
        print(line)
    }
}

/// On a terminal: a line when a new stretch or side begins; the progress line shows the rest.
struct StepLineOutput: CueOutput {
    func play(_ cue: PlannedCue, of plan: SessionPlan) async {
        guard cue.cue == .holdStart || (cue.cue == .repBeat && cue.rep == 1) else { return }
        print("\r\u{1B}[K\(DurationText.clock(cue.at))  \(where_(cue, in: plan))")
    }
}

/// `Hip 90/90 stretch (right, lean forward)`.
func where_(_ cue: PlannedCue, in plan: SessionPlan) -> String {
    let details = [cue.side?.rawValue, plan.partName(step: cue.step, part: cue.part)].compactMap { $0 }
    return plan.stepName(of: cue) + (details.isEmpty ? "" : " (\(details.joined(separator: ", ")))")
}

/// The controlling terminal, when there is one: a progress line on stdout, single keys from stdin.
final class Terminal: @unchecked Sendable {
    let showsProgress = isatty(STDOUT_FILENO) == 1
    let interactive = isatty(STDIN_FILENO) == 1
    private var saved = termios()

    init() {
        guard interactive else { return }
        // Keys without Enter and without echo; Ctrl-C still raises SIGINT.
        tcgetattr(STDIN_FILENO, &saved)
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        tcsetattr(STDIN_FILENO, TCSANOW, &raw)
    }

    func restore() {
        if interactive { tcsetattr(STDIN_FILENO, TCSANOW, &saved) }
        if showsProgress { print("\r\u{1B}[K", terminator: "") }
    }

    /// Redraws the progress line and handles keys until cancelled.
    func follow(_ scheduler: CueScheduler<ContinuousClock>) async {
        guard showsProgress || interactive else { return }
        let clock = ContinuousClock()
        var tick = clock.now
        while !Task.isCancelled {
            for key in pendingKeys() {
                switch key {
                case UInt8(ascii: " "), UInt8(ascii: "p"):
                    if await scheduler.isPaused { await scheduler.resume() } else { await scheduler.pause() }
                case UInt8(ascii: "n"): await scheduler.skipStep()
                case UInt8(ascii: "q"): await scheduler.stop()
                default: break
                }
            }
            if showsProgress { draw(await scheduler.progress, plan: scheduler.plan, paused: await scheduler.isPaused) }
            tick = tick.advanced(by: .milliseconds(200))
            try? await clock.sleep(until: tick, tolerance: nil)
        }
    }

    private func pendingKeys() -> [UInt8] {
        guard interactive else { return [] }
        var keys: [UInt8] = []
        var poller = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        while poll(&poller, 1, 0) > 0, poller.revents & Int16(POLLIN) != 0 {
            var byte: UInt8 = 0
            guard read(STDIN_FILENO, &byte, 1) == 1 else { break }
            keys.append(byte)
        }
        return keys
    }

    private func draw(_ progress: SessionProgress, plan: SessionPlan, paused: Bool) {
        let done = 1 - progress.sessionRemaining.inSeconds / max(1, plan.duration.inSeconds)
        let width = 24
        let filled = Int((done * Double(width)).rounded())
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let step = plan.routine.steps[progress.step].name
        let details = [progress.side?.rawValue, progress.part].compactMap { $0 }.joined(separator: ", ")
        let phase = paused ? "paused" : progress.phase == .working ? "now" : "get ready"
        let line = "[\(bar)] \(DurationText.clock(progress.sessionRemaining)) left  \(step)"
            + (details.isEmpty ? "" : " (\(details))") + "  \(phase) \(DurationText.clock(progress.phaseRemaining))"
        print("\r\u{1B}[K" + line, terminator: "")
        fflush(nil)
    }
}
