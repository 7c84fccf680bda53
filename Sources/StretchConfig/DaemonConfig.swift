import StretchCore
import StretchSystem
import TOML

/// The daemon's settings, from `config.toml`; see `DaemonConfig.defaultFile` for every key.
public struct DaemonConfig: Sendable, Hashable {
    public var schedule: WorkSchedule
    /// Work time between breaks.
    public var every: Duration
    /// Time away (suspend, lunch) that counts as a break.
    public var naturalBreak: Duration
    /// Routine ids or paths, offered in turn from break to break.
    public var routines: [String]
    /// Lead-in from the reminder to the session; nil waits for `stretchctl start`.
    public var autostart: Duration?
    /// After a reminder, the session starts once the user has been idle this long; nil: only `autostart` starts it.
    public var startWhenIdle: Duration?
    public var snooze: Duration
    public var notify: Bool
    /// A break due while the desktop's do-not-disturb is on waits until it is off.
    public var respectDoNotDisturb: Bool
    /// A break due during a call (a microphone in use) waits until it ends.
    public var deferDuringCalls: Bool
    public var device: String
    public var volume: Float
    /// Breaks taken per work day that count toward the streak.
    public var dailyGoal: Int
    /// Spoken prompts in sessions, where the voice loads.
    public var voice = true
    /// Valid values that are likely not meant (`every` under `shortestUsualEvery`), for `check-config` and the log.
    public var warnings: [ConfigProblem] = []

    public static let defaults = DaemonConfig(
        schedule: .standard, every: .seconds(50 * 60), naturalBreak: .seconds(5 * 60),
        routines: ["hips-for-back", "desk-basics"], autostart: .seconds(30), startWhenIdle: .seconds(5),
        snooze: .seconds(10 * 60), notify: true, respectDoNotDisturb: true, deferDuringCalls: true,
        device: "default", volume: 0.8, dailyGoal: 4)

    /// The shortest `start_when_idle`: the desktop's idle watch fires after this much idleness (a shorter one
    /// would wake the daemon at every pause in typing).
    public static let shortestStartWhenIdle = Duration.seconds(5)

    /// Breaks more often than this are accepted (tests need them) with a warning.
    public static let shortestUsualEvery = Duration.seconds(5 * 60)

    /// The break timer's settings.
    public var timerSettings: BreakTimer.Settings {
        BreakTimer.Settings(interval: every, naturalBreak: naturalBreak, snooze: snooze)
    }

    /// Reads the config file at `path`. With `required` false, a missing file means the built-in defaults.
    public static func load(_ path: String, required: Bool) -> Result<DaemonConfig, ConfigError> {
        switch Files.readBytes(path, limit: Files.maximumSize) {
        case .success(let bytes): return parse(bytes, file: path)
        case .failure(let error):
            if !required, error.isMissing { return .success(defaults) }
            return .failure(ConfigError([ConfigProblem(error)]))
        }
    }

    /// Parses a config file; every key is optional and falls back to its default.
    public static func parse(_ text: String, file: String) -> Result<DaemonConfig, ConfigError> {
        parse(Array(text.utf8), file: file)
    }

