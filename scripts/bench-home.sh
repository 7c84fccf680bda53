# Sourced by the measuring scripts: `bench_home ROOT` makes ROOT/home (a config with all-day work hours, the next
# break an hour away, the `null` sound device) and ROOT/run (mode 0700, for XDG_RUNTIME_DIR).
bench_home() {
    mkdir -p "$1/home/.config/stretchd" "$1/home/.local/state/stretchd" "$1/run"
    chmod 700 "$1/run"
    cat >"$1/home/.config/stretchd/config.toml" <<'TOML'
[schedule]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
hours = ["00:00-24:00"]
every = "1h"
[audio]
device = "null"
TOML
}
