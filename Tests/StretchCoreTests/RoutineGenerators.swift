import PropertyBased
import StretchCore

/// Random routines within the limits a routine file may set, for property tests of the planner.
enum RoutineGen {
    static let holdPart = zip(Gen.int(in: 1000...120_000), Gen.int(in: 0...3)).map { milliseconds, breaths in
        HoldPart(name: nil, length: breaths == 0 ? .breaths(milliseconds % 8 + 1) : .time(.milliseconds(milliseconds)))
    }

    static let step = zip(
        Gen.bool, Gen.int(in: 1...20), Gen.int(in: 1...16), Gen.bool, Gen.int(in: 0...2), holdPart.array(of: 1...3)
    ).map { isHold, reps, halfSeconds, returnBeat, sides, parts in
        Step(
            name: "step", sides: sides == 0 ? .none : .both(first: sides == 1 ? .right : .left),
            exercise: isHold
                ? .hold(parts)
                : .reps(Reps(count: reps, tempo: .milliseconds(500 * halfSeconds), returnBeat: returnBeat)))
    }

    static let routine = zip(
        step.array(of: 1...6), Gen.int(in: 0...5), Gen.int(in: 0...20), Gen.int(in: 0...30), Gen.int(in: 0...10),
        Gen.int(in: 2...10)
    ).map { steps, countdown, switchTime, transition, partTime, breath in
        Routine(
            id: "random", name: "Random",
            timing: RoutineTiming(
                countdown: countdown, switchTime: .seconds(switchTime), transitionTime: .seconds(transition),
                partTime: .seconds(partTime), breath: .seconds(breath)),
            steps: steps)
    }
}
