import ALSA
import Glibc
import StretchAudio
import Testing

@Suite struct AudioDeviceProblemTests {
    @Test(arguments: [
        (ENOENT, "snd_pcm_open", ALSAError.Cause.noDevice), (ENODEV, "snd_pcm_open", .noDevice),
        (ENXIO, "snd_pcm_open", .noDevice), (EINVAL, "snd_pcm_open", .noDevice),
        (EINVAL, "snd_pcm_set_params", .other), (EBUSY, "snd_pcm_open", .busy),
        (EACCES, "snd_pcm_open", .noPermission), (EPERM, "snd_pcm_open", .noPermission),
        (EHOSTDOWN, "snd_pcm_open", .serverNotRunning), (ECONNREFUSED, "snd_pcm_open", .serverNotRunning),
        (EIO, "snd_pcm_writei", .other),
    ])
    func theCauseComesFromTheErrnoNotTheText(errno: Int32, function: String, cause: ALSAError.Cause) {
        let error = ALSAError(function: function, code: -errno)
        #expect(error.errno == errno)
        #expect(error.cause == cause)
    }

    @Test func theExplanationSaysWhatItMeansThenALSAsWords() {
        #expect(AudioDeviceProblem.cannotOpen("default", ALSAError(function: "snd_pcm_open", code: -ENOENT))
            == "cannot open audio device \"default\": no sound card found, or no device of that name "
            + "(ALSA: No such file or directory, snd_pcm_open)")
        #expect(ALSAError(function: "snd_pcm_open", code: -EBUSY).explanation
            == "the device is busy, used by another program (ALSA: Device or resource busy, snd_pcm_open)")
        #expect(ALSAError(function: "snd_pcm_open", code: -EACCES).explanation
            == "no permission to use it (is this user in the audio group?) (ALSA: Permission denied, snd_pcm_open)")
        #expect(ALSAError(function: "snd_pcm_open", code: -EHOSTDOWN).explanation
            == "the sound server (PipeWire or PulseAudio) is not running (ALSA: Host is down, snd_pcm_open)")
        #expect(ALSAError(function: "snd_pcm_writei", code: -EIO).explanation == "Input/output error (snd_pcm_writei)")
    }

    @Test func theAdviceNamesTheConfigKeyAndHowToTryADevice() {
        #expect(AudioDeviceProblem.advice.contains("audio.device in config.toml"))
        #expect(AudioDeviceProblem.advice.contains("stretchctl sounds play countdown --device NAME"))
    }
}
