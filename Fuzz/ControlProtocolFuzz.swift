// libFuzzer target for the control socket's request decoder (`make fuzz`), linked by the Makefile with
// `swiftc -sanitize=fuzzer,address` against the ControlProtocol module built with coverage.
import ControlProtocol

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let line = UnsafeBufferPointer(start: data, count: size)
    switch ControlRequest.decode(line) {
    case .success(let request): _ = request.encoded()
    case .failure(let error): precondition(!error.description.isEmpty)
    }
    return 0
}
