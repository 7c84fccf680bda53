import Foundation
import Testing
import TestSupport

/// `render` and `sounds export` write where the user says, and replace only what is theirs to replace.
@Suite struct OutputFileTests {
    static let shortRoutine = """
        name = "Short"
        countdown = 0
        [[step]]
        name = "Hold"
        kind = "hold"
        hold = "2s"
        """

    @Test func renderKeepsTheRoutineFileGivenAsItsOutputAndReplacesAnEarlierRender() throws {
        let folder = try URLPath.temporaryDirectory()
        let routine = folder + "/short.toml"
        try Self.shortRoutine.write(toFile: routine, atomically: true, encoding: .utf8)
        let onItself = try Binaries.run("stretchctl", ["render", routine, "--output", routine])
        #expect(onItself.status == 1)
        #expect(onItself.stderr.contains("\(routine) exists and is not a WAV file; not replacing it"), "\(onItself.stderr)")
        #expect(try String(contentsOfFile: routine, encoding: .utf8) == Self.shortRoutine)

        let output = folder + "/short.wav"
        for _ in 0..<2 {
            let render = try Binaries.run("stretchctl", ["render", routine, "--output", output])
            #expect(render.status == 0, "\(render.stderr)")
        }
        #expect(try wavSamples(output).count > 0)
    }

    @Test func renderRefusesASessionTooLongToHoldInsteadOfCrashing() throws {
        let folder = try URLPath.temporaryDirectory()
        let parts = (1...10).map { "{ name = \"p\($0)\", hold = \"30m\" }" }.joined(separator: ", ")
        try "name = \"Long\"\n[[step]]\nname = \"Long hold\"\nkind = \"hold\"\nsides = \"both\"\nparts = [\(parts)]\n"
            .write(toFile: folder + "/long.toml", atomically: true, encoding: .utf8)
        let render = try Binaries.run("stretchctl", ["render", folder + "/long.toml", "--output", folder + "/long.wav"])
        #expect(render.status == 1)
        #expect(render.stderr.contains("render writes sessions of at most 3h"), "\(render.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/long.wav"))
    }

    @Test func exportKeepsSoundsAlreadyThereUnlessForced() throws {
        let folder = try URLPath.temporaryDirectory()
        let own = Data("RIFF, a sound of my own".utf8)
        try own.write(to: URL(fileURLWithPath: folder + "/halfway.wav"))
        let refused = try Binaries.run("stretchctl", ["sounds", "export", folder])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("\(folder)/halfway.wav exists; not replacing it"), "\(refused.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["halfway.wav"], "nothing written")
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder + "/halfway.wav")) == own)

        let forced = try Binaries.run("stretchctl", ["sounds", "export", folder, "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).count == 11)

        let empty = try Binaries.run("stretchctl", ["sounds", "export", ""])
        #expect(empty.status == 64)
    }
}
