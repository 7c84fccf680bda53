import StretchConfig
import StretchCore
import Testing

@Suite struct DaemonConfigTests {
    @Test func theDocumentedDefaultFileIsTheDefaults() throws {
        #expect(try DaemonConfig.parse(DaemonConfig.defaultFile, file: "default.toml").get() == .defaults)
    }

    @Test func anEmptyFileIsTheDefaults() throws {
        #expect(try DaemonConfig.parse("", file: "empty.toml").get() == .defaults)
    }

    @Test func readsEveryKey() throws {
        let config = try DaemonConfig.parse("""
            [schedule]
            days = ["sat", "sun"]
            hours = ["10:00-11:00", "08:00-09:30"]
            every = "25m"
            natural_break = "10m"
            [session]
            routines = ["desk-basics"]
            autostart = "off"
            start_when_idle = "20s"
            [reminder]
            snooze = "5m"
            notify = false
            respect_do_not_disturb = false
            defer_during_calls = false
            [audio]
            device = "plughw:1,0"
            volume = 1
            [voice]
            enabled = false
            [history]
            daily_goal = 6
            """, file: "c.toml").get()
        #expect(!config.voice && DaemonConfig.defaults.voice)
        #expect(config.schedule.days == [.saturday, .sunday])
        #expect(config.schedule.windows.map(\.description) == ["08:00-09:30", "10:00-11:00"])
        #expect(config.every == .seconds(25 * 60) && config.naturalBreak == .seconds(600))
        #expect(config.routines == ["desk-basics"] && config.autostart == nil)
        #expect(config.snooze == .seconds(300) && !config.notify)
        #expect(config.startWhenIdle == .seconds(20) && !config.respectDoNotDisturb && !config.deferDuringCalls)
        #expect(config.device == "plughw:1,0" && config.volume == 1 && config.dailyGoal == 6)
    }

    @Test func startWhenIdleIsOffOrAtLeastTheIdleWatch() throws {
        #expect(try DaemonConfig.parse("[session]\nstart_when_idle = \"off\"\n", file: "c.toml").get().startWhenIdle == nil)
        guard case .failure(let error) = DaemonConfig.parse("[session]\nstart_when_idle = \"2s\"\n", file: "c.toml") else {
            Issue.record("2s accepted")
            return
        }
        #expect(error.problems.map(\.description).joined().contains("session.start_when_idle"))
    }

    @Test func problemsNameTheFileLineKeyAndWhatWasExpected() throws {
        guard case .failure(let error) = DaemonConfig.parse("""
            [schedule]
            days = ["monday"]
            hours = ["9-5"]
            every = 50
            [audio]
            volume = 2
            colour = "blue"
            """, file: "c.toml")
        else {
            Issue.record("expected problems")
            return
        }
        #expect(error.problems.map(\.description) == [
            "c.toml:2:9: schedule.days[1]: expected a day such as \"mon\" or \"sat\", got \"monday\"",
            "c.toml:3:10: schedule.hours[1]: expected hours such as \"09:00-12:30\", got \"9-5\"",
            "c.toml:4:9: schedule.every: expected a duration such as \"45s\", \"1m30s\" or \"2m\", got the number 50: add a unit, e.g. \"50m\"",
            "c.toml:6:10: audio.volume: must be from 0.0 to 1.0, got 2.0",
            "c.toml:7:1: audio.colour: unknown key; known keys here: device, volume",
        ])
    }

    @Test(arguments: [
        ("[schedule]\nevery = 50", "50m"), ("[schedule]\nnatural_break = 5", "5m"), ("[reminder]\nsnooze = 10", "10m"),
        ("[session]\nautostart = 30", "30s"), ("[session]\nstart_when_idle = 8", "8s"),
    ])
    func aBareNumbersHintHasTheUnitOfTheKey(text: String, hint: String) {
        guard case .failure(let error) = DaemonConfig.parse(text, file: "c.toml") else {
            Issue.record("expected a problem")
            return
        }
        #expect(error.description.hasSuffix("add a unit, e.g. \"\(hint)\""), "\(error)")
    }

    @Test(arguments: [
        ("[schedule]\nevery = \"25h\"", "must be from 1s to 24h"), ("[session]\nautostart = \"2h\"", "must be from 0s to 1h"),
        ("[session]\nstart_when_idle = \"1s\"", "must be from 5s to 1h"), ("[history]\ndaily_goal = 0", "must be from 1 to 50"),
    ])
    func aValueOutOfRangeStatesTheRange(text: String, range: String) {
        guard case .failure(let error) = DaemonConfig.parse(text, file: "c.toml") else {
            Issue.record("expected a problem")
            return
        }
        #expect(error.description.contains(range), "\(error)")
    }

    @Test func breaksMoreOftenThanFiveMinutesAreAcceptedWithAWarning() throws {
        let config = try DaemonConfig.parse("[schedule]\nevery = \"2m\"\n", file: "c.toml").get()
        #expect(config.every == .seconds(120))
        #expect(config.warnings.map(\.description) == [
            "c.toml:2:9: schedule.every: a break every 2m is under 5m: too often to get work done (fine for a test)",
        ])
        #expect(try DaemonConfig.parse("[schedule]\nevery = \"5m\"\n", file: "c.toml").get().warnings.isEmpty)
    }

    @Test func aNULByteIsReportedAsSuchAtItsLineAndColumn() {
        guard case .failure(let error) = DaemonConfig.parse("[audio]\ndevice = \"def\0ault\"\n", file: "c.toml") else {
            Issue.record("expected a problem")
            return
        }
        #expect(error.description == "c.toml:2:14: invalid TOML: a NUL byte (U+0000) is not allowed in TOML")
    }

    @Test func datesAreNamedWhenSomethingElseWasExpected() {
        guard case .failure(let error) = DaemonConfig.parse("[schedule]\nevery = 2026-01-01\n", file: "c.toml") else {
            Issue.record("expected a problem")
            return
        }
        #expect(error.description == "c.toml:2:9: schedule.every: expected a duration such as \"45s\", \"1m30s\" or \"2m\", "
            + "got the date 2026-01-01")
    }

    @Test func overlappingHoursAreRejected() {
        guard case .failure(let error) = DaemonConfig.parse(
            "[schedule]\nhours = [\"09:00-12:00\", \"11:00-13:00\"]", file: "c.toml")
        else {
            Issue.record("expected a problem")
            return
        }
        #expect(error.problems.map(\.keyPath) == ["schedule.hours"])
    }
}
