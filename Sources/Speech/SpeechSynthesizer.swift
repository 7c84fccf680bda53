import CFlite
import EpollExecutor
import StretchAudio

#if canImport(Glibc)
import Glibc
#endif

/// Why a text could not be spoken.
public enum SpeechError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing but white space.
    case emptyText
    /// A NUL character, which would cut the text short on its way to flite.
    case nulCharacter(text: String)
    /// More than `limit` characters (Unicode scalars): flite takes minutes on very long texts.
    case tooLong(text: String, length: Int, limit: Int)
    /// The voice's library could not be loaded (flite1-dev, or libflite1, is not installed): dlopen's reason.
    case voiceUnavailable(reason: String)
    /// flite reported an internal error (on stderr) for this text.
    case synthesisFailed(text: String)
    /// flite gave no speech for this text: only punctuation, emoji, or a script it cannot read.
    case silent(text: String)

    public var description: String {
        switch self {
        case .emptyText: "nothing to say: the text is empty"
        case .nulCharacter(let text): "the text \(quoted(text)) contains a NUL character"
        case .tooLong(let text, let length, let limit):
            "the text \(quoted(text)) is \(length) characters long; at most \(limit) can be spoken"
        case .voiceUnavailable(let reason):
            "the voice cannot be loaded (install flite1-dev, or libflite1): \(reason)"
        case .synthesisFailed(let text): "flite failed on the text \(quoted(text))"
        case .silent(let text): "the text \(quoted(text)) gives no speech: nothing in it can be read aloud"
        }
    }

    private func quoted(_ text: String) -> String {
        let scalars = text.unicodeScalars
        let shown = scalars.count > 40 ? String(String.UnicodeScalarView(scalars.prefix(40))) + "..." : text
        return "\"" + shown.unicodeScalars.map { $0 == "\0" ? "\\0" : String($0) }.joined() + "\""
    }
}

/// Text to speech with flite's `cmu_us_slt` voice, as mono 16-bit samples at 48 kHz (the cue sounds' rate),
/// brought to the cue sounds' loudness.
///
/// Deterministic: the same text always gives the same samples (flite's voice draws on `rand()`, which is seeded
/// before each text). All synthesis runs on `BlockingThread.shared`, one text at a time: flite keeps global
/// state. The voice is loaded for each batch and unloaded after, so a process that is not speaking holds none of
/// it: synthesize a session's prompts together.
public struct SpeechSynthesizer: Sendable {
    /// The sample rate of what `synthesize` returns.
    public static let rate = CueSounds.rate
    /// The longest text spoken, in characters (Unicode scalars): a prompt is a sentence or two.
    public static let maximumLength = 300
    /// Each prompt's gated loudness, the cue sounds' (`CueSounds.loudness`), unless the peak limit holds it lower.
    public static let loudness = CueSounds.loudness
    /// No sample goes above this (`CueSounds.peakLimit`). Speech peaks higher above its loudness than tones do,
    /// so a few prompts stay quieter than `loudness` rather than go above it.
    public static let peakLimit = CueSounds.peakLimit
    /// The fade at each end (5 ms), so a prompt starts and ends at exactly zero.
    public static let fadeFrames = rate / 200
    /// flite's rate for this voice.
    static let voiceRate = 16_000
    static let seed: UInt32 = 1

    /// The voice's shared library, opened for each batch.
    static let voiceLibrary = "libflite_cmu_us_slt.so.1"
    let library: String
    /// Where spoken prompts are kept between sessions; nil speaks every text afresh.
    let cache: PromptCache?

    /// A synthesizer that reads and fills `cache` (the user's, `PromptCache.standard`, unless told).
    public init(cache: PromptCache? = .standard) {
        library = Self.voiceLibrary
        self.cache = cache
    }

