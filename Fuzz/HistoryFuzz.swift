// libFuzzer target for the history file's line format (`make fuzz`), linked by the Makefile with
// `swiftc -sanitize=fuzzer,address` against the StretchHistory module built with coverage. Each input is one line,
// judged as ended by a newline and as torn; a record it yields must pass the record checks and read back the same
// once written, and the quick reader must agree with JSONDecoder on whatever it accepts.
import FoundationEssentials
import StretchHistory

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let line = Array(UnsafeBufferPointer(start: data, count: size))
    let decoder = JSONDecoder()
    for complete in [true, false] {
        switch HistoryLine(line, complete: complete, decoder: decoder) {
        case .blank:
            precondition(line.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") })
        case .skipped(let warning):
            precondition(!warning.isEmpty)
        case .record(let record):
            precondition(complete, "a torn line was taken as a record")
            precondition(record.problem == nil && HistoryRecord.day(of: record.date) != nil)
            guard let written = record.jsonLine() else { preconditionFailure("a good record cannot be written") }
            guard case .record(let again) = HistoryLine(written, complete: true, decoder: decoder), again == record else {
                preconditionFailure("a record written does not read back: \(String(decoding: written, as: UTF8.self))")
            }
        }
    }
    if let quick = HistoryRecord(flat: line) {
        let decoded = try? decoder.decode(HistoryRecord.self, from: Data(line))
        precondition(decoded == quick, "the quick reader disagrees with JSONDecoder")
    }
    return 0
}
