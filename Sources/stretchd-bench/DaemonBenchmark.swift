import ControlProtocol
import StretchConfig
import StretchCore

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

        // Let start-up and the requests above settle, then watch an idle stretch between breaks.
        usleep(2_000_000)
        let before = sample(pid)
        print("idle: watching stretchd for \(idleSeconds) s between breaks...")
        sleep(UInt32(idleSeconds))
        let after = sample(pid)
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        print("idle RSS: \(format(Double(after.rssKiB) / 1024, 1)) MiB (\(after.threads) threads)")
        print("idle over \(idleSeconds) s: CPU \(format(Double(after.cpuTicks - before.cpuTicks) / ticks * 1000, 0)) ms, "
            + "wakeups \(after.switches - before.switches) "
            + "(voluntary + involuntary context switches, all threads)")
    }

    struct Sample {
        var rssKiB: Int
        var cpuTicks: Int
        var switches: Int
        var threads: Int
    }

    /// RSS, CPU ticks and context switches summed over all of the process's threads, from /proc.
    static func sample(_ pid: pid_t) -> Sample {
        var result = Sample(rssKiB: 0, cpuTicks: 0, switches: 0, threads: 0)
        if case .success(let status) = Files.readText("/proc/\(pid)/status") {
            for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
                result.rssKiB = Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
            }
        }
        if case .success(let stat) = Files.readText("/proc/\(pid)/stat"),
           let close = stat.lastIndex(of: ")")
        {
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // utime and stime are fields 14 and 15; after the ")" they are the 12th and 13th.
            result.cpuTicks = (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
        }
        for thread in Files.list("/proc/\(pid)/task", suffix: "") ?? [] {
            result.threads += 1
            guard case .success(let status) = Files.readText("/proc/\(pid)/task/\(thread)/status") else { continue }
            for line in status.split(separator: "\n") where line.contains("ctxt_switches:") {
                result.switches += Int(line.split(separator: "\t").last?.trimmingCharacters() ?? "") ?? 0
            }
        }
        return result
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
        var address = unixAddress(path)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func connectStream(_ path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = unixAddress(path)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return fd
    }

    static func unixAddress(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        return address
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Substring {
    func trimmingCharacters() -> String { String(filter { !$0.isWhitespace }) }
}
