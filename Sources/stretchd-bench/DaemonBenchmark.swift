import ControlProtocol
import StretchAudio
import StretchConfig
import StretchCore
import StretchDaemon
import StretchSystem

#if canImport(Glibc)
import Glibc
#endif

/// The figures of issue 9's table that concern the release `stretchd` and `stretchctl` binaries, each measured from
/// outside the process, as systemd would run it (with `NOTIFY_SOCKET`), and printed with the command that
/// reproduces it.
enum DaemonBenchmark {
    /// Start to READY=1: the median of a few starts with an empty history, in a fresh home and in one where the
    /// user replaced every cue sound (which the daemon must not read before READY).
    static func startUp() throws {
        for (label, overrides) in [("", false), (" with every sound overridden", true)] {
            var times: [Duration] = []
            for _ in 0..<5 {
                let daemon = try RunningDaemon.start(soundOverrides: overrides)
                times.append(daemon.ready)
                daemon.stop()
            }
            times.sort()
            figure("start to READY=1" + label,
                   "\(ms(times[2])) ms (median of 5 starts; fastest \(ms(times[0])), slowest \(ms(times[4])) ms)",
                   target: "<= 20 ms", met: times[2] <= .milliseconds(20), reproduce: "make bench ONLY=startup")
        }
    }

    /// Context switches of all the daemon's threads over `seconds` after one `stretchctl status`, then its RSS and
    /// PSS: without buses, then with two private buses connected (`idleWithBuses`).
    static func idle(seconds: Int) throws {
        let daemon = try RunningDaemon.start()
        defer { daemon.stop() }
        let watched = try watchIdle(daemon, seconds: seconds)
        figure("idle wakeups", watched.wakeups,
               target: "0 in 60 s", met: watched.switches == 0,
               reproduce: "make bench ONLY=idle (STRETCHD_BENCH_IDLE=seconds to watch longer); by hand, on a running "
                   + "stretchd: stretchctl status; sleep 6; n() { cat /proc/$(pidof stretchd)/task/*/status | awk "
                   + "'/ctxt_switches/ {s += $2} END {print s}'; }; a=$(n); sleep 60; echo $(($(n) - a))")
        figure("idle RSS", "\(mib(watched.memory.rss)) MiB, PSS \(mib(watched.memory.pss)) MiB",
               target: "<= 10 MiB RSS (toward 8)", met: watched.memory.rss <= 10 * 1024,
               reproduce: "make bench ONLY=idle; by hand: grep -E '^(Rss|Pss):' /proc/$(pidof stretchd)/smaps_rollup")

        // Not in the table: what a status costs once the daemon is warm.
        var roundTrips: [Duration] = []
        let fd = connectStream(daemon.socket)
        defer { close(fd) }
        for _ in 0..<500 {
            let before = clockNow()
            _ = try request(.status, over: fd)
            roundTrips.append(clockNow() - before)
        }
        roundTrips.sort()
        print("  (status round trip over one connection, 500 requests: median \(µs(roundTrips[250])) µs, "
            + "p99 \(µs(roundTrips[495])) µs)")

        try idleWithBuses(seconds: seconds, without: watched.memory)
    }

