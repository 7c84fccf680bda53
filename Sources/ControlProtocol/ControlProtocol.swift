import FoundationEssentials
import StretchCore

/// The control socket's protocol: one JSON object per line each way, each carrying `version`.
///
/// A request names a command and its arguments:
/// `{"version":1,"command":"snooze","duration":"15m"}`. A reply says whether it worked and carries what was
/// asked for: `{"version":1,"ok":true,"message":"snoozed for 15m"}` or `{"version":1,"ok":false,"error":"..."}`.
public enum ControlProtocol {
    public static let version = 1
    /// A request line longer than this is refused; no command needs more than a few hundred bytes.
    public static let maximumLineLength = 64 * 1024
    /// `history`'s `days`: today alone up to about ten years. `stretchctl history --days` takes the same.
    public static let historyDays = 1...3660
    /// The longest `duration` in bytes: "1h30m", "tomorrow" and the like are far shorter.
    public static let maximumDurationLength = 64
    /// The longest `routine` in bytes: an id, or a path of at most `PATH_MAX` bytes.
    public static let maximumRoutineLength = 4096
}

/// A request, decoded and checked: durations parsed, ranges checked. The daemon and `stretchctl` build and read
/// only these values; the JSON keys on the wire (`command`, `routine`, `duration`, `days`) stay as they were.
public enum ControlRequest: Sendable, Hashable {
    case status
    /// A command for the break cycle, as the cycle takes it but for `start`'s routine: an id or an absolute path;
    /// nil: the routine of the break that is due, or the next in turn. The daemon finds the routine.
    case cycle(BreakCycle.Command<String?>)
    case reload
    /// Days shown, today included, in `ControlProtocol.historyDays`.
    case history(days: Int)
    /// Keeps the connection open: a `status` reply now and another each time what it shows changes
    /// (`StatusReport.Visible`).
    case watch

    /// A request's name on the wire, its `command`.
    public enum Name: String, Encodable, Sendable, CaseIterable {
        case status, start, stop, skip, snooze, pause, resume, next, reload, history, watch
    }

    /// `history` without `days`.
    public static let defaultHistoryDays = 7
    /// `snooze`: more than nothing, at most a day.
    public static let snoozeRange = Duration.zero...Duration.seconds(86_400)
    /// `pause`: more than nothing, at most a week.
    public static let pauseRange = Duration.zero...Duration.seconds(7 * 86_400)

    /// The request's `command` on the wire.
    public var name: Name {
        switch self {
        case .status: .status
        case .cycle(.start): .start
        case .cycle(.stop): .stop
        case .cycle(.skip): .skip
        case .cycle(.snooze): .snooze
        case .cycle(.pause): .pause
        case .cycle(.resume): .resume
        case .cycle(.next): .next
        case .reload: .reload
        case .history: .history
        case .watch: .watch
        }
    }

    /// `snooze`'s duration as text, checked.
    public static func snoozeLength(_ text: String) -> Result<Duration, ControlError> {
        guard let duration = DurationText.parse(text), duration > .zero, snoozeRange.contains(duration) else {
            let longest = DurationText.format(snoozeRange.upperBound)
            return .failure(ControlError(
                "snooze takes a duration over 0s and up to \(longest) such as 10m or 1h30m, got \"\(text)\""))
        }
        return .success(duration)
    }

    /// `pause`'s duration as text ("tomorrow" or a duration), checked.
    public static func pauseLength(_ text: String) -> Result<PauseLength, ControlError> {
        if text == "tomorrow" { return .success(.tomorrow) }
        guard let duration = DurationText.parse(text), duration > .zero, pauseRange.contains(duration) else {
            let longest = DurationText.format(pauseRange.upperBound)
            return .failure(ControlError(
                "pause takes a duration over 0s and up to \(longest) such as 1h, or \"tomorrow\", got \"\(text)\""))
        }
        return .success(.duration(duration))
    }

