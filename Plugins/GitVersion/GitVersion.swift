import Foundation
import PackagePlugin

/// Writes the build's `git describe` into the target it is applied to (`gitDescribed`, see Sources/git-version).
/// The command reruns when git's HEAD, index, current branch or tags change, and when a source file changes (for
/// `-dirty`); git itself runs only then, so a build with nothing changed does not start it.
@main
struct GitVersionPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let package = context.package.directoryURL
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("GitDescribed.swift")
        let sources = context.package.targets.compactMap { $0 as? SourceModuleTarget }
            .flatMap { $0.sourceFiles.map(\.url) }
        return [
            .buildCommand(
                displayName: "Reading the version from git describe",
                executable: try context.tool(named: "git-version").url,
                arguments: [package.path, output.path],
                inputFiles: Self.gitState(of: package) + sources,
                outputFiles: [output]
            )
        ]
    }

    /// The files git changes on a commit, a checkout, a tag or `git add`; none outside a checkout. In a worktree
    /// `.git` is a file naming the worktree's own folder, whose `commondir` leads to the shared refs.
    static func gitState(of package: URL) -> [URL] {
        let dotGit = package.appendingPathComponent(".git")
        var gitDirectory = dotGit
        if let link = try? String(contentsOf: dotGit, encoding: .utf8), link.hasPrefix("gitdir: ") {
            let path = link.dropFirst("gitdir: ".count).trimmingCharacters(in: .whitespacesAndNewlines)
            gitDirectory = URL(fileURLWithPath: path, relativeTo: package).standardizedFileURL
        }
        var common = gitDirectory
        if let path = try? String(contentsOf: gitDirectory.appendingPathComponent("commondir"), encoding: .utf8) {
            common = URL(fileURLWithPath: path.trimmingCharacters(in: .whitespacesAndNewlines),
                         relativeTo: gitDirectory.appendingPathComponent("")).standardizedFileURL
        }
        let head = gitDirectory.appendingPathComponent("HEAD")
        var files = [head, gitDirectory.appendingPathComponent("index"), common.appendingPathComponent("packed-refs"),
                     common.appendingPathComponent("refs/tags")]
        if let text = try? String(contentsOf: head, encoding: .utf8), text.hasPrefix("ref: ") {
            let ref = text.dropFirst("ref: ".count).trimmingCharacters(in: .whitespacesAndNewlines)
            files.append(common.appendingPathComponent(ref))
        }
        return files.filter { FileManager.default.fileExists(atPath: $0.path) }
    }
}
