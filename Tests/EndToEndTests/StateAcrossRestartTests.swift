import Foundation
import Testing
import TestSupport

/// Nothing forgotten, nothing lost, through the real binaries: the countdown outlasts a restart, a gap as long as
/// the natural break is a break, a break without sound is recorded as failed with its reason, and a snoozed
/// break keeps its routine.
@Suite struct StateAcrossRestartTests {
    /// Reads `status` until work time reaches `seconds` (the daemon counts real time; nothing here sleeps for it).
    func status(_ daemon: DaemonProcess, onceWorked seconds: Double) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(30)
        while true {
            let status = try daemon.status()
            if let worked = status["worked"] as? Double, worked >= seconds { return status }
            guard Date() < deadline else { throw DaemonTestError("worked never reached \(seconds) s: \(status)") }
            usleep(100_000)
        }
    }

    func events(_ daemon: DaemonProcess) throws -> [[String: Any]] {
        let text = (try? String(contentsOfFile: daemon.historyPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    @Test func aRestartKeepsTheCountdown() throws {
        let first = try DaemonProcess(every: "40s")
        let before = try status(first, onceWorked: 4)
        let beforeAt = Date()
        #expect(try first.terminate() == 0)
        #expect(FileManager.default.fileExists(atPath: first.statePath), "saved at stop")

        let second = try DaemonProcess(every: "40s", after: first)
        let after = try second.status()
        let afterAt = Date()
        #expect(second.logText.contains("timer state restored"))
        let workedBefore = try #require(before["worked"] as? Double)
        let workedAfter = try #require(after["worked"] as? Double)
        #expect(workedAfter >= workedBefore, "the work done is kept: \(workedBefore) s, then \(workedAfter) s")
        // When the next break falls, as a moment: the time the daemon was down is time away, not work.
        let nextBefore = beforeAt.timeIntervalSince1970 + (try #require(before["nextBreakIn"] as? Double))
        let nextAfter = afterAt.timeIntervalSince1970 + (try #require(after["nextBreakIn"] as? Double))
        let drift = nextAfter - nextBefore
        print("restart drift of the next break: \(String(format: "%.3f", drift)) s")
        #expect(drift > -0.5 && drift < 3, "drift \(drift) s")
        #expect(try second.terminate() == 0)
    }

    @Test func aGapAsLongAsTheNaturalBreakIsABreakAndEndsTheBreakThatWasDue() throws {
        let first = try DaemonProcess(every: "40s", naturalBreak: "30m")
        _ = try status(first, onceWorked: 2)
        #expect(try first.terminate() == 0)
        // As if the machine had been off for an hour, with a break due when it went down.
        let saved = try String(contentsOfFile: first.statePath, encoding: .utf8)
        var state = try #require(try JSONSerialization.jsonObject(with: Data(saved.utf8)) as? [String: Any])
        state["saved_at"] = (try #require(state["saved_at"] as? Double)) - 3600
        state["open_break"] = "quick"
        try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: first.statePath))

        let second = try DaemonProcess(every: "40s", naturalBreak: "30m", after: first)
        #expect(second.logText.contains("time away counted as a break"), "\(second.logText)")
        #expect((try second.status()["worked"] as? Double).map { $0 < 2 } == true)
        #expect(try events(second).map { $0["event"] as? String } == ["missed"])
        let history = try second.json(["history", "--days", "1"])
        let today = try #require((history["history"] as? [String: Any])?["days"] as? [[String: Any]]).last
        #expect(today?["missed"] as? Int == 1)
        #expect(try second.terminate() == 0)
    }

    @Test func aCorruptStateFileIsIgnoredWithOneLogLine() throws {
        let first = try DaemonProcess(every: "1h")
        #expect(try first.terminate() == 0)
        try "{\"version\": 1, garbage".write(toFile: first.statePath, atomically: true, encoding: .utf8)
        let second = try DaemonProcess(every: "1h", after: first)
        #expect(second.logText.components(separatedBy: "state file ignored").count == 2, "\(second.logText)")
        #expect(try second.status()["state"] as? String == "working")
        #expect(try second.terminate() == 0)
    }

    @Test func withoutASoundDeviceEachBreakIsRecordedAsFailedAndSaysWhy() throws {
        let daemon = try DaemonProcess(every: "2s", device: "nonexistent")
        try daemon.waitForLog("break failed")
        let status = try daemon.status()
        #expect((status["soundProblem"] as? String)?.contains("cannot open audio device \"nonexistent\"") == true)
        #expect(try daemon.ctl(["status"]).stdout.contains("No sound: cannot open audio device \"nonexistent\""))
        let history = try daemon.ctl(["history", "--days", "1"]).stdout
        #expect(history.contains("FAILED"), "\(history)")
        #expect(try daemon.terminate() == 0)
        let failed = try #require(try events(daemon).first { $0["event"] as? String == "failed" })
        let reason = try #require(failed["reason"] as? String)
        #expect(reason.contains("cannot open audio device \"nonexistent\": no sound card found, or no device of that name"))
        // Each break that came due ended as failed, none twice and none left out (the last may still be open).
        let all = try events(daemon).compactMap { $0["event"] as? String }
        let due = all.filter { $0 == "due" }.count
        let ended = all.filter { $0 == "failed" }.count
        #expect(ended >= 1 && (ended == due || ended == due - 1), "\(all)")
    }

    @Test func snoozeKeepsTheBreaksRoutine() throws {
        let daemon = try DaemonProcess(every: "2s", autostart: "off", routines: ["quick", "other"]) { home in
            try DaemonProcess.quickRoutine.replacingOccurrences(of: "name = \"Quick\"", with: "name = \"Other\"")
                .write(toFile: home + "/.config/stretchd/routines/other.toml", atomically: true, encoding: .utf8)
        }
        try daemon.waitForLog("break due: time to stretch routine=quick ")
        #expect(try daemon.ctl(["snooze"]).status == 0)
        try daemon.waitForLog("break due: time to stretch routine=quick ")
        #expect(try daemon.ctl(["skip"]).status == 0)
        try daemon.waitForLog("break due: time to stretch routine=other ")
        #expect(try daemon.terminate() == 0)
        let records = try events(daemon).map { "\($0["event"] as? String ?? "?") \($0["routine"] as? String ?? "-")" }
        #expect(Array(records.prefix(4)) == ["due quick", "snoozed quick", "skipped quick", "due other"])
    }
}
