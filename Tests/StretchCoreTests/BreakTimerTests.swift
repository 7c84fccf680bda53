import StretchCore
import Testing

/// Drives a `BreakTimer` the way the daemon does, on an explicit timeline: it lets time pass only up to each
/// wake-up the timer asks for. Suspends and wall clock changes are applied by the test.
struct Timeline {
    var timer: BreakTimer
    /// `CLOCK_BOOTTIME` and `CLOCK_MONOTONIC` since the start.
    var elapsed = Duration.zero
    var awake = Duration.zero
    /// How far the wall clock was moved (DST, a clock change).
    var wallShift = Duration.zero
    let origin: CivilTime
    /// How long each break's session lasts when a break is taken.
    var sessionLength = Duration.seconds(6 * 60)
    /// Reminders, by local time.
    private(set) var reminders: [CivilTime] = []
    private(set) var events: [(at: CivilTime, event: BreakTimer.Event)] = []

    init(_ schedule: WorkSchedule = .standard, settings: BreakTimer.Settings = .init(), start: CivilTime) {
        origin = start
        timer = BreakTimer(schedule: schedule, settings: settings, now: Moment(awake: .zero, elapsed: .zero, local: start))
    }

    var now: Moment { Moment(awake: awake, elapsed: elapsed, local: origin.adding(elapsed + wallShift)) }

    /// Lets time pass until the wall clock shows `end`, taking every break that comes due (a session of
    /// `sessionLength`) unless `takeBreaks` is false.
    mutating func run(until end: CivilTime, takeBreaks: Bool = true) {
        while now.local < end {
            let wake = timer.nextWake()
            let steps = [wake.after, wake.at.map { now.local.duration(to: $0) }, now.local.duration(to: end)]
            let step = steps.compactMap { $0 }.filter { $0 > .zero }.min() ?? now.local.duration(to: end)
            pass(step)
            record(timer.process(now: now))
            if timer.state == .due, takeBreaks {
                record(timer.startSession(now: now))
                pass(sessionLength)
                record(timer.finishSession(now: now))
            }
        }
    }

    private mutating func pass(_ duration: Duration) {
        elapsed += duration
        awake += duration
    }

    mutating func record(_ new: [BreakTimer.Event]) {
        for event in new {
            events.append((now.local, event))
            if event == .breakDue { reminders.append(now.local) }
        }
    }

    /// The machine sleeps: real time passes, awake time does not.
    mutating func suspend(for duration: Duration) {
        elapsed += duration
        record(timer.process(now: now))
    }

    /// The wall clock moves without real time passing.
    mutating func moveWallClock(by shift: Duration) {
        wallShift += shift
        record(timer.process(now: now))
    }

    mutating func snooze() { record(timer.snooze(now: now)) }
    mutating func skip() { record(timer.skip(now: now)) }
}

/// Monday 2026-11-23 at the given time, then following days by offset.
func monday(_ hour: Int, _ minute: Int = 0, plusDays days: Int = 0) -> CivilTime {
    CivilTime(year: 2026, month: 11, day: 23, hour: hour, minute: minute).adding(.seconds(86_400 * days))
}

@Suite struct BreakTimerTests {
    @Test func breaksComeAfterFiftyMinutesOfWork() {
        var timeline = Timeline(start: monday(9))
        timeline.run(until: monday(12, 30))
        // Each session takes 6 minutes, and the next interval starts when it ends.
        #expect(timeline.reminders == [monday(9, 50), monday(10, 46), monday(11, 42)])
    }

