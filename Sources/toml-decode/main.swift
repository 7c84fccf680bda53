// The toml-test decoder interface: a TOML document on standard input, its tagged JSON on standard output (exit 0);
// for an invalid document, the problem on standard error (exit 1).
import StretchSystem
import TOML

#if canImport(Glibc)
import Glibc
#endif

func printError(_ text: String) {
    var line = Array((text + "\n").utf8)
    _ = line.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}

var input: [UInt8] = []
var buffer = [UInt8](repeating: 0, count: 64 * 1024)
while true {
    let count: Int
    do {
        count = try SystemCall.retrying("read") { buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) } }
    } catch {
        printError("toml-decode: cannot read standard input: \(error)")
        exit(1)
    }
    if count == 0 { break }
    input.append(contentsOf: buffer[0..<count])
    if input.count > TOMLReader.maximumSize + 1 { break }
}

do {
    let document = try TOMLReader.parse(input)
    print(TaggedJSON.encode(document))
} catch {
    printError("stdin:\(error)")
    exit(1)
}
