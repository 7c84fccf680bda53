import ALSA

/// What stretchd and stretchctl say when the sound device cannot be used: what it means and what to do.
public enum AudioDeviceProblem {
    /// `cannot open audio device "default": no sound card found, or no device of that name (ALSA: No such file or
    /// directory, snd_pcm_open)`.
    public static func cannotOpen(_ device: String, _ error: ALSAError) -> String {
        "cannot open audio device \"\(device)\": \(error.explanation)"
    }

    static let names = "names such as default, plughw:1,0, pipewire, pulse; `aplay -L` lists them"

    /// How to choose another device for the daemon.
    public static let advice =
        "choose another with audio.device in config.toml; try one with: stretchctl sounds play countdown --device NAME"
        + " (\(names))"

    /// How to choose another device on stretchctl's command line.
    public static let commandLineAdvice =
        "try another with --device NAME (\(names)); stretchd uses the one set with audio.device in config.toml"
}