    @Test func lunchCountsAsABreak() {
        var timeline = Timeline(start: monday(9))
        timeline.run(until: monday(17, 30))
        #expect(timeline.reminders == [
            monday(9, 50), monday(10, 46), monday(11, 42),
            monday(14, 20), monday(15, 16), monday(16, 12), monday(17, 8),
        ])
    }

    @Test func aShortGapBetweenWindowsPausesTheInterval() {
        let windows = ["09:00-10:00", "10:02-12:00"].compactMap(WorkWindow.init(parsing:))
        var timeline = Timeline(WorkSchedule(days: [.monday], windows: windows)!, start: monday(9))
        timeline.run(until: monday(11))
        // 09:56-10:00 is 4 minutes of work; the 2 minute gap is not a break, so 46 more from 10:02.
        #expect(timeline.reminders == [monday(9, 50), monday(10, 48)])
    }

    @Test func aWholeWorkWeekGivesSevenBreaksAWorkDayAndNoneAtTheWeekend() {
        let sunday = monday(0, plusDays: -1)
        var timeline = Timeline(start: sunday)
        timeline.run(until: monday(0, plusDays: 6))
        #expect(timeline.reminders.count == 35)
        for day in 0..<5 {
            let times = timeline.reminders.filter { $0.day == monday(0, plusDays: day).day }
            #expect(times == [(9, 50), (10, 46), (11, 42), (14, 20), (15, 16), (16, 12), (17, 8)].map {
                monday($0.0, $0.1, plusDays: day)
            })
        }
        #expect(timeline.events.filter { $0.event == .workStarted }.count == 10)
        #expect(timeline.events.filter { $0.event == .workEnded }.count == 10)
    }

    @Test func daylightSavingChangeOvernightChangesNothing() {
        var timeline = Timeline(start: monday(0, plusDays: -1))
        timeline.run(until: monday(2, plusDays: -1))
        timeline.moveWallClock(by: .seconds(3600))  // spring forward: 02:00 becomes 03:00
        timeline.run(until: monday(12, 30))
        #expect(timeline.reminders == [monday(9, 50), monday(10, 46), monday(11, 42)])
    }

    @Test func wallClockJumpDuringWorkKeepsTheWorkTime() {
        var timeline = Timeline(start: monday(9))
        timeline.run(until: monday(10))  // break at 09:50, back at 09:56: 4 minutes worked
        timeline.moveWallClock(by: .seconds(3600))
        #expect(timeline.events.last?.event == .clockJumped(by: .seconds(3600)))
        #expect(timeline.timer.worked == .seconds(4 * 60))
        timeline.run(until: monday(12))
        #expect(timeline.reminders == [monday(9, 50), monday(11, 46)])
    }

    @Test func wallClockGoingBackDuringWorkKeepsTheWorkTime() {
        var timeline = Timeline(start: monday(9))
        timeline.run(until: monday(10))
        timeline.moveWallClock(by: .seconds(-3600))  // fall back: 10:00 becomes 09:00
        #expect(timeline.timer.worked == .seconds(4 * 60))
        timeline.run(until: monday(11))
        #expect(timeline.reminders == [monday(9, 50), monday(9, 46), monday(10, 42)])
    }

    @Test func aSuspendAsLongAsABreakCountsAsOne() {
        var timeline = Timeline(start: monday(9))
        timeline.run(until: monday(9, 30))
        timeline.suspend(for: .seconds(20 * 60))
        #expect(timeline.events.last?.event == .naturalBreak(away: .seconds(20 * 60)))
        #expect(timeline.timer.worked == .zero)
        timeline.run(until: monday(11))
        #expect(timeline.reminders == [monday(10, 40)])
    }

    @Test func timeAsleepIsNotWorkTime() {
        var timeline = Timeline(start: monday(9))
        timeline.run(until: monday(9, 30))
        timeline.suspend(for: .seconds(3 * 60))  // shorter than a break: not one, and not work either
        #expect(!timeline.events.contains { if case .naturalBreak = $0.event { true } else { false } })
        timeline.run(until: monday(10))
        #expect(timeline.reminders == [monday(9, 53)])
    }

    @Test func snoozeRemindsAgainAfterTheSnoozeTime() {
        var timeline = Timeline(start: monday(9))
        timeline.run(until: monday(9, 50), takeBreaks: false)
        #expect(timeline.timer.state == .due)
        timeline.snooze()
        #expect(timeline.timer.state == .working && timeline.timer.snoozed)
        timeline.run(until: monday(10), takeBreaks: false)
        #expect(timeline.reminders == [monday(9, 50), monday(10)])
    }

    @Test func skipRestartsTheInterval() {
        var timeline = Timeline(start: monday(9))
        timeline.run(until: monday(9, 50), takeBreaks: false)
        timeline.skip()
        timeline.run(until: monday(10, 45))
        #expect(timeline.reminders == [monday(9, 50), monday(10, 40)])
    }

    @Test func nextBreakPredictsTheReminderAcrossLunch() {
        var timeline = Timeline(start: monday(9))
        timeline.run(until: monday(12))
        let predicted = timeline.timer.nextBreak()
        timeline.run(until: monday(15))
        #expect(predicted == monday(14, 20))
        #expect(timeline.reminders.contains(monday(14, 20)))
    }

    @Test func nextBreakFromTheWeekendIsMondayMorning() {
        let timer = BreakTimer(
            schedule: .standard, now: Moment(awake: .zero, elapsed: .zero, local: monday(10, plusDays: -2)))
        #expect(timer.state == .offHours)
        #expect(timer.nextBreak() == monday(9, 50))
        #expect(timer.nextWake() == BreakTimer.Wake(after: nil, at: monday(9)))
    }

    @Test func workedIsAnsweredForTheTimeAskedWithoutChangingTheTimer() {
        let start = Moment(awake: .zero, elapsed: .zero, local: monday(9))
        let timer = BreakTimer(schedule: .standard, now: start)
        let tenPast = Moment(awake: .seconds(600), elapsed: .seconds(600), local: monday(9, 10))
        #expect(timer.worked(at: tenPast) == .seconds(600))
        #expect(timer.worked == .zero, "asking changes nothing")
        #expect(timer.advanced(to: tenPast).remaining == .seconds(40 * 60))
        // Twenty minutes asleep after 09:10: a break.
        let afterSuspend = Moment(awake: .seconds(600), elapsed: .seconds(1800), local: monday(9, 30))
        #expect(timer.advanced(to: tenPast).worked(at: afterSuspend) == .zero)
        // Off hours add nothing: 12:30 to 13:30 is lunch.
        let atLunch = BreakTimer(schedule: .standard, now: Moment(awake: .zero, elapsed: .zero, local: monday(12, 40)))
        let later = Moment(awake: .seconds(2400), elapsed: .seconds(2400), local: monday(13, 20))
        #expect(atLunch.worked(at: later) == .zero)
    }

    /// Just before a DST fall-back, a break 58 s of work away is 58 s away, though the wall clock will show its
    /// local time only an hour later.
    @Test func theForecastCountsWorkTimeNotTheWallClockAcrossAFallBack() throws {
        let everyDay = try #require(WorkSchedule(days: Set(Weekday.allCases), windows: [WorkWindow(start: 0, end: 24 * 60)]))
        let sunday = CivilTime(year: 2026, month: 10, day: 25, hour: 2, minute: 55)
        var timer = BreakTimer(
            schedule: everyDay, settings: .init(interval: .seconds(300)),
            now: Moment(awake: .zero, elapsed: .zero, local: sunday))
        let now = Moment(awake: .seconds(242), elapsed: .seconds(242), local: sunday.adding(.seconds(242)))
        _ = timer.process(now: now)
        let forecast = try #require(timer.forecast())
        #expect(forecast == BreakTimer.Forecast(at: CivilTime(year: 2026, month: 10, day: 25, hour: 3), from: nil, work: .seconds(58)))
        // What the wall clock says (03:00 comes after 02:00-03:00 repeats) does not enter into it.
        let wallClock = { (local: CivilTime) in now.local.duration(to: local) + .seconds(3600) }
        #expect(forecast.timeUntil(wallClock) == .seconds(58))
    }

    @Test func theForecastFromOffHoursStartsAtTheNextWindow() throws {
        let timer = BreakTimer(
            schedule: .standard, now: Moment(awake: .zero, elapsed: .zero, local: monday(10, plusDays: -2)))
        let forecast = try #require(timer.forecast())
        #expect(forecast == BreakTimer.Forecast(at: monday(9, 50), from: monday(9), work: .seconds(50 * 60)))
        #expect(forecast.timeUntil { _ in .seconds(1000) } == .seconds(1000 + 50 * 60))
    }
}
