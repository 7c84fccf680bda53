import GVDB
import Testing
import TestSupport

/// The reader on databases written by Debian's `dconf compile`, whole, cut short and corrupted one part at a time.
@Suite(.needsDconf)
struct DconfBooleanTests {
    static let showBanners = "/org/gnome/desktop/notifications/show-banners"

    /// GNOME's notification settings with `show-banners` as given, beside other keys and folders.
    static func notifications(showBanners: String) -> String {
        """
        [org/gnome/desktop/notifications]
        show-banners=\(showBanners)
        show-in-lock-screen=false

        [org/gnome/desktop/notifications/application/firefox]
        enable=true

        [org/gnome/desktop/interface]
        clock-format='24h'
        """
    }

    @Test(arguments: [true, false])
    func theKeyIsReadFromWhatDconfWrites(_ shown: Bool) throws {
        let database = try DconfCompile.bytes(Self.notifications(showBanners: "\(shown)"))
        #expect(DconfBoolean(key: Self.showBanners, in: database) == .set(shown))
        #expect(DconfBoolean(key: "/org/gnome/desktop/notifications/show-in-lock-screen", in: database) == .set(false))
        #expect(DconfBoolean(key: "/org/gnome/desktop/notifications/application/firefox/enable", in: database) == .set(true))
        #expect(DconfBoolean(key: "/org/gnome/desktop/interface/clock-format", in: database) == .otherType("s"))
        // Folders are not values; neither are keys that merely start alike.
        for key in ["/org/gnome/desktop/notifications/", "/", "", Self.showBanners + "x", "/org/gnome/show-banners"] {
            #expect(DconfBoolean(key: key, in: database) == .notSet, "\(key)")
        }
    }

    @Test func aKeyThatIsNotThereIsNotSet() throws {
        #expect(DconfBoolean(key: Self.showBanners, in: try DconfCompile.bytes("")) == .notSet)
        let others = try DconfCompile.bytes("[org/gnome/desktop/notifications]\nshow-in-lock-screen=false\n")
        #expect(DconfBoolean(key: Self.showBanners, in: others) == .notSet)
    }

    @Test func aValueOfAnotherTypeIsReportedWithItsType() throws {
        for (value, type) in [("'no'", "s"), ("uint32 0", "u"), ("@mb true", "mb"), ("[true]", "ab")] {
            let database = try DconfCompile.bytes(Self.notifications(showBanners: value))
            #expect(DconfBoolean(key: Self.showBanners, in: database) == .otherType(type))
        }
    }

    /// Hundreds of keys in many folders spread over many hash buckets: each is found with its own value.
    @Test func everyKeyOfALargeDatabaseIsFound() throws {
        let folders = 0..<40, keys = 0..<12
        func value(_ folder: Int, _ key: Int) -> Bool { (folder * 7 + key * 3) % 5 < 2 }
        let keyfile = folders.map { folder in
            "[org/example/folder\(folder)]\n" + keys.map { "key\($0)=\(value(folder, $0))\n" }.joined()
        }.joined(separator: "\n")
        let database = try DconfCompile.bytes(keyfile)
        for folder in folders {
            for key in keys {
                #expect(DconfBoolean(key: "/org/example/folder\(folder)/key\(key)", in: database) == .set(value(folder, key)))
            }
            #expect(DconfBoolean(key: "/org/example/folder\(folder)/key\(keys.upperBound)", in: database) == .notSet)
        }
        let table = try GVDBTable(database)
        #expect(!table.valuesAreBigEndian)
    }

    /// `dconf compile` writes values little-endian only (it byte-swaps on a big-endian machine), but dconf's writer
    /// service writes the user's database in the machine's order. Only the signature and the values' bytes differ
    /// then (the table is little-endian in both), and a boolean is a single byte: the file reads the same.
    @Test func aDatabaseWithBigEndianValuesReadsTheSame() throws {
        var database = try DconfCompile.bytes(Self.notifications(showBanners: "false"))
        #expect(Array(database[0..<8]) == Array("GVariant".utf8))
        database.replaceSubrange(0..<8, with: Array("raVGtnai".utf8))
        #expect(try GVDBTable(database).valuesAreBigEndian)
        #expect(DconfBoolean(key: Self.showBanners, in: database) == .set(false))
    }

    /// Cut anywhere, a file is unreadable, or, if all the key needs is still there, says the same as whole.
    @Test func aTruncatedDatabaseIsUnreadableOrSaysTheSame() throws {
        let database = try DconfCompile.bytes(Self.notifications(showBanners: "false"))
        let layout = Layout(database)
        for length in 0..<database.count {
            let cut = DconfBoolean(key: Self.showBanners, in: Array(database[..<length]))
            if length < 24 {
                #expect(cut == .unreadable("\(length) bytes, too short for a GVDB header"))
            } else if length < layout.rootEnd {
                #expect(cut == .unreadable("the root table (bytes 24 to \(layout.rootEnd)) lies outside the file of \(length) bytes"))
            } else {
                #expect(cut == .set(false) || cut.isUnreadable, "cut to \(length) bytes: \(cut)")
            }
        }
    }

