import Foundation
import Testing
import TestSupport

/// 16-bit mono samples of a WAV file written by stretchctl or libasound (44-byte header).
func wavSamples(_ path: String) throws -> [Int16] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    #expect(data.count >= 44 && String(decoding: data[0..<4], as: UTF8.self) == "RIFF")
    return stride(from: 44, to: data.count - 1, by: 2).map { Int16(bitPattern: UInt16(data[$0]) | UInt16(data[$0 + 1]) << 8) }
}

@Suite struct AudioCommandTests {
    let sounds = URLPath.repository + "/Sounds"

    @Test func renderPlacesEveryPlannedCueOnItsFrame() throws {
        let output = try URLPath.temporaryDirectory() + "/hips.wav"
        let render = try Binaries.run("stretchctl", ["render", "hips-for-back", "--output", output, "--voice", "off"])
        #expect(render.status == 0, "\(render.stderr)")
        let planText = try Binaries.run("stretchctl", ["plan", "hips-for-back", "--json", "--voice", "off"]).stdout
        let plan = try JSONDecoder().decode(PlanDocument.self, from: Data(planText.utf8))
        let stream = try wavSamples(output)
        for cue in plan.cues {
            let name = cue.cue == "rep-beat" && cue.rep == cue.of ? "last-rep" : cue.cue
            let sound = try wavSamples(sounds + "/\(name).wav")
            let frame = Int((cue.at * 48_000).rounded())
            #expect(Array(stream[frame..<frame + sound.count]) == sound, "\(cue.cue) at \(cue.at)")
            if frame > 0 { #expect(stream[frame - 1] == 0, "silence just before \(cue.cue) at \(cue.at)") }
        }
    }

    @Test func playRecordsTheSessionThroughTheFileDeviceAsRendered() throws {
        let dir = try URLPath.temporaryDirectory()
        try """
            name = "Quick"
            countdown = 1
            [[step]]
            name = "Hold"
            kind = "hold"
            hold = "2s"
            """.write(toFile: dir + "/quick.toml", atomically: true, encoding: .utf8)
        // Runs in real time (about 4 s): the real binary, the real clock, the real libasound.
        let play = try Binaries.run(
            "stretchctl", ["play", dir + "/quick.toml", "--device", "file:'\(dir)/live.wav',wav", "--volume", "1", "--voice", "off"])
        #expect(play.status == 0, "\(play.stderr)")
        #expect(play.stdout.contains("0:01  hold-start  Hold"))
        #expect(play.stdout.contains("Session complete."))
        let render = try Binaries.run("stretchctl", ["render", dir + "/quick.toml", "--output", dir + "/offline.wav", "--voice", "off"])
        #expect(render.status == 0)
        #expect(try wavSamples(dir + "/live.wav") == wavSamples(dir + "/offline.wav"))
    }

    @Test func aMissingSoundCardSaysWhatItMeansAndHowToChooseAnother() throws {
        let result = try Binaries.run("stretchctl", ["sounds", "play", "halfway", "--device", "hw:97,0"])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "\(result.stderr)")
        #expect(lines.first == "error: cannot open audio device \"hw:97,0\": no sound card found, or no device of that "
            + "name (ALSA: Invalid argument, snd_pcm_open)")
        #expect(lines.last?.hasPrefix("hint: try another with --device NAME") == true)
    }

    @Test func exportedSoundsMatchTheCommittedOnes() throws {
        let dir = try URLPath.temporaryDirectory()
        #expect(try Binaries.run("stretchctl", ["sounds", "export", dir]).status == 0)
        for name in try FileManager.default.contentsOfDirectory(atPath: sounds) where name.hasSuffix(".wav") {
            #expect(FileManager.default.contentsEqual(atPath: dir + "/" + name, andPath: sounds + "/" + name), "\(name)")
        }
    }
}
