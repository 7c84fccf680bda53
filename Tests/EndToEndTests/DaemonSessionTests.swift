import Foundation
import Testing
import TestSupport

@Suite(.serialized) struct DaemonSessionTests {
    @Test func aWorkDayOfBreaksDrivenByStretchctl() throws {
        let daemon = try DaemonProcess()

        // Working, with the next break a few seconds away.
        var status = try daemon.status()
        #expect(status["state"] as? String == "working")
        #expect((status["nextBreakIn"] as? Double).map { $0 <= 3 } == true)

        // The reminder, then the session after the 1 s lead-in.
        try daemon.waitForLog("break due: time to stretch routine=quick")
        try daemon.waitForLog("session started")
        status = try daemon.status()
        #expect(status["state"] as? String == "in-session")
        let session = try #require(status["session"] as? [String: Any])
        #expect(session["routine"] as? String == "quick")

        // Pause and resume the session, then skip to the next step.
        #expect(try daemon.ctl(["pause"]).stdout == "session paused; resume continues it\n")
        let paused = try #require(try daemon.status()["session"] as? [String: Any])
        #expect(paused["paused"] as? Bool == true)
        try daemon.waitForLog("session paused session.routine=quick")
        #expect(try daemon.ctl(["resume"]).status == 0)
        try daemon.waitForLog("session resumed session.routine=quick")
        #expect(try daemon.ctl(["next"]).status == 0)
        try daemon.waitForLog("skipped to the next step session.routine=quick")
        try daemon.waitForLog("step name=Reps")
        try daemon.waitForLog("session completed")

        // The next break: snooze it, then skip the one after.
        try daemon.waitForLog("break due")
        #expect(try daemon.ctl(["snooze"]).stdout == "snoozed for 2s of work\n")
        try daemon.waitForLog("break snoozed for=2s")
        #expect(try daemon.status()["state"] as? String == "snoozed")
        try daemon.waitForLog("break due")
        let skip = try daemon.ctl(["skip"])
        #expect(skip.status == 0 && skip.stdout.hasPrefix("skipped this break"))
        try daemon.waitForLog("break skipped")
        #expect(try daemon.status()["state"] as? String == "working")

        // A bad config is reported by reload and on SIGHUP, and the running one is kept.
        try "[schedule]\nevery = \"soon\"\n".write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
        let reload = try daemon.ctl(["reload"])
        #expect(reload.status == 78)
        #expect(reload.stderr.contains("\(daemon.configPath):2:9: schedule.every: expected a duration"))
        kill(daemon.process.processIdentifier, SIGHUP)
        try daemon.waitForLog("config not reloaded")
        #expect(try daemon.status()["state"] as? String != nil)

        // A session started by hand, ended by SIGTERM mid-session.
        #expect(try daemon.ctl(["pause", "1h"]).status == 0)
        #expect(try daemon.status()["state"] as? String == "paused")
        let start = try daemon.ctl(["start", "quick"])
        #expect(start.stdout.hasPrefix("started quick"), "\(start.stderr)")
        try daemon.waitForLog("step name=Hold session.routine=quick side=left")
        #expect(try daemon.terminate() == 0)
        #expect(daemon.logText.contains("session stopped"))
        #expect(!FileManager.default.fileExists(atPath: daemon.socket), "the socket is removed on exit")

        // The capture holds the last session: each cue up to the stop on its planned frame.
        let plan = try JSONDecoder().decode(
            PlanDocument.self,
            from: Data(try Binaries.run("stretchctl", ["plan", daemon.home + "/.config/stretchd/routines/quick.toml",
                                                       "--json", "--voice", "off"]).stdout.utf8))
        let stream = try wavSamples(daemon.capture)
        let sounds = URLPath.repository + "/Sounds"
        let played = plan.cues.filter { Int(($0.at * 48_000).rounded()) + 48_000 < stream.count }
        #expect(played.count >= 6, "the session ran into the left side before it was stopped")
        for cue in played {
            let sound = try wavSamples(sounds + "/\(cue.cue == "rep-beat" && cue.rep == cue.of ? "last-rep" : cue.cue).wav")
            let frame = Int((cue.at * 48_000).rounded())
            #expect(Array(stream[frame..<frame + sound.count]) == sound, "\(cue.cue) at \(cue.at)")
        }

        // History: what happened, by day.
        let restarted = try Binaries.run("stretchctl", ["history", "--json", "--socket", daemon.socket],
                                         environment: daemon.environment)
        #expect(restarted.status == 2, "the daemon is gone: \(restarted.stderr)")
        let records = try String(contentsOfFile: daemon.historyPath, encoding: .utf8).split(separator: "\n")
        let events = records.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["event"] as? String
        }
        #expect(events.filter { $0 == "completed" }.count == 1)
        #expect(events.filter { $0 == "snoozed" }.count == 1)
        #expect(events.filter { $0 == "skipped" }.count == 1)
        #expect(events.last == "stopped")
        #expect(events.filter { $0 == "due" }.count >= 2, "the reminder after the snooze is the same break")
        #expect(!events.contains("reminded"))
    }

    @Test func withAVoiceTheDaemonsSessionSpeaksWherePlanSays() throws {
        let routine = """
            name = "Spoken"
            countdown = 1
            switch_time = "5s"
            transition_time = "8s"
            [[step]]
            name = "Hold"
            kind = "hold"
            sides = "both"
            hold = "2s"
            """
        let daemon = try DaemonProcess(every: "1h", voice: true) { home in
            try routine.write(toFile: home + "/.config/stretchd/routines/spoken.toml", atomically: true, encoding: .utf8)
        }
        let start = try daemon.ctl(["start", "spoken"])
        #expect(start.stdout.hasPrefix("started spoken"), "\(start.stderr)")
        try daemon.waitForLog("session completed", timeout: 60)
        #expect(try daemon.terminate() == 0)

        let planned = try Binaries.run("stretchctl", ["plan", daemon.home + "/.config/stretchd/routines/spoken.toml",
                                                      "--json", "--voice", "on"])
        #expect(planned.status == 0 && planned.stderr == "", "\(planned.stderr)")
        let plan = try JSONDecoder().decode(PlanDocument.self, from: Data(planned.stdout.utf8))
        #expect(Set(plan.cues.compactMap(\.prompt)) == ["step", "side", "closing"])
        let stream = try wavSamples(daemon.capture)
        let sounds = URLPath.repository + "/Sounds"
        var ends: [Int] = []
        for cue in plan.cues {
            let frame = Int((cue.at * 48_000).rounded())
            if cue.cue == "speech" {
                let length = Int((try #require(cue.duration) * 48_000).rounded())
                #expect(stream[frame..<frame + length].contains { abs($0) > 1_000 }, "\(cue.text ?? "")")
                #expect(frame == 0 || stream[frame - 1] == 0)
                ends.append(frame + length)
            } else {
                let sound = try wavSamples(sounds + "/\(cue.cue).wav")
                #expect(Array(stream[frame..<frame + sound.count]) == sound, "\(cue.cue) at \(cue.at)")
                ends.append(frame + sound.count)
            }
        }
        // The stream rings out through the closing prompt, after the session's end.
        #expect(stream.count >= ends.max() ?? 0)
    }

    @Test func historyReportsTheDayAndTheStreak() throws {
        let daemon = try DaemonProcess(every: "2s", autostart: "0s")
        try daemon.waitForLog("session completed", timeout: 90)
        let history = try #require(try daemon.json(["history", "--days", "2"])["history"] as? [String: Any])
        let days = try #require(history["days"] as? [[String: Any]])
        #expect(days.count == 2)
        #expect(days.last?["taken"] as? Int == 1)
        #expect((days.last?["minutes"] as? Double).map { $0 > 0.2 } == true)
        #expect(history["streak"] as? Int == 1, "the daily goal of 1 is met today")
        #expect(try daemon.status()["breaksToday"] as? Int == 1)
        #expect(try daemon.terminate() == 0)
    }

    @Test func skipWithNoBreakDueIsRefused() throws {
        let daemon = try DaemonProcess(every: "1h")
        let skip = try daemon.ctl(["skip"])
        #expect(skip.status == 1)
        #expect(skip.stderr.contains("no break is due"), "\(skip.stderr)")
        #expect(skip.stdout.isEmpty)
        #expect(try daemon.terminate() == 0)
        let history = (try? String(contentsOfFile: daemon.historyPath, encoding: .utf8)) ?? ""
        #expect(!history.contains("skipped"), "nothing recorded")
    }
}
