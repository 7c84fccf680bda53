import PropertyBased
import StretchCore
import Testing

/// The break cycle driven by random days: commands, the desktop changing, time passing and jumping, sleep,
/// restarts, sessions starting, failing and ending, with an owner that does what the daemon does. Whatever the
/// order, the invariants hold.
@Suite struct CyclePropertyTests {
    /// One thing that happens; the numbers pick what and how much.
    enum Action: CustomStringConvertible {
        case wait(minutes: Int)
        case command(BreakCycle.Command<BreakCycle.StartRoutine>)
        case desktop(locked: Bool, idleMinutes: Int?, doNotDisturb: Bool, call: Bool)
        case answerStart(Int)
        case endSession(completed: Bool)
        case chimeFailed
        case sleep(minutes: Int)
        case clockJump(minutes: Int)
        case notification(NotificationAnswer)
        case restart(gapMinutes: Int)
        case reconfigure(leadIn: Bool)

        static let commands: [BreakCycle.Command<BreakCycle.StartRoutine>] = [
            .start(.offeredOrNext), .start(.routine(CycleTimeline.desk)), .stop, .skip, .snooze(nil),
            .snooze(.seconds(60)), .pause(nil), .pause(.duration(.seconds(20 * 60))), .resume, .next,
        ]

        init(_ pick: Int) {
            let amount = pick / 16
            switch pick % 16 {
            case 0, 1, 2: self = .wait(minutes: 1 + amount % 15)
            case 3, 4, 5: self = .command(Self.commands[amount % Self.commands.count])
            case 6: self = .desktop(locked: amount % 2 == 0, idleMinutes: amount % 3 == 0 ? amount % 7 : nil,
                                    doNotDisturb: amount % 5 == 0, call: amount % 7 == 0)
            case 7: self = .desktop(locked: false, idleMinutes: nil, doNotDisturb: false, call: false)
            case 8, 9: self = .answerStart(amount)
            case 10: self = .endSession(completed: amount % 2 == 0)
            case 11: self = .chimeFailed
            case 12: self = .sleep(minutes: 1 + amount % 12)
            case 13: self = .clockJump(minutes: amount % 2 == 0 ? amount % 90 : -(amount % 90))
            case 14: self = .notification([.start, .snooze, .skip, .dismissed][amount % 4])
            default: self = amount % 3 == 0 ? .reconfigure(leadIn: amount % 2 == 0) : .restart(gapMinutes: amount % 12)
            }
        }

        var description: String {
            switch self {
            case .wait(let minutes): "wait \(minutes)m"
            case .command(.start(.routine(let routine))): "start(\(routine.id))"
            case .command(let command): "\(command)"
            case .desktop(let locked, let idle, let dnd, let call):
                "desktop(locked: \(locked), idle: \(idle.map { "\($0)m" } ?? "no"), dnd: \(dnd), call: \(call))"
            case .answerStart(let how): "answerStart(\(how % 4))"
            case .endSession(let completed): "endSession(completed: \(completed))"
            case .chimeFailed: "chimeFailed"
            case .sleep(let minutes): "sleep \(minutes)m"
            case .clockJump(let minutes): "clock jumps \(minutes)m"
            case .notification(let answer): "notification(\(answer))"
            case .restart(let gap): "restart after \(gap)m"
            case .reconfigure(let leadIn): "reconfigure(leadIn: \(leadIn))"
            }
        }
    }

    /// The daemon's part, played by the test, and what it checks each time the cycle answers.
    struct Owner {
        var cycle: BreakCycle
        var awake = Duration.zero
        var elapsed = Duration.zero
        /// The wall clock's lead over `origin + elapsed`: clock changes.
        var shift = Duration.zero
        let origin = monday(9)
        let unixOrigin = 1_800_000_000.0
        var desktop = DesktopState()
        /// A `.startSession` asked for and not answered; whether a command (or a notification's button) asked.
        var pendingStart: Bool? = nil
        var sessionRunning = false
        /// The break that came due and has not ended, as the records tell; whether a session is that break.
        var open = false
        var sessionIsTheBreak = false
        var log: [String] = []