    /// The idle figures again with the desktop's buses connected: two private `dbus-daemon`s (a session bus with
    /// python-dbusmock's `notification_daemon`, a "system" bus with its `logind`; scripts/private-buses.sh) in
    /// `DBUS_SESSION_BUS_ADDRESS` and `DBUS_SYSTEM_BUS_ADDRESS`, stopped afterwards. Says whether the daemon is
    /// on each bus, and what the buses cost in RSS over `without`. Skipped, with the reason, when dbus-daemon or
    /// dbusmock is missing.
    static func idleWithBuses(seconds: Int, without: (rss: Int, pss: Int)) throws {
        let root = temporaryFolder()
        let buses = root + "/buses"
        defer {
            _ = try? run("/bin/sh", ["scripts/private-buses.sh", "stop", buses], environment: ["PATH=/usr/bin:/bin"])
            removeFolder(root)
        }
        let started = try run("/bin/sh", ["scripts/private-buses.sh", "start", buses], environment: ["PATH=/usr/bin:/bin"],
                              errors: root + "/errors")
        guard started.status == 0 else {
            let why = readText(root + "/errors").split(separator: "\n").joined(separator: "; ")
            guard started.status == 2 else { throw BenchmarkError("scripts/private-buses.sh start failed: \(why)") }
            print("idle with the buses connected: skipped: \(why)")
            return
        }
        let addresses = readText(buses + "/buses.env").split(separator: "\n").map(String.init)
        let daemon = try RunningDaemon.start(environment: addresses)
        defer { daemon.stop() }
        let watched = try watchIdle(daemon, seconds: seconds)
        let clients = try run("/bin/sh", ["scripts/private-buses.sh", "clients", buses, String(daemon.pid)],
                              environment: ["PATH=/usr/bin:/bin"], output: root + "/clients")
        let on = clients.status == 0 ? readText(root + "/clients").split(separator: "\n").joined(separator: ", ") : "unknown"
        let reproduce = "make bench ONLY=idle; by hand: STRETCHD_BENCH_BUSES=1 scripts/idle-wakeups.sh .build/release 60"
        figure("idle wakeups, buses connected", watched.wakeups + " (stretchd on the buses: \(on))",
               target: "0 in 60 s", met: watched.switches == 0, reproduce: reproduce)
        let cost = "\(signed(mib(watched.memory.rss - without.rss))) MiB RSS, \(signed(mib(watched.memory.pss - without.pss))) MiB PSS"
        figure("idle RSS, buses connected",
               "\(mib(watched.memory.rss)) MiB, PSS \(mib(watched.memory.pss)) MiB (the buses cost \(cost) over the "
                   + "idle daemon without them)",
               target: "<= 10 MiB RSS (toward 8)", met: watched.memory.rss <= 10 * 1024, reproduce: reproduce)
    }

    /// What `watchIdle` saw.
    struct IdleWatch {
        /// The wake-ups, as the figure says them.
        var wakeups: String
        /// Context switches, exited threads included.
        var switches: Int
        var memory: (rss: Int, pss: Int)
    }

    /// One `stretchctl status`, then the context switches of all the daemon's threads over `seconds`, then its RSS
    /// and PSS. The watch starts once libdispatch's start-up worker threads are gone (swift-service-lifecycle's
    /// signal sources wake one at start, and an idle worker exits after 5 s); a thread that exits during the watch
    /// counts as a wake-up.
    static func watchIdle(_ daemon: RunningDaemon, seconds: Int) throws -> IdleWatch {
        _ = try run(siblingPath("stretchctl"), ["status"], environment: daemon.environment)
        sleep(6)
        let before = contextSwitches(daemon.pid), cpuBefore = threadCPUTime(daemon.pid)
        print("(watching the idle daemon for \(seconds) s)")
        sleep(UInt32(seconds))
        let after = contextSwitches(daemon.pid), cpuAfter = threadCPUTime(daemon.pid)
        let memory = smapsRollup(daemon.pid)
        let exited = before.keys.filter { after[$0] == nil }.count
        let switches = after.reduce(0) { $0 + $1.value - (before[$1.key] ?? 0) } + exited
        return IdleWatch(
            wakeups: "\(switches) context switches in \(seconds) s (voluntary + involuntary, all \(after.count) "
                + "threads, \(exited) exited, after one stretchctl status); CPU \(ms(cpuAfter - cpuBefore, 0)) ms",
            switches: switches, memory: memory)
    }

