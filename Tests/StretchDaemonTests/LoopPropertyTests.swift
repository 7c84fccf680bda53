import Clocks
import ControlProtocol
import Foundation
import InMemoryLogging
import Logging
import PropertyBased
import StretchConfig
import StretchCore
@testable import StretchDaemon
import StretchHistory
import StretchSettings
import Synchronization
import Testing

/// The daemon's loop driven by random days: control requests (several at once, each in the inbox before the one
/// before is answered), desktop reports, the clock jumping (to the loop's own timer and past it, across a suspend,
/// the wall clock set), the sound device going away and coming back, sessions playing on. After each step the loop
/// settles and the invariants are checked: never two sessions at once, no reminder while locked, deferred (do not
/// disturb, a call) or paused, every request answered (once: a continuation resumed twice traps), every break that
/// came due ended by exactly one record. A failure names the seed to replay (`.fixedSeed`) and the steps before it.
@Suite(.timeLimit(.minutes(10))) struct LoopPropertyTests {
    /// One thing that happens; the numbers pick what and how much.
    enum Step: CustomStringConvertible {
        /// Sent together: each is in the inbox before the loop has answered the one before.
        case requests([ControlRequest])
        case locked(Bool)
        case idle(minutesAgo: Int?)
        case doNotDisturb(Bool)
        case call(Bool)
        case notification(NotificationAnswer)
        /// About to sleep, asleep this long, woken up.
        case sleep(minutes: Int)
        /// The clock moves on this much at once.
        case wait(seconds: Int)
        /// The clock moves on to the loop's own timer.
        case toTimer
        /// A session that plays goes on, a second at a time, for up to this long.
        case play(seconds: Int)
        /// The wall clock is set this much ahead (or back).
        case setClock(minutes: Int)
        case soundDevice(plugged: Bool)

        static let requests: [ControlRequest] = [
            .cycle(.start(nil)), .cycle(.start(LoopPropertyTests.routineFile)), .cycle(.stop), .cycle(.skip),
            .cycle(.snooze(nil)), .cycle(.snooze(.seconds(60))), .cycle(.pause(nil)),
            .cycle(.pause(.duration(.seconds(20 * 60)))), .cycle(.pause(.tomorrow)), .cycle(.resume), .cycle(.next),
            .status, .reload,
        ]

        init(_ pick: Int) {
            let amount = pick / 32
            switch pick % 32 {
            case 0..<10:
                // One to three, four bits of the amount each.
                let picks = (0...amount % 3).map { ((amount / 3) >> (4 * $0)) % Self.requests.count }
                self = .requests(picks.map { Self.requests[$0] })
            case 10, 11: self = .locked(amount % 2 == 0)
            case 12: self = .idle(minutesAgo: amount % 3 == 0 ? nil : amount % 8)
            case 13: self = .doNotDisturb(amount % 2 == 0)
            case 14: self = .call(amount % 2 == 0)
            case 15: self = .notification([.start, .snooze, .skip, .dismissed][amount % 4])
            case 16: self = .sleep(minutes: 1 + amount % 20)
            case 17..<21: self = .wait(seconds: amount % 4 == 0 ? 1 + amount % 59 : 60 * (1 + amount % 25))
            case 21..<25: self = .toTimer
            case 25..<28: self = .play(seconds: 30 + amount % 400)
            case 28: self = .setClock(minutes: amount % 2 == 0 ? amount % 90 : -(amount % 90))
            default: self = .soundDevice(plugged: amount % 3 != 0)
            }
        }

        var description: String {
            switch self {
            case .requests(let requests): requests.map(Self.words).joined(separator: " + ")
            case .locked(let locked): locked ? "lock" : "unlock"
            case .idle(let minutes): minutes.map { "idle since \($0)m ago" } ?? "active"
            case .doNotDisturb(let on): "do-not-disturb \(on ? "on" : "off")"
            case .call(let on): "call \(on ? "starts" : "ends")"
            case .notification(let answer): "notification: \(answer)"
            case .sleep(let minutes): "sleep \(minutes)m"
            case .wait(let seconds): "wait \(seconds)s"
            case .toTimer: "to the loop's timer"
            case .play(let seconds): "play up to \(seconds)s"
            case .setClock(let minutes): "wall clock \(minutes > 0 ? "+" : "")\(minutes)m"
            case .soundDevice(let plugged): plugged ? "sound device back" : "sound device gone"
            }
        }

        static func words(_ request: ControlRequest) -> String {
            switch request {
            case .cycle(.start(nil)): "start"
            case .cycle(.start(_?)): "start FILE"
            case .cycle(.snooze(let length?)): "snooze \(DurationText.format(length))"
            case .cycle(.pause(.duration(let length))): "pause \(DurationText.format(length))"
            case .cycle(.pause(.tomorrow)): "pause until tomorrow"
            default: "\(request)"
            }
        }
    }

    /// The replies to the requests the test posted, by number, as they come.
    final class Replies: Sendable {
        private let state = Mutex((posted: 0, replies: [Int: ControlReply]()))

        /// The number of the next request.
        func next() -> Int {
            state.withLock { state in
                defer { state.posted += 1 }
                return state.posted
            }
        }

        func note(_ number: Int, _ reply: ControlReply) { state.withLock { $0.replies[number] = reply } }

        /// The replies to these requests, once every one has come.
        func replies(to numbers: [Int]) -> [ControlReply]? {
            state.withLock { state in
                let replies = numbers.compactMap { state.replies[$0] }
                return replies.count == numbers.count ? replies : nil
            }
        }
    }

    /// A value another task sets.
    final class Eventual<T: Sendable>: Sendable {
        private let state = Mutex<T?>(nil)
        var value: T? { state.withLock { $0 } }
        func set(_ value: T) { state.withLock { $0 = value } }
    }

    /// Every break that comes due is `due` once and ends in exactly one record: a session, skipped, missed or
    /// failed; a snooze keeps it open. Sessions are recorded one at a time.
    struct Ledger {
        /// Records taken so far.
        var read = 0
        /// A break came due and has not ended.
        var open = false
        var session = false
        var sessionIsTheBreak = false

        /// Takes the records not read yet; answers whether a break was open at any time while they were written.
        mutating func take(_ records: [HistoryRecord], _ context: @autoclosure () -> String) -> Bool {
            var wasOpen = open
            for record in records.dropFirst(read) {
                switch record.event {
                case .due:
                    #expect(!open, "a break came due while another was open; \(context())")
                    open = true
                    wasOpen = true
                case .snoozed:
                    #expect(open, "snoozed no break; \(context())")
                case .started:
                    #expect(!session, "a session started while another ran; \(context())")
                    session = true
                    sessionIsTheBreak = open
                case .completed, .stopped:
                    #expect(session, "a session ended that had not started; \(context())")
                    session = false
                    if sessionIsTheBreak { open = false }
                    sessionIsTheBreak = false
                case .skipped, .missed, .failed:
                    #expect(open, "\(record.event) ended no break; \(context())")
                    open = false
                case .reminded:
                    Issue.record("a reminder was recorded (a re-reminder is not an offer); \(context())")
                }
            }
            read = records.count
            return wasOpen
        }
    }

    /// Reminders paused, as the replies said.
    enum Pause {
        case none
        case untilResume
        case until(CivilTime)
    }

    /// The test's side: the daemon, what the test told it, and what has been checked so far.
    struct Driver {
        let harness: DaemonHarness
        let replies = Replies()
        var steps: [String] = []
        var locked = false
        var doNotDisturb = false
        var call = false
        var pause = Pause.none
        /// A reply in this step ended the pause (it may have begun again by the step's end).
        var pauseEnded = false
        /// Reminders (the loop's log lines) seen so far.
        var reminders = 0
        var ledger = Ledger()
        /// How long the loop sleeps, as it last said when it settled.
        var timer = Duration.zero

        var daemon: Daemon<TestClock<Duration>> { harness.daemon }
        var context: String { "steps: \(steps.suffix(16).joined(separator: "; "))" }

        var paused: Bool {
            switch pause {
            case .none: false
            case .untilResume: true
            case .until(let end): harness.time.now().local < end
            }
        }

        /// Why a reminder must not come now, if one must not.
        var held: String? {
            if locked { return "locked" }
            if doNotDisturb { return "do-not-disturb" }
            if call { return "in a call" }
            return paused ? "paused" : nil
        }

        /// `work`'s result once it comes: the test yields, then also advances the clock by nothing (a timer armed
        /// for this very instant waits for that). Nil, and an issue, when it has not come after a minute: a guard
        /// against a hang, far above any wait (work beside the loop shares BlockingThread.shared with every other
        /// suite's, flite's included, so a count of turns ran out on a busy machine).
        func bounded<T: Sendable>(_ what: String, _ work: @escaping @Sendable () async -> T) async -> T? {
            let result = Eventual<T>()
            Task { result.set(await work()) }
            let giveUp = ContinuousClock.now.advanced(by: .seconds(60))
            for turn in 1... {
                if let value = result.value { return value }
                if ContinuousClock.now > giveUp { break }
                // Mostly yields: work on the blocking-work thread (a history append) takes a few of them.
                if turn % 100 == 0 { await harness.clock.advance(by: .zero) } else { await Task.yield() }
            }
            Issue.record("\(what) never came; \(context)")
            return nil
        }

        /// Waits until the loop has settled and a session's end has reached it; checks that no session plays that
        /// the loop does not know of. False once something never came.
        mutating func settle() async -> Bool {
            let daemon = daemon
            for _ in 0..<1_000 {
                guard let sleep = await bounded("the loop settling", { await daemon.settled() }),
                      let status = await bounded("status", { await daemon.status() })
                else { return false }
                timer = sleep
                let streams = harness.stream.unfinishedSessions
                // A session's end reaches the loop as an input once its scheduler returns.
                if status.session != nil, streams == 0 {
                    await Task.yield()
                    continue
                }
                #expect(status.session != nil || streams == 0, "a session plays that the loop forgot; \(context)")
                return true
            }
            Issue.record("a session's end never reached the loop; \(context)")
            return false
        }

        /// Puts `request` in the loop's inbox now, before whatever the test sends next, and notes its reply when it
        /// comes; returns its number.
        func post(_ request: ControlRequest) async -> Int {
            let number = replies.next()
            let inbox = daemon.inbox, replies = replies
            await withCheckedContinuation { (posted: CheckedContinuation<Void, Never>) in
                Task {
                    let reply = await withCheckedContinuation { reply in
                        inbox.yield(.request(request, reply))
                        posted.resume()
                    }
                    replies.note(number, reply)
                }
            }
            return number
        }

        /// Carries out `step`, waits for the loop to settle and checks the invariants; false once the loop has
        /// stopped answering.
        mutating func perform(_ step: Step) async -> Bool {
            steps.append(step.description)
            let heldBefore = held
            pauseEnded = false
            guard await carryOut(step), await settle() else { return false }
            if case .until(let end) = pause, harness.time.now().local >= end { pause = .none }
            check(heldBefore: heldBefore)
            return true
        }

        private mutating func carryOut(_ step: Step) async -> Bool {
            let daemon = daemon, clock = harness.clock, time = harness.time, stream = harness.stream
            switch step {
            case .requests(let requests):
                var numbers: [Int] = []
                for request in requests { numbers.append(await post(request)) }
                guard await settle() else { return false }
                var answered: [ControlReply]?
                for _ in 0..<10_000 {
                    answered = replies.replies(to: numbers)
                    if answered != nil { break }
                    await Task.yield()
                }
                guard let answered else {
                    Issue.record("a request was never answered; \(context)")
                    return false
                }
                // A `start` acts once its session plays, after the loop has handled the others (a session is
                // prepared, and a routine read, beside the loop).
                let started = { (reply: ControlReply) in reply.message?.hasPrefix("started ") == true }
                let pairs = zip(requests, answered)
                for (request, reply) in pairs.filter({ !started($1) }) + pairs.filter({ started($1) }) {
                    note(reply, to: request)
                }
                return true
            case .locked(let on):
                locked = on
                return await bounded("lock") { await daemon.lockChanged(on) } != nil
            case .idle(let minutes):
                let since = minutes.map { max(.zero, time.now().awake - .seconds($0 * 60)) }
                return await bounded("idle") { await daemon.idleChanged(since: since) } != nil
            case .doNotDisturb(let on):
                doNotDisturb = on
                return await bounded("do-not-disturb") {
                    await daemon.doNotDisturbChanged(source: "GNOME", on: on)
                } != nil
            case .call(let on):
                call = on
                return await bounded("call") { await daemon.callChanged(source: "microphone", on: on) } != nil
            case .notification(let answer):
                return await bounded("notification") { await daemon.notificationAnswered(answer) } != nil
            case .sleep(let minutes):
                guard await bounded("about to sleep", { await daemon.aboutToSleep() }) != nil else { return false }
                time.willSuspend(for: .seconds(minutes * 60))
                await clock.advance(by: .seconds(minutes * 60))
                return await bounded("woke up") { await daemon.wokeUp() } != nil
            case .wait(let seconds):
                await clock.advance(by: .seconds(seconds))
            case .toTimer:
                // During a session the loop looks again only daily: not a day of breaks in one step.
                await clock.advance(by: min(timer, .seconds(stream.unfinishedSessions > 0 ? 600 : 86_400)))
            case .play(let seconds):
                for _ in 0..<seconds where stream.unfinishedSessions > 0 {
                    await clock.advance(by: .seconds(1))
                    // The session catches up with the clock (`DaemonHarness.pass`), within bounds: after a stall
                    // its fills are due off the whole second, and may not be behind for long.
                    for _ in 0..<100 where stream.isBehind { await clock.advance(by: .zero) }
                }
            case .setClock(let minutes):
                time.moveWallClock(by: .seconds(minutes * 60))
                return await bounded("wall clock changed") { await daemon.wallClockChanged() } != nil
            case .soundDevice(let plugged):
                stream.unplugged = !plugged
            }
            return true
        }

        /// What a reply says of the reminders' pause.
        mutating func note(_ reply: ControlReply, to request: ControlRequest) {
            #expect(reply.error != "the daemon did not act on the request", "\(request); \(context)")
            #expect(reply.error != "the daemon is stopping", "\(request) before the stop; \(context)")
            if request == .status { #expect(reply.status != nil, "status without a status; \(context)") }
            guard reply.ok, let message = reply.message else { return }
            // `start` resumes paused reminders too, and its reply says so.
            if message.hasPrefix("reminders resumed") || message.hasSuffix("; reminders resumed") {
                pauseEnded = pauseEnded || paused
                pause = .none
            }
            guard message.hasPrefix("reminders paused") || message.contains("; reminders paused"),
                  case .cycle(.pause(let length)) = request
            else { return }
            let now = harness.time.now().local
            pause = switch length {
            case nil: .untilResume
            case .duration(let duration): .until(now.adding(duration))
            case .tomorrow: .until(CivilTime(day: now.day + 1, time: .zero))
            }
        }

        mutating func check(heldBefore: String?) {
            let reminders = harness.log.entries.filter { $0.message == "break due: time to stretch" }.count
            if heldBefore != nil, !pauseEnded, let why = held {
                #expect(reminders == self.reminders, "a reminder while \(why); \(context)")
            }
            #expect(harness.stream.chimes.count == reminders, "a reminder without its chime; \(context)")
            #expect(harness.stream.mostPlaying <= 1, "two sessions played at once; \(context)")
            let context = context
            let wasOpen = ledger.take(harness.history.read().records, context)
            if reminders > self.reminders {
                #expect(wasOpen, "a reminder for a break that did not come due; \(context)")
            }
            self.reminders = reminders
        }

        /// Ends what runs, resumes reminders and stays away past a natural break (the timer's own time off, as off
        /// hours do not wake it then), so that a break still open ends; then stops the daemon and checks the whole
        /// history and what the desktop was asked.
        mutating func finish(naturalBreak: Duration) async throws {
            steps.append("finish")
            if harness.stream.unfinishedSessions > 0 {
                guard await perform(.requests([.cycle(.stop)])) else { return }
            }
            guard await perform(.requests([.cycle(.resume)])), await perform(.locked(true)),
                  await perform(.wait(seconds: Int(naturalBreak.components.seconds) + 60)),
                  await perform(.locked(false))
            else { return }
            #expect(!ledger.open, "a break never ended; \(context)")
            try await harness.stop()
            let records = harness.history.read().records, context = context
            _ = ledger.take(records, context)
            #expect(!ledger.open && !ledger.session, "after the stop; \(context)")
            let asked = await harness.desktop.take(Int.max)
            #expect(asked.filter { $0.hasPrefix("show Time to stretch") }.count == reminders,
                    "a notification for every reminder, and only then; \(context)")
            let locks = asked.filter { $0 == "hold" || $0 == "release" }
            #expect(locks == Array(repeating: ["hold", "release"], count: locks.count / 2).flatMap { $0 },
                    "the sleep lock held and released around each session; \(context)")
            #expect(locks.count / 2 == records.filter { $0.event == .started }.count,
                    "the sleep lock held for every session recorded; \(context)")
        }
    }

    /// Routines of a few seconds, so that a day of sessions plays quickly on the test clock: two that breaks take,
    /// and one in a file for `start FILE` (read beside the loop).
    static let routineTexts = [
        ("quick-neck", routine(name: "Quick neck", steps: ["Tilt"])),
        ("quick-back", routine(name: "Quick back", steps: ["Arch", "Round"])),
    ]
    static let routineFile: String = {
        let path = NSTemporaryDirectory() + "stretchd-quick-reach-\(UUID().uuidString).toml"
        let text = routine(name: "Quick reach", steps: ["Reach"])
        // Should it not be written, `start FILE` answers why: still a day worth driving.
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }()

    /// A routine file of 2 s holds.
    static func routine(name: String, steps: [String]) -> String {
        "name = \"\(name)\"\ncountdown = 0\ntransition_time = \"1s\"\n"
            + steps.map { "[[step]]\nname = \"\($0)\"\nkind = \"hold\"\nhold = \"2s\"\n" }.joined()
    }

    static func routines() throws -> [Routine] {
        try routineTexts.map { id, text in try RoutineFile.parse(text, file: "\(id).toml", defaultID: id).get() }
    }

    static func config(leadIn: Bool) -> DaemonConfig {
        var config = DaemonConfig.defaults
        config.every = .seconds(10 * 60)
        config.snooze = .seconds(3 * 60)
        config.autostart = leadIn ? .seconds(30) : nil
        return config
    }

    /// Drives one day of `steps`, with a lead-in or without.
    static func drive(leadIn: Bool, _ steps: [Step]) async throws {
        let config = config(leadIn: leadIn), routines = try routines()
        let reloads = Mutex(0)
        // Reloads in turn: the other lead-in, the same again, a config with a problem.
        let reload: @Sendable () -> Result<DaemonSettings, ConfigError> = {
            let count = reloads.withLock { count in
                defer { count += 1 }
                return count
            }
            if count % 3 == 2 {
                let problem = ConfigProblem(file: "config.toml", line: 1, keyPath: "every", message: "bad")
                return .failure(ConfigError([problem]))
            }
            let config = Self.config(leadIn: count % 3 == 0 ? !leadIn : leadIn)
            return .success(DaemonSettings(config: config, routines: routines, warnings: []))
        }
        var driver = Driver(
            harness: try DaemonHarness(
                config: config, routines: routines, audio: FakeAudio(sessions: true), reload: reload))
        guard await driver.settle() else { return try await driver.harness.stop() }
        for step in steps {
            guard await driver.perform(step) else { return try await driver.harness.stop() }
        }
        try await driver.finish(naturalBreak: config.naturalBreak)
    }

    /// Random days, each with a lead-in or without. Shrinking is off: a day's run is not exactly repeatable (the
    /// session and the work beside the loop run in tasks of their own), so a smaller day that still fails would not
    /// prove much, and each try is a whole day; the failure names the steps.
    static func randomDays(count: Int) async {
        await propertyCheck(count: count, input: Gen.bool, Gen.int(in: 0...(1 << 20)).array(of: 40...80)) {
            leadIn, picks in
            try await drive(leadIn: leadIn, picks.map(Step.init))
        }
    }

    @Test(.shrinking(false)) func randomDaysKeepTheInvariants() async {
        await Self.randomDays(count: 100)
    }
}
