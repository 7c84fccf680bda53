#!/bin/sh
# Counts the context switches of an idle stretchd (every thread: voluntary + nonvoluntary, from
# /proc/PID/task/*/status) over SECONDS, and its RSS and PSS.
#
#   scripts/idle-wakeups.sh [BIN_DIR] [SECONDS] [session]     (defaults: .build/release 60)
#
# Starts stretchd in a fresh home (all-day work hours, the next break an hour away, the `null` sound device),
# asks `stretchctl status` once, and with `session` first plays a session for 5 s (`start`, then `stop`) and runs
# `watch` for 2 s (the daemon's log is shown then). Then it counts for SECONDS. Threads that switched are
# listed by name.
#
# With STRETCHD_BENCH_BUSES=1, the daemon has the desktop's buses: two private dbus-daemons (a session bus with
# python-dbusmock's notification_daemon, a "system" bus with its logind; scripts/private-buses.sh) in
# DBUS_SESSION_BUS_ADDRESS and DBUS_SYSTEM_BUS_ADDRESS, stopped afterwards; it says whether the daemon is on each.
set -eu
bin=$(cd "${1:-.build/release}" && pwd)
seconds=${2:-60}
warm=${3:-}
scripts=$(cd "$(dirname "$0")" && pwd)
root=$(mktemp -d /tmp/stretchd-idle-XXXXXX)
pid=""
buses=""
trap '[ -z "$pid" ] || { kill $pid 2>/dev/null; wait $pid 2>/dev/null; }; [ -z "$buses" ] || "$scripts/private-buses.sh" stop "$buses"; rm -rf "$root"' EXIT
trap 'exit 130' INT TERM
. "$scripts/bench-home.sh"
bench_home "$root"
export HOME="$root/home" XDG_RUNTIME_DIR="$root/run"
unset XDG_CONFIG_HOME XDG_STATE_HOME XDG_DATA_HOME
if [ "${STRETCHD_BENCH_BUSES:-}" = 1 ]; then
    buses="$root/buses"
    "$scripts/private-buses.sh" start "$buses" >/dev/null
    set -a
    . "$buses/buses.env"
    set +a
fi
"$bin/stretchd" 2>"$root/log" &
pid=$!
i=0
while [ ! -S "$root/run/stretchd/control.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
"$bin/stretchctl" status >/dev/null
if [ "$warm" = session ]; then
    "$bin/stretchctl" start >/dev/null
    sleep 5
    "$bin/stretchctl" stop >/dev/null
    timeout 2 "$bin/stretchctl" watch >/dev/null || true
fi
# libdispatch's start-up worker threads (swift-service-lifecycle's signal sources) exit after 5 s idle.
sleep 6
switches() {
    for task in /proc/$pid/task/*; do
        awk -v name="$(cat "$task/comm")" -v tid="${task##*/}" \
            '/ctxt_switches/ { s += $2 } END { print tid, s, name }' "$task/status"
    done
}
switches >"$root/before"
sleep "$seconds"
switches >"$root/after"
total=$(awk 'NR == FNR { before[$1] = $2; next } { d = $2 - before[$1]; s += d; if (d) printf "  %s (%s): %d\n", $3, $1, d >"/dev/stderr" } END { print s + 0 }' \
    "$root/before" "$root/after")
echo "threads: $(ls /proc/$pid/task | wc -l)  context switches in ${seconds} s: $total"
grep -E '^(Rss|Pss):' /proc/$pid/smaps_rollup | tr -s ' ' | tr '\n' ' '
echo
if [ -n "$buses" ]; then echo "stretchd on the buses: $("$scripts/private-buses.sh" clients "$buses" $pid | paste -sd, - | sed 's/,/, /g')"; fi
if [ -n "$warm" ]; then echo "daemon's log:" >&2; cat "$root/log" >&2; fi