    /// CPU time of the daemon's threads while it runs a session on the `null` device, per minute of session.
    static func liveSession() throws {
        let routine = "scripts/live-session.toml"
        let length = try sessionLength(of: routine)
        let daemon = try RunningDaemon.start()
        defer { daemon.stop() }
        let path = String(cString: realpath(routine, nil))
        let before = threadCPUTime(daemon.pid)
        guard try run(siblingPath("stretchctl"), ["start", path], environment: daemon.environment).status == 0 else {
            throw BenchmarkError("stretchctl start failed")
        }
        print("(a \(DurationText.format(length)) session in the daemon)")
        // The session's length, then until the daemon says it has ended: it starts later than `start` answers
        // when its prompts are spoken (they are prepared first), so a fixed wait ended before it did and the
        // whole bench stopped here. Then a second for its last sound to ring out and the device to close.
        usleep(UInt32(length.inSeconds * 1_000_000))
        var reply = ""
        for _ in 0..<300 {
            reply = String(decoding: try request(.status, socket: daemon.socket), as: UTF8.self)
            if !reply.contains("\"session\"") { break }
            usleep(200_000)
        }
        guard !reply.contains("\"session\"") else { throw BenchmarkError("the session had not ended a minute late: \(reply)") }
        sleep(1)
        let cpu = threadCPUTime(daemon.pid) - before
        let perMinute = cpu.inSeconds * 1000 * 60 / length.inSeconds
        figure("live session CPU",
               "\(format(perMinute)) ms per minute of session (\(ms(cpu)) ms "
                   + "for a \(DurationText.format(length)) session, all the daemon's threads, from start to the "
                   + "device closed)",
               target: "<= 100 ms per minute", met: perMinute <= 100,
               reproduce: "make bench ONLY=live; by hand: cpu() { cat /proc/$(pidof stretchd)/task/*/schedstat | "
                   + "awk '{s += $1} END {print s / 1e6 \" ms\"}'; }; cpu; stretchctl start $PWD/\(routine); "
                   + "sleep \(Int(length.inSeconds) + 1); cpu")
    }

    /// How long a session of the routine file `path` (in scripts/) lasts.
    static func sessionLength(of path: String) throws -> Duration {
        guard case .success(let text) = Files.readText(path),
              case .success(let routine) = RoutineFile.parse(Array(text.utf8), file: path, defaultID: "bench")
        else { throw BenchmarkError("cannot read \(path): run make bench from the repository") }
        return SessionPlanner.plan(routine).duration
    }

    /// `stretchctl render` of the 2.5-hour routine in scripts/: its peak RSS and how much faster than real time.
    static func render() throws {
        let routine = "scripts/two-and-a-half-hours.toml"
        let length = try sessionLength(of: routine)
        let root = temporaryFolder()
        defer { removeFolder(root) }
        let output = root + "/long.wav"
        let child = try run(siblingPath("stretchctl"), ["render", routine, "-o", output],
                            environment: ["HOME=\(root)", "PATH=/usr/bin:/bin"])
        guard child.status == 0 else { throw BenchmarkError("stretchctl render failed (status \(child.status))") }
        figure("render of a \(DurationText.format(length)) routine",
               "peak RSS \(mib(child.maxRSSKiB)) MiB, \(format(length.inSeconds / child.wall.inSeconds, 0))x real time "
                   + "(\(format(child.wall.inSeconds, 2)) s)",
               target: "peak RSS <= 32 MiB, >= 2000x",
               met: child.maxRSSKiB <= 32 * 1024 && length.inSeconds / child.wall.inSeconds >= 2000,
               reproduce: "/usr/bin/time -f '%M KiB peak RSS, %e s' .build/release/stretchctl render \(routine) -o /tmp/long.wav")
    }

