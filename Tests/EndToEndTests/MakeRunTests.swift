import Foundation
import Testing
import TestSupport

/// `make run`'s fallback runtime folder, for when `XDG_RUNTIME_DIR` is not set. The build is skipped (`-o release`,
/// and a `swift` that prints nothing), so the run itself fails after the folder check: only the check is tested.
@Suite struct MakeRunTests {
    func makeRun(runtime: String) throws -> (stdout: String, stderr: String) {
        let result = try Binaries.run(
            program: URL(fileURLWithPath: "/usr/bin/make"),
            ["-s", "-C", URLPath.repository, "-o", "release", "run", "RUN_RUNTIME_DIR=\(runtime)", "SWIFT=true"],
            environment: ["PATH": "/usr/bin:/bin", "HOME": runtime])
        return (result.stdout, result.stderr)
    }

    func mode(_ path: String) -> mode_t {
        var info = stat()
        lstat(path, &info)
        return info.st_mode & 0o7777
    }

    @Test func theFallbackFolderIsCreatedPrivate() throws {
        let runtime = try URLPath.temporaryDirectory() + "/runtime"
        let result = try makeRun(runtime: runtime)
        #expect(result.stdout.contains("XDG_RUNTIME_DIR is not set; using \(runtime)"), "\(result)")
        #expect(!result.stderr.contains("Refusing"), "\(result)")
        #expect(mode(runtime) == 0o700)
    }

    @Test func aFallbackFolderOthersCouldHaveMadeIsRefused() throws {
        let root = try URLPath.temporaryDirectory()
        let open = root + "/open"
        mkdir(open, 0o700)
        chmod(open, 0o777)
        let link = root + "/link"
        mkdir(root + "/target", 0o700)
        symlink(root + "/target", link)
        for runtime in [open, link] {
            let result = try makeRun(runtime: runtime)
            #expect(result.stderr.contains("Refusing \(runtime): it must be a folder of yours with mode 0700"), "\(result)")
            #expect(!result.stdout.contains("using"), "\(result)")
        }
        #expect(mode(open) == 0o777)
    }
}
