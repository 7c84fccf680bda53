import Foundation
import Testing
import TestSupport

/// README's architecture section and the folders tell the same story.
@Suite struct ArchitectureTests {
    @Test func everySourceFolderIsInTheReadmesTreeAndNoOtherIs() throws {
        let readme = try String(contentsOfFile: URLPath.repository + "/README.md", encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "## Architecture").dropFirst().first)
        let tree = try #require(section.components(separatedBy: "```").dropFirst().first)
        let described = Set(tree.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { return nil }
            let name = line.dropFirst(2).prefix { $0 != " " }
            return name.hasSuffix("/") ? String(name.dropLast()) : nil
        })
        let folders = Set(try FileManager.default.contentsOfDirectory(atPath: URLPath.repository + "/Sources"))
        #expect(described == folders)
    }
}
