import ArgumentParser
import StretchAudio
import StretchCore
import StretchSettings
import StretchSystem

/// `--voice on|off`: whether a plan has spoken prompts.
enum VoiceSetting: String, ExpressibleByArgument, CaseIterable {
    case on, off
}

/// The prompt and tone lengths `plan` and `check` place prompts with.
///
/// The prompt lengths are an ESTIMATE from the text's length, until the synthesizer lands: 0.7 s plus 56 ms per
/// character, fitted to flite's `cmu_us_slt` voice measured on this machine ("Last one." 1.2 s, a 99-character
/// setup 6.3 s; the estimate errs long on short sentences). Replace `promptLength` with the synthesizer's real
/// lengths when it is there. The tones' lengths are real: the sounds a session plays, with the user's overrides.
enum SpeechLengths {
    static func promptLength(_ text: String) -> Duration { .milliseconds(700 + 56 * text.count) }

    static func timing(sounds: SoundSet) -> SpeechTiming {
        var tones: [SoundName: Duration] = [:]
        for name in SoundName.allCases {
            // Rounded up to the microsecond: a prompt never starts before the tone has rung out.
            let frames = sounds[name].count
            tones[name] = .microseconds((frames * 1_000_000 + sounds.rate - 1) / sounds.rate)
        }
        return SpeechTiming(toneLength: { tones[$0] ?? SessionPlanner.cueGap }, length: promptLength)
    }
}

extension SpeechLengths {
    /// The lengths for a session with the user's sounds; unusable override files are reported and skipped.
    static func timing() -> SpeechTiming {
        let (sounds, problems) = SoundSet.load(overridesIn: XDGPaths.current.soundsDirectory, rate: CueSounds.rate)
        for problem in problems { printError("warning: using the built-in sound instead of \(problem)") }
        return timing(sounds: sounds)
    }
}
