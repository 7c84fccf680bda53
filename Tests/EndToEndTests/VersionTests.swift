import Foundation
import Testing
import TestSupport

/// `--version` is `git describe` of the tree at build time: the GitVersion plugin runs the git-version tool.
@Suite struct VersionTests {
    static let git = URL(fileURLWithPath: "/usr/bin/git")

    /// Runs git in `directory` with a fixed author and no user config, and returns its first line of output.
    @discardableResult
    static func git(_ arguments: [String], in directory: String) throws -> String {
        var environment = try Binaries.cleanEnvironment()
        environment["GIT_CONFIG_NOSYSTEM"] = "1"
        let result = try Binaries.run(
            program: git, ["-c", "user.name=Test", "-c", "user.email=test@example.org"] + arguments,
            environment: environment, in: directory)
        #expect(result.status == 0, "git \(arguments): \(result.stderr)")
        return result.stdout.split(separator: "\n").first.map(String.init) ?? ""
    }

    /// What git-version writes for the checkout at `directory`: the value of `gitDescribed`, or nil.
    static func described(_ directory: String) throws -> String? {
        let output = try URLPath.temporaryDirectory() + "/GitDescribed.swift"
        let result = try Binaries.run("git-version", [directory, output])
        #expect(result.status == 0, "\(result.stderr)")
        let text = try String(contentsOfFile: output, encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("let gitDescribed: String? = ") })
        let value = line.dropFirst("let gitDescribed: String? = ".count)
        return value == "nil" ? nil : String(value.dropFirst().dropLast())
    }

    @Test func bothBinariesShowGitDescribeOfTheTreeTheyWereBuiltFrom() throws {
        let daemon = try Binaries.run("stretchd", ["--version"])
        let control = try Binaries.run("stretchctl", ["--version"])
        #expect(daemon.status == 0 && control.status == 0)
        #expect(daemon.stdout.dropFirst("stretchd".count) == control.stdout.dropFirst("stretchctl".count))
        // The tree as built is the tree now (a build reruns git-version after a commit or a source change).
        guard let described = try Self.described(URLPath.repository) else { return }
        #expect(daemon.stdout == "stretchd \(described)\n")
    }

    @Test func aCheckoutIsDescribedByItsTagsCommitsAndChanges() throws {
        let repository = try URLPath.temporaryDirectory()
        try Self.git(["init", "-q"], in: repository)
        try "one\n".write(toFile: repository + "/file", atomically: true, encoding: .utf8)
        try Self.git(["add", "file"], in: repository)
        try Self.git(["commit", "-qm", "first"], in: repository)
        let first = try Self.git(["rev-parse", "--short", "HEAD"], in: repository)
        // Before the first tag: 0.0.0, the number of commits and the hash, as describe would put them.
        #expect(try Self.described(repository) == "0.0.0-1-g\(first)")
        try "two\n".write(toFile: repository + "/file", atomically: true, encoding: .utf8)
        #expect(try Self.described(repository) == "0.0.0-1-g\(first)-dirty")
        try Self.git(["commit", "-qam", "second"], in: repository)
        try Self.git(["tag", "v1.2.3"], in: repository)
        #expect(try Self.described(repository) == "1.2.3")
        try "three\n".write(toFile: repository + "/file", atomically: true, encoding: .utf8)
        try Self.git(["commit", "-qam", "third"], in: repository)
        let third = try Self.git(["rev-parse", "--short", "HEAD"], in: repository)
        #expect(try Self.described(repository) == "1.2.3-1-g\(third)")
        // Tags that are not versions are not taken.
        try Self.git(["tag", "nightly"], in: repository)
        #expect(try Self.described(repository) == "1.2.3-1-g\(third)")
    }

    @Test func aTreeWithoutGitFallsBackToVersionSwiftEvenInsideAnotherCheckout() throws {
        let repository = try URLPath.temporaryDirectory()
        try Self.git(["init", "-q"], in: repository)
        try Self.git(["commit", "-q", "--allow-empty", "-m", "first"], in: repository)
        // An unpacked tarball: no .git of its own, inside someone's repository.
        let tarball = repository + "/stretchd-0.7.0"
        try FileManager.default.createDirectory(atPath: tarball, withIntermediateDirectories: false)
        #expect(try Self.described(tarball) == nil)
        #expect(try Self.described(try URLPath.temporaryDirectory()) == nil)
    }
}
