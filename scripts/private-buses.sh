#!/bin/sh
# Two private D-Bus buses standing in for the desktop's, for measuring stretchd with its buses connected: a session
# bus with python-dbusmock's `notification_daemon`, and a "system" bus with its `logind` (the configuration of
# Tests/TestSupport/PrivateBus.swift; ../shared/DESIGN.md, "Desktop over D-Bus").
#
#   scripts/private-buses.sh start DIR       makes DIR, starts the buses and the mocks there, and once both mocks own
#                                            their names prints (and writes to DIR/buses.env) the two lines
#                                            DBUS_SESSION_BUS_ADDRESS=... and DBUS_SYSTEM_BUS_ADDRESS=...
#   scripts/private-buses.sh clients DIR PID  says which of the buses PID has a connection to
#   scripts/private-buses.sh stop DIR        ends the mocks and the buses, waits until they are gone, removes DIR
#
# Exits with 2 when dbus-daemon, busctl or a Python with dbusmock is missing (Debian: dbus-daemon, systemd,
# python3-dbusmock; `make test-deps` installs them), with 1 when something did not start (what was started is
# stopped again).
set -eu
command=${1:-}
dir=${2:-}
[ -n "$command" ] && [ -n "$dir" ] || { echo "usage: $0 start|clients|stop DIR [PID]" >&2; exit 64; }

# Debian's Python, whose packages a version manager's python3 on the PATH (pyenv) does not see.
python=/usr/bin/python3

stop() {
    [ -f "$dir/buses.pids" ] || { rm -rf "$dir"; return 0; }
    # SIGKILL: a child of a Swift program inherits its blocked signals (SIGTERM among them), and neither
    # dbus-daemon nor Python unblocks them.
    while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done <"$dir/buses.pids"
    while read -r pid; do
        # Gone once it is no more, or a zombie waiting for its parent (init) to reap it.
        i=0
        while kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] && [ $i -lt 100 ]; do
            sleep 0.05
            i=$((i + 1))
        done
    done <"$dir/buses.pids"
    rm -rf "$dir"
}

# Whether a connection from PID is on the bus at address $1.
connected() {
    busctl --address="$1" list --unique --no-legend --no-pager 2>/dev/null | awk -v pid="$2" '$2 == pid { found = 1 } END { exit !found }'
}

case $command in
stop)
    stop
    ;;
clients)
    pid=${3:?PID}
    . "$dir/buses.env"
    for bus in session system; do
        address=$DBUS_SESSION_BUS_ADDRESS
        [ $bus = system ] && address=$DBUS_SYSTEM_BUS_ADDRESS
        if connected "$address" "$pid"; then echo "$bus: connected"; else echo "$bus: not connected"; fi
    done
    ;;
start)
    for tool in dbus-daemon busctl; do
        command -v $tool >/dev/null || { echo "$tool is not installed (make test-deps installs it)" >&2; exit 2; }
    done
    "$python" -c 'import dbusmock' 2>/dev/null || { echo "python3-dbusmock is not installed (make test-deps installs it)" >&2; exit 2; }
    mkdir "$dir"
    : >"$dir/buses.pids"
    trap 'status=$?; [ $status = 0 ] || stop; exit $status' EXIT
    for bus in session system; do
        cat >"$dir/$bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$dir/$bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
        # --fork: returns once the bus listens, having printed its address and then its pid.
        dbus-daemon --config-file="$dir/$bus.conf" --fork --nopidfile --print-address=1 --print-pid=1 \
            </dev/null >"$dir/$bus.out" 2>>"$dir/log"
        sed -n 2p "$dir/$bus.out" >>"$dir/buses.pids"
    done
    session=$(sed -n 1p "$dir/session.out")
    system=$(sed -n 1p "$dir/system.out")
    DBUS_SESSION_BUS_ADDRESS=$session DBUS_SYSTEM_BUS_ADDRESS=$system \
        "$python" -m dbusmock --template notification_daemon </dev/null >>"$dir/log" 2>&1 &
    echo $! >>"$dir/buses.pids"
    DBUS_SESSION_BUS_ADDRESS=$session DBUS_SYSTEM_BUS_ADDRESS=$system \
        "$python" -m dbusmock --template logind </dev/null >>"$dir/log" 2>&1 &
    echo $! >>"$dir/buses.pids"
    for pair in "$session org.freedesktop.Notifications" "$system org.freedesktop.login1"; do
        i=0
        until busctl --address="${pair% *}" call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
            NameHasOwner s "${pair#* }" 2>/dev/null | grep -q true; do
            i=$((i + 1))
            [ $i -lt 200 ] || { echo "${pair#* } did not appear on its bus in 20 s; $dir/log:" >&2; cat "$dir/log" >&2; exit 1; }
            sleep 0.1
        done
    done
    printf 'DBUS_SESSION_BUS_ADDRESS=%s\nDBUS_SYSTEM_BUS_ADDRESS=%s\n' "$session" "$system" | tee "$dir/buses.env"
    ;;
*)
    echo "usage: $0 start|clients|stop DIR [PID]" >&2
    exit 64
    ;;
esac
