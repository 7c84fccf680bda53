import FoundationEssentials

/// The control socket's protocol: one JSON object per line each way, each carrying `version`.
///
/// A request names a command and its arguments:
/// `{"version":1,"command":"snooze","duration":"15m"}`. A reply says whether it worked and carries what was
/// asked for: `{"version":1,"ok":true,"message":"snoozed for 15m"}` or `{"version":1,"ok":false,"error":"..."}`.
public enum ControlProtocol {
    public static let version = 1
    /// A request line longer than this is refused; no command needs more than a few hundred bytes.
    public static let maximumLineLength = 64 * 1024
}

public enum Command: String, Codable, Sendable, CaseIterable {
    case status, start, stop, skip, snooze, pause, resume, next, reload, history
}

public struct ControlRequest: Codable, Sendable, Hashable {
    public var version: Int
    public var command: Command
    /// `start`: a routine id or path; the next routine in turn when absent.
    public var routine: String?
    /// `snooze` and `pause`: a duration such as "15m"; `pause` also takes "tomorrow".
    public var duration: String?
    /// `history`: how many days, today included.
    public var days: Int?

    public init(command: Command, routine: String? = nil, duration: String? = nil, days: Int? = nil) {
        self.version = ControlProtocol.version
        self.command = command
        self.routine = routine
        self.duration = duration
        self.days = days
    }

    /// Decodes one request line, or explains in one sentence what is wrong with it.
    public static func decode(_ line: some Collection<UInt8>) -> Result<ControlRequest, ControlError> {
        let data = Data(line)
        let object: [String: JSONValue]
        do {
            object = try JSONDecoder().decode([String: JSONValue].self, from: data)
        } catch {
            return .failure(ControlError("not a JSON object"))
        }
        guard case .number(let version)? = object["version"] else {
            return .failure(ControlError("missing \"version\" (this daemon speaks version \(ControlProtocol.version))"))
        }
        guard version == Double(ControlProtocol.version) else {
            return .failure(ControlError(
                "protocol version \(version) is not supported (this daemon speaks version \(ControlProtocol.version))"))
        }
        guard case .string(let name)? = object["command"] else {
            return .failure(ControlError("missing \"command\" (a string)"))
        }
        guard Command(rawValue: name) != nil else {
            let known = Command.allCases.map(\.rawValue).joined(separator: ", ")
            return .failure(ControlError("unknown command \"\(name)\"; commands: \(known)"))
        }
        let allowed: Set = ["version", "command", "routine", "duration", "days"]
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            return .failure(ControlError("unknown key \"\(unknown)\""))
        }
        do {
            return .success(try JSONDecoder().decode(ControlRequest.self, from: data))
        } catch {
            // Every other problem is a value of the wrong type; name the key and what it takes.
            let key = ["routine", "duration", "days"].first { key in object[key].map { !$0.fits(key) } ?? false } ?? "?"
            return .failure(ControlError("\"\(key)\" must be \(key == "days" ? "an integer" : "a string")"))
        }
    }

    /// The request as one line, newline included.
    public func encoded() -> [UInt8] { ControlCoding.line(self) }
}

/// Just enough of JSON's shape to check a request before decoding it into its type.
enum JSONValue: Decodable {
    case number(Double), string(String), other

    /// Whether this value has the type the request key takes.
    func fits(_ key: String) -> Bool {
        switch self {
        case .number(let value): key == "days" && value == value.rounded()
        case .string: key != "days"
        case .other: false
        }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else {
            self = .other
        }
    }
}

/// A request the daemon could not carry out, with the reason for people.
public struct ControlError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public struct ControlReply: Codable, Sendable, Hashable {
    public var version = ControlProtocol.version
    public var ok: Bool
    public var error: String?
    /// A sentence saying what was done, for `stretchctl` to print.
    public var message: String?
    /// Config problems, one per line, when `reload` failed.
    public var problems: [String]?
    public var status: StatusReport?
    public var history: HistoryReport?

    public init(
        ok: Bool, error: String? = nil, message: String? = nil, problems: [String]? = nil, status: StatusReport? = nil,
        history: HistoryReport? = nil
    ) {
        self.ok = ok
        self.error = error
        self.message = message
        self.problems = problems
        self.status = status
        self.history = history
    }

