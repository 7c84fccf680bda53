@testable import Speech
import StretchAudio
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the built-in routines are likely to say (a step's name and setup, a part, a side, the last repetition,
/// the end): the batch a session synthesizes when its plan is built.
let routinePrompts = [
    "Hip ninety-ninety. Right leg in front, left leg out to the side.",
    "Lean forward.",
    "Now rotate toward the back leg.",
    "Left leg in front.",
    "Active hamstring stretch. Lie on your back and hold the right leg behind the knee.",
    "Left leg.",
    "Last one.",
    "Adductor rocks. On hands and knees, right leg out to the side.",
    "Quadriceps couch stretch. Right knee on the pillow, foot up against the couch.",
    "Switch sides.",
    "That's the session. Well done.",
    "Kneeling hip flexor stretch. Right knee down, left foot forward.",
    "Crossover hamstring stretch. Cross the right leg over the left and fold forward.",
    "Standing quad stretch. Stand on your left leg and hold your right foot.",
    "Seated twist. Right leg over the left, turn toward the knee.",
    "Right side.",
    "Left side.",
    "Breathe slowly.",
    "Ease off whenever you need to.",
    "Next: desk basics.",
]

/// flite is loaded once per batch: the tests share one batch so the suite stays quick.
let spoken = Task { try await SpeechSynthesizer(cache: nil).synthesize(routinePrompts) }

// Serialized: the check that flite is unloaded after a batch needs no other batch running.
@Suite(.serialized) struct SpeechSynthesizerTests {
    @Test func `every prompt is spoken at the cue sounds' loudness, never above the peak limit`() async throws {
        let prompts = try await spoken.value
        #expect(prompts.count == routinePrompts.count)
        for text in routinePrompts {
            let samples = try #require(prompts[text]).map { Float($0) / 32767 }
            // Half a second at least: every prompt is a word or more.
            #expect(samples.count > SpeechSynthesizer.rate / 2, "\(text)")
            #expect(peak(of: samples) <= SpeechSynthesizer.peakLimit, "\(text): peak \(peak(of: samples))")
            let level = loudness(of: samples, rate: SpeechSynthesizer.rate)
            #expect(abs(level - CueSounds.loudness) <= 1, "\(text): loudness \(level) dBFS")
        }
    }

    @Test func `a prompt starts and ends at silence, without a click`() async throws {
        for (text, samples) in try await spoken.value {
            #expect(samples.first == 0 && samples.last == 0, "\(text)")
            // Within the first and last 5 ms, no step between neighbouring samples is larger than 1% of full
            // scale: the fade brings it in and out smoothly.
            let edge = SpeechSynthesizer.rate / 200
            for range in [0..<edge, samples.count - edge..<samples.count - 1] {
                let step = range.map { abs(Int(samples[$0 + 1]) - Int(samples[$0])) }.max() ?? 0
                #expect(step < 328, "\(text): a step of \(step) at an edge")
            }
        }
    }

    @Test func `the same text gives the same samples every time`() async throws {
        let first = try await spoken.value
        let again = try await SpeechSynthesizer(cache: nil).synthesize(["Last one.", "Hip ninety-ninety. Right leg in front, left leg out to the side."])
        #expect(again["Last one."] == first["Last one."])
        #expect(again["Hip ninety-ninety. Right leg in front, left leg out to the side."]
            == first["Hip ninety-ninety. Right leg in front, left leg out to the side."])
        // Alone, in a batch of its own, and twice in one batch: still the same.
        #expect(try await SpeechSynthesizer(cache: nil).synthesize("Last one.") == first["Last one."])
        let twice = try await SpeechSynthesizer(cache: nil).synthesize(["Left leg.", "Last one.", "Left leg."])
        #expect(twice["Last one."] == first["Last one."] && twice["Left leg."] == first["Left leg."])
    }

    @Test func `a text longer than the limit is refused before flite sees it`() async {
        let long = String(repeating: "Stretch. ", count: 40)
        await #expect(throws: SpeechError.tooLong(text: long, length: 360, limit: 300)) {
            try await SpeechSynthesizer(cache: nil).synthesize(["Last one.", long])
        }
        let atLimit = String(repeating: "a", count: 300)
        #expect(throws: Never.self) { try SpeechSynthesizer.check(atLimit) }
    }

    @Test func `empty text, white space and NUL characters are refused`() async {
        await #expect(throws: SpeechError.emptyText) { try await SpeechSynthesizer(cache: nil).synthesize("") }
        await #expect(throws: SpeechError.emptyText) { try await SpeechSynthesizer(cache: nil).synthesize(" \n\t") }
        await #expect(throws: SpeechError.nulCharacter(text: "Left\0 leg")) {
            try await SpeechSynthesizer(cache: nil).synthesize("Left\0 leg")
        }
        #expect(SpeechError.nulCharacter(text: "Left\0 leg").description == #"the text "Left\0 leg" contains a NUL character"#)
    }

    @Test func `odd text up to the limit is spoken, never a crash`() async throws {
        let odd = [
            String(repeating: "9", count: 40), String(repeating: "Straße café ", count: 25), "\u{7F}\u{1}\u{1B}[0m",
            String(repeating: "a", count: 300), "ok " + String(repeating: "\u{301}", count: 297),
        ]
        for text in odd {
            let samples = try await SpeechSynthesizer(cache: nil).synthesize(text)
            #expect(samples.count > SpeechSynthesizer.rate / 4 && samples.first == 0 && samples.last == 0)
        }
    }

    @Test func `text with nothing to read aloud is a clear error, not loud noise`() async {
        for text in [String(repeating: ".", count: 300), "😀😀", String(repeating: "漢字", count: 150), "?!"] {
            await #expect(throws: SpeechError.silent(text: text)) { try await SpeechSynthesizer(cache: nil).synthesize(text) }
        }
    }

    @Test func `a text that cannot be spoken fails alone and the others are spoken`() async throws {
        let long = String(repeating: "a", count: SpeechSynthesizer.maximumLength + 1)
        let batch = try await SpeechSynthesizer(cache: nil).synthesizeEach(["Last one.", "北京 上海", long, "Left leg."])
        #expect(Set(batch.spoken.keys) == ["Last one.", "Left leg."])
        #expect(batch.spoken.values.allSatisfy { $0.count > SpeechSynthesizer.rate / 4 })
        #expect(batch.unspoken.map(\.error) == [
            .tooLong(text: long, length: long.unicodeScalars.count, limit: SpeechSynthesizer.maximumLength),
            .silent(text: "北京 上海"),
        ])
    }

    @Test func `a voice that cannot be loaded is a clear error`() async {
        await #expect(throws: SpeechError.voiceUnavailable(
            reason: "libflite_cmu_us_nobody.so.1: cannot open shared object file: No such file or directory"
        )) { try await SpeechSynthesizer(library: "libflite_cmu_us_nobody.so.1").synthesize("Left leg.") }
        #expect(SpeechError.voiceUnavailable(reason: "x").description
            == "the voice cannot be loaded (install flite1-dev, or libflite1): x")
    }

    @Test func `silence is not brought up to the cue loudness`() {
        #expect(SpeechSynthesizer.finished([Float](repeating: 0, count: 480)) == nil)
        #expect(SpeechSynthesizer.finished([]) == nil)
    }

    @Test func `after a batch no flite library stays mapped`() async throws {
        _ = try await SpeechSynthesizer(cache: nil).synthesize("Left leg.")
        let maps = try #require(Self.read("/proc/self/maps"))
        #expect(!maps.contains("libflite"))
    }

    /// Opt-in figures for the report: `SPEECH_MEASURE=1 swift test --skip-build --filter measure`.
    @Test(.enabled(if: getenv("SPEECH_MEASURE") != nil))
    func `measure synthesis time and memory`() async throws {
        _ = Self.write("/proc/self/clear_refs", "5")  // resets VmHWM to the current RSS
        let before = Self.status("VmRSS")
        let clock = ContinuousClock()
        var times: [Duration] = []
        let batch = try await clock.measure { _ = try await SpeechSynthesizer(cache: nil).synthesize(routinePrompts) }
        let peakDuring = Self.status("VmHWM"), after = Self.status("VmRSS")
        for text in routinePrompts {
            times.append(try await clock.measure { _ = try await SpeechSynthesizer(cache: nil).synthesize(text) })
        }
        let prompts = try await spoken.value
        for text in routinePrompts {
            let samples = prompts[text]!
            let floats = samples.map { Float($0) / 32767 }
            let lead = samples.firstIndex { abs($0) > 33 } ?? 0
            let tail = samples.count - 1 - (samples.lastIndex { abs($0) > 33 } ?? 0)
            print("prompt \(Double(samples.count) / 48_000) s, loudness \(loudness(of: floats, rate: 48_000)), peak \(peak(of: floats)), silence before \(Double(lead) / 48) ms, after \(Double(tail) / 48) ms: \(text)")
        }
        let sorted = times.sorted()
        print("batch of \(routinePrompts.count): \(batch); each alone (load, speak, unload): median \(sorted[sorted.count / 2]), longest \(sorted.last!)")
        print("RSS before \(before) kB, peak during \(peakDuring) kB, after \(after) kB")
    }

    static func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var text = "", buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), file) != nil { text += String(cString: buffer) }
        return text
    }

    static func write(_ path: String, _ text: String) -> Bool {
        guard let file = fopen(path, "w") else { return false }
        defer { fclose(file) }
        return fputs(text, file) >= 0
    }

    /// A line of /proc/self/status, in kB.
    static func status(_ key: String) -> Int {
        let line = read("/proc/self/status")?.split(separator: "\n").first { $0.hasPrefix(key + ":") }
        return line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? -1
    }
}
