import StretchAudio
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct UpsamplerTests {
    /// Signal to noise of `output` against `exact`, in dB, over `range`.
    static func snr(_ output: [Float], _ exact: [Double], in range: Range<Int>) -> Double {
        var signal = 0.0, noise = 0.0
        for index in range {
            signal += exact[index] * exact[index]
            let error = Double(output[index]) - exact[index]
            noise += error * error
        }
        return 10 * log10(signal / noise)
    }

    @Test(arguments: [200.0, 1000, 4000, 7000])
    func `a sine at 16 kHz comes out at 48 kHz within 80 dB of the exact sine`(frequency: Double) {
        let input = (0..<16_000).map { Float(0.5 * sin(2 * Double.pi * frequency * Double($0) / 16_000)) }
        let output = Upsampler(factor: 3).upsample(input)
        #expect(output.count == 48_000)
        let exact = (0..<48_000).map { 0.5 * sin(2 * Double.pi * frequency * Double($0) / 48_000) }
        // The first and last 100 input samples hold the filter's edge transient (the input stops abruptly there).
        let ratio = Self.snr(output, exact, in: 300..<47_700)
        #expect(ratio >= 80, "SNR \(ratio) dB at \(frequency) Hz")
    }

    @Test func `linear interpolation would not pass the same check`() {
        // The check above can fail: a linearly interpolated 4 kHz sine misses it by far.
        let input = (0..<16_000).map { 0.5 * sin(2 * Double.pi * 4000 * Double($0) / 16_000) }
        let linear = (0..<48_000).map { index -> Float in
            let left = index / 3, right = min(left + 1, input.count - 1), fraction = Double(index % 3) / 3
            return Float(input[left] * (1 - fraction) + input[right] * fraction)
        }
        let exact = (0..<48_000).map { 0.5 * sin(2 * Double.pi * 4000 * Double($0) / 48_000) }
        #expect(Self.snr(linear, exact, in: 300..<47_700) < 40)
    }

    @Test func `every third output sample is the input sample itself`() {
        let input: [Float] = (0..<500).map { Float(sin(Double($0) * 0.37) * 0.8) }
        let output = Upsampler(factor: 3).upsample(input)
        for index in input.indices { #expect(abs(output[3 * index] - input[index]) < 1e-6) }
    }

    @Test func `an empty input gives an empty output and silence stays silent`() {
        #expect(Upsampler(factor: 3).upsample([]).isEmpty)
        #expect(Upsampler(factor: 3).upsample([Float](repeating: 0, count: 100)).allSatisfy { $0 == 0 })
    }
}
