import ArgumentParser
import StretchAudio
import StretchConfig
import StretchCore
import StretchSettings
import StretchSystem

struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Write a routine's whole session to a WAV file.",
        discussion: """
            The file holds the session exactly as it would be played: each cue's first sample at frame \
            round(at * rate), where `at` is the cue's time in `stretchctl plan`, and silence elsewhere. \
            16-bit mono.
            """
    )

    @OptionGroup var routineOptions: RoutineOptions

    @Argument(help: ArgumentHelp("A routine id or the path to a routine file.", valueName: "routine"))
    var routine: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The WAV file to write.", valueName: "file"))
    var output: String

    @Option(help: ArgumentHelp("Sample rate in Hz.", valueName: "hz"))
    var rate = CueSounds.rate

    @Option(help: ArgumentHelp("Volume from 0 to 1.", valueName: "level"))
    var volume: Float = 1

    func validate() throws {
        guard WAV.rates.contains(rate) else {
            throw ValidationError("--rate must be from \(WAV.rates.lowerBound) to \(WAV.rates.upperBound) Hz.")
        }
        guard (0...1).contains(volume) else { throw ValidationError("--volume must be from 0 to 1, got \(volume).") }
    }

    /// The longest session `render` writes: its samples are held in memory (4 bytes a frame) and a 16-bit WAV file
    /// holds at most 4 GiB.
    static let maximumLength = Duration.seconds(3 * 3600)

    func run() throws {
        // An earlier render may be written again; anything else there (the routine file itself, by mistake) stays.
        if let refusal = OutputFile.refusal(output, replacingWAV: true) {
            printError("error: \(refusal)")
            throw ExitCode(1)
        }
        let plan = SessionPlanner.plan(try routineOptions.routine(routine))
        guard plan.duration <= Self.maximumLength else {
            printError("error: the session lasts \(DurationText.format(plan.duration)); render writes sessions of at most "
                + "\(DurationText.format(Self.maximumLength)) (play streams any length)")
            throw ExitCode(1)
        }
        let (sounds, problems) = SoundSet.load(overridesIn: XDGPaths.current.soundsDirectory, rate: rate)
        for problem in problems { printError("warning: using the built-in sound instead of \(problem)") }
        let samples = SessionRenderer.render(plan, sounds: sounds, volume: volume)
        if case .failure(let problem) = Files.writeBytes(WAV.pcm16(samples, rate: rate), to: output) {
            printError("error: \(problem)")
            throw ExitCode(1)
        }
        let length = Duration.seconds(samples.count) / rate
        print("wrote \(output): \(plan.routine.id), \(plan.cues.count) cues, \(DurationText.format(length)) at \(rate) Hz")
    }
}
