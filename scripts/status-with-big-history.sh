#!/bin/sh
# Measures how long `stretchctl status` and `stretchctl history` take when the history file is large.
#
#   scripts/status-with-big-history.sh [BIN_DIR] [MEGABYTES]     (defaults: .build/release 200)
#
# Writes a history of MEGABYTES (records spread evenly over the last 3000 days up to now, about 85 bytes each) into
# a fresh home, starts stretchd there (all-day work hours, the next break an hour away, the `null` sound device),
# then times the first `status` after the socket appears, ten more, `history --days 30` and `history --days 3660`
# (each read from the end of the file, only as far back as it needs).
set -eu
bin=$(cd "${1:-.build/release}" && pwd)
megabytes=${2:-200}
root=$(mktemp -d /tmp/stretchd-bighistory-XXXXXX)
home=$root/home
runtime=$root/run
. "$(dirname "$0")/bench-home.sh"
bench_home "$root"
now=$(date +%s)
awk -v bytes=$((megabytes * 1024 * 1024)) -v now="$now" 'BEGIN {
    split("reminded started completed reminded skipped reminded snoozed", events, " ")
    written = 0; n = 0; step = 3000 * 86400 * 85 / bytes
    while (written < bytes) {
        t = now - 3000 * 86400 + int(n * step)
        date = strftime("%Y-%m-%d", t, 1)
        e = events[n % 7 + 1]
        line = sprintf("{\"date\":\"%s\",\"event\":\"%s\",%s\"routine\":\"desk-basics\",\"time\":%d}", date, e, \
                       e == "completed" ? "\"minutes\":5.95," : "", t)
        print line
        written += length(line) + 1; n++
    }
}' >"$home/.local/state/stretchd/history.jsonl" 2>/dev/null || {
    # mawk has no strftime: let Python write the same records.
    python3 - "$home/.local/state/stretchd/history.jsonl" "$megabytes" "$now" <<'PY'
import sys, time
path, megabytes, now = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
events = "reminded started completed reminded skipped reminded snoozed".split()
limit, written, n = megabytes * 1024 * 1024, 0, 0
step = 3000 * 86400 * 85 / limit
with open(path, "w") as out:
    while written < limit:
        t = now - 3000 * 86400 + int(n * step)
        e = events[n % 7]
        minutes = '"minutes":5.95,' if e == "completed" else ""
        line = '{"date":"%s","event":"%s",%s"routine":"desk-basics","time":%d}\n' % (
            time.strftime("%Y-%m-%d", time.gmtime(t)), e, minutes, t)
        out.write(line)
        written += len(line)
        n += 1
PY
}
echo "history: $(du -m "$home/.local/state/stretchd/history.jsonl" | cut -f1) MB, $(wc -l <"$home/.local/state/stretchd/history.jsonl") records"

export HOME="$home" XDG_RUNTIME_DIR="$runtime" TZ=UTC
seconds() { date +%s.%N; }
started=$(seconds)
"$bin/stretchd" 2>"$root/stretchd.log" &
daemon=$!
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null; rm -rf "$root"' EXIT
while [ ! -S "$runtime/stretchd/control.sock" ]; do sleep 0.01; done
listening=$(seconds)
"$bin/stretchctl" status >/dev/null || echo "(status failed)"
first=$(seconds)
echo "socket listening $(echo "$listening - $started" | bc) s after start; first status took $(echo "$first - $listening" | bc) s"
before=$(seconds)
for _ in 1 2 3 4 5 6 7 8 9 10; do "$bin/stretchctl" status >/dev/null || echo "(status failed)"; done
after=$(seconds)
echo "status: $(echo "($after - $before) / 10" | bc -l | cut -c1-6) s per call (mean of 10)"
for days in 30 3660; do
    before=$(seconds)
    "$bin/stretchctl" history --days $days >/dev/null || echo "(history failed)"
    after=$(seconds)
    echo "history --days $days: $(echo "$after - $before" | bc) s"
done
grep -v " info " "$root/stretchd.log" || true
echo "stretchd RSS: $(grep VmRSS /proc/$daemon/status | tr -s ' ' | cut -d' ' -f2-)"
