/// What a dconf database file says of a boolean key, as GSettings would take it: dconf stores each key under its
/// path (`/org/gnome/desktop/notifications/show-banners`) as a GVariant of type `v` holding the value.
public enum DconfBoolean: Sendable, Equatable {
    case set(Bool)
    /// The key is not in the file: the schema's default applies.
    case notSet
    /// The key holds a value of another type (its GVariant type string): GSettings ignores it and uses the default.
    case otherType(String)
    /// The file is not a dconf database that can be read: why.
    case unreadable(String)

    public init(key: String, in database: [UInt8]) {
        let value: ArraySlice<UInt8>?
        do {
            value = try GVDBTable(database).value(named: key)
        } catch {
            self = .unreadable(error.reason)
            return
        }
        guard let value else {
            self = .notSet
            return
        }
        // A serialized `v`: the value's bytes, a zero byte, then the value's type string.
        guard let zero = value.lastIndex(of: 0) else {
            self = .unreadable("the value of \(key) is not a GVariant (no type)")
            return
        }
        let type = value[(zero + 1)...], contents = value[..<zero]
        guard type.elementsEqual("b".utf8) else {
            guard !type.isEmpty, type.allSatisfy(Self.typeCharacters.contains) else {
                self = .unreadable("the value of \(key) has no valid GVariant type")
                return
            }
            self = .otherType(String(decoding: type, as: UTF8.self))
            return
        }
        // A boolean is one byte, 0 or 1, in either byte order.
        guard contents.count == 1, let byte = contents.first else {
            self = .unreadable("the value of \(key) is a boolean of \(contents.count) bytes, not 1")
            return
        }
        guard byte <= 1 else {
            self = .unreadable("the value of \(key) is a boolean of \(byte), neither 0 nor 1")
            return
        }
        self = .set(byte == 1)
    }

    /// The characters of GVariant type strings.
    private static let typeCharacters = Set("bynqiuxthdsogvam()*?r{}".utf8)
}
