import ALSA
import Logging
import StretchAudio
import StretchCore

/// The sound side of a break, behind a protocol so the daemon can be tested without a sound card.
public protocol BreakAudio: Sendable {
    /// Plays the reminder chime; throws when the device cannot be used.
    func chime() async throws(ALSAError)
    /// Opens the device for a session's stream.
    func sessionStream() throws(ALSAError) -> any StreamOutput
}

/// Breaks on an ALSA device, opened anew for each use so a device plugged in later is picked up.
public struct ALSABreakAudio: BreakAudio {
    public var device: String
    public var volume: Float
    public var sounds: SoundSet
    public var logger: Logger

    public init(device: String, volume: Float, sounds: SoundSet, logger: Logger) {
        self.device = device
        self.volume = volume
        self.sounds = sounds
        self.logger = logger
    }

    public func chime() async throws(ALSAError) {
        try await LiveAudioOutput(deviceName: device, sounds: sounds, volume: volume, logger: logger).play(.reminder)
    }

    public func sessionStream() throws(ALSAError) -> any StreamOutput {
        try LiveAudioOutput(deviceName: device, sounds: sounds, volume: volume, logger: logger)
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
