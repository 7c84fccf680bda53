#!/usr/bin/env bash
# Regenerates scripts/startup-symbols.order: the functions the release stretchd runs from exec to READY=1, one
# `stretchctl status` and idling, found by running it under valgrind's callgrind. `make release` links them first
# (lld --symbol-ordering-file), next to each other, so the idle daemon's resident code is the code it ran,
# not the 64 KiB the kernel maps around each page it touched (fault-around), scattered over a 12 MB text.
# Names that no longer exist are skipped by the linker; rerun this after larger changes, then `make release`.
# Needs valgrind (apt-get install valgrind). The daemon runs on private desktop buses (scripts/private-buses.sh) when
# dbus-daemon and python3-dbusmock are there, so that the desktop's start-up is in the order too.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory release
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
trap 'scripts/private-buses.sh stop "$work/buses" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
mkdir -p "$work/home/.config/stretchd" "$work/run"
chmod 700 "$work/run"
printf '[schedule]\ndays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\nhours = ["00:00-24:00"]\nevery = "1h"\n[audio]\ndevice = "null"\n' \
  > "$work/home/.config/stretchd/config.toml"
# valgrind 3.19 cannot read the toolchain's DWARF; the symbol table is enough.
strip --strip-debug -o "$work/stretchd" "$bin/stretchd"
export HOME="$work/home" XDG_RUNTIME_DIR="$work/run"
if scripts/private-buses.sh start "$work/buses" >/dev/null; then
    set -a; . "$work/buses/buses.env"; set +a
else
    echo "no private buses (see scripts/private-buses.sh); the order leaves out the desktop's start-up" >&2
fi
valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/callgrind.out" "$work/stretchd" 2>"$work/valgrind.log" &
daemon=$!
for _ in $(seq 600); do [ -S "$work/run/stretchd/control.sock" ] && break; sleep 0.1; done
"$bin/stretchctl" status >/dev/null
sleep 2
kill -TERM "$daemon"
wait "$daemon"
python3 - "$work/callgrind.out" "$work/stretchd" > scripts/startup-symbols.order <<'PYTHON'
import re, sys
objects, functions, current, ran = {}, {}, None, set()
for line in open(sys.argv[1], errors='replace'):
    line = line.rstrip('\n')
    match = re.match(r'^(c?ob)=\((\d+)\)(?: (.*))?$', line)
    if match:
        if match.group(3):
            objects[match.group(2)] = match.group(3)
        if match.group(1) == 'ob':
            current = objects.get(match.group(2))
        continue
    match = re.match(r'^(c?fn)=\((\d+)\)(?: (.*))?$', line)
    if match:
        if match.group(3):
            functions[match.group(2)] = match.group(3)
        if match.group(1) == 'fn' and current == sys.argv[2]:
            ran.add(re.sub(r"'\d+$", '', functions[match.group(2)]))
print('\n'.join(sorted(name for name in ran if not name.startswith(('0x', '(')))))
PYTHON
echo "scripts/startup-symbols.order: $(wc -l < scripts/startup-symbols.order) functions; run make release to link with it"
