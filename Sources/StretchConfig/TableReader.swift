import StretchCore
import TOML

/// Collects the problems of one document, so one pass reports all of them rather than the first.
final class ProblemList {
    let file: String
    private(set) var problems: [ConfigProblem] = []
    /// What is valid but likely not meant: it does not fail the document.
    private(set) var warnings: [ConfigProblem] = []

    init(file: String) {
        self.file = file
    }

    func add(_ message: String, at keyPath: String?, position: TOMLPosition?) {
        problems.append(ConfigProblem(
            file: file, line: position?.line, column: position?.column, keyPath: keyPath, message: message))
    }

    func warn(_ message: String, at keyPath: String?, position: TOMLPosition?) {
        warnings.append(ConfigProblem(
            file: file, line: position?.line, column: position?.column, keyPath: keyPath, message: message))
    }
}

/// Reads typed values out of one TOML table, reporting wrong types, bad values and unknown keys by key path, each
/// at the line and column the reader gave the key or value.
final class TableReader {
    let path: String
    let problems: ProblemList
    private let table: TOMLTable
    /// Where the table starts (its header, or its `{`); nil for the document's top level.
    let position: TOMLPosition?
    private var readKeys: Set<String> = []

    init(_ table: TOMLTable, path: String = "", position: TOMLPosition? = nil, problems: ProblemList) {
        self.table = table
        self.path = path
        self.position = position
        self.problems = problems
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func contains(_ key: String) -> Bool { table.contains(key) }

    /// Reports a problem with a key's value, at the value; with a missing key or none, at the table.
    func report(_ message: String, at key: String?) {
        let location = key.flatMap { table[$0]?.position } ?? position
        problems.add(message, at: key.map(keyPath) ?? (path.isEmpty ? nil : path), position: location)
    }

    /// Warns about a key's valid value, at the value.
    func warn(_ message: String, at key: String) {
        problems.warn(message, at: keyPath(key), position: table[key]?.position ?? position)
    }

    /// Reports a problem with a key itself (such as an unknown key), at the key.
    func reportKey(_ message: String, _ key: String) {
        problems.add(message, at: keyPath(key), position: table.entry(key)?.keyPosition ?? position)
    }

    /// The raw value, marking the key as known.
    func value(_ key: String, required: Bool = false) -> TOMLValue? {
        readKeys.insert(key)
        let value = table[key]
        if value == nil, required { report("missing; this key is required", at: key) }
        return value
    }

    /// A string without control characters but tab (and newline in `multiline` text such as instructions): text
    /// reaches terminals and the log, where an escape sequence or a line break would rewrite what people see.
    func string(_ key: String, required: Bool = false, multiline: Bool = false) -> String? {
        guard let value = value(key, required: required) else { return nil }
        guard let string = value.string else { return mismatch(key, expected: "a string", got: value) }
        let allowed: Set<Unicode.Scalar> = multiline ? ["\t", "\n"] : ["\t"]
        if let control = string.unicodeScalars.first(where: {
            $0.properties.generalCategory == .control && !allowed.contains($0)
        }) {
            let code = zeroPadded(control.value, width: 4, radix: 16).uppercased()
            report("the control character U+\(code) is not allowed here; remove it", at: key)
            return nil
        }
        return string
    }

    /// A string that must be one of `options`.
    func choice(_ key: String, _ options: [String], required: Bool = false) -> String? {
        guard let string = string(key, required: required) else { return nil }
        guard options.contains(string) else {
            report("expected one of \(options.map { "\"\($0)\"" }.joined(separator: ", ")), got \"\(string)\"", at: key)
            return nil
        }
        return string
    }

    func int(_ key: String, in range: ClosedRange<Int>, required: Bool = false) -> Int? {
        guard let value = value(key, required: required) else { return nil }
        guard let integer = value.integer else { return mismatch(key, expected: "an integer", got: value) }
        guard let int = Int(exactly: integer), range.contains(int) else {
            report("must be from \(range.lowerBound) to \(range.upperBound), got \(integer)", at: key)
            return nil
        }
        return int
    }

    func double(_ key: String, in range: ClosedRange<Double>) -> Double? {
        guard let value = value(key) else { return nil }
        let number: Double
        switch value.kind {
        case .float(let float): number = float
        case .integer(let integer): number = Double(integer)
        default: return mismatch(key, expected: "a number", got: value)
        }
        guard range.contains(number) else {
            report("must be from \(range.lowerBound) to \(range.upperBound), got \(number)", at: key)
            return nil
        }
        return number
    }

    func bool(_ key: String) -> Bool? {
        guard let value = value(key) else { return nil }
        guard let bool = value.boolean else { return mismatch(key, expected: "true or false", got: value) }
        return bool
    }

    static let durationExample = "a duration such as \"45s\", \"1m30s\" or \"2m\""

    /// A duration written with units. A bare number is refused with a hint in `unit`, the unit such values are
    /// usually given in for this key (`every = 50` means minutes: "50m"); `in range` is stated when out of it.
    func duration(
        _ key: String, in range: ClosedRange<Duration>, required: Bool = false, unit: DurationUnit = .seconds
    ) -> Duration? {
        guard let value = value(key, required: required) else { return nil }
        guard let text = value.string else {
            if let int = value.integer {
                let hint = "\(int)\(unit.rawValue)"
                report("expected \(Self.durationExample), got the number \(int): add a unit, e.g. \"\(hint)\"", at: key)
                return nil
            }
            return mismatch(key, expected: Self.durationExample, got: value)
        }
        guard let duration = DurationText.parse(text) else {
            report("expected \(Self.durationExample), got \"\(text)\"", at: key)
            return nil
        }
        return checked(duration, in: range, key: key, text: text)
    }

    /// A hold's length: a duration, or `"N breaths"`.
    func holdLength(_ key: String, required: Bool = false) -> HoldLength? {
        guard let value = value(key, required: required) else { return nil }
        let expected = "a duration such as \"45s\" or \"1m30s\", or a number of breaths such as \"5 breaths\""
        guard let text = value.string else {
            if let int = value.integer {
                report("expected \(expected), got the number \(int): add a unit, e.g. \"\(int)s\"", at: key)
                return nil
            }
            return mismatch(key, expected: expected, got: value)
        }
        let words = text.split(separator: " ", omittingEmptySubsequences: true)
        if words.count == 2, words[1] == "breaths" || words[1] == "breath", let count = Int(words[0]) {
            guard RoutineLimits.breaths.contains(count) else {
                let limits = RoutineLimits.breaths
                report("must be from \(limits.lowerBound) to \(limits.upperBound) breaths, got \(count)", at: key)
                return nil
            }
            return .breaths(count)
        }
        guard let duration = DurationText.parse(text) else {
            report("expected \(expected), got \"\(text)\"", at: key)
            return nil
        }
        return checked(duration, in: RoutineLimits.holdLength, key: key, text: text).map(HoldLength.time)
    }

    func stringArray(_ key: String, required: Bool = false) -> [String]? {
        stringElements(key, required: required)?.map(\.text)
    }

    /// An array of strings, each with where it is written (for problems with one element: `reportElement`).
    func stringElements(_ key: String, required: Bool = false) -> [(text: String, position: TOMLPosition)]? {
        guard let value = value(key, required: required) else { return nil }
        guard let array = value.array else { return mismatch(key, expected: "an array of strings", got: value) }
        var strings: [(text: String, position: TOMLPosition)] = []
        for (index, element) in array.enumerated() {
            guard let string = element.string else {
                reportElement("expected a string, got \(describe(element))", key, index, at: element.position)
                return nil
            }
            strings.append((string, element.position))
        }
        return strings
    }

    /// Reports a problem with the element at `index` (0-based) of an array, named `key[index + 1]`.
    func reportElement(_ message: String, _ key: String, _ index: Int, at position: TOMLPosition) {
        problems.add(message, at: "\(keyPath(key))[\(index + 1)]", position: position)
    }

    /// An array of tables, `[[key]]` or `key = [{...}, ...]`; elements are named `key[1]`, `key[2]`, ...
    func tables(_ key: String, required: Bool = false) -> [TableReader]? {
        guard let value = value(key, required: required) else { return nil }
        guard let array = value.array else { return mismatch(key, expected: "an array of tables", got: value) }
        var readers: [TableReader] = []
        for (index, element) in array.enumerated() {
            let elementPath = "\(keyPath(key))[\(index + 1)]"
            guard let table = element.table else {
                problems.add("expected a table, got \(describe(element))", at: elementPath, position: element.position)
                return nil
            }
            readers.append(TableReader(table, path: elementPath, position: element.position, problems: problems))
        }
        return readers
    }

    /// A sub-table `[key]`.
    func table(_ key: String) -> TableReader? {
        guard let value = value(key) else { return nil }
        guard let table = value.table else { return mismatch(key, expected: "a table", got: value) }
        return TableReader(table, path: keyPath(key), position: value.position, problems: problems)
    }

    /// Marks keys as known without reading them: valid keys that do not apply to this table's case.
    func allow(_ keys: [String]) { readKeys.formUnion(keys) }

    /// The problems found so far, as the result of reading the document: `value`, or every problem.
    func result<Value>(_ value: Value?) -> Result<Value, ConfigError> {
        guard problems.problems.isEmpty, let value else { return .failure(ConfigError(problems.problems)) }
        return .success(value)
    }

    /// Reports every key that no reader asked for: usually a typo.
    func finish() {
        for entry in table.entries.sorted(by: { $0.keyPosition < $1.keyPosition }) where !readKeys.contains(entry.key) {
            let known = readKeys.sorted().joined(separator: ", ")
            reportKey("unknown key; known keys here: \(known)", entry.key)
        }
    }

    private func checked(_ duration: Duration, in range: ClosedRange<Duration>, key: String, text: String) -> Duration? {
        guard range.contains(duration) else {
            let low = DurationText.format(range.lowerBound), high = DurationText.format(range.upperBound)
            report("must be from \(low) to \(high), got \"\(text)\"", at: key)
            return nil
        }
        return duration
    }

    private func mismatch<T>(_ key: String, expected: String, got value: TOMLValue) -> T? {
        report("expected \(expected), got \(describe(value))", at: key)
        return nil
    }

    private func describe(_ value: TOMLValue) -> String {
        switch value.kind {
        case .string(let text): "the string \"\(text)\""
        case .integer(let number): "the number \(number)"
        case .float(let number): "the number \(number)"
        case .boolean(let flag): flag ? "true" : "false"
        case .table: "a table"
        case .array: "an array"
        case .dateTime(let date):
            switch date.kind {
            case .offsetDateTime, .localDateTime: "the date and time \(date.text)"
            case .localDate: "the date \(date.text)"
            case .localTime: "the time \(date.text)"
            }
        }
    }
}

/// The unit of a key's usual values, for the hint after a bare number.
enum DurationUnit: String {
    case seconds = "s"
    case minutes = "m"
}

extension TableReader {
    /// Parses TOML (UTF-8 bytes) and returns a reader of its top level, or the syntax error at its line and column.
    static func read(_ bytes: [UInt8], file: String) -> Result<TableReader, ConfigError> {
        do {
            return .success(TableReader(try TOMLReader.parse(bytes), problems: ProblemList(file: file)))
        } catch {
            return .failure(ConfigError([ConfigProblem(
                file: file, line: error.line, column: error.column, message: "invalid TOML: \(error.message)")]))
        }
    }

    static func read(_ text: String, file: String) -> Result<TableReader, ConfigError> {
        read(Array(text.utf8), file: file)
    }
}
