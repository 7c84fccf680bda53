import FoundationEssentials
import StretchCore
import StretchSystem

/// The break cycle's state between runs: `$XDG_STATE_HOME/stretchd/state.json`, one small JSON line, replaced
/// whole (written to a temporary file, synced, renamed), so a crash leaves the old state or the new, never half.
///
/// What is read back is checked: a file too large, unreadable, of another version or with a value out of range is
/// ignored, and `load` says why in one line; the daemon then starts afresh, as it did before there was a file.
public struct StateStore: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// `$XDG_STATE_HOME/stretchd/state.json`.
    public init(stateHome: String) { self.path = stateHome + "/stretchd/state.json" }

    /// The version written; a file of another is ignored (its fields may mean something else).
    static let version = 1
    /// A state file is one short line; anything larger is not one.
    static let maximumSize = 4096
    /// Work time, deadlines and time away beyond this are not from a real run.
    static let longest = Duration.seconds(366 * 86_400)

    /// What `load` found.
    public enum Loaded: Sendable, Hashable {
        case state(BreakCycle.Snapshot)
        /// No file: the first run, or the state was never saved.
        case none
        /// The file was not used, and why (for one log line).
        case ignored(String)
    }

    /// The line as stored: times in seconds; `paused_until` as local civil seconds (day * 86400 + time of day).
    private struct Line: Codable {
        var version: Int
        var savedAt: Double
        var worked: Double
        var dueAt: Double
        var snoozed: Bool
        var paused: Bool
        var pausedUntil: Double?
        var away: Double
        var openBreak: String?
        var nextRoutine: String?

        enum CodingKeys: String, CodingKey {
            case version, worked, snoozed, paused, away
            case savedAt = "saved_at", dueAt = "due_at", pausedUntil = "paused_until", openBreak = "open_break"
            case nextRoutine = "next_routine"
        }
    }

    /// Writes `snapshot` in place of the file (creating its folder, private to the user).
    public func save(_ snapshot: BreakCycle.Snapshot) -> Result<Void, FileError> {
        let timer = snapshot.timer
        let line = Line(
            version: Self.version, savedAt: snapshot.savedAt, worked: timer.worked.inSeconds,
            dueAt: timer.dueAt.inSeconds, snoozed: timer.snoozed, paused: timer.paused,
            pausedUntil: timer.pausedUntil.map { Double($0.day) * 86_400 + $0.time.inSeconds },
            away: timer.away.inSeconds, openBreak: snapshot.openBreak, nextRoutine: snapshot.nextRoutine)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let encoded = try? encoder.encode(line) else {
            // Only a non-finite number fails to encode; the cycle never makes one.
            return .failure(FileError(path: path, reason: .tooLarge(limit: Self.maximumSize)))
        }
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty { _ = Files.makeDirectory(directory, mode: 0o700) }
        return Files.writeBytes(Array(encoded) + [UInt8(ascii: "\n")], to: path)
    }

    /// Reads the file back, checked.
    public func load() -> Loaded {
        let bytes: [UInt8]
        switch Files.readBytes(path, limit: Self.maximumSize) {
        case .success(let read): bytes = read
        case .failure(let error) where error.isMissing: return .none
        case .failure(let error): return .ignored(error.description)
        }
        let line: Line
        do {
            line = try JSONDecoder().decode(Line.self, from: Data(bytes))
        } catch {
            return .ignored("\(path): not a state file this version wrote")
        }
        guard line.version == Self.version else {
            return .ignored("\(path): written by another version (state version \(line.version), not \(Self.version))")
        }
        func duration(_ seconds: Double, _ name: String) throws(StateProblem) -> Duration {
            guard seconds.isFinite, seconds >= 0, seconds <= Self.longest.inSeconds else {
                throw StateProblem(description: "\(path): \(name) out of range (\(seconds))")
            }
            return .milliseconds(Int64((seconds * 1000).rounded()))
        }
        do {
            guard line.savedAt.isFinite, line.savedAt > 0 else {
                throw StateProblem(description: "\(path): saved_at out of range (\(line.savedAt))")
            }
            let pausedUntil = try line.pausedUntil.map { seconds throws(StateProblem) in
                guard seconds.isFinite, abs(seconds) < 1e12 else {
                    throw StateProblem(description: "\(path): paused_until out of range (\(seconds))")
                }
                let day = (seconds / 86_400).rounded(.down)
                return CivilTime(day: Int(day), time: .milliseconds(Int64(((seconds - day * 86_400) * 1000).rounded())))
            }
            let timer = BreakTimer.Saved(
                worked: try duration(line.worked, "worked"), dueAt: try duration(line.dueAt, "due_at"),
                snoozed: line.snoozed, paused: line.paused, pausedUntil: pausedUntil,
                away: try duration(line.away, "away"))
            return .state(BreakCycle.Snapshot(
                savedAt: line.savedAt, timer: timer, openBreak: line.openBreak, nextRoutine: line.nextRoutine))
        } catch {
            return .ignored("\(error)")
        }
    }

    private struct StateProblem: Error, CustomStringConvertible {
        var description: String
    }
}
