import Foundation
import StretchConfig
import StretchCore
import Testing

@Suite struct RoutineLibraryTests {
    /// A fresh directory with the given files.
    func directory(_ files: [String: String]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("routines-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(toFile: "\(path)/\(name)", atomically: true, encoding: .utf8) }
        return path
    }

    let good = "name = \"Lunch hips\"\n[[step]]\nname = \"a\"\nkind = \"hold\"\nhold = \"1m\"\n"

    @Test func loadsUserRoutinesAfterTheBuiltInOnes() throws {
        let dir = try directory(["lunch-hips.toml": good, "notes.txt": "ignored"])
        let (library, problems) = RoutineLibrary.load(directory: dir)
        #expect(problems.isEmpty)
        #expect(library.routines.map(\.id) == ["hips-for-back", "desk-basics", "lunch-hips"])
        #expect(library.entries.last?.path == "\(dir)/lunch-hips.toml")
    }

    @Test func aMissingDirectoryMeansNoUserRoutines() {
        let (library, problems) = RoutineLibrary.load(directory: "/nonexistent/stretchd/routines")
        #expect(problems.isEmpty)
        #expect(library.routines.count == RoutineLibrary.builtIn.count)
    }

    @Test func badAndDuplicateFilesAreLeftOutWithTheirProblems() throws {
        let dir = try directory([
            "a.toml": good,
            "b.toml": good.replacingOccurrences(of: "Lunch hips", with: "LUNCH HIPS"),
            "desk-basics.toml": good.replacingOccurrences(of: "Lunch hips", with: "Mine"),
            "broken.toml": "name = ",
        ])
        let (library, problems) = RoutineLibrary.load(directory: dir)
        #expect(library.routines.map(\.id) == ["hips-for-back", "desk-basics", "a"])
        #expect(problems.map(\.file) == ["\(dir)/b.toml", "\(dir)/broken.toml", "\(dir)/desk-basics.toml"])
        #expect(problems[0].message.contains("duplicate routine name"))
        #expect(problems[2].message.contains("duplicate routine id \"desk-basics\": already used by the built-in"))
    }

    @Test func resolvesIdsAndPaths() throws {
        let dir = try directory(["mine.toml": good])
        let library = RoutineLibrary()
        #expect(try library.resolve("desk-basics").get().id == "desk-basics")
        #expect(try library.resolve("\(dir)/mine.toml").get().id == "mine")
        guard case .failure(let error) = library.resolve("nope") else {
            Issue.record("an unknown id must fail")
            return
        }
        #expect(error.description == "nope: no routine with this id; known routines: hips-for-back, desk-basics")
        guard case .failure(let missing) = library.resolve("/nonexistent.toml") else {
            Issue.record("a missing file must fail")
            return
        }
        #expect(missing.description == "/nonexistent.toml: cannot open: No such file or directory")
    }
}
