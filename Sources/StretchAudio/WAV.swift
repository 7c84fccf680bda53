/// Decoded WAV audio.
public struct WAVAudio: Sendable, Hashable {
    public var rate: Int
    public var channels: Int
    /// Interleaved samples in -1...1.
    public var samples: [Float]

    public var frames: Int { samples.count / max(1, channels) }
}

/// Why a WAV file could not be read.
public struct WAVError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
}

/// RIFF/WAVE reading and writing: PCM 16-bit and 32-bit float, mono or stereo.
///
/// The reader trusts no size in the file: every chunk is checked against the bytes actually present, so a
/// truncated file or a huge declared size is an error, never a crash or a huge allocation.
public enum WAV {
    public static let rates = 8_000...192_000

    public static func read(_ bytes: [UInt8]) throws(WAVError) -> WAVAudio {
        guard bytes.count >= 12, fourCC(bytes, 0) == "RIFF", fourCC(bytes, 8) == "WAVE" else {
            throw WAVError(description: "not a WAV file (no RIFF/WAVE header)")
        }
        var format: (tag: Int, channels: Int, rate: Int, bits: Int)?
        var data: ArraySlice<UInt8>?
        var offset = 12
        while offset + 8 <= bytes.count {
            let id = fourCC(bytes, offset)
            let size = Int(uint32(bytes, offset + 4))
            let body = offset + 8
            guard size <= bytes.count - body else {
                throw WAVError(description: "truncated: chunk \"\(id)\" declares \(size) bytes, \(bytes.count - body) remain")
            }
            if id == "fmt " {
                guard size >= 16 else { throw WAVError(description: "format chunk too short (\(size) bytes)") }
                var tag = Int(uint16(bytes, body))
                if tag == 0xFFFE, size >= 26 { tag = Int(uint16(bytes, body + 24)) }  // WAVE_FORMAT_EXTENSIBLE
                format = (tag, Int(uint16(bytes, body + 2)), Int(uint32(bytes, body + 4)), Int(uint16(bytes, body + 14)))
            } else if id == "data" {
                data = bytes[body..<body + size]
            }
            offset = body + size + size % 2  // chunks are padded to an even size
        }
        guard let format else { throw WAVError(description: "no format chunk") }
        guard let data else { throw WAVError(description: "no data chunk") }
        guard format.channels == 1 || format.channels == 2 else {
            throw WAVError(description: "\(format.channels) channels; only mono and stereo are supported")
        }
        guard rates.contains(format.rate) else {
            throw WAVError(description: "sample rate \(format.rate) Hz is outside \(rates.lowerBound)-\(rates.upperBound)")
        }
        let samples: [Float]
        switch (format.tag, format.bits) {
        case (1, 16):
            samples = stride(from: data.startIndex, to: data.endIndex - 1, by: 2).map {
                Float(Int16(bitPattern: uint16(bytes, $0))) / 32768
            }
        case (3, 32):
            samples = stride(from: data.startIndex, to: data.endIndex - 3, by: 4).map {
                let value = Float(bitPattern: uint32(bytes, $0))
                return value.isFinite ? max(-1, min(1, value)) : 0
            }
        default:
            throw WAVError(description: "unsupported encoding (format \(format.tag), \(format.bits) bits); "
                + "use 16-bit PCM or 32-bit float")
        }
        return WAVAudio(rate: format.rate, channels: format.channels, samples: samples)
    }

    /// A 16-bit PCM WAV file of interleaved `samples`.
    public static func pcm16(_ samples: [Int16], rate: Int, channels: Int = 1) -> [UInt8] {
        var bytes = pcm16Header(frames: samples.count / channels, rate: rate, channels: channels)
        bytes.reserveCapacity(bytes.count + samples.count * 2)
        for sample in samples { bytes += le16(Int(UInt16(bitPattern: sample))) }
        return bytes
    }

    /// The most frames a 16-bit PCM WAV file can hold: its RIFF size (the data plus 36 bytes of header) is a
    /// 32-bit number, so the data is at most 4 GiB less 37 bytes, about 12 h 25 min of mono at 48 kHz.
    public static func maximumPCM16Frames(channels: Int = 1) -> Int {
        (Int(UInt32.max) - 36) / (2 * channels)
    }

    /// The 44-byte header of a 16-bit PCM WAV file of `frames` frames: the samples follow it, little-endian.
    /// - Precondition: `frames <= maximumPCM16Frames(channels:)`.
    public static func pcm16Header(frames: Int, rate: Int, channels: Int = 1) -> [UInt8] {
        precondition((0...maximumPCM16Frames(channels: channels)).contains(frames), "too long for a WAV file")
        let dataSize = frames * channels * 2
        var bytes = Array("RIFF".utf8) + le32(36 + dataSize) + Array("WAVE".utf8)
        bytes += Array("fmt ".utf8) + le32(16) + le16(1) + le16(channels) + le32(rate)
        bytes += le32(rate * channels * 2) + le16(channels * 2) + le16(16)
        bytes += Array("data".utf8) + le32(dataSize)
        return bytes
    }

    /// A 32-bit float WAV file of interleaved `samples`.
    public static func float32(_ samples: [Float], rate: Int, channels: Int = 1) -> [UInt8] {
        let dataSize = samples.count * 4
        var bytes = Array("RIFF".utf8) + le32(36 + dataSize) + Array("WAVE".utf8)
        bytes += Array("fmt ".utf8) + le32(16) + le16(3) + le16(channels) + le32(rate)
        bytes += le32(rate * channels * 4) + le16(channels * 4) + le16(32)
        bytes += Array("data".utf8) + le32(dataSize)
        for sample in samples { bytes += le32(Int(sample.bitPattern)) }
        return bytes
    }

    private static func fourCC(_ bytes: [UInt8], _ offset: Int) -> String {
        String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
    }

    private static func uint16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    private static func uint32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        UInt32(uint16(bytes, offset)) | UInt32(uint16(bytes, offset + 2)) << 16
    }

    private static func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }
    private static func le32(_ value: Int) -> [UInt8] { le16(value & 0xFFFF) + le16(value >> 16 & 0xFFFF) }
}
