import StretchAudio
import StretchConfig
import StretchCore
import StretchSystem

extension SoundSet {
    /// The built-in sounds, with `NAME.wav` files in `directory` replacing the ones of the same name.
    /// A file that cannot be used is reported and the built-in sound kept.
    public static func load(overridesIn directory: String, rate: Int = CueSounds.rate) -> (SoundSet, [ConfigProblem]) {
        var set = SoundSet(rate: rate)
        var problems: [ConfigProblem] = []
        for name in SoundName.allCases {
            let path = directory + "/" + name.fileName
            switch Files.readBytes(path, limit: 16 << 20) {
            case .failure(let error):
                // No file is the usual case: the built-in sound is used.
                if !error.isMissing { problems.append(ConfigProblem(error)) }
            case .success(let bytes):
                do {
                    let audio = try WAV.read(bytes)
                    let length = Duration.seconds(audio.frames) / audio.rate
                    guard length <= SoundSet.maximumOverrideLength else {
                        problems.append(ConfigProblem(file: path, message:
                            "\(DurationText.format(length)) long; a cue sound may last at most "
                            + DurationText.format(SoundSet.maximumOverrideLength)))
                        continue
                    }
                    set.override(name, with: audio, from: path)
                } catch {
                    problems.append(ConfigProblem(file: path, message: error.description))
                }
            }
        }
        return (set, problems)
    }
}
