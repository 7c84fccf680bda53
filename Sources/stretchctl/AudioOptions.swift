import ALSA
import ArgumentParser
import Logging
import StretchAudio
import StretchConfig
import StretchSettings
import StretchSystem

/// The audio device and level; shared by the commands that make sound.
struct AudioOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "ALSA device: default, hw:1,0, plughw:1,0, pipewire, pulse, null, or file:'/path/out.wav',wav.",
        valueName: "name"))
    var device = "default"

    @Option(help: ArgumentHelp("Volume from 0 to 1.", valueName: "level"))
    var volume: Float = 0.8

    @Flag(name: .shortAndLong, help: "Show libasound's own messages and other debug output.")
    var verbose = false

    func validate() throws {
        guard (0...1).contains(volume) else { throw ValidationError("--volume must be from 0 to 1, got \(volume).") }
    }

    /// A logger on stderr; libasound's messages go to it at debug level, shown only with --verbose.
    func logger() -> Logger {
        var logger = Logger(label: "stretchctl") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = verbose ? .debug : .warning
        let alsaLogger = logger
        ALSALog.route { alsaLogger.debug("\($0)") }
        return logger
    }

    /// The sounds at `rate`, with the user's overrides; unusable override files are reported and skipped.
    func sounds(rate: Int = CueSounds.rate) -> SoundSet {
        let (sounds, problems) = SoundSet.load(overridesIn: XDGPaths.current.soundsDirectory, rate: rate)
        for problem in problems { printError("warning: using the built-in sound instead of \(problem)") }
        return sounds
    }
}

/// What is shown when a device cannot be used: what went wrong, and how to choose another.
func deviceFailure(_ device: String, _ error: ALSAError) -> ExitCode {
    printError("error: \(AudioDeviceProblem.cannotOpen(device, error))")
    printError("hint: \(AudioDeviceProblem.commandLineAdvice)")
    return ExitCode(1)
}
