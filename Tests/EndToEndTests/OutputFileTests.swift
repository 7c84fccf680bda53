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
            let render = try Binaries.run("stretchctl", ["render", routine, "--output", output, "--voice", "off"])
            #expect(render.status == 0, "\(render.stderr)")
        }
        #expect(try wavSamples(output).count > 0)
    }

    /// Two steps of ten 30-minute parts a side: about 20 h, more than a 16-bit WAV file holds at 48 kHz.
    @Test func renderRefusesASessionTooLongForAWAVFileInsteadOfCrashing() throws {
        let folder = try URLPath.temporaryDirectory()
        let parts = (1...10).map { "{ name = \"p\($0)\", hold = \"30m\" }" }.joined(separator: ", ")
        let step = "[[step]]\nkind = \"hold\"\nsides = \"both\"\nparts = [\(parts)]\n"
        try "name = \"Long\"\n\(step)name = \"One\"\n\(step)name = \"Two\"\n"
            .write(toFile: folder + "/long.toml", atomically: true, encoding: .utf8)
        let render = try Binaries.run("stretchctl", ["render", folder + "/long.toml", "--output", folder + "/long.wav", "--voice", "off"])
        #expect(render.status == 1)
        #expect(render.stderr.contains("a 16-bit WAV file at 48000 Hz holds at most 12h25m"), "\(render.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/long.wav"))
    }

    /// Longer than the 3 h render used to be limited to, at a low rate to keep the file small: the header's sizes,
    /// written before the samples, match the file.
    @Test func renderWritesASessionLongerThanThreeHoursWithTheHeaderSizesOfTheFile() throws {
        let folder = try URLPath.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let parts = (1...7).map { "{ name = \"p\($0)\", hold = \"27m\" }" }.joined(separator: ", ")
        try "name = \"Long\"\n[[step]]\nname = \"Long hold\"\nkind = \"hold\"\nparts = [\(parts)]\n"
            .write(toFile: folder + "/long.toml", atomically: true, encoding: .utf8)
        let output = folder + "/long.wav"
        let render = try Binaries.run("stretchctl", ["render", folder + "/long.toml", "--output", output, "--rate", "8000", "--voice", "off"])
        #expect(render.status == 0, "\(render.stderr)")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: output)[.size] as? Int)
        let handle = try #require(FileHandle(forReadingAtPath: output))
        defer { try? handle.close() }
        let header = [UInt8](try #require(try handle.read(upToCount: 44)))
        func le32(_ offset: Int) -> Int { (0..<4).reduce(0) { $0 | Int(header[offset + $1]) << (8 * $1) } }
        #expect(Array(header[36..<40]) == Array("data".utf8))
        #expect(le32(4) == size - 8, "RIFF size")
        #expect(le32(40) == size - 44, "data size")
        #expect(size - 44 > 2 * 8_000 * 3 * 3600, "more than 3 h of samples")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["long.toml", "long.wav"])
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