    /// `status` with a 200 MB history ending today: the first and later round trips, each on a new connection as
    /// stretchctl makes them.
    static func statusWithBigHistory() throws {
        let megabytes = 200
        let daemon = try RunningDaemon.start { path in
            HistoryFile.write(to: path, days: 3000, bytes: megabytes << 20, recordsPerDay: nil)
        }
        defer { daemon.stop() }
        let (first, later) = try statusRoundTrips(daemon)
        // The same with no history at all, for comparison.
        let empty = try RunningDaemon.start()
        let (emptyFirst, emptyLater) = try statusRoundTrips(empty)
        empty.stop()
        figure("status with a \(megabytes) MB history",
               "first \(ms(first, 2)) ms, then median \(ms(later[50], 2)) ms, slowest \(ms(later[99], 2)) ms "
                   + "(round trips over the socket; READY=1 came \(ms(daemon.ready)) ms after exec; RSS then "
                   + "\(mib(smapsRollup(daemon.pid).rss)) MiB; with no history: first \(ms(emptyFirst, 2)) ms, then "
                   + "median \(ms(emptyLater[50], 2)) ms)",
               target: "constant, under 5 ms", met: first < .milliseconds(5) && later[99] < .milliseconds(5),
               reproduce: "scripts/status-with-big-history.sh .build/release \(megabytes)")
    }

    /// The first status round trip after READY=1, then 100 more, sorted.
    static func statusRoundTrips(_ daemon: RunningDaemon) throws -> (first: Duration, later: [Duration]) {
        let first = try timedRequest(.status, socket: daemon.socket)
        var later: [Duration] = []
        for _ in 0..<100 { later.append(try timedRequest(.status, socket: daemon.socket)) }
        return (first, later.sorted())
    }

    /// `history --days 7` and `--days 3660` on ten years of records: ten breaks a day, a day missing the goal
    /// now and then (so the streak ends somewhere, as it does).
    static func historyOfTenYears() throws {
        var size = 0
        let daemon = try RunningDaemon.start { path in
            size = HistoryFile.write(to: path, days: 3660, bytes: nil, recordsPerDay: 30)
        }
        defer { daemon.stop() }
        let store = HistoryStore(path: daemon.home + "/.local/state/stretchd/history.jsonl")
        let today = CivilTime(day: Int(time(nil)) / 86_400, time: .zero)
        for days in [7, 3660] {
            // The reading alone, in this process: the rest of a round trip is the reply's JSON and the socket.
            var best = Duration.seconds(1000)
            for _ in 0..<5 {
                let before = clockNow()
                _ = store.report(today: today, days: days, goal: 4, workDays: Set(Weekday.allCases))
                best = min(best, clockNow() - before)
            }
            var times: [Duration] = []
            var streak = 0
            for _ in 0..<5 {
                let before = clockNow()
                let reply = try ControlReply.decode(try request(.history(days: days), socket: daemon.socket))
                times.append(clockNow() - before)
                streak = reply.history?.streak ?? -1
            }
            // What the user waits for: the whole command, its table printed.
            var commands: [Duration] = []
            for _ in 0..<5 {
                let child = try run(siblingPath("stretchctl"), ["history", "--days", String(days)], environment: daemon.environment)
                guard child.status == 0 else { throw BenchmarkError("stretchctl history failed (status \(child.status))") }
                commands.append(child.wall)
            }
            let sorted = times.sorted(), command = commands.sorted()[2]
            figure("history --days \(days), 10 years of records",
                   "stretchctl history --days \(days) \(ms(command, 1)) ms (median of 5); the request alone: first "
                       + "\(ms(times[0], 1)) ms, median of 5 \(ms(sorted[2], 1)) ms; of which reading the file "
                       + "\(ms(best, 1)) ms (best of 5, in process) "
                       + "(\(format(Double(size) / 1_048_576, 1)) MiB, \(3660 * 30) records; a streak of \(streak) days)",
                   target: "<= 150 ms", met: command <= .milliseconds(150),
                   reproduce: "make bench ONLY=history; by hand: time stretchctl history --days \(days) >/dev/null")
        }
    }

