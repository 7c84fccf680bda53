import Clocks
import InMemoryLogging
import Logging
import StretchCore
import StretchDaemon
import Testing

/// Local time that advances with a test clock from `origin`, with no suspend and no DST.
struct TestClockTime: TimeSource {
    let clock: TestClock<Duration>
    let origin: CivilTime

    func now() -> Moment {
        let elapsed = TestClock<Duration>.Instant().duration(to: clock.now)
        return Moment(awake: elapsed, elapsed: elapsed, local: origin.adding(elapsed))
    }

    func duration(from moment: Moment, until local: CivilTime) -> Duration {
        max(.zero, now().local.duration(to: local))
    }
}

/// Takes each break at once.
struct InstantBreaks: BreakRunner {
    func takeBreak(routine: Routine) async {}
}

@Suite struct BreakServiceTests {
    @Test func remindsAtEachBreakWithTheRoutinesInTurn() async throws {
        let clock = TestClock()
        let time = TestClockTime(clock: clock, origin: CivilTime(year: 2026, month: 11, day: 23, hour: 8, minute: 30))
        let log = InMemoryLogHandler()
        let routines = ["first", "second"].map {
            Routine(id: $0, name: $0, steps: [Step(name: "s", sides: .none, exercise: .hold([HoldPart(length: .time(.seconds(30)))]))])
        }
        let service = BreakService(
            schedule: .standard, settings: .init(), routines: routines, runner: InstantBreaks(), clock: clock, time: time,
            logger: Logger(label: "test", factory: { _ in log }))
        let running = Task { try await service.run() }

        var reminders: [(CivilTime, String)] = []
        var sleeps: [Duration] = []
        for await activity in service.activity {
            switch activity {
            case .sleeping(let duration):
                sleeps.append(duration)
                if reminders.count == 3 { running.cancel() } else { await clock.advance(by: duration) }
            case .reminded(let routine):
                reminders.append((time.now().local, routine))
            }
        }
        try await running.value
        try await clock.checkSuspension()

        let monday = { (hour: Int, minute: Int) in CivilTime(year: 2026, month: 11, day: 23, hour: hour, minute: minute) }
        #expect(reminders.map(\.0) == [monday(9, 50), monday(10, 40), monday(11, 30)])
        #expect(reminders.map(\.1) == ["first", "second", "first"])
        // Event-driven: one sleep to the start of work, then one per break; never a periodic tick.
        #expect(sleeps == [.seconds(30 * 60)] + Array(repeating: .seconds(50 * 60), count: 4))
        let started = try #require(log.entries.first)
        #expect(started.message == "started")
        #expect(started.metadata["next_break"] == "mon 2026-11-23 09:50")
    }
}