        static func settings(leadIn: Bool) -> BreakCycle.Settings {
            var settings = CycleTimeline.settings(leadIn: leadIn ? .seconds(30) : nil)
            settings.timer = BreakTimer.Settings(
                interval: .seconds(10 * 60), naturalBreak: .seconds(5 * 60), snooze: .seconds(3 * 60))
            settings.startWhenIdle = .seconds(5)
            return settings
        }

        init(leadIn: Bool) {
            cycle = BreakCycle(settings: Self.settings(leadIn: leadIn), now: Moment(awake: .zero, elapsed: .zero, local: monday(9)))
        }

        var now: Moment { Moment(awake: awake, elapsed: elapsed, local: origin.adding(elapsed + shift)) }
        var unixTime: Double { unixOrigin + (elapsed + shift).inSeconds }

        mutating func perform(_ action: Action) {
            log.append("\(action)")
            switch action {
            case .wait(let minutes):
                let end = elapsed + .seconds(minutes * 60)
                while elapsed < end {
                    let wake = cycle.nextWake()
                    let steps = [wake.after, wake.at.map { now.local.duration(to: $0) }, end - elapsed]
                    let step = max(.milliseconds(1), steps.compactMap { $0 }.filter { $0 > .zero }.min() ?? end - elapsed)
                    awake += step
                    elapsed += step
                    feed(.timePassed)
                }
            case .command(let command):
                feed(.command(command))
            case .desktop(let locked, let idle, let dnd, let call):
                desktop = DesktopState(
                    locked: locked, idleSince: idle.map { awake - .seconds($0 * 60) },
                    doNotDisturb: dnd ? ["GNOME"] : [], calls: call ? ["microphone"] : [])
                feed(.desktop(desktop))
            case .answerStart(let how):
                // Sometimes a start nobody asked for arrives: a late answer after a cancel.
                guard pendingStart != nil || how % 4 == 3 else { return }
                switch how % 4 {
                case 0: feed(.sessionCouldNotStart("no sound device"))
                case 1: feed(.sessionStartedPlaying(SessionPlanner.plan(CycleTimeline.hips)))
                default: feed(.sessionStarted)
                }
            case .endSession(let completed):
                guard sessionRunning else { return }
                feed(.sessionEnded(completed ? .completed : .stopped(atStep: 0), played: .seconds(20)))
            case .chimeFailed:
                feed(.reminderHadNoSound("the sound server is not running"))
            case .sleep(let minutes):
                feed(.aboutToSleep)
                elapsed += .seconds(minutes * 60)
                feed(.slept)
            case .clockJump(let minutes):
                shift += .seconds(minutes * 60)
                feed(.wallClockChanged)
            case .notification(let answer):
                feed(.notificationAnswered(answer))
            case .reconfigure(let leadIn):
                feed(.reconfigured(Self.settings(leadIn: leadIn)))
            case .restart(let gap):
                // The daemon stops a session at shutdown (recorded), and a start being prepared dies with it.
                if sessionRunning { feed(.sessionEnded(.stopped(atStep: 0), played: .seconds(5))) }
                let snapshot = cycle.snapshot(now: now, unixTime: unixTime)
                pendingStart = nil
                elapsed += .seconds(gap * 60)
                awake += .seconds(gap * 60)
                desktop = DesktopState()
                cycle = BreakCycle(settings: cycle.settings, now: now)
                feed(.restore(snapshot, unixTime: unixTime))
            }
        }