    /// Each part of a real file overwritten: unreadable, saying which part is wrong.
    @Test func aCorruptedDatabaseIsUnreadableAndSaysWhy() throws {
        let database = try DconfCompile.bytes(Self.notifications(showBanners: "true"))
        let layout = Layout(database)
        let item = layout.item(named: "show-banners")
        let value = layout.uint32(at: item + 16)
        #expect(Array(database[value..<value + 3]) == [1, 0, UInt8(ascii: "b")], "a v holding the boolean true")
        let corruptions: [(String, (inout Layout) -> Void, String)] = [
            ("signature", { $0.bytes[0] = UInt8(ascii: "g") }, "not a GVDB file (no GVariant signature)"),
            ("version", { $0.set(1, at: 8) }, "GVDB version 1, not 0"),
            ("root past the end", { $0.set(layout.bytes.count + 1, at: 20) }, "the root table (bytes 24 to \(database.count + 1)) lies outside the file of \(database.count) bytes"),
            ("root misaligned", { $0.set(26, at: 16) }, "the root table starts at 26, not aligned"),
            ("root backwards", { $0.set(8, at: 20) }, "the root table (bytes 24 to 8) lies outside the file of \(database.count) bytes"),
            ("buckets overrun", { $0.set(1 << 20, at: 28) }, "the root table's 0 bloom words and 1048576 buckets overrun it"),
            ("items not whole", { $0.set(layout.rootEnd - 4, at: 20) }, "the root table's items are not whole (\(layout.itemCount * 24 - 4) bytes)"),
            ("bucket past the items", { $0.set(layout.itemCount + 1, at: layout.buckets + 4 * (layout.bucketCount - 1)) },
             "hash bucket \(layout.bucketCount - 1) starts at item \(layout.itemCount + 1), out of order or past the \(layout.itemCount) items"),
            ("name outside", { $0.set(database.count - 2, at: item + 8) }, "item \(layout.index(of: item))'s name lies outside the file"),
            ("no such parent", { $0.set(layout.itemCount, at: item + 4) }, "item \(layout.index(of: item))'s parent \(layout.itemCount) does not exist"),
            ("value outside", { $0.set(database.count + 8, at: item + 20) }, "the value of \(Self.showBanners) (bytes \(value) to \(database.count + 8)) lies outside the file of \(database.count) bytes"),
            ("value misaligned", { $0.set(value + 1, at: item + 16) }, "the value of \(Self.showBanners) starts at \(value + 1), not aligned"),
            ("no type", { $0.bytes[value + 1] = UInt8(ascii: "b") }, "the value of \(Self.showBanners) is not a GVariant (no type)"),
            ("bad type", { $0.bytes[value + 2] = 1 }, "the value of \(Self.showBanners) has no valid GVariant type"),
            ("not 0 or 1", { $0.bytes[value] = 2 }, "the value of \(Self.showBanners) is a boolean of 2, neither 0 nor 1"),
            ("no byte", { $0.bytes[value...value + 1] = [0, UInt8(ascii: "b")]; $0.set(value + 2, at: item + 20) },
             "the value of \(Self.showBanners) is a boolean of 0 bytes, not 1"),
        ]
        for (what, corrupt, reason) in corruptions {
            var corrupted = layout
            corrupt(&corrupted)
            #expect(DconfBoolean(key: Self.showBanners, in: corrupted.bytes) == .unreadable(reason), "\(what)")
        }
        #expect(DconfBoolean(key: Self.showBanners, in: layout.bytes) == .set(true), "the file itself is fine")
    }

    /// An item that names itself its parent: the lookup ends (each step consumes a piece of the key) and finds nothing.
    @Test func aParentChainThatLoopsEnds() throws {
        var layout = Layout(try DconfCompile.bytes(Self.notifications(showBanners: "true")))
        let item = layout.item(named: "show-banners")
        layout.set(layout.index(of: item), at: item + 4)
        #expect(DconfBoolean(key: Self.showBanners, in: layout.bytes) == .notSet)
    }
}

/// Where a real database's parts are, found the way GVDB lays them out, to overwrite one at a time.
struct Layout {
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func uint32(at offset: Int) -> Int {
        (0..<4).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
    }

    mutating func set(_ value: Int, at offset: Int) {
        for byte in 0..<4 { bytes[offset + byte] = UInt8(truncatingIfNeeded: value >> (8 * byte)) }
    }

    var rootStart: Int { uint32(at: 16) }
    var rootEnd: Int { uint32(at: 20) }
    var bucketCount: Int { uint32(at: rootStart + 4) }
    var buckets: Int { rootStart + 8 + (uint32(at: rootStart) & (1 << 27 - 1)) * 4 }
    var items: Int { buckets + bucketCount * 4 }
    var itemCount: Int { (rootEnd - items) / 24 }

    func index(of item: Int) -> Int { (item - items) / 24 }

    /// The offset of the item whose own piece of name is `piece`.
    func item(named piece: String) -> Int {
        let name = Array(piece.utf8)
        return (0..<itemCount).map { items + $0 * 24 }.first { item in
            let start = uint32(at: item + 8), size = Int(bytes[item + 12]) | Int(bytes[item + 13]) << 8
            return Array(bytes[start..<start + size]) == name
        }!
    }
}

extension DconfBoolean {
    var isUnreadable: Bool {
        if case .unreadable = self { return true }
        return false
    }
}
