/// The routines stretchd ships, written in the routine file format so they are checked like any user's file.
///
/// The instructions are the project's own words.
enum BuiltInRoutines {
    static let files: [(id: String, text: String)] = [("hips-for-back", hipsForBack), ("desk-basics", deskBasics)]

    static let hipsForBack = #"""
        name = "Hips for a happier back"
        description = """
        Four floor stretches from a physical therapist for the hips, hamstrings, inner thighs and quads, \
        which long sitting tightens and which then pull on the lower back. Go only as far as is comfortable."""
        countdown = 3
        switch_time = "10s"
        transition_time = "15s"
        part_time = "5s"

        [[step]]
        name = "Hip 90/90 stretch"
        kind = "hold"
        sides = "both"
        first_side = "right"
        instructions = """
        Sit on the floor. The front leg is bent at a right angle in front of you, outer shin and thigh \
        resting on the floor; the back leg is out to the side, also bent at a right angle, inner shin and \
        thigh down. Lean forward: keep the spine long and tip the chest toward the front shin without \
        rounding your back, until the glute of the front leg stretches. Rotate: turn your torso gently toward \
        the back leg and let that hip sink toward the floor. Breathe slowly in both. Then swap which leg is \
        in front."""
        parts = [
          { name = "lean forward", hold = "1m" },
          { name = "rotate", hold = "1m" },
        ]

        [[step]]
        name = "Active hamstring stretch"
        kind = "reps"
        sides = "both"
        first_side = "right"
        reps = 12
        tempo = "4s"
        return_beat = true
        instructions = """
        Lie on your back, lift one leg and hold it behind the knee with straight arms. On each beat, \
        straighten the knee while pulling the toes toward your face (or just point them at the ceiling if \
        that is too strong); on the soft beat, bend it again. Keep a slow, even rhythm and do not hold at the \
        top: this flosses the nerve along the back of the leg rather than stretching it."""

        [[step]]
        name = "Adductor rocks"
        kind = "reps"
        sides = "both"
        first_side = "right"
        reps = 12
        tempo = "4s"
        return_beat = true
        instructions = """
        Start on hands and knees and stretch one leg straight out to the side. Keep the natural arch in your \
        lower back, tailbone not tucked. On each beat, push your hips slowly back toward your heels; on the \
        soft beat, come forward again. Your back stays still and level, as if a glass of water stood on it."""

        [[step]]
        name = "Quadriceps couch stretch"
        kind = "hold"
        sides = "both"
        first_side = "right"
        hold = "1m"
        instructions = """
        Put a pillow on the floor in front of a couch. Kneel with the back knee on the pillow close to the \
        couch and rest that foot up against the couch's edge behind you; the other foot steps forward into \
        a lunge for support. Tuck the tailbone a little and squeeze your glutes. Breathe and hold; this one \
        is strong, so ease off whenever you need to."""
        """#

    static let deskBasics = #"""
        name = "Desk basics"
        description = """
        Four beginner-friendly stretches for hips, hamstrings, quads and the lower back. All you need is a \
        mat or another flat, comfortable surface. Each is held for five slow breaths on each side."""
        countdown = 3
        switch_time = "10s"
        transition_time = "15s"
        breath = "6s"

        [[step]]
        name = "Kneeling hip flexor stretch"
        kind = "hold"
        sides = "both"
        hold = "5 breaths"
        instructions = """
        Kneel in a lunge with one knee on the floor behind you. Keep the front knee above the ankle, not in \
        front of it, and the chest up, then ease your hips slowly forward."""

        [[step]]
        name = "Crossover hamstring stretch"
        kind = "hold"
        sides = "both"
        hold = "5 breaths"
        instructions = """
        Stand and cross one leg over the other. Fold forward and let your hands reach toward the floor with \
        the knees softly bent, never locked. Breathe out the tension in the backs of your legs and your back."""

        [[step]]
        name = "Standing quad stretch"
        kind = "hold"
        sides = "both"
        hold = "5 breaths"
        instructions = """
        Stand on one leg and hold on to something steady: a counter, a bench, a pole or a friend. Take the \
        other foot in your hand and draw it gently toward your buttock until the front of the thigh stretches."""

        [[step]]
        name = "Seated twist for hips and lower back"
        kind = "hold"
        sides = "both"
        hold = "5 breaths"
        instructions = """
        Sit cross-legged, then lift one leg over the other and set that foot flat on the floor. Hug the knee \
        to your chest and turn your torso toward it, letting your neck and shoulders follow the turn."""
        """#
}
