import StretchSystem

/// One thing wrong with a routine or config file, located as precisely as we can.
public struct ConfigProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    /// Where in the document, e.g. `step[2].hold`; nil for syntax errors and whole-file problems.
    public var keyPath: String?
    /// What is wrong and what was expected.
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, keyPath: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
    }

    /// `file:line:column: key.path: message`, the form editors and compilers use.
    public var description: String {
        var text = file
        if let line {
            text += ":\(line)"
            if let column { text += ":\(column)" }
        }
        text += ": "
        if let keyPath { text += "\(keyPath): " }
        return text + message
    }
}

/// A file that could not be loaded; nothing of it was used.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public var problems: [ConfigProblem]

    public init(_ problems: [ConfigProblem]) { self.problems = problems }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

extension ConfigProblem {
    /// A file that could not be read, as a problem of that file.
    public init(_ error: FileError) {
        self.init(file: error.path, message: error.message)
    }
}
