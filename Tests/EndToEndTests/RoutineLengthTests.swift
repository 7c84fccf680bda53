import Foundation
import Testing
import TestSupport

/// `routines`, `plan` and `render` give a routine the same length, with the voice as each has it by default and
/// without: the length `render` writes (and `play` plays), until the last sound has rung out.
@Suite struct RoutineLengthTests {
    static let builtIn = ["hips-for-back", "desk-basics"]

    func run(_ arguments: [String], voice: String?, environment: [String: String]) throws -> String {
        let result = try Binaries.run(
            "stretchctl", arguments + (voice.map { ["--voice", $0] } ?? []), environment: environment)
        #expect(result.status == 0 && result.stderr == "", "\(arguments): \(result.stderr)")
        return result.stdout
    }

    /// `nil`: no `--voice`, so on, as the voice loads here and no config turns it off.
    @Test(arguments: [nil, "off"])
    func routinesPlanAndRenderAgreeOnEachBuiltInRoutinesLength(voice: String?) throws {
        let environment = try Binaries.cleanEnvironment()
        let dir = try URLPath.temporaryDirectory()
        struct Row: Decodable { var id: String; var duration: Double }
        let rows = try JSONDecoder().decode(
            [Row].self, from: Data(run(["routines", "--json"], voice: voice, environment: environment).utf8))
        let table = try run(["routines"], voice: voice, environment: environment).split(separator: "\n")
        let sessionEnd = try wavSamples(URLPath.repository + "/Sounds/session-end.wav").count
        func frame(_ seconds: Double) -> Int { Int((seconds * 48_000).rounded()) }
        for id in Self.builtIn {
            let listed = try #require(rows.first { $0.id == id }?.duration)
            let plan = try JSONDecoder().decode(
                PlanDocument.self, from: Data(run(["plan", id, "--json"], voice: voice, environment: environment).utf8))
            let render = try run(["render", id, "-o", dir + "/\(id).wav"], voice: voice, environment: environment)
            let frames = try wavSamples(dir + "/\(id).wav").count
            // The same length in seconds everywhere: the WAV's, to the frame.
            #expect(plan.duration == listed)
            #expect(frame(listed) == frames, "\(id): \(listed) s, \(frames) frames")
            // It runs past session-end until its sound has rung out, and with a voice past the closing prompt.
            let end = try #require(plan.cues.first { $0.cue == "session-end" })
            #expect(frames >= frame(end.at) + sessionEnd)
            let speech = plan.cues.filter { $0.cue == "speech" }
            #expect(speech.isEmpty == (voice == "off"))
            if let closing = speech.last {
                #expect(closing.prompt == "closing" && closing.at > end.at)
                #expect(frames >= frame(closing.at + (try #require(closing.duration))))
            }
            // And in words: the routines table, plan's heading and render's line show the same text.
            let row = try #require(table.first { $0.hasPrefix(id + " ") })
            let shown = try #require(row.split(separator: " ", omittingEmptySubsequences: true).dropLast().last)
            let heading = try run(["plan", id], voice: voice, environment: environment).split(separator: "\n").first
            #expect(heading?.hasSuffix(" steps, \(shown)") == true, "\(heading ?? "") / \(row)")
            #expect(render.hasSuffix(", \(shown) at 48000 Hz\n"), "\(render) / \(row)")
        }
    }
}
