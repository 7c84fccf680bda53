import PropertyBased
import StretchCore
import Testing

@Suite struct SessionPlannerTests {
    @Test func offsetsNeverDecrease() async {
        await propertyCheck(input: RoutineGen.routine) { routine in
            let plan = SessionPlanner.plan(routine)
            for (earlier, later) in zip(plan.cues, plan.cues.dropFirst()) {
                #expect(earlier.at <= later.at, "\(earlier) comes after \(later)")
            }
        }
    }

    @Test func durationEndsAtSessionEnd() async {
        await propertyCheck(input: RoutineGen.routine) { routine in
            let plan = SessionPlanner.plan(routine)
            #expect(plan.cues.last?.cue == .sessionEnd)
            #expect(plan.cues.last?.at == plan.duration)
            #expect(plan.cues.filter { $0.cue == .sessionEnd }.count == 1)
        }
    }

    @Test func bothSidesGetTheSameWork() async {
        await propertyCheck(input: RoutineGen.routine) { routine in
            let plan = SessionPlanner.plan(routine)
            for (index, step) in routine.steps.enumerated() {
                guard case .both(let first) = step.sides else { continue }
                let firstSide = workShape(plan, step: index, side: first)
                let secondSide = workShape(plan, step: index, side: first.other)
                #expect(!firstSide.isEmpty)
                #expect(firstSide == secondSide)
            }
        }
    }

    @Test func thePlanNamesEachCuesSoundTheLastRepetitionOfASetItsOwn() async {
        await propertyCheck(input: RoutineGen.routine) { routine in
            let plan = SessionPlanner.plan(routine)
            for cue in plan.cues {
                let last = cue.cue == .repBeat && cue.rep == cue.of
                #expect(cue.sound == (last ? .lastRep : cue.cue.sound), "\(cue)")
            }
            let sets = plan.parts.filter { part in plan.cues.contains { $0.cue == .repBeat && $0.step == part.step } }
            #expect(plan.cues.filter { $0.sound == .lastRep }.count == sets.count)
        }
    }

    /// The cues of one side of a step, relative to the start of that side's first timed part.
    private func workShape(_ plan: SessionPlan, step: Int, side: Side) -> [String] {
        let cues = plan.cues.filter { $0.step == step && $0.side == side && $0.cue != .switchSide }
        guard let start = plan.parts.first(where: { $0.step == step && $0.side == side })?.start else { return [] }
        return cues.map { "\($0.cue.rawValue)@\($0.at - start) part \($0.part ?? -1) rep \($0.rep ?? 0)/\($0.of ?? 0)" }
    }

    @Test func everyTimedPartIsPrecededByItsCountdown() async {
        await propertyCheck(input: RoutineGen.routine) { routine in
            let plan = SessionPlanner.plan(routine)
            let beats = routine.timing.countdown
            for part in plan.parts {
                let countdown = plan.cues.filter {
                    $0.cue == .countdown && $0.step == part.step && $0.side == part.side && $0.part == part.part
                }
                #expect(countdown.map(\.at) == (0..<beats).map { part.start - .seconds(beats - $0) })
                if beats > 0 { #expect(countdown.last?.at == part.start - .seconds(1)) }
            }
            #expect(plan.cues.filter { $0.cue == .countdown }.count == beats * plan.parts.count)
        }
    }

    @Test func halfwayIsExactlyMidHold() async {
        await propertyCheck(input: RoutineGen.routine) { routine in
            let plan = SessionPlanner.plan(routine)
            for part in plan.parts where part.part != nil {
                let ofPart = plan.cues.filter { $0.step == part.step && $0.side == part.side && $0.part == part.part }
                let start = ofPart.first { $0.cue == .holdStart }?.at
                let halfway = ofPart.first { $0.cue == .halfway }?.at
                let end = ofPart.first { $0.cue == .holdEnd }?.at
                #expect(start == part.start && end == part.end)
                #expect(halfway.map { ($0 - part.start) * 2 } == part.end - part.start)
            }
        }
    }

    @Test func repBeatsAreEvenlySpacedAtTheTempo() async {
        await propertyCheck(input: RoutineGen.routine) { routine in
            let plan = SessionPlanner.plan(routine)
            for part in plan.parts where part.part == nil {
                guard case .reps(let reps) = routine.steps[part.step].exercise else {
                    Issue.record("a part without an index must be reps")
                    continue
                }
                let ofSet = plan.cues.filter { $0.step == part.step && $0.side == part.side }
                let beats = ofSet.filter { $0.cue == .repBeat }
                #expect(beats.map(\.at) == (0..<reps.count).map { part.start + reps.tempo * $0 })
                #expect(beats.map(\.rep) == (1...reps.count).map { $0 })
                #expect(beats.allSatisfy { $0.of == reps.count })
                let returns = ofSet.filter { $0.cue == .repReturn }
                #expect(returns.map(\.at) == (reps.returnBeat ? beats.map { $0.at + reps.tempo / 2 } : []))
                #expect(part.end - part.start == reps.tempo * reps.count)
            }
        }
    }

    @Test func movementTimeFollowsSwitchAndStepEndCues() async {
        await propertyCheck(input: RoutineGen.routine) { routine in
            let plan = SessionPlanner.plan(routine)
            let timing = routine.timing
            for cue in plan.cues where cue.cue == .switchSide || cue.cue == .stepEnd {
                let gap = cue.cue == .switchSide ? timing.switchTime : timing.transitionTime
                guard let previous = plan.parts.lastIndex(where: { $0.end < cue.at }) else {
                    Issue.record("\(cue.cue) before any timed part")
                    continue
                }
                #expect(plan.parts[previous].end + SessionPlanner.cueGap == cue.at)
                #expect(plan.parts[previous + 1].start == cue.at + gap + .seconds(timing.countdown))
            }
        }
    }

    @Test func progressFollowsTheTimeline() {
        let routine = Routine(
            id: "t", name: "T", timing: RoutineTiming(countdown: 3, switchTime: .seconds(10)),
            steps: [Step(name: "Hold", sides: .both(first: .left), exercise: .hold([HoldPart(length: .time(.seconds(20)))]))])
        let plan = SessionPlanner.plan(routine)
        #expect(plan.progress(at: .seconds(1)) == SessionProgress(
            step: 0, side: .left, part: nil, phase: .gettingReady, phaseRemaining: .seconds(2),
            sessionRemaining: plan.duration - .seconds(1)))
        #expect(plan.progress(at: .seconds(13)).phase == .working)
        #expect(plan.progress(at: .seconds(13)).phaseRemaining == .seconds(10))
        #expect(plan.progress(at: .seconds(30)).side == .right)
        #expect(plan.progress(at: plan.duration).phase == .finished)
    }
}
