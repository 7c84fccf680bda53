/// A GVDB file (GLib's variant database, the format of dconf's databases) read from its bytes, checked at every
/// step: a file cut short, overwritten or made up gives `Unreadable` with what is wrong, never a read out of bounds.
///
/// The layout (GLib's gvdb-format.h): a 24-byte header, the signature "GVariant", version 0, options and a pointer
/// (start and end offsets) to the root hash table; the table has a header (bloom filter size, bucket count), the bloom
/// filter's words, each bucket's first item and 24-byte items. An item names itself with a piece of its key and its
/// parent item: dconf's `/org/gnome/` is `gnome/` under `org/` under `/`. Every number is little-endian; the byte
/// order of the values alone is told by the signature ("raVGtnai": written big-endian).
public struct GVDBTable: Sendable {
    /// Why the bytes are not a GVDB file that can be read.
    public struct Unreadable: Error, Sendable, Equatable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    private let bytes: [UInt8]
    /// Where the buckets and the items start, and how many there are.
    private let buckets: Int, bucketCount: Int
    private let items: Int, itemCount: Int
    /// Whether the values are serialized big-endian (nothing else in the file is).
    public let valuesAreBigEndian: Bool

    static let headerSize = 24, itemSize = 24
    static let signature = Array("GVariant".utf8), swappedSignature = Array("raVGtnai".utf8)

    public init(_ bytes: [UInt8]) throws(Unreadable) {
        self.bytes = bytes
        guard bytes.count >= Self.headerSize else {
            throw Unreadable(reason: "\(bytes.count) bytes, too short for a GVDB header")
        }
        switch Array(bytes[0..<8]) {
        case Self.signature: valuesAreBigEndian = false
        case Self.swappedSignature: valuesAreBigEndian = true
        default: throw Unreadable(reason: "not a GVDB file (no GVariant signature)")
        }
        let version = Self.uint32(bytes, at: 8)
        guard version == 0 else { throw Unreadable(reason: "GVDB version \(version), not 0") }
        let root = try Self.range(bytes, pointerAt: 16, alignment: 4, of: "the root table")
        guard root.count >= 8 else { throw Unreadable(reason: "the root table is \(root.count) bytes, too short") }
        // The top 5 bits of the first word are the bloom filter's shift, used only to rule keys out faster.
        let bloomWords = Int(Self.uint32(bytes, at: root.lowerBound) & ((1 << 27) - 1))
        bucketCount = Int(Self.uint32(bytes, at: root.lowerBound + 4))
        buckets = root.lowerBound + 8 + bloomWords * 4
        items = buckets + bucketCount * 4
        guard items <= root.upperBound else {
            throw Unreadable(reason: "the root table's \(bloomWords) bloom words and \(bucketCount) buckets overrun it")
        }
        guard (root.upperBound - items) % Self.itemSize == 0 else {
            throw Unreadable(reason: "the root table's items are not whole (\(root.upperBound - items) bytes)")
        }
        itemCount = (root.upperBound - items) / Self.itemSize
        // Each bucket's items follow the previous bucket's: the first item numbers never go back or past the end.
        var previous = 0
        for bucket in 0..<bucketCount {
            let first = Int(Self.uint32(bytes, at: buckets + bucket * 4))
            guard first >= previous, first <= itemCount else {
                throw Unreadable(
                    reason: "hash bucket \(bucket) starts at item \(first), out of order or past the \(itemCount) items")
            }
            previous = first
        }
    }

    /// The value named `key`: its serialized GVariant (of type `v`), nil when the file has no value by that name.
    public func value(named key: String) throws(Unreadable) -> ArraySlice<UInt8>? {
        guard bucketCount > 0, itemCount > 0 else { return nil }
        let name = Array(key.utf8)
        let hash = Self.hash(name)
        let bucket = Int(hash % UInt32(bucketCount))
        let first = Int(Self.uint32(bytes, at: buckets + bucket * 4))
        let end = bucket == bucketCount - 1 ? itemCount : Int(Self.uint32(bytes, at: buckets + (bucket + 1) * 4))
        for item in first..<end {
            let at = items + item * Self.itemSize
            // The same name may also be a folder (type L) or a table (H): only a value (v) counts.
            guard Self.uint32(bytes, at: at) == hash, try isNamed(item, name), bytes[at + 14] == UInt8(ascii: "v")
            else { continue }
            return bytes[try Self.range(bytes, pointerAt: at + 16, alignment: 8, of: "the value of \(key)")]
        }
        return nil
    }

    /// Whether `item`'s name, its own piece after its parents' pieces, is `name`.
    private func isNamed(_ item: Int, _ name: [UInt8]) throws(Unreadable) -> Bool {
        var item = item, unmatched = name.count
        // Each step matches at least one byte: a chain of parents ends, even one that loops.
        while true {
            let at = items + item * Self.itemSize
            let start = Int(Self.uint32(bytes, at: at + 8)), size = Int(Self.uint16(bytes, at: at + 12))
            guard start + size <= bytes.count else {
                throw Unreadable(reason: "item \(item)'s name lies outside the file")
            }
            guard size <= unmatched, bytes[start..<start + size].elementsEqual(name[(unmatched - size)..<unmatched])
            else { return false }
            unmatched -= size
            let parent = Self.uint32(bytes, at: at + 4)
            if parent == UInt32.max { return unmatched == 0 }
            guard Int(parent) < itemCount else {
                throw Unreadable(reason: "item \(item)'s parent \(parent) does not exist")
            }
            guard size > 0 else { return false }
            item = Int(parent)
        }
    }

    /// The bytes a pointer (start and end offsets) at `offset` designates, checked to lie in the file and be aligned.
    private static func range(
        _ bytes: [UInt8], pointerAt offset: Int, alignment: Int, of what: String
    ) throws(Unreadable) -> Range<Int> {
        let start = Int(uint32(bytes, at: offset)), end = Int(uint32(bytes, at: offset + 4))
        guard start <= end, end <= bytes.count else {
            throw Unreadable(reason: "\(what) (bytes \(start) to \(end)) lies outside the file of \(bytes.count) bytes")
        }
        guard start % alignment == 0 else { throw Unreadable(reason: "\(what) starts at \(start), not aligned") }
        return start..<end
    }

    /// GVDB's hash of a key: djb2 over its bytes taken as signed chars.
    static func hash(_ name: [UInt8]) -> UInt32 {
        name.reduce(5381) { hash, byte in hash &* 33 &+ UInt32(bitPattern: Int32(Int8(bitPattern: byte))) }
    }

    /// The little-endian numbers at `offset`; the caller has checked that they lie in `bytes`.
    private static func uint32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }

    private static func uint16(_ bytes: [UInt8], at offset: Int) -> UInt16 {
        UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }
}
