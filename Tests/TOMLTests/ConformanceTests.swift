import Foundation
import TOML
import Testing

/// The TOML 1.0.0 cases of the language-agnostic toml-test suite, looked up next to the package as
/// `../shared/toml-test` (see its README). Without it these tests are skipped, saying why.
enum ConformanceSuite {
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/toml-test/tests").standardized

    static var isAvailable: Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent("files-toml-1.0.0").path)
    }

    /// The listed `.toml` files under `valid/` or `invalid/`.
    static func cases(_ kind: String) throws -> [String] {
        let list = try String(contentsOf: directory.appendingPathComponent("files-toml-1.0.0"), encoding: .utf8)
        return list.split(separator: "\n").map(String.init).filter { $0.hasPrefix(kind + "/") && $0.hasSuffix(".toml") }
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(path)))
    }
}

@Suite struct ConformanceTests {
    @Test(.enabled(if: ConformanceSuite.isAvailable, "toml-test not found at ../shared/toml-test: conformance not checked"))
    func everyValidCaseParsesToTheExpectedDocument() throws {
        let cases = try ConformanceSuite.cases("valid")
        #expect(cases.count > 200)
        for path in cases {
            let document: TOMLTable
            do {
                document = try TOMLReader.parse(try ConformanceSuite.bytes(path))
            } catch {
                Issue.record("\(path): rejected: \(error)")
                continue
            }
            let expectedData = try Data(contentsOf: ConformanceSuite.directory
                .appendingPathComponent(String(path.dropLast(".toml".count)) + ".json"))
            let expected = try JSONSerialization.jsonObject(with: expectedData, options: [.fragmentsAllowed])
            if let mismatch = Self.mismatch(TOMLValue(.table(document), at: TOMLPosition(line: 1, column: 1)), expected) {
                Issue.record("\(path): \(mismatch)")
            }
        }
    }

    @Test(.enabled(if: ConformanceSuite.isAvailable, "toml-test not found at ../shared/toml-test: conformance not checked"))
    func everyInvalidCaseIsRejectedWithAMessage() throws {
        let cases = try ConformanceSuite.cases("invalid")
        #expect(cases.count > 400)
        for path in cases {
            let bytes = try ConformanceSuite.bytes(path)
            do throws(TOMLError) {
                _ = try TOMLReader.parse(bytes)
                Issue.record("\(path): accepted")
            } catch {
                #expect(!error.message.isEmpty && error.line >= 1 && error.column >= 1, "\(path)")
            }
        }
    }

    /// Nil when `value` is the tagged-JSON `expected`; otherwise what differs. Floats compare by value,
    /// datetimes after normalising (`T`, `Z`, no trailing zeros in the fraction of a second).
    static func mismatch(_ value: TOMLValue, _ expected: Any, at path: String = "") -> String? {
        switch value.kind {
        case .table(let table):
            guard let object = expected as? [String: Any] else { return "\(path): got a table" }
            if Set(object.keys) != Set(table.keys) { return "\(path): keys \(table.keys.sorted()), expected \(object.keys.sorted())" }
            for entry in table.entries {
                if let problem = mismatch(entry.value, object[entry.key]!, at: path + "." + entry.key) { return problem }
            }
            return nil
        case .array(let elements):
            guard let array = expected as? [Any] else { return "\(path): got an array" }
            guard array.count == elements.count else { return "\(path): \(elements.count) elements, expected \(array.count)" }
            for (index, (element, wanted)) in zip(elements, array).enumerated() {
                if let problem = mismatch(element, wanted, at: path + "[\(index)]") { return problem }
            }
            return nil
        default:
            guard let tagged = expected as? [String: Any], let type = tagged["type"] as? String,
                  let text = tagged["value"] as? String
            else { return "\(path): got a value, expected \(expected)" }
            let (gotType, gotText) = Self.tagged(value)
            guard gotType == type else { return "\(path): type \(gotType), expected \(type)" }
            let same = switch type {
            case "float": Double(gotText).map { got in
                Double(text).map { $0 == got || ($0.isNaN && got.isNaN) } ?? false } ?? false
            case "datetime", "datetime-local", "date-local", "time-local": normalised(gotText) == normalised(text)
            default: gotText == text
            }
            return same ? nil : "\(path): \(gotText), expected \(text)"
        }
    }

    static func tagged(_ value: TOMLValue) -> (String, String) {
        // Through the shared encoder, so its output is what is checked.
        let json = TaggedJSON.encode({ var t = TOMLTable(); t.set("v", at: value.position, to: value); return t }())
        let object = try! JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: [String: String]]
        return (object["v"]!["type"]!, object["v"]!["value"]!)
    }

    static func normalised(_ text: String) -> String {
        var text = text.uppercased().replacingOccurrences(of: " ", with: "T")
        if let dot = text.firstIndex(of: ".") {
            let digitsEnd = text[text.index(after: dot)...].firstIndex { !$0.isNumber } ?? text.endIndex
            var fraction = String(text[text.index(after: dot)..<digitsEnd])
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text = String(text[..<dot]) + (fraction.isEmpty ? "" : "." + fraction) + String(text[digitsEnd...])
        }
        return text
    }
}