    public static func failure(_ error: ControlError) -> ControlReply { ControlReply(ok: false, error: error.description) }

    public func encoded() -> [UInt8] { ControlCoding.line(self) }

    public static func decode(_ line: some Collection<UInt8>) throws -> ControlReply {
        try JSONDecoder().decode(ControlReply.self, from: Data(line))
    }
}

/// What `stretchctl status` shows.
public struct StatusReport: Codable, Sendable, Hashable {
    public enum State: String, Codable, Sendable {
        case working
        case breakDue = "break-due"
        case inSession = "in-session"
        case snoozed
        case paused
        case offHours = "off-hours"
    }

    public var state: State
    /// Local time of the next reminder, `2026-11-23 09:50`, when it can be predicted.
    public var nextBreak: String?
    /// Seconds until then.
    public var nextBreakIn: Double?
    /// Local time reminders resume, when paused until a time.
    public var pausedUntil: String?
    public var session: SessionReport?
    public var breaksToday: Int
    /// Work time since the last break, in seconds.
    public var worked: Double
    /// What the daemon process costs so far.
    public var process: ProcessReport?

    public init(
        state: State, nextBreak: String?, nextBreakIn: Double?, pausedUntil: String?, session: SessionReport?,
        breaksToday: Int, worked: Double, process: ProcessReport? = nil
    ) {
        self.state = state
        self.nextBreak = nextBreak
        self.nextBreakIn = nextBreakIn
        self.pausedUntil = pausedUntil
        self.session = session
        self.breaksToday = breaksToday
        self.worked = worked
        self.process = process
    }
}

/// The daemon's own resource use, all threads included, since it started.
public struct ProcessReport: Codable, Sendable, Hashable {
    /// Resident memory now, in KiB.
    public var residentKiB: Int
    /// User plus system CPU time, in seconds.
    public var cpuSeconds: Double
    /// Voluntary plus involuntary context switches: how often the daemon's threads woke or were preempted.
    public var contextSwitches: Int

    public init(residentKiB: Int, cpuSeconds: Double, contextSwitches: Int) {
        self.residentKiB = residentKiB
        self.cpuSeconds = cpuSeconds
        self.contextSwitches = contextSwitches
    }
}

public struct SessionReport: Codable, Sendable, Hashable {
    public var routine: String
    /// 1-based.
    public var step: Int
    public var steps: Int
    public var stepName: String
    public var side: String?
    public var part: String?
    /// `getting-ready`, `working` or `finished`.
    public var phase: String
    public var phaseRemaining: Double
    public var remaining: Double
    public var paused: Bool

    public init(
        routine: String, step: Int, steps: Int, stepName: String, side: String?, part: String?, phase: String,
        phaseRemaining: Double, remaining: Double, paused: Bool
    ) {
        self.routine = routine
        self.step = step
        self.steps = steps
        self.stepName = stepName
        self.side = side
        self.part = part
        self.phase = phase
        self.phaseRemaining = phaseRemaining
        self.remaining = remaining
        self.paused = paused
    }
}

/// What `stretchctl history` shows: recent days and the streak.
public struct HistoryReport: Codable, Sendable, Hashable {
    public struct Day: Codable, Sendable, Hashable {
        /// `2026-11-23`.
        public var date: String
        public var offered: Int
        public var taken: Int
        public var skipped: Int
        public var snoozed: Int
        public var minutes: Double

        public init(date: String, offered: Int = 0, taken: Int = 0, skipped: Int = 0, snoozed: Int = 0, minutes: Double = 0) {
            self.date = date
            self.offered = offered
            self.taken = taken
            self.skipped = skipped
            self.snoozed = snoozed
            self.minutes = minutes
        }
    }

    /// Oldest first.
    public var days: [Day]
    /// Work days in a row, up to today, with at least `goal` breaks taken (today counts once it is met).
    public var streak: Int
    public var goal: Int
    /// Records that could not be read (a torn last line after a crash), reported, not fatal.
    public var warnings: [String]

    public init(days: [Day], streak: Int, goal: Int, warnings: [String]) {
        self.days = days
        self.streak = streak
        self.goal = goal
        self.warnings = warnings
    }
}

enum ControlCoding {
    static func line(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding these plain structs cannot fail.
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8)) + [UInt8(ascii: "\n")]
    }
}
