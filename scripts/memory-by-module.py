#!/usr/bin/env python3
"""Which modules a running stretchd's resident memory belongs to.

usage: scripts/memory-by-module.py PID   (as root, or as the daemon's user with ptrace access)

Reads /proc/PID/pagemap for the pages of the executable that are resident, and attributes each resident page to
the symbols on it (nm of the unstripped binary), by module: a mangled Swift symbol names its module
(`$s7NIOCore...`). Most of an idle Swift daemon's memory is code pages of its own binary, not heap: the kernel maps
64 KiB around each page fault (fault-around), so a module whose code is touched at all tends to be resident whole,
and the cost of a dependency is close to the size of its code. The heap, thread stacks and shared libraries are
in /proc/PID/smaps_rollup (Rss, Pss, Anonymous), printed first.
"""
import collections
import os
import re
import struct
import subprocess
import sys


def module(name):
    match = re.match(r'^_?\$s(\d+)([A-Za-z_][A-Za-z_0-9]*)', name)
    if match:
        return match.group(2)[:int(match.group(1))]
    if name.startswith(('$ss', '$sS', 'swift_', '_swift_')):
        return 'Swift standard library'
    if name.startswith('$s'):
        return 'Swift (other)'
    if 'dispatch' in name:
        return 'Dispatch'
    if name.startswith('_Z') and ('swift' in name or 'llvm' in name):
        return 'Swift runtime (C++)'
    return 'C'


def main():
    pid = sys.argv[1]
    binary = os.readlink(f'/proc/{pid}/exe')
    for line in open(f'/proc/{pid}/smaps_rollup'):
        if line.split(':')[0] in ('Rss', 'Pss', 'Pss_Anon', 'Pss_File', 'Anonymous'):
            print(line.rstrip())
    print(f'threads: {len(os.listdir(f"/proc/{pid}/task"))}')
    maps = []
    for line in open(f'/proc/{pid}/maps'):
        fields = line.split()
        if len(fields) >= 6 and fields[5] == binary:
            low, high = (int(x, 16) for x in fields[0].split('-'))
            maps.append((low, high, int(fields[2], 16)))
    bias = min(low - offset for low, _, offset in maps)
    resident = set()
    with open(f'/proc/{pid}/pagemap', 'rb') as pagemap:
        for low, high, _ in maps:
            pagemap.seek(low // 4096 * 8)
            entries = pagemap.read((high - low) // 4096 * 8)
            for index in range((high - low) // 4096):
                if struct.unpack_from('<Q', entries, index * 8)[0] >> 63:
                    resident.add((low - bias) // 4096 + index)
    print(f'{binary}: {len(resident) * 4 / 1024:.1f} MiB of its pages resident')
    on_pages, sizes = collections.Counter(), collections.Counter()
    symbols = subprocess.run(['nm', '-S', '--defined-only', binary], capture_output=True, text=True).stdout
    for line in symbols.splitlines():
        fields = line.split()
        if len(fields) != 4 or int(fields[1], 16) == 0:
            continue
        address, size, kind = int(fields[0], 16), int(fields[1], 16), 'code' if fields[2] in 'tT' else 'data'
        pages = range(address // 4096, (address + size - 1) // 4096 + 1)
        key = (module(fields[3]), kind)
        sizes[key] += size
        on_pages[key] += size * sum(1 for page in pages if page in resident) / len(pages)
    totals = collections.Counter()
    for (name, _), size in on_pages.items():
        totals[name] += size
    print(f"{'module':30} {'resident code':>14} {'resident data':>14} {'code':>8} {'data':>8}  (KiB)")
    for name, _ in totals.most_common():
        print(f"{name:30} {on_pages[(name, 'code')] / 1024:14.0f} {on_pages[(name, 'data')] / 1024:14.0f}"
              f" {sizes[(name, 'code')] / 1024:8.0f} {sizes[(name, 'data')] / 1024:8.0f}")


main()
