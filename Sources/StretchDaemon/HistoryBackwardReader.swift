import StretchHistory
import StretchSystem
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Reads the history file's lines from the end towards the start, one block at a time: reading the last days of a
/// 200 MB file costs the bytes of those days, and memory stays at one block and one line whatever the file holds.
///
/// Lines come back in reverse order with the offset they start at; a line longer than `HistoryLine.maximumLength`
/// comes back without its bytes (the reader skips over it), so a huge line costs no memory.
final class HistoryBackwardReader {
    struct Line {
        /// The line without its newline; nil when it is longer than `HistoryLine.maximumLength`.
        var bytes: [UInt8]?
        /// Whether a newline ended it: only the file's last line can lack one (a write cut short).
        var complete: Bool
        /// The file offset of its first byte.
        var offset: Int
    }

    static let blockSize = 64 * 1024

    let path: String
    /// Why the file could not be read, when it could not (a missing file is an empty history, not a problem).
    private(set) var problem: String?
    /// Every byte from here to the end has been returned: 0 once the whole file has been read.
    private(set) var position: Int
    private let end: Int
    private var fd: Int32 = -1
    private var buffer: [UInt8]
    /// The file offset of `buffer[0]`, and how many bytes of the buffer are valid.
    private var bufferOffset = 0
    private var bufferCount = 0
    /// The last line's bytes, kept for the next: once the caller has let go of a line, the next one is read into
    /// the same storage, so reading lines allocates nothing.
    private var lineStorage: [UInt8] = []

    /// Reads the file backwards from byte `limit` (its end when nil or beyond it).
    init(path: String, limit: Int? = nil, blockSize: Int = HistoryBackwardReader.blockSize) {
        self.path = path
        buffer = [UInt8](repeating: 0, count: blockSize)
        // A FIFO or a device put in the file's place is refused without blocking; no file is an empty history.
        switch Files.openRegularFile(path) {
        case .success(let opened):
            fd = opened.rawValue
        case .failure(let error):
            if !error.isMissing { problem = "\(error.message); the history is not read" }
            position = 0
            end = 0
            return
        }
        var info = stat()
        let size = fstat(fd, &info) == 0 ? Int(info.st_size) : 0
        end = min(size, limit ?? size)
        position = end
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// The line before those already returned, or nil at the start of the file (or on a read error, which sets
    /// `problem`).
    func previousLine() -> Line? {
        guard position > 0 else { return nil }
        var contentEnd = position
        var complete = true
        if position == end {
            // The last line: complete only when the file ends with a newline.
            guard let last = byte(at: position - 1) else { return nil }
            if last == UInt8(ascii: "\n") { contentEnd -= 1 } else { complete = false }
        } else {
            // Every later line starts just after the newline that ends this one.
            contentEnd -= 1
        }
        lineStorage.removeAll(keepingCapacity: true)
        var tooLong = false
        var scanEnd = contentEnd
        var start = 0
        while scanEnd > 0 {
            guard load(covering: scanEnd - 1) else { return nil }
            let local = scanEnd - bufferOffset
            let newline = buffer.withUnsafeBufferPointer { bytes -> Int? in
                var index = local - 1
                while index >= 0, bytes[index] != UInt8(ascii: "\n") { index -= 1 }
                return index >= 0 ? index : nil
            }
            let pieceStart = newline.map { $0 + 1 } ?? 0
            if !tooLong {
                if lineStorage.count + (local - pieceStart) > HistoryLine.maximumLength {
                    tooLong = true
                    lineStorage.removeAll(keepingCapacity: true)
                } else if lineStorage.isEmpty {
                    lineStorage.append(contentsOf: buffer[pieceStart..<local])
                } else {
                    lineStorage.insert(contentsOf: buffer[pieceStart..<local], at: 0)
                }
            }
            if let newline {
                start = bufferOffset + newline + 1
                break
            }
            scanEnd = bufferOffset
        }
        position = start
        return Line(bytes: tooLong ? nil : lineStorage, complete: complete, offset: start)
    }

    private func byte(at offset: Int) -> UInt8? {
        guard load(covering: offset) else { return nil }
        return buffer[offset - bufferOffset]
    }

    /// Makes the buffer hold `offset`, reading the block that ends just after it when it does not.
    private func load(covering offset: Int) -> Bool {
        if offset >= bufferOffset && offset < bufferOffset + bufferCount { return true }
        let blockEnd = offset + 1
        let blockStart = max(0, blockEnd - buffer.count)
        var filled = 0
        while filled < blockEnd - blockStart {
            let count: Int
            do {
                count = try SystemCall.retrying("pread") {
                    buffer.withUnsafeMutableBytes {
                        pread(fd, $0.baseAddress! + filled, blockEnd - blockStart - filled, off_t(blockStart + filled))
                    }
                }
            } catch {
                problem = "cannot read further: \(error)"
                position = 0
                return false
            }
            guard count > 0 else {
                problem = "the file shrank while it was read"
                position = 0
                return false
            }
            filled += count
        }
        bufferOffset = blockStart
        bufferCount = filled
        return true
    }
}
