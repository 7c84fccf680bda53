import CALSA

/// An open ALSA playback device, 16-bit signed little-endian interleaved; closed when released.
///
/// Device names are the ones users know: `default`, `hw:1,0`, `plughw:1,0`, `pipewire`, `pulse`, `null`, or
/// `file:'/path/out.wav',wav` to record exactly what is played. Rate conversion is allowed, so any of them
/// accepts 48 kHz.
public final class PCMDevice {
    public let name: String
    public let rate: Int
    public let channels: Int
    private let handle: OpaquePointer

    /// Opens and configures the device.
    ///
    /// The corresponding C functions are `snd_pcm_open` and `snd_pcm_set_params`.
    /// - Parameter latency: How much audio the device may buffer; the live session keeps less than this queued.
    public init(name: String, rate: Int = 48_000, channels: Int = 1, latency: Duration = .milliseconds(250))
        throws(ALSAError)
    {
        var opened: OpaquePointer?
        try check("snd_pcm_open", snd_pcm_open(&opened, name, SND_PCM_STREAM_PLAYBACK, 0))
        guard let opened else { throw ALSAError(function: "snd_pcm_open", code: -ENODEV) }
        do {
            let microseconds = UInt32(latency.components.seconds * 1_000_000 + latency.components.attoseconds / 1_000_000_000_000)
            try check(
                "snd_pcm_set_params",
                snd_pcm_set_params(
                    opened, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED, UInt32(channels), UInt32(rate), 1,
                    microseconds))
        } catch {
            snd_pcm_close(opened)
            throw error
        }
        self.handle = opened
        self.name = name
        self.rate = rate
        self.channels = channels
    }

    deinit {
        snd_pcm_close(handle)
    }

    /// Writes all of `samples` (interleaved frames), recovering from underruns and suspends.
    ///
    /// The corresponding C functions are `snd_pcm_writei` and, on `-EPIPE` or `-ESTRPIPE`, `snd_pcm_recover`.
    public func write(_ samples: [Int16]) throws(ALSAError) {
        var offset = 0
        let frames = samples.count / channels
        while offset < frames {
            let written = samples.withUnsafeBufferPointer { buffer in
                snd_pcm_writei(handle, buffer.baseAddress! + offset * channels, snd_pcm_uframes_t(frames - offset))
            }
            if written < 0 {
                // Recovers underruns (the feeder was late) and resumes after a system suspend.
                try check("snd_pcm_writei", snd_pcm_recover(handle, Int32(written), 1))
                continue
            }
            offset += written
        }
    }

    /// Waits until everything written has been played.
    ///
    /// The corresponding C function is `snd_pcm_drain`.
    public func drain() throws(ALSAError) {
        try check("snd_pcm_drain", snd_pcm_drain(handle))
    }
}
