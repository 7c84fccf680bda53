import ALSA
import ArgumentParser
import StretchAudio
import StretchCore
import StretchSystem
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

    @Option(help: ArgumentHelp(
        "Spoken prompts: on or off (default: on where the voice loads, unless the config turns it off).",
        valueName: "on|off"))
    var voice: VoiceSetting?

    func run() async throws {
        let (routine, library) = try routineOptions.resolve(routine)
        let logger = audio.logger()
        let sounds = audio.sounds()
        // Synthesized before the device opens: nothing is spoken into being on the audio path.
        let session = try await VoicedSession.prepare(routine, voice: voice, sounds: sounds)
        let plan = session.plan
        for warning in session.speechWarnings(of: routine, in: library, reference: self.routine) {
            printError(warning)
        }
        let stream: LiveAudioOutput
        do {
            stream = try LiveAudioOutput(
                deviceName: audio.device, sounds: sounds, volume: audio.volume, logger: logger)
        } catch {
            throw deviceFailure(audio.device, error)
        }
        await stream.setSpeech(session.speech)
        // Trapped before anything is shown, so Ctrl-C as soon as the session shows ends it cleanly.
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        let terminal = Terminal()
        let length = session.length(sounds: sounds)
        print("\(plan.routine.name): \(plan.routine.steps.count) steps, \(DurationText.format(length))"
            + (terminal.interactive ? "  (space: pause, n: next step, q: stop)" : ""))
        fflush(nil)
        let scheduler = CueScheduler(
            plan: plan, clock: ContinuousClock(),
            output: terminal.showsProgress ? StepLineOutput() as any CueOutput : ConsoleCueOutput(), stream: stream,
            awake: SystemTime().awake)

        // Ends when cancelled, with the last signal that stopped the session.
        let interrupts = Task { () -> UnixSignal? in
            var caught: UnixSignal?
            for await signal in signals {
                caught = signal
                await scheduler.stop()
            }
            return caught
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
        // Stopped by Ctrl-C or SIGTERM: the status a shell expects of a command ended by that signal.
        switch await interrupts.value {
        case .sigint?: throw ExitCode(128 + SIGINT)
        case .some: throw ExitCode(128 + SIGTERM)
        case nil: break
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
        // As it happens, also into a pipe or a file.
        fflush(nil)
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
        let line = ProgressLine(progress, of: plan, paused: paused).text(width: Self.columns())
        print("\r\u{1B}[K" + line, terminator: "")
        fflush(nil)
    }

    /// The terminal's width now (it may have been resized): TIOCGWINSZ on stdout, else $COLUMNS, else 80.
    static func columns() -> Int {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let text = getenv("COLUMNS").map({ String(cString: $0) }), let columns = Int(text), columns > 0 {
            return columns
        }
        return 80
    }
}
