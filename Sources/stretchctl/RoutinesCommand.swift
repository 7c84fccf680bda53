import ArgumentParser
import StretchConfig
import StretchCore

struct RoutinesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routines",
        abstract: "List the built-in and user routines.",
        discussion: """
            Shows each routine's id (what other commands take), name, step count and session length: how long \
            `play` plays it and `render` writes it, until the last sound has rung out, with the voice as they \
            have it (the same --voice, or by default where the voice loads and the config's [voice] enabled is \
            true); `plan` shows the same length.
            """
    )

    @OptionGroup var routineOptions: RoutineOptions

    @Flag(help: "Print JSON: [{\"id\", \"name\", \"steps\", \"duration\" (seconds), \"source\"}].")
    var json = false

    @Option(help: ArgumentHelp(
        "Lengths with spoken prompts or without: on or off (default: as render and play).", valueName: "on|off"))
    var voice: VoiceSetting?

    struct Row: Encodable {
        var id: String
        var name: String
        var steps: Int
        var duration: Double
        /// `built-in`, or the file the routine came from.
        var source: String
    }

    func run() async throws {
        let sounds = AudioOptions.defaultSounds()
        var voice = voice
        var rows: [Row] = []
        for entry in routineOptions.library().entries {
            let session = try await VoicedSession.prepare(entry.routine, voice: voice, sounds: sounds)
            // Decided by the first routine: a voice that does not load is noted once, not once per routine.
            voice = session.voice
            rows.append(Row(
                id: entry.routine.id, name: entry.routine.name, steps: entry.routine.steps.count,
                duration: session.length(sounds: sounds).inSeconds, source: entry.path ?? "built-in"))
        }
        if json { return try printJSON(rows) }
        let table = [["ID", "NAME", "STEPS", "LENGTH", "SOURCE"]] + rows.map {
            [$0.id, $0.name, String($0.steps), DurationText.format(.seconds($0.duration)), $0.source]
        }
        printTable(table)
    }
}

/// Prints rows as left-aligned columns separated by two spaces.
func printTable(_ rows: [[String]]) {
    guard let columns = rows.first?.count else { return }
    let widths = (0..<columns).map { column in rows.map { $0[column].count }.max() ?? 0 }
    // One write for the whole table: `history --days 3660` prints 3661 rows.
    var text = ""
    for row in rows {
        for (column, cell) in row.enumerated() {
            text += cell
            if column < columns - 1 { text += String(repeating: " ", count: widths[column] - cell.count + 2) }
        }
        text += "\n"
    }
    print(text, terminator: "")
}