    /// The installed binaries' size: `make install` strips them.
    static func binarySize() throws {
        let root = temporaryFolder()
        defer { removeFolder(root) }
        var stripped = 0, unstripped = 0
        var each: [String] = []
        for name in ["stretchd", "stretchctl"] {
            let built = siblingPath(name)
            guard try run("/usr/bin/strip", ["-o", root + "/" + name, built], environment: ["PATH=/usr/bin:/bin"]).status == 0
            else { throw BenchmarkError("strip failed on \(built)") }
            let size = fileSize(root + "/" + name)
            stripped += size
            unstripped += fileSize(built)
            each.append("\(name) \(format(Double(size) / 1_048_576, 1))")
        }
        figure("installed binaries",
               "\(format(Double(stripped) / 1_048_576, 1)) MiB stripped (\(each.joined(separator: ", ")) MiB; "
                   + "\(format(Double(unstripped) / 1_048_576, 1)) MiB as built)",
               target: "stripped; report the size",
               reproduce: "strip -o /tmp/stretchd .build/release/stretchd && strip -o /tmp/stretchctl "
                   + ".build/release/stretchctl && ls -l /tmp/stretchd /tmp/stretchctl")
    }

    // MARK: Printing

    /// One figure beside its goal, and whether it meets it: `name: value — goal: target — met` (or `NOT MET`; a
    /// figure without a goal to meet, `met` nil, gets no verdict), then the command that reproduces it. Every
    /// case prints its figures through this, so that `make bench` reads as a list of goals met or not.
    static func figure(_ name: String, _ value: String, target: String, met: Bool? = nil, reproduce: String) {
        let verdict = met.map { $0 ? " — met" : " — NOT MET" } ?? ""
        print("\(name): \(value) — goal: \(target)\(verdict)")
        print("  reproduce: \(reproduce)")
        if let met { Benchmark.verdicts.append((name, met)) }
    }

    static func ms(_ duration: Duration, _ decimals: Int = 1) -> String { format(duration.inSeconds * 1000, decimals) }
    static func µs(_ duration: Duration) -> String { format(duration.inSeconds * 1_000_000, 0) }
    static func mib(_ kib: Int) -> String { format(Double(kib) / 1024, 1) }
    /// A figure with its sign: "+0.4", "-0.1" ("+0.0" for what rounds to nothing).
    static func signed(_ figure: String) -> String {
        figure.hasPrefix("-") && figure.contains(where: { "123456789".contains($0) }) ? figure : "+" + figure.drop { $0 == "-" }
    }

    // MARK: The daemon, from outside

    /// The release stretchd started in a fresh home (all-day work hours, a break an hour away, the `null` sound
    /// device), with its READY=1 awaited.
    struct RunningDaemon {
        let root: String
        let pid: pid_t
        let ready: Duration
        var home: String { root + "/home" }
        var runtime: String { root + "/run" }
        var socket: String { runtime + "/stretchd/control.sock" }
        /// What the daemon was started with besides its home (the buses' addresses).
        var extra: [String] = []
        var environment: [String] { ["HOME=\(home)", "XDG_RUNTIME_DIR=\(runtime)", "PATH=/usr/bin:/bin"] + extra }

