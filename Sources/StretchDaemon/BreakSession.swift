import ALSA
import Logging
import StretchAudio
import StretchCore

/// What happens at a break, once it is due: the break service waits for it to end.
public protocol BreakRunner: Sendable {
    func takeBreak(routine: Routine) async
}

/// A break with sound: the reminder chime, a lead-in, then the routine's session, hands-free.
///
/// The audio device is opened anew for each break, so a sound card plugged in (or fixed) later is used at the
/// next break. When it cannot be used, the reason is logged once for that break and the schedule goes on.
public struct AudioBreakRunner<C: Clock>: BreakRunner where C.Duration == Duration {
    public var clock: C
    public var device: String
    public var volume: Float
    public var sounds: SoundSet
    /// Time between the chime and the session's first countdown; nil runs no session (reminder only).
    public var leadIn: Duration?
    public var logger: Logger

    public init(clock: C, device: String, volume: Float, sounds: SoundSet, leadIn: Duration?, logger: Logger) {
        self.clock = clock
        self.device = device
        self.volume = volume
        self.sounds = sounds
        self.leadIn = leadIn
        self.logger = logger
    }

    public func takeBreak(routine: Routine) async {
        do {
            let chime = try LiveAudioOutput(deviceName: device, sounds: sounds, volume: volume, logger: logger)
            await chime.play(.reminder)
        } catch {
            logger.warning(
                "cannot open audio device; reminding without sound, trying again next break",
                metadata: ["device": "\(device)", "error": "\(error)"])
            return
        }
        guard let leadIn else { return }
        do {
            try await clock.sleep(for: leadIn)
        } catch {
            return  // shutting down
        }
        let plan = SessionPlanner.plan(routine)
        let stream: LiveAudioOutput
        do {
            stream = try LiveAudioOutput(deviceName: device, sounds: sounds, volume: volume, logger: logger)
        } catch {
            logger.warning("cannot open audio device; skipping the session", metadata: [
                "device": "\(device)", "error": "\(error)",
            ])
            return
        }
        var sessionLogger = logger
        sessionLogger[metadataKey: "session.routine"] = "\(routine.id)"
        sessionLogger.info("session started", metadata: ["length": "\(DurationText.format(plan.duration))"])
        let scheduler = CueScheduler(plan: plan, clock: clock, output: StepLogOutput(logger: sessionLogger), stream: stream)
        switch await scheduler.run() {
        case .completed:
            sessionLogger.info("session completed")
        case .stopped(let step):
            sessionLogger.info("session stopped", metadata: ["step": "\(step + 1)"])
        }
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
