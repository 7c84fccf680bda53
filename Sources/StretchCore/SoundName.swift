/// The sounds stretchd plays: one for each kind of cue (two for `rep-beat`: the last repetition of a set has its
/// own), plus the break reminder. The plan names the sound of each cue (`PlannedCue.sound`); the audio layer only
/// looks it up, so a cue can later be given another kind of prompt without the audio layer deciding.
public enum SoundName: String, Sendable, Hashable, CaseIterable {
    case countdown
    case holdStart = "hold-start"
    case halfway
    case holdEnd = "hold-end"
    case repBeat = "rep-beat"
    /// The last repetition of a set, so you know it is the last without counting.
    case lastRep = "last-rep"
    case repReturn = "rep-return"
    case switchSide = "switch-side"
    case stepEnd = "step-end"
    case sessionEnd = "session-end"
    case reminder
}