    /// Hands the pages malloc keeps after freeing back to the system (`malloc_trim`): call it once a session's
    /// prompts are dropped, so the idle process does not keep them (about 3.5 MiB for a routine).
    public static func releaseFreedMemory() {
        malloc_trim(0)
    }

    /// Speaks with the voice in `library` instead (the tests name one that is missing).
    init(library: String, cache: PromptCache? = nil) {
        self.library = library
        self.cache = cache
    }

    /// Checks `text` as `synthesize` would, without speaking it.
    public static func check(_ text: String) throws(SpeechError) {
        let length = text.unicodeScalars.count
        if text.unicodeScalars.contains("\0") { throw .nulCharacter(text: text) }
        if length > maximumLength { throw .tooLong(text: text, length: length, limit: maximumLength) }
        if text.unicodeScalars.allSatisfy(\.properties.isWhitespace) { throw .emptyText }
    }

    /// What a batch said: the samples of each text spoken, and each text that could not be, with why.
    public struct Batch: Sendable {
        public var spoken: [String: [Int16]] = [:]
        public var unspoken: [(text: String, error: SpeechError)] = []
        /// How many texts flite spoke (the others came from the cache).
        public var synthesized = 0
    }

    /// Every text that can be spoken, with the voice loaded once for all of them; a text that cannot be spoken
    /// (too long, silent, refused by flite) fails alone and the others are spoken. Throws only when the voice
    /// cannot be loaded.
    public func synthesizeEach(_ texts: [String]) async throws(SpeechError) -> Batch {
        var batch = Batch()
        var speakable: [String] = []
        for text in texts {
            do throws(SpeechError) {
                try Self.check(text)
                speakable.append(text)
            } catch {
                batch.unspoken.append((text, error))
            }
        }
        guard !speakable.isEmpty else { return batch }
        let said = try await BlockingThread.shared.run { [library, cache, speakable] () throws(SpeechError) in
            try Self.speak(speakable, voice: library, cache: cache)
        }
        batch.spoken = said.spoken
        batch.unspoken += said.unspoken
        batch.synthesized = said.synthesized
        return batch
    }

    /// Every text spoken, with the voice loaded once for all of them; fails on the first text that cannot be.
    public func synthesize(_ texts: [String]) async throws(SpeechError) -> [String: [Int16]] {
        let batch = try await synthesizeEach(texts)
        if let first = batch.unspoken.first { throw first.error }
        return batch.spoken
    }

    /// One text spoken; the voice is loaded and unloaded for it.
    public func synthesize(_ text: String) async throws(SpeechError) -> [Int16] {
        try await synthesize([text])[text] ?? []
    }

    /// Reads the texts that are cached and speaks the others, storing them; the voice is loaded only when some
    /// text is not cached. Blocks: runs only on `BlockingThread.shared`.
    private static func speak(_ texts: [String], voice name: String, cache: PromptCache?) throws(SpeechError) -> Batch {
        guard let cache else { return try speak(texts, voice: name) }
        var cached = Batch()
        var missing: [String] = []
        for text in texts where cached.spoken[text] == nil {
            if let samples = cache.samples(of: text) { cached.spoken[text] = samples } else { missing.append(text) }
        }
        guard !missing.isEmpty else { return cached }
        var said = try speak(missing, voice: name)
        for (text, samples) in said.spoken { cache.store(samples, for: text) }
        said.spoken.merge(cached.spoken) { spoken, _ in spoken }
        return said
    }

