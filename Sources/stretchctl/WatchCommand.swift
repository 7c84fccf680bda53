import ArgumentParser
import ControlProtocol

#if canImport(Glibc)
import Glibc
#endif

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print the daemon's status each time it changes, for a status bar.",
        discussion: """
            Prints a line at once and another each time what the status shows changes (state, next break, the \
            session's step, side, part, getting ready or holding, paused), and nothing otherwise: the daemon \
            pushes, nothing polls. Times left are as of each line. --waybar prints waybar's custom-module JSON \
            (use return-type json), --i3blocks i3blocks' JSON (use interval=persist and format=json), --json the \
            daemon's status reply. Runs until the daemon goes away (exit status 2) or it is stopped.
            """
    )

    @Flag(help: "Print waybar's custom-module JSON (text, tooltip, class) per line.")
    var waybar = false

    @Flag(help: "Print i3blocks' JSON (full_text, short_text, color) per line.")
    var i3blocks = false

    @OptionGroup var control: ControlOptions

    enum Format { case human, json, waybar, i3blocks }

    var format: Format {
        if waybar { return .waybar }
        if i3blocks { return .i3blocks }
        return control.json ? .json : .human
    }

    func validate() throws {
        guard [waybar, i3blocks, control.json].filter({ $0 }).count <= 1 else {
            throw ValidationError("Choose one of --json, --waybar and --i3blocks.")
        }
    }

    func run() throws {
        var client = try ControlClient(socket: try control.socketPath(), timeout: nil)
        defer { client.close() }
        client.send(.watch)
        var line = try client.nextLine()
        while true {
            let reply = try ControlClient.reply(line)
            guard reply.ok, let status = reply.status else {
                printError("error: \(reply.error ?? "the daemon sent no status")")
                throw ExitCode(1)
            }
            print(Self.render(status, as: format, reply: line, today: Self.today()))
            // A bar reads lines as they come: nothing may wait in a buffer.
            fflush(nil)
            line = try client.nextLine(closed: "the daemon closed the connection (stretchd stopped); watch ends")
        }
    }

    /// One status as printed in `format`; `reply` is the line the daemon sent, for --json.
    static func render(_ status: StatusReport, as format: Format, reply: [UInt8], today: String?) -> String {
        let text = StatusText(status, today: today)
        switch format {
        case .human: return text.line
        case .json: return String(decoding: reply, as: UTF8.self)
        case .waybar: return text.waybar
        case .i3blocks: return text.i3blocks
        }
    }

    /// Today's local date, `2026-11-23`.
    static func today() -> String? {
        var now = time(nil)
        var parts = tm()
        guard localtime_r(&now, &parts) != nil else { return nil }
        func twoDigits(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(twoDigits(parts.tm_mon + 1))-\(twoDigits(parts.tm_mday))"
    }
}
