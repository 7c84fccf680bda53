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
}

/// The one place a libasound return value is checked: negative means failure.
@discardableResult
func check<Result: BinaryInteger>(_ function: String, _ result: Result) throws(ALSAError) -> Result {
    guard result >= 0 else { throw ALSAError(function: function, code: Int32(truncatingIfNeeded: result)) }
    return result
}
