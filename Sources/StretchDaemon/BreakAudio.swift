import ALSA
import Logging
import Speech
import StretchAudio
import StretchCore
import Synchronization

/// The sound side of a break, behind a protocol so the daemon can be tested without a sound card.
public protocol BreakAudio: Sendable {
    /// Plays the reminder chime; throws when the device cannot be used.
    func chime() async throws(ALSAError)
    /// The session to play for `plan`: with a voice, the plan with the routine's spoken prompts placed by their
    /// real lengths, and each prompt's samples by text. Synthesizes off the caller's executor; without a voice,
    /// `plan` as it is and no samples.
    func voiced(_ plan: SessionPlan) async -> (plan: SessionPlan, speech: [String: [Int16]])
    /// Opens the device for a session's stream that also speaks `speech`.
    func sessionStream(speaking speech: [String: [Int16]]) async throws(ALSAError) -> any StreamOutput
}

extension BreakAudio {
    public func voiced(_ plan: SessionPlan) async -> (plan: SessionPlan, speech: [String: [Int16]]) { (plan, [:]) }
}

/// Breaks on an ALSA device, opened anew for each use so a device plugged in later is picked up.
public struct ALSABreakAudio: BreakAudio {
    public var device: String
    public var volume: Float
    /// Read on first use, not at start-up.
    public var sounds: UserSounds
    public var logger: Logger
    /// Spoken prompts in sessions (`[voice] enabled`), where the voice loads.
    public var voice: Bool

    public init(device: String, volume: Float, sounds: UserSounds, logger: Logger, voice: Bool = false) {
        self.device = device
        self.volume = volume
        self.sounds = sounds
        self.logger = logger
        self.voice = voice
    }

    /// Whether the voice's absence was logged: once per process, not at every break.
    private static let reportedNoVoice = Atomic<Bool>(false)

    public func voiced(_ plan: SessionPlan) async -> (plan: SessionPlan, speech: [String: [Int16]]) {
        guard voice else { return (plan, [:]) }
        let routine = plan.routine
        let batch: SpeechSynthesizer.Batch
        do throws(SpeechError) {
            // On BlockingThread.shared: never on the event loop, never on the audio path.
            batch = try await SpeechSynthesizer().synthesizeEach(SessionPlanner.spokenTexts(routine))
        } catch {
            if !Self.reportedNoVoice.exchange(true, ordering: .relaxed) {
                logger.info("no spoken prompts: the voice cannot be loaded; sessions play tones only",
                            metadata: ["reason": "\(error)"])
            }
            return (plan, [:])
        }
        // Each prompt that cannot be spoken is left out alone; the rest of the session is spoken.
        for (text, error) in batch.unspoken {
            let at = SessionPlanner.firstPrompt(saying: text, in: routine)?.keyPath ?? "?"
            logger.warning("a spoken prompt cannot be spoken; the rest are", metadata: [
                "routine": "\(routine.id)", "at": "\(at)", "error": "\(error)",
            ])
        }
        let speech = batch.spoken, sounds = await sounds.sounds()
        let tones = Dictionary(uniqueKeysWithValues: SoundName.allCases.map { ($0, sounds.ringLength($0)) })
        var timing = SpeechTiming(toneLength: { tones[$0] ?? SessionPlanner.cueGap }) { text in
            .seconds(speech[text]?.count ?? 0) / SpeechSynthesizer.rate
        }
        timing.unspoken = Set(batch.unspoken.map(\.text))
        let voiced = SessionPlanner.plan(routine, speech: timing)
        for problem in voiced.speechProblems {
            logger.warning("a spoken prompt does not fit", metadata: ["routine": "\(routine.id)", "problem": "\(problem)"])
        }
        return (voiced, speech)
    }

    public func sessionStream(speaking speech: [String: [Int16]]) async throws(ALSAError) -> any StreamOutput {
        let sounds = await sounds.sounds()
        let output = try LiveAudioOutput(deviceName: device, sounds: sounds, volume: volume, logger: logger)
        await output.setSpeech(speech)
        return output
    }

    public func chime() async throws(ALSAError) {
        let sounds = await sounds.sounds()
        try await LiveAudioOutput(deviceName: device, sounds: sounds, volume: volume, logger: logger).play(.reminder)
    }
}

/// Logs a line when each step (and each side of it) starts.
struct StepLogOutput: CueOutput {
    let logger: Logger

    func play(_ cue: PlannedCue, of plan: SessionPlan) async {
        guard cue.cue == .holdStart && (cue.part ?? 0) == 0 || cue.cue == .repBeat && cue.rep == 1 else { return }
        var metadata: Logger.Metadata = ["step": "\(cue.step + 1)", "name": "\(plan.stepName(of: cue))"]
        if let side = cue.side { metadata["side"] = "\(side.rawValue)" }
        logger.info("step", metadata: metadata)
    }
}
