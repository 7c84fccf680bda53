import CALSA

/// An open ALSA playback device, 16-bit signed little-endian interleaved; closed when released.
///
/// Device names are the ones users know: `default`, `hw:1,0`, `plughw:1,0`, `pipewire`, `pulse`, `null`, or
/// `file:'/path/out.wav',wav` to record exactly what is played. Rate conversion is allowed, so any of them
/// accepts 48 kHz.
///
/// The device is opened non-blocking (`SND_PCM_NONBLOCK`): `write` takes only what the device has room for and
/// returns at once, so the thread that feeds it never waits on the sound card. Whoever writes keeps the rest and
/// offers it again later, pacing itself on a clock (`delay()` says how long what was written still plays).
public final class PCMDevice {
    public let name: String
    public let rate: Int
    public let channels: Int
    private let handle: OpaquePointer

    /// Opens and configures the device, non-blocking.
    ///
    /// The corresponding C functions are `snd_pcm_open` (with `SND_PCM_NONBLOCK`) and `snd_pcm_set_params`.
    /// - Parameter latency: The device's buffer: how much audio it can hold ahead of playing it. The live session
    ///   keeps less than this queued.
    public init(name: String, rate: Int = 48_000, channels: Int = 1, latency: Duration = .milliseconds(500))
        throws(ALSAError)
    {
        var opened: OpaquePointer?
        try check("snd_pcm_open", snd_pcm_open(&opened, name, SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK))
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

    /// Writes as many whole frames of `samples` (interleaved) as the device has room for now, without waiting, and
    /// returns how many frames it took: 0 when the device is full (`-EAGAIN`). Recovers from an underrun (the
    /// feeder was late) and resumes after a system suspend; while the device is still resuming it takes nothing.
    /// Playback starts with the first frames written, so what is written plays from then on at the device's rate.
    ///
    /// The corresponding C function is `snd_pcm_writei`; on `-EPIPE` and `-ESTRPIPE` it calls `snd_pcm_prepare`
    /// and `snd_pcm_resume` (not `snd_pcm_recover`, which sleeps while a suspended device resumes), and
    /// `snd_pcm_start` once frames are queued.
    public func write(_ samples: UnsafeBufferPointer<Int16>) throws(ALSAError) -> Int {
        let frames = samples.count / channels
        guard frames > 0, let base = samples.baseAddress else { return 0 }
        var written = snd_pcm_writei(handle, base, snd_pcm_uframes_t(frames))
        if written == -Int(EPIPE) || written == -Int(ESTRPIPE) {
            guard try recover(Int32(written)) else { return 0 }
            written = snd_pcm_writei(handle, base, snd_pcm_uframes_t(frames))
        }
        if written == -Int(EAGAIN) { return 0 }
        try check("snd_pcm_writei", written)
        if snd_pcm_state(handle) == SND_PCM_STATE_PREPARED {
            try check("snd_pcm_start", snd_pcm_start(handle))
        }
        return written
    }

    /// Makes the device playable again after an underrun (`-EPIPE`) or a suspend (`-ESTRPIPE`); false while a
    /// suspended device is still resuming (try again later).
    ///
    /// The corresponding C functions are `snd_pcm_resume` and `snd_pcm_prepare`.
    private func recover(_ code: Int32) throws(ALSAError) -> Bool {
        if code == -ESTRPIPE {
            let resumed = snd_pcm_resume(handle)
            if resumed == 0 { return true }
            if resumed == -EAGAIN { return false }
            // -ENOSYS: the device cannot resume; it starts over from prepared.
        }
        try check("snd_pcm_prepare", snd_pcm_prepare(handle))
        return true
    }

    /// Frames written that the device has not played yet: everything written is heard `delay() / rate` seconds
    /// from now. 0 when the device is not running, e.g. after it played everything and ran dry.
    ///
    /// The corresponding C function is `snd_pcm_delay`.
    public func delay() throws(ALSAError) -> Int {
        let state = snd_pcm_state(handle)
        guard state == SND_PCM_STATE_RUNNING || state == SND_PCM_STATE_DRAINING else { return 0 }
        var frames: snd_pcm_sframes_t = 0
        let result = snd_pcm_delay(handle, &frames)
        // Ran dry between the two calls: everything was played.
        if result == -EPIPE { return 0 }
        try check("snd_pcm_delay", result)
        return max(0, frames)
    }
}