        /// `environment`: more variables for the daemon (`NAME=value`). `soundOverrides`: a one-second WAV for
        /// every cue in the user's sounds folder.
        static func start(
            environment extra: [String] = [], soundOverrides: Bool = false, history: (String) -> Void = { _ in }
        ) throws -> RunningDaemon {
            let root = temporaryFolder()
            let home = root + "/home"
            for folder in [home, home + "/.config", home + "/.config/stretchd", home + "/.local", home + "/.local/state",
                           home + "/.local/state/stretchd", root + "/run"] { mkdir(folder, 0o700) }
            let config = "[schedule]\ndays = [\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\",\"sun\"]\n"
                + "hours = [\"00:00-24:00\"]\nevery = \"1h\"\n[audio]\ndevice = \"null\"\n"
            _ = Files.writeBytes(Array(config.utf8), to: home + "/.config/stretchd/config.toml")
            history(home + "/.local/state/stretchd/history.jsonl")
            if soundOverrides {
                let sounds = home + "/.local/share/stretchd/sounds"
                for folder in [home + "/.local/share", home + "/.local/share/stretchd", sounds] { mkdir(folder, 0o700) }
                let second = WAV.pcm16((0..<48_000).map { Int16(($0 % 96) * 300) }, rate: 48_000)
                for name in SoundName.allCases { _ = Files.writeBytes(second, to: sounds + "/" + name.fileName) }
            }
            let notify = root + "/notify.sock"
            let notifyFD = datagramSocket(boundTo: notify)
            defer { close(notifyFD) }
            let started = clockNow()
            let pid = spawn(siblingPath("stretchd"), [], environment: [
                "HOME=\(home)", "XDG_RUNTIME_DIR=\(root)/run", "NOTIFY_SOCKET=\(notify)", "PATH=/usr/bin:/bin", "TZ=UTC",
            ] + extra)
            var message = [UInt8](repeating: 0, count: 512)
            while true {
                let count = recv(notifyFD, &message, message.count, 0)
                guard count > 0 else {
                    kill(pid, SIGKILL)
                    throw BenchmarkError("no READY=1 from stretchd")
                }
                if String(decoding: message[0..<count], as: UTF8.self).contains("READY=1") { break }
            }
            return RunningDaemon(root: root, pid: pid, ready: clockNow() - started, extra: extra)
        }

        func stop() {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            removeFolder(root)
        }
    }

    /// Each thread of `pid` (by its id) with the sum of its voluntary and involuntary context switches.
    static func contextSwitches(_ pid: pid_t) -> [Int: Int] {
        var switches: [Int: Int] = [:]
        for thread in threads(of: pid) {
            guard case .success(let status) = Files.readText("/proc/\(pid)/task/\(thread)/status") else { continue }
            switches[thread] = status.split(separator: "\n")
                .filter { $0.hasPrefix("voluntary_ctxt_switches:") || $0.hasPrefix("nonvoluntary_ctxt_switches:") }
                .reduce(0) { $0 + (Int($1.split(separator: "\t").last.map(String.init) ?? "") ?? 0) }
        }
        return switches
    }

