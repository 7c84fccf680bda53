#if canImport(Glibc)
import Glibc
#endif

/// Raises a sample rate by a whole factor (speech comes at 16 kHz, the session plays at 48 kHz: 3) with a
/// polyphase windowed-sinc filter: each output sample is the input convolved with one phase of a Kaiser-windowed
/// low-pass at the input's Nyquist frequency. Zero phase (the filter's delay is compensated), so output sample
/// `factor * i` lies at input sample `i`; the output is exactly `factor` times as long, the input taken as silent
/// outside its ends.
///
/// With 48 taps per phase and a Kaiser beta of 9, a sine up to 7 kHz at 16 kHz comes out above 80 dB SNR; linear
/// interpolation reaches only 50 dB at 1 kHz (and lets the images through above).
public struct Upsampler: Sendable {
    public let factor: Int
    public let tapsPerPhase: Int
    /// `phases[p][k]`: the weight of input sample `i + leads[p] - k` in output sample `factor * i + p`.
    private let phases: [[Float]]
    private let leads: [Int]

    public init(factor: Int, tapsPerPhase: Int = 48, beta: Double = 9) {
        precondition(factor >= 1 && tapsPerPhase >= 1, "an upsampler needs a factor and taps")
        self.factor = factor
        self.tapsPerPhase = tapsPerPhase
        // The prototype at the output rate: odd length, so that its centre is a whole output sample.
        let length = factor * tapsPerPhase + 1
        let centre = (length - 1) / 2
        let cutoff = 1 / Double(factor)  // the input's Nyquist, in cycles per output sample times 2
        let window = KaiserWindow(beta: beta)
        let prototype = (0..<length).map { n -> Double in
            let t = Double(n - centre)
            let sinc = t == 0 ? 1 : sin(Double.pi * cutoff * t) / (Double.pi * cutoff * t)
            // Gain `factor`: the zero-stuffed signal carries 1/factor of the energy per output sample.
            return Double(factor) * cutoff * sinc * window.value(at: t / Double(centre))
        }
        // Output m = factor*i + p reads input j through prototype[m + centre - factor*j], wherever that index is
        // inside the filter: index (p + centre) % factor + factor*k for input j = i + (p + centre) / factor - k.
        phases = (0..<factor).map { phase in
            stride(from: (phase + centre) % factor, to: length, by: factor).map { Float(prototype[$0]) }
        }
        leads = (0..<factor).map { phase in (phase + centre) / factor }
    }

    /// `samples` at `factor` times their rate.
    public func upsample(_ samples: [Float]) -> [Float] {
        guard !samples.isEmpty else { return [] }
        let count = samples.count
        var output = [Float](repeating: 0, count: count * factor)
        samples.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { output in
                for phase in 0..<factor {
                    let taps = phases[phase]
                    let lead = leads[phase]
                    taps.withUnsafeBufferPointer { taps in
                        for i in 0..<count {
                            // Input index of tap k: i + lead - k.
                            let newest = i + lead
                            let kFirst = max(0, newest - (count - 1))
                            let kLast = min(taps.count - 1, newest)
                            var sum: Float = 0
                            if kFirst <= kLast {
                                for k in kFirst...kLast { sum += taps[k] * input[newest - k] }
                            }
                            output[i * factor + phase] = sum
                        }
                    }
                }
            }
        }
        return output
    }
}

/// The Kaiser window: I0(beta * sqrt(1 - x^2)) / I0(beta) for x in -1...1.
private struct KaiserWindow {
    let beta: Double
    let scale: Double

    init(beta: Double) {
        self.beta = beta
        scale = 1 / Self.besselI0(beta)
    }

    func value(at x: Double) -> Double {
        guard abs(x) <= 1 else { return 0 }
        return Self.besselI0(beta * (1 - x * x).squareRoot()) * scale
    }

    /// The modified Bessel function of the first kind, order 0, by its power series (converges quickly for the
    /// betas a window uses).
    static func besselI0(_ x: Double) -> Double {
        var sum = 1.0, term = 1.0, k = 1.0
        let quarter = x * x / 4
        while term > sum * 1e-17 {
            term *= quarter / (k * k)
            sum += term
            k += 1
        }
        return sum
    }
}
