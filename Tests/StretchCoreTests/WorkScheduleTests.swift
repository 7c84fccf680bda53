import StretchCore
import Testing

@Suite struct WorkScheduleTests {
    @Test func civilDatesRoundTripAndKnowTheirWeekday() {
        let saturday = CivilTime(year: 2026, month: 11, day: 21, hour: 7, minute: 44)
        #expect(saturday.weekday == .saturday)
        #expect(saturday.date == (2026, 11, 21))
        #expect(CivilTime(year: 2024, month: 2, day: 29).adding(.seconds(86_400)).date == (2024, 3, 1))
        #expect(CivilTime(year: 1970, month: 1, day: 1).weekday == .thursday)
        #expect(saturday.description == "2026-11-21 07:44")
    }

    @Test func readsWindowsAsWritten() {
        #expect(WorkWindow(parsing: "09:00-12:30") == WorkWindow(start: 540, end: 750))
        #expect(WorkWindow(parsing: "22:00-24:00") == WorkWindow(start: 1320, end: 1440))
        for bad in ["9-12", "12:30-09:00", "09:00-09:00", "25:00-26:00", "09:60-10:00", "09:00", "a-b", "09:00-24:01"] {
            #expect(WorkWindow(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func rejectsOverlappingWindows() {
        let windows = ["09:00-12:30", "12:00-17:00"].compactMap(WorkWindow.init(parsing:))
        #expect(WorkSchedule(days: [.monday], windows: windows) == nil)
    }

    @Test func knowsWhenWorkIsOn() {
        let schedule = WorkSchedule.standard
        let monday = { (hour: Int, minute: Int) in CivilTime(year: 2026, month: 11, day: 23, hour: hour, minute: minute) }
        #expect(schedule.isWorking(at: monday(9, 0)))
        #expect(!schedule.isWorking(at: monday(12, 30)))
        #expect(!schedule.isWorking(at: monday(8, 59)))
        #expect(schedule.isWorking(at: monday(17, 29)))
        #expect(!schedule.isWorking(at: CivilTime(year: 2026, month: 11, day: 21, hour: 10)))
        #expect(schedule.window(containing: monday(10, 0))?.end == monday(12, 30))
    }

    @Test func nextWindowSkipsTheWeekend() {
        let fridayEvening = CivilTime(year: 2026, month: 11, day: 27, hour: 17, minute: 30)
        #expect(WorkSchedule.standard.nextWindowStart(after: fridayEvening)
            == CivilTime(year: 2026, month: 11, day: 30, hour: 9))
        let noDays = WorkSchedule(days: [], windows: WorkSchedule.standard.windows)!
        #expect(noDays.nextWindowStart(after: fridayEvening) == nil)
    }

    @Test func countsWorkTimeInsideWindowsOnly() {
        let schedule = WorkSchedule.standard
        let from = CivilTime(year: 2026, month: 11, day: 27, hour: 12)  // Friday
        let to = CivilTime(year: 2026, month: 11, day: 30, hour: 10)  // Monday
        // Friday 12:00-12:30 and 13:30-17:30, Monday 09:00-10:00.
        #expect(schedule.workTime(from: from, to: to) == .seconds((30 + 240 + 60) * 60))
        #expect(schedule.workTime(from: to, to: from) == .zero)
    }
}
