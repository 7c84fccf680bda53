import ControlProtocol
import StretchConfig
import StretchCore
import StretchSystem

#if canImport(Glibc)
import Glibc
#endif

/// Runs the release `stretchd` as systemd would (with `NOTIFY_SOCKET`) and measures it from outside.
enum DaemonBenchmark {
    static func run(idleSeconds: Int) throws {
        let binary = siblingPath("stretchd")
        let root = "/tmp/stretchd-bench-\(getpid())"
        let home = root + "/home", runtime = root + "/run"
        for folder in [root, home, home + "/.config", home + "/.config/stretchd", runtime] { mkdir(folder, 0o700) }
        defer { _ = system("rm -rf '\(root)'") }
        // Work all day with a break an hour away: everything measured happens between breaks.
        let config = "[schedule]\ndays = [\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\",\"sun\"]\n"
            + "hours = [\"00:00-24:00\"]\nevery = \"1h\"\n[audio]\ndevice = \"null\"\n"
        _ = Files.writeBytes(Array(config.utf8), to: home + "/.config/stretchd/config.toml")

        let notify = root + "/notify.sock"
        let notifyFD = datagramSocket(boundTo: notify)
        let started = clockNow()
        let pid = spawn(binary, environment: [
            "HOME=\(home)", "XDG_RUNTIME_DIR=\(runtime)", "NOTIFY_SOCKET=\(notify)", "PATH=/usr/bin:/bin",
        ])
        defer {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        var message = [UInt8](repeating: 0, count: 512)
        while true {
            let count = recv(notifyFD, &message, message.count, 0)
            guard count > 0 else { throw BenchmarkError("no READY=1 from stretchd") }
            if String(decoding: message[0..<count], as: UTF8.self).contains("READY=1") { break }
        }
        let ready = clockNow() - started
        print("start-up: READY=1 \(format(ready.inSeconds * 1000, 1)) ms after exec")

        let socket = runtime + "/stretchd/control.sock"
        var roundTrips: [Duration] = []
        let fd = connectStream(socket)
        let request = ControlRequest(command: .status).encoded()
        var reply = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<500 {
            let before = clockNow()
            _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            var received = 0
            repeat {
                let count = read(fd, &reply[received], reply.count - received)
                guard count > 0 else { throw BenchmarkError("the daemon closed the connection") }
                received += count
            } while reply[received - 1] != UInt8(ascii: "\n")
            roundTrips.append(clockNow() - before)
        }
        close(fd)
        roundTrips.sort()
        print("status round trip over the socket (500 requests): median "
            + "\(format(roundTrips[250].inSeconds * 1_000_000, 0)) µs, p99 "
            + "\(format(roundTrips[495].inSeconds * 1_000_000, 0)) µs")

        // Let start-up and the requests above settle, then watch an idle stretch between breaks. The daemon
        // reports its own counters (getrusage covers every thread, ended ones too); two back-to-back queries
        // measure what a query itself costs, which is taken off.
        usleep(2_000_000)
        let first = try processReport(socket), second = try processReport(socket)
        print("idle: watching stretchd for \(idleSeconds) s between breaks...")
        sleep(UInt32(idleSeconds))
        let last = try processReport(socket)
        let queryCost = second.contextSwitches - first.contextSwitches
        print("idle RSS: \(format(Double(last.residentKiB) / 1024, 1)) MiB")
        print("idle over \(idleSeconds) s: CPU \(format((last.cpuSeconds - second.cpuSeconds) * 1000, 0)) ms, "
            + "wakeups \(last.contextSwitches - second.contextSwitches - queryCost) "
            + "(voluntary + involuntary context switches of all threads, less the \(queryCost) a status query costs)")
    }

    static func processReport(_ socket: String) throws -> ProcessReport {
        let fd = connectStream(socket)
        defer { close(fd) }
        let request = ControlRequest(command: .status).encoded()
        _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1, byte != UInt8(ascii: "\n") { line.append(byte) }
        guard let report = try ControlReply.decode(line).status?.process else { throw BenchmarkError("no process report") }
        return report
    }

    static func clockNow() -> Duration {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec)
    }

    /// The path of a binary next to this one.
    static func siblingPath(_ name: String) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let own = String(decoding: buffer[0..<max(0, count)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(own[..<(own.lastIndex(of: "/") ?? own.startIndex)]) + "/" + name
    }

    static func spawn(_ path: String, environment: [String]) -> pid_t {
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), nil]
        var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn(&pid, path, &actions, nil, &argv, &envp)
        posix_spawn_file_actions_destroy(&actions)
        return pid
    }

    static func datagramSocket(boundTo path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        _ = withUnixSocketAddress(path) { bind(fd, $0, $1) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func connectStream(_ path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        _ = withUnixSocketAddress(path) { connect(fd, $0, $1) }
        return fd
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
