import ControlProtocol

/// Splits a connection's bytes into request lines. Pure: the connection feeds it what it reads.
///
/// Empty lines are skipped. A line longer than `ControlProtocol.maximumLineLength` is `tooLong`, after which the
/// connection reads no more. When the input has ended (the client half-closed), what came after the last newline
/// still counts as a request.
struct RequestLines {
    enum Line: Equatable {
        case request([UInt8])
        case tooLong
    }

    /// The bytes of the line being received.
    private var pending: [UInt8] = []
    /// How many of `pending`'s bytes are known to hold no newline.
    private var scanned = 0
    /// The client will send nothing more.
    private(set) var inputEnded = false

    /// Part of a line has arrived, not yet its newline.
    var hasPartialLine: Bool { !pending.isEmpty }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        pending.append(contentsOf: bytes)
    }

    /// The client half-closed: what it sent after its last newline is its last request.
    mutating func endInput() {
        inputEnded = true
    }

    /// The next complete request line, if there is one.
    mutating func next() -> Line? {
        while let newline = pending[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
            guard newline <= ControlProtocol.maximumLineLength else { return tooLong() }
            let line = Array(pending[..<newline])
            pending.removeSubrange(...newline)
            scanned = 0
            if !line.isEmpty { return .request(line) }
        }
        guard pending.count <= ControlProtocol.maximumLineLength else { return tooLong() }
        scanned = pending.count
        guard inputEnded, !pending.isEmpty else { return nil }
        defer { pending = [] }
        scanned = 0
        return .request(pending)
    }

    private mutating func tooLong() -> Line {
        pending = []
        scanned = 0
        inputEnded = true
        return .tooLong
    }
}
