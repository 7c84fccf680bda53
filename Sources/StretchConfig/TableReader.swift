import StretchCore
import TOMLKit

/// Collects the problems of one document, so one pass reports all of them rather than the first.
final class ProblemList {
    let file: String
    private let locator: SourceLocator
    private(set) var problems: [ConfigProblem] = []

    init(file: String, text: String) {
        self.file = file
        self.locator = SourceLocator(text: text)
    }

    func add(_ message: String, at keyPath: String?) {
        problems.append(ConfigProblem(
            file: file, line: keyPath.flatMap(locator.line(of:)), keyPath: keyPath, message: message))
    }
}

/// Reads typed values out of one TOML table, reporting wrong types, bad values and unknown keys by key path.
final class TableReader {
    let path: String
    let problems: ProblemList
    private let table: TOMLTable
    private var readKeys: Set<String> = []

    init(_ table: TOMLTable, path: String = "", problems: ProblemList) {
        self.table = table
        self.path = path
        self.problems = problems
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func contains(_ key: String) -> Bool { table.contains(key: key) }

    func report(_ message: String, at key: String?) {
        problems.add(message, at: key.map(keyPath) ?? (path.isEmpty ? nil : path))
    }

    /// The raw value, marking the key as known.
    func value(_ key: String, required: Bool = false) -> (any TOMLValueConvertible)? {
        readKeys.insert(key)
        let value = table[key]
        if value == nil, required { report("missing; this key is required", at: key) }
        return value
    }

    func string(_ key: String, required: Bool = false) -> String? {
        guard let value = value(key, required: required) else { return nil }
        guard let string = value.string else { return mismatch(key, expected: "a string", got: value) }
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
        guard value.type == .int, let int = value.int else { return mismatch(key, expected: "an integer", got: value) }
        guard range.contains(int) else {
            report("must be from \(range.lowerBound) to \(range.upperBound), got \(int)", at: key)
            return nil
        }
        return int
    }

    func double(_ key: String, in range: ClosedRange<Double>) -> Double? {
        guard let value = value(key) else { return nil }
        let number: Double? = value.type == .double ? value.double : value.int.map(Double.init)
        guard let number else { return mismatch(key, expected: "a number", got: value) }
        guard range.contains(number) else {
            report("must be from \(range.lowerBound) to \(range.upperBound), got \(number)", at: key)
            return nil
        }
        return number
    }

    func bool(_ key: String) -> Bool? {
        guard let value = value(key) else { return nil }
        guard value.type == .bool, let bool = value.bool else { return mismatch(key, expected: "true or false", got: value) }
        return bool
    }

    static let durationExample = "a duration such as \"45s\", \"1m30s\" or \"2m\""

    func duration(_ key: String, in range: ClosedRange<Duration>, required: Bool = false) -> Duration? {
        guard let value = value(key, required: required) else { return nil }
        guard let text = value.string else {
            if let int = value.int, value.type == .int {
                report("expected \(Self.durationExample), got the number \(int): add a unit, e.g. \"\(int)s\"", at: key)
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
        guard let text = value.string else { return mismatch(key, expected: expected, got: value) }
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
        guard let value = value(key, required: required) else { return nil }
        guard let array = value.array else { return mismatch(key, expected: "an array of strings", got: value) }
        var strings: [String] = []
        for (index, element) in array.enumerated() {
            guard let string = element.string else {
                problems.add("expected a string, got \(describe(element))", at: "\(keyPath(key))[\(index + 1)]")
                return nil
            }
            strings.append(string)
        }
        return strings
    }

    /// An array of tables, `[[key]]` or `key = [{...}, ...]`; elements are named `key[1]`, `key[2]`, ...
    func tables(_ key: String, required: Bool = false) -> [TableReader]? {
        guard let value = value(key, required: required) else { return nil }
        guard let array = value.array else { return mismatch(key, expected: "an array of tables", got: value) }
        var readers: [TableReader] = []
        for (index, element) in array.enumerated() {
            let elementPath = "\(keyPath(key))[\(index + 1)]"
            guard let table = element.table else {
                problems.add("expected a table, got \(describe(element))", at: elementPath)
                return nil
            }
            readers.append(TableReader(table, path: elementPath, problems: problems))
        }
        return readers
    }

    /// A sub-table `[key]`.
    func table(_ key: String) -> TableReader? {
        guard let value = value(key) else { return nil }
        guard let table = value.table else { return mismatch(key, expected: "a table", got: value) }
        return TableReader(table, path: keyPath(key), problems: problems)
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
        for key in table.keys.sorted() where !readKeys.contains(key) {
            let known = readKeys.sorted().joined(separator: ", ")
            report("unknown key; known keys here: \(known)", at: key)
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

    private func mismatch<T>(_ key: String, expected: String, got value: any TOMLValueConvertible) -> T? {
        report("expected \(expected), got \(describe(value))", at: key)
        return nil
    }

    private func describe(_ value: any TOMLValueConvertible) -> String {
        switch value.type {
        case .string: "the string \"\(value.string ?? "")\""
        case .int: "the number \(value.int ?? 0)"
        case .double: "the number \(value.double ?? 0)"
        case .bool: value.bool == true ? "true" : "false"
        case .table: "a table"
        case .array: "an array"
        case .date, .time, .dateTime: "a date or time"
        }
    }
}

extension TableReader {
    /// Parses `text` as TOML and returns a reader of its top level, or the syntax error with the parser's line
    /// and column.
    static func read(_ text: String, file: String) -> Result<TableReader, ConfigError> {
        do {
            return .success(TableReader(try TOMLTable(string: text), problems: ProblemList(file: file, text: text)))
        } catch let error as TOMLParseError {
            return .failure(ConfigError([ConfigProblem(
                file: file, line: error.source.begin.line, column: error.source.begin.column,
                message: "invalid TOML: \(error.description)")]))
        } catch {
            return .failure(ConfigError([ConfigProblem(file: file, message: "invalid TOML: \(error)")]))
        }
    }
}
