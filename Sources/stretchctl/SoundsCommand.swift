import ALSA
import ArgumentParser
import StretchAudio
import StretchConfig
import StretchCore
import StretchSettings
import StretchSystem

struct SoundsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sounds",
        abstract: "List, play and export the cue sounds.",
        discussion: """
            A WAV file named after a sound (e.g. hold-start.wav) in $XDG_DATA_HOME/stretchd/sounds/ (usually \
            ~/.local/share/stretchd/sounds/) replaces the built-in sound: 16-bit PCM or 32-bit float, mono or \
            stereo, any rate, at most 3 seconds.
            """,
        subcommands: [List.self, Play.self, Export.self],
        defaultSubcommand: List.self
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the sounds and where each comes from.")

        func run() throws {
            let directory = XDGPaths.current.soundsDirectory
            let (sounds, problems) = SoundSet.load(overridesIn: directory)
            for problem in problems { printError("warning: using the built-in sound instead of \(problem)") }
            let rows = SoundName.allCases.map { name in
                [name.rawValue, DurationText.format(.seconds(sounds[name].count) / sounds.rate),
                 sounds.overrides[name] ?? "built-in"]
            }
            printTable([["NAME", "LENGTH", "SOURCE"]] + rows)
        }
    }

    struct Play: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Play one sound.")

        @Argument(help: ArgumentHelp("The sound's name, as `stretchctl sounds` lists it.", valueName: "name"))
        var name: String

        @OptionGroup var audio: AudioOptions

        func validate() throws {
            guard SoundName(rawValue: name) != nil else {
                throw ValidationError(
                    "No sound named \"\(name)\"; sounds: \(SoundName.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
        }

        func run() async throws {
            guard let sound = SoundName(rawValue: name) else { return }
            let logger = audio.logger()
            let output: LiveAudioOutput
            do {
                output = try LiveAudioOutput(
                    deviceName: audio.device, sounds: audio.sounds(), volume: audio.volume, logger: logger)
            } catch {
                throw deviceFailure(audio.device, error)
            }
            await output.play(sound)
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the built-in sounds to a directory as 48 kHz 16-bit WAV files.",
            discussion: """
                This is how the repository's Sounds/ folder is made; a good start for your own sounds. Files \
                already there are kept unless --force is given: they may be your own sounds.
                """
        )

        @Argument(help: ArgumentHelp("The directory to write to (created if missing).", valueName: "dir"))
        var directory: String

        @Flag(help: "Replace WAV files of the same names already in the directory.")
        var force = false

        func validate() throws {
            guard !directory.isEmpty else { throw ValidationError("The directory must not be empty.") }
        }

        func run() throws {
            // Every file is checked before any is written: a refusal leaves the folder as it was.
            let paths = SoundName.allCases.map { directory + "/" + $0.fileName }
            let refusals = paths.compactMap { OutputFile.refusal($0, replacingWAV: force) }
            if !refusals.isEmpty {
                for refusal in refusals { printError("error: \(refusal)") }
                throw ExitCode(1)
            }
            if case .failure(let problem) = Files.makeDirectory(directory) {
                printError("error: \(problem)")
                throw ExitCode(1)
            }
            for name in SoundName.allCases {
                let path = directory + "/" + name.fileName
                if case .failure(let problem) = Files.writeBytes(
                    WAV.pcm16(CueSounds.render(name), rate: CueSounds.rate), to: path)
                {
                    printError("error: \(problem)")
                    throw ExitCode(1)
                }
                print(path)
            }
        }
    }
}
