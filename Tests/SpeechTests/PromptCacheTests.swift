@testable import Speech
import StretchSystem
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A fresh, empty cache folder.
private func emptyCacheFolder() throws -> String {
    try #require(String(validatingCString: mkdtemp(strdup("/tmp/stretchd-speech-cache-XXXXXX"))))
}

@Suite struct PromptCacheTests {
    @Test func `a second synthesizer reads what the first spoke, and synthesizes nothing`() async throws {
        let folder = try emptyCacheFolder()
        let texts = ["Left leg.", "Last one."]
        let first = try await SpeechSynthesizer(cache: PromptCache(directory: folder)).synthesizeEach(texts)
        #expect(first.synthesized == 2)
        let second = try await SpeechSynthesizer(cache: PromptCache(directory: folder)).synthesizeEach(texts)
        #expect(second.synthesized == 0)
        #expect(second.spoken == first.spoken)
        // The same samples flite gives with no cache at all.
        #expect(try await SpeechSynthesizer(cache: nil).synthesize(texts) == second.spoken)
        #expect(PromptCache(directory: folder).frames(of: "Left leg.") == first.spoken["Left leg."]?.count)
    }

    @Test func `a short or corrupt entry is ignored and replaced`() async throws {
        let folder = try emptyCacheFolder()
        let cache = PromptCache(directory: folder)
        let original = try await SpeechSynthesizer(cache: cache).synthesize("Left leg.")
        let path = cache.path("Left leg.")
        let bytes = try Files.readBytes(path, limit: 1 << 20).get()
        var corrupt = bytes
        corrupt[PromptCache.magic.count + 6] ^= 0xff  // inside the key
        for damaged in [Array(bytes.dropLast(3)), Array(bytes.prefix(10)), corrupt, []] {
            try Files.writeBytes(damaged, to: path).get()
            #expect(cache.samples(of: "Left leg.") == nil)
            let batch = try await SpeechSynthesizer(cache: cache).synthesizeEach(["Left leg."])
            #expect(batch.synthesized == 1)
            #expect(batch.spoken["Left leg."] == original)
            #expect(cache.samples(of: "Left leg.") == original)
        }
    }

    @Test func `the folder stays under its cap, the oldest entries out first`() throws {
        let folder = try emptyCacheFolder()
        let cache = PromptCache(directory: folder, capacity: 10_000)
        let prompt = [Int16](repeating: 1, count: 2_000)  // about 4 kB an entry
        for (index, text) in ["one", "two", "three", "four"].enumerated() {
            cache.store(prompt, for: text)
            // Modification times a second apart, so the order is the order stored.
            var times = [timespec(tv_sec: 1_000_000 + index, tv_nsec: 0), timespec(tv_sec: 1_000_000 + index, tv_nsec: 0)]
            #expect(utimensat(AT_FDCWD, cache.path(text), &times, 0) == 0)
        }
        let sizes = (Files.list(folder, suffix: PromptCache.suffix) ?? []).compactMap {
            Files.sizeAndAge(folder + "/" + $0)?.size
        }
        #expect(sizes.reduce(0, +) <= 10_000)
        #expect(cache.samples(of: "four") == prompt)
        #expect(cache.samples(of: "three") == prompt)
        #expect(cache.samples(of: "one") == nil)
        #expect(cache.samples(of: "two") == nil)
    }
}