    /// Decodes one request line, or explains in one sentence what is wrong with it.
    ///
    /// Every field is checked here, in one place, before anything acts on it: `days` is an integer in
    /// `ControlProtocol.historyDays`; `duration` and `routine` are non-empty strings without control characters,
    /// at most `maximumDurationLength` and `maximumRoutineLength` bytes long; `duration` is a duration in range
    /// (`snoozeRange`, `pauseRange`) or, for `pause`, "tomorrow".
    public static func decode(_ line: some Collection<UInt8>) -> Result<ControlRequest, ControlError> {
        let object: [String: JSONValue]
        do {
            object = try JSONDecoder().decode([String: JSONValue].self, from: Data(line))
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
        guard let name = Name(rawValue: name) else {
            let known = Name.allCases.map(\.rawValue).joined(separator: ", ")
            return .failure(ControlError("unknown command \"\(name)\"; commands: \(known)"))
        }
        let allowed: Set = ["version", "command", "routine", "duration", "days"]
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            return .failure(ControlError("unknown key \"\(unknown)\""))
        }
        let routine: String?, duration: String?, days: Int?
        do {
            routine = try text(object["routine"], key: "routine", maximumLength: ControlProtocol.maximumRoutineLength)
            duration = try text(object["duration"], key: "duration", maximumLength: ControlProtocol.maximumDurationLength)
            days = try Self.days(object["days"])
        } catch {
            return .failure(error)
        }
        // Fields a command does not take are ignored, as they always were.
        switch name {
        case .status: return .success(.status)
        case .start: return .success(.cycle(.start(routine)))
        case .stop: return .success(.cycle(.stop))
        case .skip: return .success(.cycle(.skip))
        case .snooze:
            guard let duration else { return .success(.cycle(.snooze(nil))) }
            return snoozeLength(duration).map { .cycle(.snooze($0)) }
        case .pause:
            guard let duration else { return .success(.cycle(.pause(nil))) }
            return pauseLength(duration).map { .cycle(.pause($0)) }
        case .resume: return .success(.cycle(.resume))
        case .next: return .success(.cycle(.next))
        case .reload: return .success(.reload)
        case .history: return .success(.history(days: days ?? defaultHistoryDays))
        case .watch: return .success(.watch)
        }
    }

    /// A string field: absent, or a non-empty string of at most `maximumLength` bytes without control characters.
    private static func text(_ value: JSONValue?, key: String, maximumLength: Int) throws(ControlError) -> String? {
        guard let value else { return nil }
        guard case .string(let text) = value else { throw ControlError("\"\(key)\" must be a string") }
        guard !text.isEmpty else { throw ControlError("\"\(key)\" must not be empty") }
        guard text.utf8.count <= maximumLength else {
            throw ControlError("\"\(key)\" must be at most \(maximumLength) bytes long, got \(text.utf8.count)")
        }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw ControlError("\"\(key)\" must not contain control characters")
        }
        return text
    }

    /// `days`: absent, or a whole number in `ControlProtocol.historyDays`; checked as a `Double` before it
    /// becomes an `Int`, so 1e300 or 2^63 are refused, not trapped on.
    private static func days(_ value: JSONValue?) throws(ControlError) -> Int? {
        guard let value else { return nil }
        let range = ControlProtocol.historyDays
        let expected = "\"days\" must be a whole number from \(range.lowerBound) to \(range.upperBound)"
        guard case .number(let number) = value else { throw ControlError(expected) }
        guard number == number.rounded(), number >= Double(range.lowerBound), number <= Double(range.upperBound) else {
            throw ControlError("\(expected), got \(JSONValue.text(of: number))")
        }
        return Int(number)
    }

    /// The fields on the wire.
    private struct Wire: Encodable {
        var version = ControlProtocol.version
        var command: Name
        var routine: String?
        var duration: String?
        var days: Int?
    }

    private var wire: Wire {
        var wire = Wire(command: name)
        switch self {
        case .cycle(.start(let routine)): wire.routine = routine
        case .cycle(.snooze(let duration)): wire.duration = duration.map(DurationText.format)
        case .cycle(.pause(.tomorrow)): wire.duration = "tomorrow"
        case .cycle(.pause(.duration(let duration))): wire.duration = DurationText.format(duration)
        case .history(let days): wire.days = days
        case .status, .cycle(.stop), .cycle(.skip), .cycle(.pause(nil)), .cycle(.resume), .cycle(.next), .reload,
             .watch:
            break
        }
        return wire
    }

    /// The request as one line, newline included.
    public func encoded() -> [UInt8] {
        // Only strings and integers: encoding cannot fail.
        (try? ControlCoding.line(wire)) ?? Array(#"{"version":1}"#.utf8) + [0x0A]
    }
}

/// Just enough of JSON's shape to check a request's fields.
enum JSONValue: Decodable {
    case number(Double), string(String), other