    /// The ids of `pid`'s threads.
    static func threads(of pid: pid_t) -> [Int] {
        guard let directory = opendir("/proc/\(pid)/task") else { return [] }
        defer { closedir(directory) }
        var ids: [Int] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let id = Int(name) { ids.append(id) }
        }
        return ids
    }

    /// CPU time of all `pid`'s threads so far, to the nanosecond (the first field of each thread's schedstat).
    static func threadCPUTime(_ pid: pid_t) -> Duration {
        threads(of: pid).reduce(.zero) { total, thread in
            guard case .success(let text) = Files.readText("/proc/\(pid)/task/\(thread)/schedstat"),
                  let nanoseconds = text.split(separator: " ").first.flatMap({ Int($0) })
            else { return total }
            return total + .nanoseconds(nanoseconds)
        }
    }

    /// RSS and PSS in KiB, from /proc/PID/smaps_rollup.
    static func smapsRollup(_ pid: pid_t) -> (rss: Int, pss: Int) {
        guard case .success(let text) = Files.readText("/proc/\(pid)/smaps_rollup") else { return (0, 0) }
        func value(_ key: String) -> Int {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return 0 }
            return Int(line.split(separator: " ").dropFirst().first.map(String.init) ?? "") ?? 0
        }
        return (value("Rss:"), value("Pss:"))
    }

    /// One request on a new connection, as stretchctl makes it; the reply's line.
    static func request(_ request: ControlRequest, socket: String) throws -> [UInt8] {
        let fd = connectStream(socket)
        defer { close(fd) }
        return try self.request(request, over: fd)
    }

    static func request(_ request: ControlRequest, over fd: Int32) throws -> [UInt8] {
        let bytes = request.encoded()
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw BenchmarkError("cannot send to the daemon")
        }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        repeat {
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { throw BenchmarkError("the daemon closed the connection") }
            reply += buffer[0..<count]
        } while reply.last != UInt8(ascii: "\n")
        return reply
    }

    static func timedRequest(_ request: ControlRequest, socket: String) throws -> Duration {
        let before = clockNow()
        _ = try self.request(request, socket: socket)
        return clockNow() - before
    }

    // MARK: Processes and files

    struct Child {
        var status: Int32
        var wall: Duration
        var maxRSSKiB: Int
    }

    /// Runs a program to its end (output discarded, or written to the files `output` and `errors`): its exit status,
    /// wall time and peak RSS (wait4's ru_maxrss).
    static func run(
        _ path: String, _ arguments: [String], environment: [String], output: String? = nil, errors: String? = nil
    ) throws -> Child {
        let started = clockNow()
        let pid = spawn(path, arguments, environment: environment, output: output, errors: errors)
        guard pid > 0 else { throw BenchmarkError("cannot run \(path)") }
        var status: Int32 = 0
        var usage = rusage()
        _ = try SystemCall.retrying("wait4") { wait4(pid, &status, 0, &usage) }
        return Child(status: (status >> 8) & 0xff, wall: clockNow() - started, maxRSSKiB: usage.ru_maxrss)
    }

    static func spawn(
        _ path: String, _ arguments: [String], environment: [String], output: String? = nil, errors: String? = nil
    ) -> pid_t {
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errors ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let result = posix_spawn(&pid, path, &actions, nil, &argv, &envp)
        posix_spawn_file_actions_destroy(&actions)
        return result == 0 ? pid : -1
    }

    static func temporaryFolder() -> String {
        var template = Array("/tmp/stretchd-bench-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    static func removeFolder(_ path: String) {
        _ = try? run("/bin/rm", ["-rf", path], environment: [])
    }

    /// A small file's text; empty when it cannot be read.
    static func readText(_ path: String) -> String {
        guard case .success(let text) = Files.readText(path) else { return "" }
        return text
    }

    static func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
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

/// History files for the benchmarks, written as the daemon writes them: one record a line, in time order,
/// ending today (UTC dates).
enum HistoryFile {
    /// `days` days up to today, with either `recordsPerDay` records each (every 20th day only one break, so a
    /// streak ends), or records enough to fill `bytes`; returns the file's size.
    @discardableResult
    static func write(to path: String, days: Int, bytes: Int?, recordsPerDay: Int?) -> Int {
        let today = Int(time(nil)) / 86_400
        let events = ["reminded", "started", "completed"]
        let lineLength = 100
        let perDay = recordsPerDay ?? max(3, (bytes ?? 0) / days / lineLength)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer { close(fd) }
        var chunk: [UInt8] = []
        chunk.reserveCapacity(1 << 20)
        var written = 0
        for day in (today - days + 1)...today {
            let date = Array(String(CivilTime(day: day, time: .zero).description.prefix(10)).utf8)
            let count = recordsPerDay != nil && day % 20 == 0 ? 3 : perDay
            for index in 0..<count {
                let event = events[index % 3]
                chunk += Array(#"{"date":""#.utf8) + date + Array(#"","event":""#.utf8) + Array(event.utf8)
                chunk += Array((event == "completed" ? #"","minutes":5.95,"routine":"desk-basics","time":"#
                                                       : #"","routine":"desk-basics","time":"#).utf8)
                chunk += Array(String(day * 86_400 + 28_800 + index * 60).utf8)
                chunk += [UInt8(ascii: "}"), UInt8(ascii: "\n")]
                if chunk.count >= 1 << 20 {
                    written += chunk.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                    chunk.removeAll(keepingCapacity: true)
                }
            }
        }
        written += chunk.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        return written
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
