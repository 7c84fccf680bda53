import StretchConfig
import StretchCore
import Testing

/// The shipped routines keep their stretches, order and timing.
@Suite struct BuiltInRoutineTests {
    let library = RoutineLibrary()

    @Test func hipsForBackHasTheFourPhysicalTherapyStretchesInOrder() throws {
        let routine = try #require(library.routine(id: "hips-for-back"))
        #expect(routine.steps.map(\.name) == [
            "Hip 90/90 stretch", "Active hamstring stretch", "Adductor rocks", "Quadriceps couch stretch",
        ])
        #expect(routine.timing == RoutineTiming(
            countdown: 3, switchTime: .seconds(10), transitionTime: .seconds(15), partTime: .seconds(5)))
        // Every stretch on both sides, right side first as the article describes.
        #expect(routine.steps.allSatisfy { $0.sides == .both(first: .right) })
        #expect(routine.steps[0].exercise == .hold([
            HoldPart(name: "lean forward", length: .time(.seconds(60)), say: "Lean forward over the front leg, spine long."),
            HoldPart(name: "rotate", length: .time(.seconds(60)), say: "Now rotate toward the back leg."),
        ]))
        // Dynamic moves: 12 reps at 4 s, with the softer return beat.
        #expect(routine.steps[1].exercise == .reps(Reps(count: 12, tempo: .seconds(4), returnBeat: true)))
        #expect(routine.steps[2].exercise == .reps(Reps(count: 12, tempo: .seconds(4), returnBeat: true)))
        #expect(routine.steps[3].exercise == .hold([HoldPart(length: .time(.seconds(60)))]))
        #expect(routine.steps.allSatisfy { !$0.instructions.isEmpty })
    }

    @Test func deskBasicsHoldsEachStretchForFiveBreaths() throws {
        let routine = try #require(library.routine(id: "desk-basics"))
        #expect(routine.steps.map(\.name) == [
            "Kneeling hip flexor stretch", "Crossover hamstring stretch", "Standing quad stretch",
            "Seated twist for hips and lower back",
        ])
        #expect(routine.timing.breath == .seconds(6))
        for step in routine.steps {
            #expect(step.sides == .both(first: .right))
            #expect(step.exercise == .hold([HoldPart(length: .breaths(5))]))
        }
        let plan = SessionPlanner.plan(routine)
        let holds = plan.parts.map { $0.end - $0.start }
        #expect(holds == Array(repeating: .seconds(30), count: 8))
    }

    @Test func builtInRoutinesHaveDistinctIdsAndNames() {
        let routines = RoutineLibrary.builtIn
        #expect(Set(routines.map(\.id)).count == routines.count)
        #expect(Set(routines.map(\.name)).count == routines.count)
    }
}
