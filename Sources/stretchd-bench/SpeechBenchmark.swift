import CFlite
import Speech
import StretchSystem

#if canImport(Glibc)
import Glibc
#endif

/// The spoken prompts: synthesis time for what a routine says, and the memory the voice takes while loaded.
enum SpeechBenchmark {
    /// What the built-in routines are likely to say (names with setups, parts, sides, the last repetition, the end).
    static let prompts = [
        "Hip ninety-ninety. Right leg in front, left leg out to the side.", "Lean forward.",
        "Now rotate toward the back leg.", "Left leg in front.",
        "Active hamstring stretch. Lie on your back and hold the right leg behind the knee.", "Left leg.", "Last one.",
        "Adductor rocks. On hands and knees, right leg out to the side.",
        "Quadriceps couch stretch. Right knee on the pillow, foot up against the couch.", "Switch sides.",
        "That's the session. Well done.", "Kneeling hip flexor stretch. Right knee down, left foot forward.",
        "Crossover hamstring stretch. Cross the right leg over the left and fold forward.",
        "Standing quad stretch. Stand on your left leg and hold your right foot.",
        "Seated twist. Right leg over the left, turn toward the knee.", "Right side.", "Left side.", "Breathe slowly.",
        "Ease off whenever you need to.", "Next: desk basics.",
    ]

    static func run() async throws {
        let clock = ContinuousClock()
        // The libraries alone, mapped and relocated as linking them would do at every start.
        let unloaded = status("VmRSS")
        let handle = dlopen("libflite_cmu_us_slt.so.1", RTLD_NOW | RTLD_LOCAL)
        let mapped = status("VmRSS")
        if let handle { dlclose(handle) }
        let closed = status("VmRSS")

        // "5" resets VmHWM (peak RSS) to the current RSS.
        let refs = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC)
        if refs >= 0 { _ = write(refs, "5", 1); close(refs) }
        let before = status("VmRSS"), anonBefore = status("RssAnon")
        var kept = 0
        let first = try await clock.measure {
            kept = try await SpeechSynthesizer(cache: nil).synthesize(prompts).values.reduce(0) { $0 + $1.count * 2 }
        }
        let during = status("VmHWM"), after = status("VmRSS")
        // The prompts' samples were freed on this thread, into the arena of the thread that made them.
        malloc_trim(0)
        let trimmed = status("VmRSS"), anonTrimmed = status("RssAnon")
        var batches: [Duration] = []
        for _ in 0..<5 { batches.append(try await clock.measure { _ = try await SpeechSynthesizer(cache: nil).synthesize(prompts) }) }
        var each: [Duration] = []
        for text in prompts { each.append(try await clock.measure { _ = try await SpeechSynthesizer(cache: nil).synthesize(text) }) }
        each.sort()
        let best = batches.min()!
        DaemonBenchmark.figure(
            "speech synthesis",
            "a routine's \(prompts.count) prompts in one batch: \(DaemonBenchmark.ms(best, 0)) ms (best of 5; the first "
                + "\(DaemonBenchmark.ms(first, 0)) ms), \(DaemonBenchmark.ms(best / prompts.count)) ms per prompt; one "
                + "prompt alone (load, speak, unload): median \(DaemonBenchmark.ms(each[each.count / 2])) ms, longest "
                + "\(DaemonBenchmark.ms(each.last!)) ms",
            target: "a whole routine well under a second", reproduce: "make bench ONLY=speech")
        DaemonBenchmark.figure(
            "speech memory",
            "RSS \(DaemonBenchmark.mib(before)) MiB before a batch, \(DaemonBenchmark.mib(during)) MiB at its peak, "
                + "\(DaemonBenchmark.mib(after)) MiB after (voice unloaded, prompts (\(DaemonBenchmark.mib(kept / 1024)) MiB) "
                + "freed), \(DaemonBenchmark.mib(trimmed)) MiB after malloc_trim "
                + "(\(DaemonBenchmark.signed(DaemonBenchmark.mib(anonTrimmed - anonBefore))) MiB of it anonymous, the rest "
                + "code and data pages of the binary read for the first time); the voice's libraries alone, mapped as "
                + "linking would: \(DaemonBenchmark.signed(DaemonBenchmark.mib(mapped - unloaded))) MiB "
                + "(\(DaemonBenchmark.signed(DaemonBenchmark.mib(closed - unloaded))) MiB once closed)",
            target: "the idle daemon does not keep the voice", reproduce: "make bench ONLY=speech")
    }

    /// A line of /proc/self/status, in KiB.
    static func status(_ key: String) -> Int {
        guard case .success(let text) = Files.readText("/proc/self/status") else { return 0 }
        let line = text.split(separator: "\n").first { $0.hasPrefix(key + ":") }
        return line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
    }
}
