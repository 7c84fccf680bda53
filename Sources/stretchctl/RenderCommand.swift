import ArgumentParser
import StretchAudio
import StretchConfig
import StretchCore
import StretchSettings
import StretchSystem
import SystemPackage

struct RenderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Write a routine's whole session to a WAV file.",
        discussion: """
            The file holds the session exactly as it would be played: each cue's first sample at frame \
            round(at * rate), where `at` is the cue's time in `stretchctl plan`, and silence elsewhere. \
            16-bit mono. A 16-bit WAV file holds at most 4 GiB of samples: sessions of up to about 12 h 25 min \
            at 48 kHz (longer at lower rates). The session is mixed and written a second at a time, so memory use \
            does not grow with its length; the file is written beside the output file and renamed over it when \
            complete, so a failed render leaves an earlier file there as it was. With a voice (--voice on, or by \
            default where the voice loads and the config's [voice] enabled is true), each spoken prompt's first \
            sample is at frame round(at * rate) of its "speech" cue in `stretchctl plan --json`.
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

    @Option(help: ArgumentHelp(
        "Spoken prompts: on or off (default: on where the voice loads, unless the config turns it off).",
        valueName: "on|off"))
    var voice: VoiceSetting?

    func validate() throws {
        guard WAV.rates.contains(rate) else {
            throw ValidationError("--rate must be from \(WAV.rates.lowerBound) to \(WAV.rates.upperBound) Hz.")
        }
        guard (0...1).contains(volume) else { throw ValidationError("--volume must be from 0 to 1, got \(volume).") }
    }

    func run() async throws {
        // An earlier render may be written again; anything else there (the routine file itself, by mistake) stays.
        if let refusal = OutputFile.refusal(output, replacingWAV: true) {
            printError("error: \(refusal)")
            throw ExitCode(1)
        }
        let (routine, library) = try routineOptions.resolve(routine)
        let (sounds, problems) = SoundSet.load(overridesIn: XDGPaths.current.soundsDirectory, rate: rate)
        for problem in problems { printError("warning: using the built-in sound instead of \(problem)") }
        let session = try await VoicedSession.prepare(routine, voice: voice, sounds: sounds)
        let plan = session.plan
        for warning in session.speechWarnings(of: routine, in: library, reference: self.routine) {
            printError(warning)
        }
        let stream = SessionStream(plan, sounds: sounds, volume: volume, speech: session.speech)
        let limit = WAV.maximumPCM16Frames()
        guard stream.frames <= limit else {
            printError("error: the session lasts \(DurationText.format(stream.length)); a 16-bit WAV file at \(rate) Hz "
                + "holds at most \(DurationText.format(.seconds(limit / rate))) (play streams any length)")
            throw ExitCode(1)
        }
        // The header's sizes are known from the plan, so the file is written front to back, one block at a time.
        let written = Files.write(to: output) { fd in
            _ = try fd.writeAll(WAV.pcm16Header(frames: stream.frames, rate: rate))
            try stream.render(blockFrames: rate) { block in
                try Self.writeLittleEndian(block, to: fd)
            }
        }
        if case .failure(let problem) = written {
            printError("error: \(problem)")
            throw ExitCode(1)
        }
        let prompts = plan.prompts.isEmpty ? "" : ", \(plan.prompts.count) prompts"
        print("wrote \(output): \(plan.routine.id), \(plan.cues.count) cues\(prompts), "
            + "\(DurationText.format(stream.length)) at \(rate) Hz")
    }

    /// Writes 16-bit samples as WAV stores them, little-endian.
    static func writeLittleEndian(_ samples: UnsafeBufferPointer<Int16>, to fd: FileDescriptor) throws {
        #if _endian(little)
        _ = try fd.writeAll(UnsafeRawBufferPointer(samples))
        #else
        _ = try fd.writeAll(samples.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] })
        #endif
    }
}
