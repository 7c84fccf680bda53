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
        let path = try control.socketPath()
        let fd = try ControlClient.connect(socket: path)
        defer { close(fd) }
        let request = ControlRequest.watch.encoded()
        let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var lines = LineReader(fd: fd)
        guard let first = lines.next() else {
            throw ControlClient.failure(sent == request.count
                ? "the daemon closed the connection without replying"
                : "cannot send to \(path): \(String(cString: strerror(errno)))")
        }
        var line = first
        while true {
            let reply: ControlReply
            do {
                reply = try ControlReply.decode(line)
            } catch {
                throw ControlClient.failure("unreadable reply from the daemon: \(String(decoding: line, as: UTF8.self))")
            }
            guard reply.ok, let status = reply.status else {
                printError("error: \(reply.error ?? "the daemon sent no status")")
                throw ExitCode(1)
            }
            print(Self.render(status, as: format, reply: line, today: Self.today()))
            // A bar reads lines as they come: nothing may wait in a buffer.
            fflush(nil)
            guard let next = lines.next() else {
                throw ControlClient.failure("the daemon closed the connection (stretchd stopped); watch ends")
            }
            line = next
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

/// Lines from a socket, blocking; nil at the end or on an error.
struct LineReader {
    let fd: Int32
    private var buffered: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    mutating func next() -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffered[..<newline])
                buffered.removeSubrange(...newline)
                return line
            }
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return nil }
            buffered += chunk[..<count]
        }
    }
}
