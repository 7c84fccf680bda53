import StretchConfig
import StretchCore
import TOML

/// The TOML reader on a document of nearly 1 MiB (the size limit), and `stretchctl check` on a routine file of
/// 16,000 keys (which took minutes with the old parser's key locator).
enum TOMLBenchmark {
    static func run() {
        let document = largeDocument()
        let bytes = Array(document.utf8)
        let parse = best(of: 5) { _ = try? TOMLReader.parse(bytes) }
        print("toml: parsed \(bytes.count) bytes in \(format(parse.inSeconds * 1000)) ms of CPU (best of 5)")

        var routine = "name = \"x\"\n[[step]]\nname = \"a\"\nkind = \"hold\"\nhold = \"1m\"\n"
        for index in 0..<16_000 { routine += "key\(index) = \(index)\n" }
        let routineBytes = Array(routine.utf8)
        var problems = 0
        let check = best(of: 5) {
            if case .failure(let error) = RoutineFile.parse(routineBytes, file: "big.toml", defaultID: "big") {
                problems = error.problems.count
            }
        }
        print("toml: checked a routine file of 16,000 keys (\(problems) problems) in "
            + "\(format(check.inSeconds * 1000)) ms of CPU (best of 5)")
    }

    static func best(of count: Int, _ body: () -> Void) -> Duration {
        var best = Duration.seconds(1000)
        for _ in 0..<count {
            let before = Benchmark.cpuTime()
            body()
            best = min(best, Benchmark.cpuTime() - before)
        }
        return best
    }

    /// Routine-like tables with every kind of value, up to just under 1 MiB.
    static func largeDocument() -> String {
        var text = "title = \"large\"\n"
        var index = 0
        while text.utf8.count < TOMLReader.maximumSize - 1024 {
            text += """
                [[step]]
                name = "Stretch number \(index) with a longer name, \\u00e9"
                kind = 'hold'
                hold = "1m30s"
                reps = \(index)
                tempo = 4.5e0
                when = 2026-11-23T09:50:00Z
                parts = [ { name = "lean forward", hold = "1m" }, { name = "rotate", hold = "5 breaths" } ]
                tags.a.b = [1, 2, 3, "x"]  # a comment

                """
            index += 1
        }
        return text
    }
}
