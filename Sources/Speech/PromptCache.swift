import StretchSystem

/// Spoken prompts kept on disk (`$XDG_CACHE_HOME/stretchd/speech`), so each text is synthesized once: the next
/// session of a routine reads its prompts instead of loading the voice.
///
/// An entry is one file named by a hash of its key (text, voice, rate and format); the full key is stored inside
/// and compared on read, so a hash collision or a file from another format is a miss, never wrong audio. Entries
/// are written through a temporary file and a rename; one that is short or corrupt is a miss and is replaced by
/// the next store. The folder is kept under `capacity` bytes, the oldest entries removed first.
public struct PromptCache: Sendable {
    public let directory: String
    /// The most bytes the folder holds; 32 MiB is about 5.8 minutes of speech, several routines' prompts.
    public let capacity: Int
    /// What the samples were made with; part of every key.
    let voice: String

    public static let defaultCapacity = 32 << 20
    /// The most sample bytes an entry can hold: a minute of speech, far more than a prompt of
    /// `SpeechSynthesizer.maximumLength` characters lasts; a larger file is not read.
    static let longestSamples = 2 * SpeechSynthesizer.rate * 60

    public init(directory: String, capacity: Int = defaultCapacity) {
        self.directory = directory
        self.capacity = capacity
        voice = SpeechSynthesizer.voiceLibrary
    }

    /// The cache of the current process's environment.
    public static var standard: PromptCache { PromptCache(directory: XDGPaths.current.speechCacheDirectory) }

    static let magic = Array("stretchd prompt 1\n".utf8)
    /// Entries' suffix; only these files are counted and removed.
    static let suffix = ".prompt"

    /// The key of `text`: everything that changes its samples.
    func key(_ text: String) -> [UInt8] {
        Array("voice=\(voice) rate=\(SpeechSynthesizer.rate) format=s16le-mono\n\(text)".utf8)
    }

    func path(_ text: String) -> String {
        // FNV-1a, 64 bits: a file name, not a check (the key inside is the check).
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key(text) { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return directory + "/" + String(repeating: "0", count: 16 - hex.count) + hex + Self.suffix
    }

    /// The samples of `text`, or nil when it is not cached (or its entry is unreadable).
    public func samples(of text: String) -> [Int16]? {
        let key = key(text)
        guard case .success(let bytes) = Files.readBytes(path(text), limit: Self.headerSize(key) + Self.longestSamples),
              let count = Self.sampleCount(bytes, key: key), bytes.count == Self.headerSize(key) + 2 * count
        else { return nil }
        var samples = [Int16](repeating: 0, count: count)
        samples.withUnsafeMutableBytes { raw in
            bytes.withUnsafeBytes { raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[Self.headerSize(key)...])) }
        }
        return samples.map { Int16(littleEndian: $0) }
    }

    /// How many frames `text` lasts, from its entry's size alone (no samples read); nil when it is not cached.
    public func frames(of text: String) -> Int? {
        let header = Self.headerSize(key(text))
        guard let (size, _) = Files.sizeAndAge(path(text)), size >= header, (size - header) % 2 == 0 else { return nil }
        return (size - header) / 2
    }

    /// Keeps `samples` as the speech of `text`, then trims the folder to its capacity. Best effort: a cache that
    /// cannot be written only costs synthesis next time.
    public func store(_ samples: [Int16], for text: String) {
        let key = key(text)
        var bytes = Self.magic
        bytes.reserveCapacity(Self.headerSize(key) + 2 * samples.count)
        append(UInt32(key.count), to: &bytes)
        bytes += key
        append(UInt32(samples.count), to: &bytes)
        for sample in samples { append(UInt16(bitPattern: sample), to: &bytes) }
        guard case .success = Files.makeDirectory(directory, mode: 0o700),
              case .success = Files.writeBytes(bytes, to: path(text)) else { return }
        trim()
    }

    /// Removes the oldest entries until the folder holds at most `capacity` bytes.
    func trim() {
        guard let names = Files.list(directory, suffix: Self.suffix) else { return }
        var entries = names.compactMap { name -> (path: String, size: Int, modified: Int)? in
            let path = directory + "/" + name
            return Files.sizeAndAge(path).map { (path, $0.size, $0.modified) }
        }
        var total = entries.reduce(0) { $0 + $1.size }
        guard total > capacity else { return }
        entries.sort { ($0.modified, $0.path) < ($1.modified, $1.path) }
        for entry in entries where total > capacity {
            if Files.remove(entry.path) { total -= entry.size }
        }
    }

    static func headerSize(_ key: [UInt8]) -> Int { magic.count + 4 + key.count + 4 }

    /// The sample count an entry's header gives, when its magic and key are those expected.
    static func sampleCount(_ bytes: [UInt8], key: [UInt8]) -> Int? {
        guard bytes.count >= headerSize(key), bytes.starts(with: magic),
              readUInt32(bytes, at: magic.count) == key.count,
              bytes[(magic.count + 4)..<(magic.count + 4 + key.count)].elementsEqual(key)
        else { return nil }
        return Int(readUInt32(bytes, at: magic.count + 4 + key.count))
    }

    static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }

    private func append<Value: FixedWidthInteger>(_ value: Value, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }
}
