import StretchAudio
import Testing

@Suite struct WAVTests {
    @Test func sixteenBitRoundTrips() throws {
        let samples: [Int16] = [0, 1, -1, 32767, -32768, 1234, -4321, 7]
        let audio = try WAV.read(WAV.pcm16(samples, rate: 44_100, channels: 2))
        #expect(audio.rate == 44_100 && audio.channels == 2 && audio.frames == 4)
        #expect(audio.samples.map { Int16(($0 * 32768).rounded()) } == samples)
    }

    @Test func floatRoundTrips() throws {
        let samples: [Float] = [0, 0.5, -0.25, 1, -1]
        let audio = try WAV.read(WAV.float32(samples, rate: 48_000))
        #expect(audio.samples == samples && audio.channels == 1)
    }

    @Test func skipsOtherChunksIncludingOddSizedOnes() throws {
        var bytes = WAV.pcm16([100, 200], rate: 8_000)
        // Insert a 3-byte LIST chunk (padded to 4) between fmt and data.
        let list: [UInt8] = Array("LIST".utf8) + [3, 0, 0, 0] + [1, 2, 3, 0]
        bytes.insert(contentsOf: list, at: 36)
        #expect(try WAV.read(bytes).samples.count == 2)
    }

    func error(_ bytes: [UInt8]) -> String? {
        do {
            _ = try WAV.read(bytes)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func malformedFilesAreRejectedWithAReason() {
        let good = WAV.pcm16([1, 2, 3, 4], rate: 48_000)
        #expect(error([]) == "not a WAV file (no RIFF/WAVE header)")
        #expect(error(Array("RIFF....AVIX".utf8)) == "not a WAV file (no RIFF/WAVE header)")
        #expect(error(Array(good.prefix(46))) == "truncated: chunk \"data\" declares 8 bytes, 2 remain")
        #expect(error(Array(good.prefix(36))) == "no data chunk")
        var noFormat = good
        noFormat.replaceSubrange(12..<16, with: Array("junk".utf8))
        #expect(error(noFormat) == "no format chunk")
        var shortFormat = good
        shortFormat.replaceSubrange(16..<20, with: [4, 0, 0, 0])
        #expect(error(shortFormat)?.hasPrefix("format chunk too short") == true)
        var eightBit = good
        eightBit.replaceSubrange(34..<36, with: [8, 0])
        #expect(error(eightBit)?.hasPrefix("unsupported encoding") == true)
        var threeChannels = good
        threeChannels.replaceSubrange(22..<24, with: [3, 0])
        #expect(error(threeChannels) == "3 channels; only mono and stereo are supported")
    }

    @Test func aHugeDeclaredSizeIsAnErrorNotAnAllocation() {
        var bytes = WAV.pcm16([1, 2], rate: 48_000)
        bytes.replaceSubrange(40..<44, with: [0xF0, 0xFF, 0xFF, 0xFF])
        #expect(error(bytes)?.hasPrefix("truncated: chunk \"data\" declares 4294967280 bytes") == true)
    }

    @Test func randomBytesNeverCrashTheReader() {
        var generator = SystemRandomNumberGenerator()
        let good = WAV.pcm16(Array(repeating: 5, count: 64), rate: 48_000)
        for _ in 0..<2000 {
            var bytes = good
            for _ in 0..<4 { bytes[Int.random(in: 0..<bytes.count, using: &generator)] = .random(in: 0...255, using: &generator) }
            bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator)))
            _ = try? WAV.read(bytes)
        }
    }
}
