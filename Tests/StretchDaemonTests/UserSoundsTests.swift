import Foundation
import InMemoryLogging
import Logging
import StretchAudio
import StretchDaemon
import StretchSettings
import Testing
import TestSupport

/// The user's sound overrides, read by the daemon on first use rather than before READY.
@Suite struct UserSoundsTests {
    /// A reminder.wav override is what the chime plays (into libasound's `file` plugin), and a broken override
    /// beside it is logged once, however many breaks use the sounds.
    @Test func theChimePlaysTheOverrideAndABrokenOneIsLoggedOnce() async throws {
        let dir = try URLPath.temporaryDirectory()
        let reminder = (0..<4_800).map { Int16(($0 % 100) * 100) }
        try FileBytes.write(WAV.pcm16(reminder, rate: 48_000), to: dir + "/reminder.wav")
        try FileBytes.write(Array("not audio".utf8), to: dir + "/halfway.wav")
        let log = InMemoryLogHandler()
        let logger = Logger(label: "test") { _ in log }
        let sounds = UserSounds(overridesIn: dir, logger: logger)
        #expect(log.entries.isEmpty, "nothing is read before a break needs the sounds")
        for round in 0..<2 {
            let path = dir + "/chime\(round).wav"
            let audio = ALSABreakAudio(device: "file:'\(path)',wav", volume: 1, sounds: sounds, logger: logger)
            try await audio.chime()
            let captured = try WAV.read(try #require(FileBytes.read(path))).samples.map { Int16(($0 * 32768).rounded()) }
            #expect(captured.starts(with: reminder))
        }
        let warnings = log.entries.filter { $0.level == .warning }.map(\.message.description)
        #expect(warnings == ["using the built-in sound instead of \(dir)/halfway.wav: not a WAV file (no RIFF/WAVE header)"])
    }
}