    /// Parses a config file from its bytes, which must be UTF-8 TOML (a bad byte is reported at its line).
    public static func parse(_ bytes: [UInt8], file: String) -> Result<DaemonConfig, ConfigError> {
        let reader: TableReader
        switch TableReader.read(bytes, file: file) {
        case .success(let root): reader = root
        case .failure(let error): return .failure(error)
        }
        var config = defaults

        if let schedule = reader.table("schedule") {
            var days = config.schedule.days
            if let names = schedule.stringElements("days") {
                days = []
                for (index, (name, position)) in names.enumerated() {
                    guard let day = Weekday(abbreviation: name) else {
                        schedule.reportElement(
                            "expected a day such as \"mon\" or \"sat\", got \"\(name)\"", "days", index, at: position)
                        continue
                    }
                    days.insert(day)
                }
            }
            var windows = config.schedule.windows
            if let hours = schedule.stringElements("hours") {
                windows = []
                for (index, (text, position)) in hours.enumerated() {
                    guard let window = WorkWindow(parsing: text) else {
                        schedule.reportElement(
                            "expected hours such as \"09:00-12:30\", got \"\(text)\"", "hours", index, at: position)
                        continue
                    }
                    windows.append(window)
                }
            }
            if let value = WorkSchedule(days: days, windows: windows) {
                config.schedule = value
            } else {
                schedule.report("hours overlap; give each stretch of the day once", at: "hours")
            }
            if let every = schedule.duration("every", in: .seconds(1)...(.seconds(24 * 3600)), unit: .minutes) {
                config.every = every
                if every < shortestUsualEvery {
                    let shortest = DurationText.format(shortestUsualEvery)
                    schedule.warn(
                        "a break every \(DurationText.format(every)) is under \(shortest): too often to get work done "
                            + "(fine for a test)", at: "every")
                }
            }
            if let away = schedule.duration("natural_break", in: .seconds(1)...(.seconds(24 * 3600)), unit: .minutes) {
                config.naturalBreak = away
            }
            schedule.finish()
        }
        if let session = reader.table("session") {
            if let routines = session.stringArray("routines") {
                if routines.isEmpty { session.report("name at least one routine", at: "routines") }
                config.routines = routines
            }
            if session.value("autostart")?.string == "off" {
                config.autostart = nil
            } else if let leadIn = session.duration("autostart", in: .zero...(.seconds(3600))) {
                config.autostart = leadIn
            }
            if session.value("start_when_idle")?.string == "off" {
                config.startWhenIdle = nil
            } else if let idle = session.duration("start_when_idle", in: shortestStartWhenIdle...(.seconds(3600))) {
                config.startWhenIdle = idle
            }
            session.finish()
        }
        if let reminder = reader.table("reminder") {
            if let snooze = reminder.duration("snooze", in: .seconds(1)...(.seconds(24 * 3600)), unit: .minutes) {
                config.snooze = snooze
            }
            if let notify = reminder.bool("notify") { config.notify = notify }
            if let respect = reminder.bool("respect_do_not_disturb") { config.respectDoNotDisturb = respect }
            if let deferring = reminder.bool("defer_during_calls") { config.deferDuringCalls = deferring }
            reminder.finish()
        }
        if let audio = reader.table("audio") {
            if let device = audio.string("device") {
                if device.isEmpty { audio.report("must not be empty", at: "device") }
                config.device = device
            }
            if let volume = audio.double("volume", in: 0...1) { config.volume = Float(volume) }
            audio.finish()
        }
        if let voice = reader.table("voice") {
            if let enabled = voice.bool("enabled") { config.voice = enabled }
            voice.finish()
        }
        if let history = reader.table("history") {
            if let goal = history.int("daily_goal", in: 1...50) { config.dailyGoal = goal }
            history.finish()
        }
        reader.finish()
        config.warnings = reader.problems.warnings
        return reader.result(config)
    }

    /// A config file with every key at its default, each explained: what `stretchctl config --default` prints.
    public static let defaultFile = """
        # stretchd configuration: ~/.config/stretchd/config.toml ($XDG_CONFIG_HOME/stretchd/config.toml).
        # Every key is optional; a missing key keeps the default shown here. After editing, run
        # `stretchctl check-config`, then `stretchctl reload` (or `systemctl --user reload stretchd`).
        # Durations are written with units: "45s", "10m", "1h30m".

        [schedule]
        # Work days: mon tue wed thu fri sat sun.
        days = ["mon", "tue", "wed", "thu", "fri"]
        # Work hours in local time; the gaps between them (lunch) pause the break interval.
        hours = ["09:00-12:30", "13:30-17:30"]
        # Work time between breaks. Only time awake inside the work hours counts.
        every = "50m"
        # Time away that counts as a break: a suspended laptop, or a gap between work hours this long.
        natural_break = "5m"

        [session]
        # Routines (ids from `stretchctl routines`, or paths to routine files), offered in turn from break to break.
        routines = ["hips-for-back", "desk-basics"]
        # Lead-in from the reminder chime to the session's first countdown; "off" waits for `stretchctl start`.
        autostart = "30s"
        # After the reminder, start as soon as you have not touched keyboard or mouse for this long (you got up),
        # at the latest when `autostart` runs out. Needs the desktop's idle time (GNOME, or logind's IdleHint);
        # "off" waits for `autostart` alone. At least "5s".
        start_when_idle = "5s"

        [reminder]
        # How much more work time `stretchctl snooze` waits before reminding again.
        snooze = "10m"
        # Also show a desktop notification with Start now, Snooze and Skip buttons, where a desktop session is there.
        notify = true
        # A break that comes due while the desktop's do-not-disturb is on (GNOME, KDE, dunst) waits until it is off.
        respect_do_not_disturb = true
        # A break that comes due during a call (a microphone in use, or GNOME's idle inhibited) waits until it ends.
        defer_during_calls = true

        [audio]
        # ALSA device: "default", "hw:1,0", "plughw:1,0", "pipewire", "pulse", "null", or "file:'/path/out.wav',wav".
        device = "default"
        # Volume from 0 to 1.
        volume = 0.8

        [voice]
        # Spoken prompts in sessions: each stretch's name and setup, the side, "Last one.", synthesized on this
        # machine with flite (flite1-dev or libflite1). Where the voice cannot load, sessions play tones only.
        enabled = true

        [history]
        # Breaks taken per work day that keep your streak going.
        daily_goal = 4

        """
}
