import ArgumentParser
import Speech
import StretchAudio
import StretchConfig
import StretchCore
import StretchSettings
import StretchSystem

/// `--voice on|off`: whether a session has spoken prompts.
enum VoiceSetting: String, ExpressibleByArgument, CaseIterable {
    case on, off
}

/// A routine's session as `render`, `play`, `plan` and `check` use it: its plan, and with a voice each prompt's
/// samples by text (at `SpeechSynthesizer.rate`).
struct VoicedSession {
    var plan: SessionPlan
    var speech: [String: [Int16]]
    /// The prompts the voice could not speak, where they are in the routine and why: left out alone.
    var unspoken: [(keyPath: String, error: SpeechError)] = []
    /// Whether the plan has a voice: what `--voice` or the config asked for, and the voice loaded.
    var voice: VoiceSetting

    /// Plans `routine` with or without a voice. With `voice` nil (no `--voice`), the config's `[voice] enabled`
    /// decides, and a voice that cannot load is a note on stderr and a session without speech; with `--voice on`
    /// it is an error (exit 1). The prompts are placed with the real lengths of their samples and of the tones in
    /// `sounds` (the ones the session plays, with the user's overrides).
    static func prepare(_ routine: Routine, voice: VoiceSetting?, sounds: SoundSet) async throws -> VoicedSession {
        guard voice ?? (configuredVoice() ? .on : .off) == .on else {
            return VoicedSession(plan: SessionPlanner.plan(routine), speech: [:], voice: .off)
        }
        let batch: SpeechSynthesizer.Batch
        do throws(SpeechError) {
            batch = try await SpeechSynthesizer().synthesizeEach(SessionPlanner.spokenTexts(routine))
        } catch where voice == nil {
            printError("note: no spoken prompts: \(error); --voice off hides this note")
            return VoicedSession(plan: SessionPlanner.plan(routine), speech: [:], voice: .off)
        } catch {
            printError("error: \(routine.id): \(error)")
            throw ExitCode(1)
        }
        let speech = batch.spoken
        var timing = SpeechTiming(toneLength: toneLengths(sounds)) { text in
            .seconds(speech[text]?.count ?? 0) / SpeechSynthesizer.rate
        }
        timing.unspoken = Set(batch.unspoken.map(\.text))
        let unspoken = batch.unspoken.map { text, error in
            (keyPath: SessionPlanner.firstPrompt(saying: text, in: routine)?.keyPath ?? "step", error: error)
        }
        return VoicedSession(
            plan: SessionPlanner.plan(routine, speech: timing), speech: speech, unspoken: unspoken, voice: .on)
    }

    /// How long the session sounds with `sounds`, as `render` writes it and `play` plays it (`SessionStream.length`).
    func length(sounds: SoundSet) -> Duration {
        SessionStream(plan, sounds: sounds, speech: speech).length
    }

    /// `[voice] enabled` in the user's config; on where the config is missing or cannot be read (`check-config`
    /// reports its problems).
    static func configuredVoice() -> Bool {
        (try? DaemonConfig.load(XDGPaths.current.configFile, required: false).get())?.voice ?? true
    }

    /// How long each tone rings: a prompt never starts before the tone has rung out.
    static func toneLengths(_ sounds: SoundSet) -> (SoundName) -> Duration {
        let tones = Dictionary(uniqueKeysWithValues: SoundName.allCases.map { ($0, sounds.ringLength($0)) })
        return { tones[$0] ?? SessionPlanner.cueGap }
    }
}

extension AudioOptions {
    /// The sounds at the cue sounds' rate, with the user's overrides (what the tone lengths are measured on).
    static func defaultSounds() -> SoundSet {
        let (sounds, problems) = SoundSet.load(overridesIn: XDGPaths.current.soundsDirectory, rate: CueSounds.rate)
        for problem in problems { printError("warning: using the built-in sound instead of \(problem)") }
        return sounds
    }
}