    /// Loads the voice, speaks the texts, unloads it. Blocks: runs only on `BlockingThread.shared`.
    private static func speak(_ texts: [String], voice name: String) throws(SpeechError) -> Batch {
        var library = cflite_library()
        var error: UnsafePointer<CChar>?
        guard cflite_open(&library, name, &error) == 0 else {
            throw .voiceUnavailable(reason: error.map { String(cString: $0) } ?? "unknown")
        }
        defer {
            cflite_close(&library)
            // What flite allocated is free now, but malloc keeps it in this thread's arena (about 2 MiB after a
            // routine's prompts): handed back, so the idle process does not keep it. The prompts themselves are
            // freed by whoever holds them (a routine's are about 4 MiB): trim again after the session.
            malloc_trim(0)
        }
        _ = library.flite_init()
        guard let voice = library.register_cmu_us_slt(nil) else {
            throw .voiceUnavailable(reason: "flite did not register cmu_us_slt")
        }
        defer { library.unregister_cmu_us_slt(voice) }
        let upsampler = Upsampler(factor: rate / voiceRate)
        var batch = Batch()
        var tried: Set<String> = []
        for text in texts where tried.insert(text).inserted {
            srand(seed)
            guard let wave = cflite_text_to_wave(&library, text, voice) else {
                batch.unspoken.append((text, .synthesisFailed(text: text)))
                continue
            }
            defer { library.delete_wave(wave) }
            let count = Int(wave.pointee.num_samples)
            guard wave.pointee.sample_rate == Int32(voiceRate), wave.pointee.num_channels == 1 else {
                batch.unspoken.append((text, .synthesisFailed(text: text)))
                continue
            }
            let samples = count == 0 || wave.pointee.samples == nil
                ? [] : UnsafeBufferPointer(start: wave.pointee.samples, count: count).map { Float($0) / 32768 }
            guard let prompt = finished(upsampler.upsample(samples)) else {
                batch.unspoken.append((text, .silent(text: text)))
                continue
            }
            batch.spoken[text] = prompt
            batch.synthesized += 1
        }
        return batch
    }

    /// Speech at 48 kHz with its silent ends trimmed, brought to the cue loudness under the peak limit, faded in
    /// and out, as 16-bit samples; nil when it is silent.
    static func finished(_ speech: [Float]) -> [Int16]? {
        let level = StretchAudio.loudness(of: speech, rate: rate)
        // flite's speech measures -12 to -17 dBFS; what it gives for text it cannot read (punctuation, emoji,
        // other scripts) is its noise floor, near -65 dBFS, which must not be brought up to the cue loudness.
        guard level > noSpeech else { return nil }
        let samples = trimmed(speech, below: Float(pow(10, (level - silenceBelowLoudness) / 20)))
        let measured = StretchAudio.loudness(of: samples, rate: rate)
        let highest = samples.reduce(Float(0)) { max($0, abs($1)) }
        // Held a little under the limit, so rounding to 16 bits cannot cross it.
        let ceiling = pow(10, peakLimit / 20) * 0.999 / Double(highest)
        let gain = Float(min(pow(10, (loudness - measured) / 20), ceiling))
        let fadeLength = min(samples.count / 2, fadeFrames)
        return samples.indices.map { index -> Int16 in
            let edge = min(index, samples.count - 1 - index)
            var value = samples[index] * gain
            if edge < fadeLength {
                // Raised cosine from exactly zero at the first and last sample.
                value *= Float(0.5 - 0.5 * cos(Double.pi * Double(edge) / Double(fadeLength)))
            }
            return Int16(clamping: Int((value * 32767).rounded()))
        }
    }

    /// flite puts 20 to 220 ms of its noise floor (about 40 dB under the speech) before and after the speech; it
    /// is cut down to `margin`, so a prompt's length is the time it speaks and it fits the gaps it is planned into.
    static let margin = rate / 50
    /// flite's output quieter than this (gated loudness, dBFS) holds no speech.
    static let noSpeech = -40.0
    /// A sample this far under the speech's loudness (dB) counts as silence.
    static let silenceBelowLoudness = 36.0

    static func trimmed(_ samples: [Float], below floor: Float) -> [Float] {
        guard let first = samples.firstIndex(where: { abs($0) > floor }),
              let last = samples.lastIndex(where: { abs($0) > floor }) else { return [] }
        return Array(samples[max(0, first - margin)...min(samples.count - 1, last + margin)])
    }
}
