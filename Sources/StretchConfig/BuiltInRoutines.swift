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
        say_closing = "That was all four stretches. Well done; get up slowly."

        [[step]]
        name = "Hip 90/90 stretch"
        kind = "hold"
        sides = "both"
        first_side = "right"
        say = "Hip ninety-ninety"
        setup = "Sit on the floor with both legs bent at right angles."
        say_right = "Right leg in front, left leg out to the side."
        say_left = "Left leg in front, right leg out to the side."
        instructions = """
        Sit on the floor. The front leg is bent at a right angle in front of you, outer shin and thigh \
        resting on the floor; the back leg is out to the side, also bent at a right angle, inner shin and \
        thigh down. Lean forward: keep the spine long and tip the chest toward the front shin without \
        rounding your back, until the glute of the front leg stretches. Rotate: turn your torso gently toward \
        the back leg and let that hip sink toward the floor. Breathe slowly in both. Then swap which leg is \
        in front."""
        parts = [
          { name = "lean forward", hold = "1m", say = "Lean forward over the front leg, spine long." },
          { name = "rotate", hold = "1m", say = "Now rotate toward the back leg." },
        ]

        [[step]]
        name = "Active hamstring stretch"
        kind = "reps"
        sides = "both"
        first_side = "right"
        setup = "On your back, hold one leg behind the knee. Straighten it on the beat, bend it on the soft beat."
        say_right = "Right leg up."
        say_left = "Left leg up."
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
        setup = "On hands and knees, one leg straight out to the side. Hips back on the beat, forward on the soft beat."
        say_right = "Right leg out."
        say_left = "Left leg out."
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
        setup = "Back knee on a pillow by the couch, that foot up against it, the other foot forward in a lunge."
        say_right = "Right knee back. Tuck the tailbone and squeeze your glutes."
        say_left = "Left knee back. Tuck the tailbone and squeeze your glutes."
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
        say_closing = "That was all four. Well done."

        [[step]]
        name = "Kneeling hip flexor stretch"
        kind = "hold"
        sides = "both"
        hold = "5 breaths"
        setup = "Kneel in a lunge, front knee over the ankle. Ease your hips forward, chest up. Five slow breaths."
        say_right = "Right knee down."
        say_left = "Left knee down."
        instructions = """
        Kneel in a lunge with one knee on the floor behind you. Keep the front knee above the ankle, not in \
        front of it, and the chest up, then ease your hips slowly forward."""

        [[step]]
        name = "Crossover hamstring stretch"
        kind = "hold"
        sides = "both"
        hold = "5 breaths"
        setup = "Stand, cross one leg over the other and fold forward, knees soft. Breathe out the tension."
        say_right = "Right leg crossed over."
        say_left = "Left leg crossed over."
        instructions = """
        Stand and cross one leg over the other. Fold forward and let your hands reach toward the floor with \
        the knees softly bent, never locked. Breathe out the tension in the backs of your legs and your back."""

        [[step]]
        name = "Standing quad stretch"
        kind = "hold"
        sides = "both"
        hold = "5 breaths"
        setup = "Stand on one leg and hold on to something steady. Draw the other foot gently toward your buttock."
        say_right = "Hold your right foot."
        say_left = "Now your left foot."
        instructions = """
        Stand on one leg and hold on to something steady: a counter, a bench, a pole or a friend. Take the \
        other foot in your hand and draw it gently toward your buttock until the front of the thigh stretches."""

        [[step]]
        name = "Seated twist for hips and lower back"
        kind = "hold"
        sides = "both"
        hold = "5 breaths"
        say = "Seated twist"
        setup = "Sit cross-legged, lift one leg over the other and plant that foot. Hug the knee and turn toward it."
        say_right = "Right knee up, turn to the right."
        say_left = "Left knee up, turn to the left."
        instructions = """
        Sit cross-legged, then lift one leg over the other and set that foot flat on the floor. Hug the knee \
        to your chest and turn your torso toward it, letting your neck and shoulders follow the turn."""
        """#
}
