import PropertyBased
import StretchCore
import Testing

@Suite struct ProgressLineTests {
    let hip = ProgressLine(
        done: 0.5, sessionRemaining: .seconds(580), step: "Hip 90/90 stretch", side: "right", part: "lean forward",
        phase: "now", phaseRemaining: .seconds(45))

    @Test func aWideTerminalShowsEverythingWithTheFullBar() {
        #expect(hip.text(width: 120)
            == "[############------------] 9:40 left  Hip 90/90 stretch (right, lean forward)  now 0:45")
    }

    @Test func eightyColumnsShrinkTheBarAndStayOffTheLastColumn() {
        let line = hip.text(width: 80)
        #expect(line == "[########--------] 9:40 left  Hip 90/90 stretch (right, lean forward)  now 0:45")
        #expect(line.count == 79)
    }

    @Test func fiftyColumnsKeepTheStretchItsSideAndPartAndTheTimer() {
        #expect(hip.text(width: 50) == "Hip 90/90 stretch (right, lean forward)  now 0:45")
    }

    @Test func narrowerTheFieldsGoLeastUsefulFirst() {
        #expect(hip.text(width: 62) == "9:40 left  Hip 90/90 stretch (right, lean forward)  now 0:45")
        #expect(hip.text(width: 40) == "Hip 90/90 stretch (right)  now 0:45")
        #expect(hip.text(width: 30) == "Hip 90/90… (right)  now 0:45")
        #expect(hip.text(width: 16) == "right now 0:45")
        #expect(hip.text(width: 8) == "right n")
    }

    @Test func pausedAndGettingReadyAreShown() {
        let plan = SessionPlanner.plan(Routine(
            id: "one", name: "One", timing: RoutineTiming(countdown: 3),
            steps: [Step(name: "Couch stretch", sides: .none, exercise: .hold([HoldPart(name: nil, length: .time(.seconds(60)))]))]))
        let start = plan.progress(at: .zero)
        #expect(ProgressLine(start, of: plan, paused: false).text(width: 80).hasSuffix("Couch stretch  get ready 0:03"))
        #expect(ProgressLine(start, of: plan, paused: true).text(width: 80).hasSuffix("Couch stretch  paused 0:03"))
        #expect(ProgressLine(start, of: plan, paused: false).text(width: 80).hasPrefix("[------------------------] "))
    }

    @Test func everyLineFitsItsWidth() async {
        let lines = zip(Gen.int(in: 1...200), Gen.int(in: 0...40), Gen.bool, Gen.bool, Gen.int(in: 0...4000))
        await propertyCheck(input: lines) { width, nameLength, hasSide, hasPart, seconds in
            let line = ProgressLine(
                done: Double(seconds) / 4000, sessionRemaining: .seconds(seconds),
                step: String(repeating: "é", count: nameLength), side: hasSide ? "left" : nil,
                part: hasPart ? "rotate" : nil, phase: "get ready", phaseRemaining: .seconds(seconds % 90))
            let text = line.text(width: width)
            #expect(text.count <= max(1, width - 1), "\(width): \(text)")
            #expect(!text.isEmpty)
            if width >= 40 { #expect(text.contains("get ready \(DurationText.clock(.seconds(seconds % 90)))")) }
        }
    }
}
