import Foundation
@testable import StretchConfig
import StretchCore
import Testing

/// Problems found after a routine loaded (a spoken prompt that does not fit, one that cannot be spoken) are
/// reported where the text is written, as file:line:column, like every other problem of a routine file.
@Suite struct RoutineLocationTests {
    static let text = """
        name = "Lunch"
        say_closing = "Done."
        [[step]]
        name = "Couch"
        kind = "hold"
        hold = "1m"

        [[step]]
        name = "Hip 90/90"
        kind = "hold"
        parts = [ { name = "lean", hold = "10s" }, { name = "rotate", hold = "10s" } ]
        """

    @Test(arguments: [
        ("step[1]", 3, 1), ("step[2]", 8, 1), ("step[2].name", 9, 1), ("step[2].parts[2]", 11, 44),
        ("say_closing", 2, 1),
    ])
    func aKeyPathIsFoundWhereItIsWritten(keyPath: String, line: Int, column: Int) throws {
        let position = try #require(RoutineFile.position(of: keyPath, in: Array(Self.text.utf8)))
        #expect(position.line == line && position.column == column)
    }

    @Test(arguments: ["step[3]", "step[0]", "step[x]", "steps[1]", "step[2].parts[3]", "say_last_rep", ""])
    func aKeyPathTheTextDoesNotHaveIsNotFound(keyPath: String) {
        #expect(RoutineFile.position(of: keyPath, in: Array(Self.text.utf8)) == nil)
    }

    @Test func textThatIsNotTOMLLocatesNothing() {
        #expect(RoutineFile.position(of: "step[1]", in: Array("[[step".utf8)) == nil)
    }

    @Test func aBuiltInRoutinesProblemIsAtItsLineInTheBuiltInText() throws {
        let library = RoutineLibrary()
        let routine = try #require(library.routine(id: "hips-for-back"))
        let problem = library.problem("too long", at: "step[2]", of: routine)
        #expect(problem.file == "built-in hips-for-back")
        // The second `[[step]]` header of the built-in text, found here by reading its lines.
        let text = try #require(BuiltInRoutines.files.first { $0.id == "hips-for-back" }?.text)
        let headers = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .filter { $0.element.hasPrefix("[[step]]") }.map { $0.offset + 1 }
        #expect(problem.line == headers[1] && problem.column == 1)
        #expect(problem.description == "built-in hips-for-back:\(headers[1]):1: step[2]: too long")
    }

    @Test func aRoutineFilesProblemIsAtItsLineInTheFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("routine-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/lunch.toml"
        try Self.text.write(toFile: path, atomically: true, encoding: .utf8)
        let routine = try RoutineLibrary.loadFile(path).get()
        let problem = RoutineLibrary().problem("too long", at: "step[2].parts[2]", of: routine, file: path)
        #expect(problem.description == "\(path):11:44: step[2].parts[2]: too long")
    }

    @Test func aFileThatIsGoneLeavesTheProblemWithoutALine() throws {
        let routine = try RoutineFile.parse(Self.text, file: "lunch.toml", defaultID: "lunch").get()
        let problem = RoutineLibrary().problem("too long", at: "step[1]", of: routine, file: "/nonexistent/lunch.toml")
        #expect(problem.description == "/nonexistent/lunch.toml: step[1]: too long")
    }
}
