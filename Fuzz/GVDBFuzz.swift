// libFuzzer target for the dconf database reader (`make fuzz`), linked by the Makefile with
// `swiftc -sanitize=fuzzer,address` against the GVDB module built with coverage. Each input is a whole file, read for
// keys it has and keys it has not; whatever it holds, the answer is a value, "not set" or a reason it is unreadable,
// the same every time.
import GVDB

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let database = Array(UnsafeBufferPointer(start: data, count: size))
    for key in ["/org/gnome/desktop/notifications/show-banners", "/org/gnome/desktop/interface/clock-format", "/", ""] {
        let answer = DconfBoolean(key: key, in: database)
        if case .unreadable(let reason) = answer { precondition(!reason.isEmpty) }
        if case .otherType(let type) = answer { precondition(!type.isEmpty && type != "b") }
        precondition(DconfBoolean(key: key, in: database) == answer)
    }
    return 0
}
