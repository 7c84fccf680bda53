/// What `stretchctl plan --json` prints, as the end-to-end tests read it: every cue, tones and speech alike.
struct PlanDocument: Decodable {
    struct Cue: Decodable, Equatable {
        var at: Double
        var cue: String
        var step: String
        var side: String?
        var part: String?
        var rep: Int?
        var of: Int?
        /// Speech cues only: what is said, for how long, and which prompt it is.
        var text: String?
        var duration: Double?
        var prompt: String?
    }

    var routine: String
    var duration: Double
    var cues: [Cue]
}
