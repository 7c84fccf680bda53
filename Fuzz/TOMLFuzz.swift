// libFuzzer target for the TOML reader and the routine and config loading on top of it (`make fuzz`).
// Linked by the Makefile with `swiftc -sanitize=fuzzer,address` against the TOML, StretchCore and StretchConfig
// modules built with coverage; any crash, hang, leak or sanitizer report fails the run.
import StretchConfig
import TOML

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let document = try TOMLReader.parse(bytes)
        _ = TaggedJSON.encode(document)
        check(document)
    } catch {
        precondition(error.line >= 1 && error.column >= 1 && !error.message.isEmpty, "bad error \(error)")
    }
    _ = RoutineFile.parse(bytes, file: "fuzz.toml", defaultID: "fuzz")
    _ = DaemonConfig.parse(bytes, file: "fuzz.toml")
    return 0
}

/// Every key and value must carry a real position.
func check(_ table: TOMLTable) {
    for entry in table.entries {
        precondition(entry.keyPosition.line >= 1 && entry.keyPosition.column >= 1)
        check(entry.value)
    }
}

func check(_ value: TOMLValue) {
    precondition(value.position.line >= 1 && value.position.column >= 1)
    switch value.kind {
    case .table(let table): check(table)
    case .array(let elements): elements.forEach(check)
    default: break
    }
}