    /// A number as a person would write it: whole numbers without ".0" up to 15 digits, others as Swift prints them.
    static func text(of number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
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

    /// The reply as one line, newline included; a reply that cannot be encoded (a number that is not finite)
    /// becomes an error reply saying so, never an empty line.
    public func encoded() -> [UInt8] {
        switch encode() {
        case .success(let line): line
        case .failure(let error): ControlReply.failure(error).encodedFailure()
        }
    }

    /// The reply as one line, newline included, or why it cannot be sent: JSON has no infinity or NaN.
    public func encode() -> Result<[UInt8], ControlError> {
        do {
            // `history --days 3660`: the days are written directly and set into the rest, which JSONEncoder writes.
            if let history, let days = HistoryReport.daysJSON(history.days) {
                var rest = self
                rest.history?.days = []
                var line = try ControlCoding.line(rest)
                if let open = HistoryReport.daysSlot(in: line) {
                    line.replaceSubrange(open..<(open + 2), with: days)
                    return .success(line)
                }
            }
            return .success(try ControlCoding.line(self))
        } catch {
            return .failure(ControlError("the daemon could not encode its reply: \(ControlCoding.explain(error))"))
        }
    }

    /// An error reply: only strings and a flag, which always encode; spelled out should that ever change.
    private func encodedFailure() -> [UInt8] {
        (try? ControlCoding.line(self))
            ?? Array(#"{"error":"the daemon could not encode its reply","ok":false,"version":1}"#.utf8) + [0x0A]
    }

    public static func decode(_ line: some Collection<UInt8>) throws -> ControlReply {
        // `history --days 3660`: days as `HistoryReport.daysJSON` writes them are read directly, the rest by
        // JSONDecoder; anything else, all by JSONDecoder.
        var bytes = Array(line)
        if let open = HistoryReport.daysSlot(in: bytes), let (days, end) = HistoryReport.days(in: bytes, from: open) {
            bytes.replaceSubrange(open..<end, with: [UInt8(ascii: "["), UInt8(ascii: "]")])
            var reply = try JSONDecoder().decode(ControlReply.self, from: Data(bytes))
            reply.history?.days = days
            return reply
        }
        return try JSONDecoder().decode(ControlReply.self, from: Data(bytes))
    }
}

/// What `stretchctl status` shows.
public struct StatusReport: Codable, Sendable, Hashable {
    public enum State: String, Codable, Sendable {
        case working
        case breakDue = "break-due"
        /// A break is due but waits (screen locked, do-not-disturb, a call): `deferredBecause` says why.
        case deferred
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
    /// Why a due break waits, when `deferred`: "do-not-disturb is on (GNOME)".
    public var deferredBecause: String?
    /// Why the last session or reminder could not make a sound (until a session starts or the next reminder):
    /// `cannot open audio device "default": no sound card found, ...`.
    public var soundProblem: String?
    public var session: SessionReport?
    public var breaksToday: Int
    /// Work time since the last break, in seconds.
    public var worked: Double
    /// What the daemon process costs so far.
    public var process: ProcessReport?

    public init(
        state: State, nextBreak: String?, nextBreakIn: Double?, pausedUntil: String?, session: SessionReport?,
        breaksToday: Int, worked: Double, process: ProcessReport? = nil, deferredBecause: String? = nil,
        soundProblem: String? = nil
    ) {
        self.deferredBecause = deferredBecause
        self.soundProblem = soundProblem
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
        /// Breaks taken away from the desk (time away was the break).
        public var missed: Int
        /// Breaks whose session could not make a sound.
        public var failed: Int
        public var minutes: Double

        public init(
            date: String, offered: Int = 0, taken: Int = 0, skipped: Int = 0, snoozed: Int = 0, missed: Int = 0,
            failed: Int = 0, minutes: Double = 0
        ) {
            self.date = date
            self.offered = offered
            self.taken = taken
            self.skipped = skipped
            self.snoozed = snoozed
            self.missed = missed
            self.failed = failed
            self.minutes = minutes
        }

        private enum CodingKeys: String, CodingKey {
            case date, offered, taken, skipped, snoozed, missed, failed, minutes
        }

        /// `missed` and `failed` may be absent: a daemon older than the client does not send them.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                date: try container.decode(String.self, forKey: .date),
                offered: try container.decode(Int.self, forKey: .offered),
                taken: try container.decode(Int.self, forKey: .taken),
                skipped: try container.decode(Int.self, forKey: .skipped),
                snoozed: try container.decode(Int.self, forKey: .snoozed),
                missed: try container.decodeIfPresent(Int.self, forKey: .missed) ?? 0,
                failed: try container.decodeIfPresent(Int.self, forKey: .failed) ?? 0,
                minutes: try container.decode(Double.self, forKey: .minutes))
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

extension HistoryReport {
    /// `days` as a JSON array, byte for byte what JSONEncoder writes for it (keys sorted), written directly: for
    /// 3660 days JSONEncoder took tens of milliseconds, most of `history --days 3660`'s reply. Nil when a day holds
    /// what only JSONEncoder should judge (a date of other than digits and dashes, minutes that are not finite).
    static func daysJSON(_ days: [Day]) -> [UInt8]? {
        var json: [UInt8] = [UInt8(ascii: "[")]
        json.reserveCapacity(days.count * 112)
        func append(_ text: StaticString) {
            json.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }
        for day in days {
            guard day.minutes.isFinite, day.date.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || (0x30...0x39).contains($0) })
            else { return nil }
            if json.count > 1 { json.append(UInt8(ascii: ",")) }
            append(#"{"date":""#)
            json.append(contentsOf: day.date.utf8)
            append(#"","failed":"#)
            json.append(contentsOf: String(day.failed).utf8)
            append(#","minutes":"#)
            // JSONEncoder writes a whole number of minutes without a fraction.
            if let whole = Int(exactly: day.minutes) { json.append(contentsOf: String(whole).utf8) } else {
                json.append(contentsOf: day.minutes.description.utf8)
            }
            append(#","missed":"#)
            json.append(contentsOf: String(day.missed).utf8)
            append(#","offered":"#)
            json.append(contentsOf: String(day.offered).utf8)
            append(#","skipped":"#)
            json.append(contentsOf: String(day.skipped).utf8)
            append(#","snoozed":"#)
            json.append(contentsOf: String(day.snoozed).utf8)
            append(#","taken":"#)
            json.append(contentsOf: String(day.taken).utf8)
            json.append(UInt8(ascii: "}"))
        }
        json.append(UInt8(ascii: "]"))
        return json
    }

    /// Where the `[` of the history's days is in a reply line: keys are sorted, so `days` opens `history`, and a
    /// quote inside a string is escaped, so this text matches only there.
    static func daysSlot(in line: [UInt8]) -> Int? {
        let slot = Array(#""history":{"days":["#.utf8)
        guard line.count >= slot.count else { return nil }
        return (0...(line.count - slot.count)).first { line[$0..<($0 + slot.count)].elementsEqual(slot) }
            .map { $0 + slot.count - 1 }
    }

    /// The days array starting at `open` in `line`, read back when it is exactly as `daysJSON` writes it, and
    /// the index just after its `]`; nil for anything else.
    static func days(in line: [UInt8], from open: Int) -> (days: [Day], end: Int)? {
        var index = open + 1
        func expect(_ text: StaticString) -> Bool {
            let bytes = UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
            guard index + bytes.count <= line.count, line[index..<(index + bytes.count)].elementsEqual(bytes) else {
                return false
            }
            index += bytes.count
            return true
        }
        /// The bytes up to the next `stop`, all of them in `allowed`.
        func token(until stop: UInt8, allowed: (UInt8) -> Bool) -> ArraySlice<UInt8>? {
            let start = index
            while index < line.count, line[index] != stop {
                guard allowed(line[index]) else { return nil }
                index += 1
            }
            return index > start && index < line.count ? line[start..<index] : nil
        }
        func count(_ key: StaticString, then stop: UInt8) -> Int? {
            guard expect(key), let digits = token(until: stop, allowed: { (0x30...0x39).contains($0) }), digits.count <= 18
            else { return nil }
            return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        }
        var days: [Day] = []
        if expect("]") { return (days, index) }
        while true {
            guard expect(#"{"date":""#),
                  let date = token(until: UInt8(ascii: "\""), allowed: { $0 == UInt8(ascii: "-") || (0x30...0x39).contains($0) }),
                  expect("\""),
                  let failed = count(#","failed":"#, then: UInt8(ascii: ",")),
                  expect(#","minutes":"#),
                  let minutesText = token(until: UInt8(ascii: ","), allowed: { "0123456789.eE+-".utf8.contains($0) }),
                  let minutes = Double(String(decoding: minutesText, as: UTF8.self)),
                  let missed = count(#","missed":"#, then: UInt8(ascii: ",")),
                  let offered = count(#","offered":"#, then: UInt8(ascii: ",")),
                  let skipped = count(#","skipped":"#, then: UInt8(ascii: ",")),
                  let snoozed = count(#","snoozed":"#, then: UInt8(ascii: ",")),
                  let taken = count(#","taken":"#, then: UInt8(ascii: "}")),
                  expect("}")
            else { return nil }
            days.append(Day(
                date: String(decoding: date, as: UTF8.self), offered: offered, taken: taken, skipped: skipped,
                snoozed: snoozed, missed: missed, failed: failed, minutes: minutes))
            if expect("]") { return (days, index) }
            guard expect(",") else { return nil }
        }
    }
}

enum ControlCoding {
    /// One JSON line. Fails only for a non-finite number (JSONEncoder's default strategy throws for it).
    static func line(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value)) + [UInt8(ascii: "\n")]
    }

    /// What went wrong, naming the field: `history.days[2].minutes is not a finite number (inf)`.
    static func explain(_ error: any Error) -> String {
        guard case EncodingError.invalidValue(let value, let context) = error else { return "\(error)" }
        let path = context.codingPath.enumerated().map { index, key in
            key.intValue.map { "[\($0)]" } ?? (index == 0 ? key.stringValue : "." + key.stringValue)
        }.joined()
        let field = path.isEmpty ? "a value" : path
        if let number = value as? Double, !number.isFinite { return "\(field) is not a finite number (\(number))" }
        if let number = value as? Float, !number.isFinite { return "\(field) is not a finite number (\(number))" }
        return "\(field): \(context.debugDescription)"
    }
}
