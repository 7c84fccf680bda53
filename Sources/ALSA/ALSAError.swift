import CALSA

/// A libasound call that failed, with the library's own explanation.
public struct ALSAError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The C function that failed, e.g. `snd_pcm_open`.
    public let function: String
    /// The negative error code it returned.
    public let code: Int32

    public init(function: String, code: Int32) {
        self.function = function
        self.code = code
    }

    /// libasound's text for the code (`snd_strerror`), e.g. "No such file or directory".
    public var message: String { String(cString: snd_strerror(code)) }

    public var description: String { "\(message) (\(function))" }

    /// The `errno` value behind the code: libasound returns `-errno`, e.g. `-ENOENT`.
    public var errno: Int32 { -code }

    /// What a device that cannot be opened or used usually means to the person who wants sound.
    public enum Cause: Sendable, Hashable {
        /// No sound card, or no device by that name: `ENOENT`, `ENODEV`, `ENXIO`, or `EINVAL` from `snd_pcm_open`
        /// (a card number that does not exist, as in `hw:9,0`).
        case noDevice
        /// Another program holds the device: `EBUSY`.
        case busy
        /// This user may not use the device: `EACCES`, `EPERM` (often: not in the `audio` group).
        case noPermission
        /// The sound server behind the device (PipeWire, PulseAudio) is not running: its plugin says `EHOSTDOWN`
        /// ("Host is down") or `ECONNREFUSED`.
        case serverNotRunning
        /// Anything else; `message` is all there is to say.
        case other
    }

    public var cause: Cause {
        switch errno {
        case ENOENT, ENODEV, ENXIO: .noDevice
        case EINVAL where function == "snd_pcm_open": .noDevice
        case EBUSY: .busy
        case EACCES, EPERM: .noPermission
        case EHOSTDOWN, ECONNREFUSED: .serverNotRunning
        default: .other
        }
    }

    /// What the failure means, then libasound's own words: `no sound card found, or no device of that name
    /// (ALSA: No such file or directory, snd_pcm_open)`.
    public var explanation: String {
        let meaning: String
        switch cause {
        case .noDevice: meaning = "no sound card found, or no device of that name"
        case .busy: meaning = "the device is busy, used by another program"
        case .noPermission: meaning = "no permission to use it (is this user in the audio group?)"
        case .serverNotRunning: meaning = "the sound server (PipeWire or PulseAudio) is not running"
        case .other: return description
        }
        return "\(meaning) (ALSA: \(message), \(function))"
    }
}

/// The one place a libasound return value is checked: negative means failure.
@discardableResult
func check<Result: BinaryInteger>(_ function: String, _ result: Result) throws(ALSAError) -> Result {
    guard result >= 0 else { throw ALSAError(function: function, code: Int32(truncatingIfNeeded: result)) }
    return result
}