        /// Feeds one input, carries out what the owner must at once, and checks every invariant on the effects.
        mutating func feed(_ input: BreakCycle.Input) {
            let startAnswer: Bool
            switch input {
            case .sessionStarted, .sessionStartedPlaying, .sessionCouldNotStart: startAnswer = true
            default: startAnswer = false
            }
            let wasPending = pendingStart
            let effects = cycle.handle(input, now: now)
            let context = "after \(input); log: \(log.suffix(12))"
            var replies = 0
            var startAsked = false
            var stopAsked = false
            for effect in effects {
                switch effect {
                case .startSession:
                    #expect(pendingStart == nil && !sessionRunning, "two sessions \(context)")
                    startAsked = true
                case .cancelSessionStart(let reply):
                    #expect(pendingStart != nil, "nothing to cancel \(context)")
                    #expect((reply != nil) == (pendingStart == true), "the start's answer \(context)")
                    pendingStart = nil
                case .discardSession:
                    #expect(startAnswer && wasPending == nil, "discarded a wanted session \(context)")
                case .chime, .notify:
                    #expect(!desktop.locked, "a reminder while locked \(context)")
                    #expect(cycle.deferral == nil, "a reminder while deferred \(context)")
                    #expect(cycle.timer.state != .paused, "a reminder while paused \(context)")
                case .stopSession, .stopSessionForSleep:
                    stopAsked = true
                case .record(let record):
                    check(record, context)
                case .reply:
                    replies += 1
                default:
                    break
                }
            }
            // Every command is answered once: now, or (a session asked for) when the start is answered.
            switch input {
            case .command:
                #expect(replies == 1 || (replies == 0 && startAsked), "\(replies) replies \(context)")
            case .notificationAnswered:
                #expect(replies <= 1, "\(replies) replies \(context)")
            case .sessionStarted, .sessionStartedPlaying, .sessionCouldNotStart:
                #expect(replies == (wasPending == true ? 1 : 0), "\(replies) replies \(context)")
            default:
                #expect(replies == 0, "a reply to no command \(context)")
            }
            if startAsked {
                let byCommand: Bool
                switch input {
                case .command, .notificationAnswered: byCommand = replies == 0
                default: byCommand = false
                }
                pendingStart = byCommand
            }
            if startAnswer, wasPending != nil {
                pendingStart = nil
                if case .sessionCouldNotStart = input {} else { sessionRunning = true }
            }
            #expect(open == (cycle.openBreak != nil), "the records and the cycle disagree on the break \(context)")
            // The owner's part: a session asked to stop ends.
            if stopAsked, sessionRunning {
                feed(.sessionEnded(.stopped(atStep: 0), played: .seconds(10)))
            }
        }

        /// Every break that comes due is `due` once and ends in exactly one terminal record.
        mutating func check(_ record: BreakCycle.Record, _ context: String) {
            switch record {
            case .due:
                #expect(!open, "a second break while one is open \(context)")
                open = true
            case .snoozed:
                #expect(open, "snoozed no break \(context)")
            case .started:
                sessionIsTheBreak = open
            case .completed, .stopped:
                #expect(sessionRunning, "a session ended that was not running \(context)")
                sessionRunning = false
                if sessionIsTheBreak { open = false }
                sessionIsTheBreak = false
            case .skipped, .missed, .failed:
                #expect(open, "ended no break: \(record) \(context)")
                open = false
            }
        }

        /// Ends whatever runs and stays away past the natural break: a break still open must end then.
        mutating func finish() {
            if pendingStart != nil { feed(.sessionCouldNotStart("no sound device")) }
            if sessionRunning { feed(.sessionEnded(.completed, played: .seconds(20))) }
            if cycle.timer.state == .paused { feed(.command(.resume)) }
            desktop = DesktopState(locked: true)
            feed(.desktop(desktop))
            perform(.wait(minutes: 10))
            if sessionRunning { feed(.sessionEnded(.completed, played: .seconds(20))) }
            #expect(!open && cycle.openBreak == nil, "a break never ended; log: \(log.suffix(12))")
        }
    }

    @Test func randomDaysKeepTheInvariants() async {
        await propertyCheck(count: 300, input: Gen.bool, Gen.int(in: 0...4095).array(of: 1...80)) { leadIn, picks in
            var owner = Owner(leadIn: leadIn)
            for pick in picks { owner.perform(Action(pick)) }
            owner.finish()
        }
    }
}
