#!/usr/bin/python3
"""What a 2,000-signal dconf `Notify` flood costs the real stretchd: its CPU time and its child processes' (utime +
stime and cutime + cstime from /proc/PID/stat, before and after) and the lines it logs, for a flood forged by another
client and for one sent by dconf itself (the owner of `ca.desrt.dconf`).

    scripts/dconf-flood.py BIN_DIR [COUNT]      BIN_DIR holds stretchd (.build/release or .build/debug)

Two private buses (scripts/private-buses.sh) with python-dbusmock's notification daemon and logind; on the session
bus also a GNOME Shell (its name, so the GNOME do-not-disturb watch is on) and dconf's writer, and in stretchd's home
the dconf database it reads `show-banners` from, written by `dconf compile` (Debian: dconf-cli). The forged flood is
sent by a second connection to stretchd's connection alone (a unicast signal, which the bus delivers whatever the
match rules: a broadcast from a non-owner is not even delivered); dconf's own is broadcast by the mock. After each
flood, the daemon is given 2 s and a `stretchctl status` to finish with it. Exits with 2 when dbus-daemon or
dbusmock is missing.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

import dbus
import dbus.lowlevel

WRITER, WRITER_INTERFACE = "/ca/desrt/dconf/Writer/user", "ca.desrt.dconf.Writer"
NOTIFY = ("/org/gnome/desktop/notifications/", ["show-banners"], "tag")


def cpu_ticks(pid):
    """utime + stime of the process and cutime + cstime of its children it reaped (a helper program it runs), in
    clock ticks."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def wait_for(condition, what, seconds=20):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not happen within {seconds} s")
        time.sleep(0.05)


def main():
    bin_dir = os.path.abspath(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    scripts = os.path.dirname(os.path.abspath(__file__))
    root = tempfile.mkdtemp(prefix="stretchd-flood-")
    buses = root + "/buses"
    started = subprocess.run(["/bin/sh", scripts + "/private-buses.sh", "start", buses], capture_output=True, text=True)
    if started.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        print(started.stderr, file=sys.stderr, end="")
        sys.exit(started.returncode)
    processes = []
    try:
        environment = dict(line.split("=", 1) for line in open(buses + "/buses.env").read().split())
        mock_environment = dict(os.environ, **environment)
        for name, path, interface in [("org.gnome.Shell", "/org/gnome/Shell", "org.gnome.Shell"),
                                      ("ca.desrt.dconf", WRITER, WRITER_INTERFACE)]:
            processes.append(subprocess.Popen(["/usr/bin/python3", "-m", "dbusmock", name, path, interface],
                                              env=mock_environment, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL))
        session = dbus.bus.BusConnection(environment["DBUS_SESSION_BUS_ADDRESS"])
        for name in ["org.gnome.Shell", "ca.desrt.dconf"]:
            wait_for(lambda: session.name_has_owner(name), f"{name} on the bus")

        home, runtime = root + "/home", root + "/run"
        os.makedirs(home + "/.config/stretchd", mode=0o700)
        os.makedirs(runtime, mode=0o700)
        os.makedirs(root + "/keyfiles")
        with open(root + "/keyfiles/gnome", "w") as keyfile:
            keyfile.write("[org/gnome/desktop/notifications]\nshow-banners=true\n")
        os.makedirs(home + "/.config/dconf")
        subprocess.run(["dconf", "compile", home + "/.config/dconf/user", root + "/keyfiles"], check=True)
        with open(home + "/.config/stretchd/config.toml", "w") as config:
            config.write('[schedule]\ndays = ["mon","tue","wed","thu","fri","sat","sun"]\nhours = ["00:00-24:00"]\n'
                         'every = "1h"\n[audio]\ndevice = "null"\n')
        log_path = root + "/stretchd.log"
        daemon_environment = dict(environment, HOME=home, XDG_RUNTIME_DIR=runtime, PATH="/usr/bin:/bin", TZ="UTC")
        with open(log_path, "w") as log:
            daemon = subprocess.Popen([bin_dir + "/stretchd"], env=daemon_environment, stdout=log, stderr=log)
        processes.append(daemon)
        stretchctl = [bin_dir + "/stretchctl", "status", "--socket", runtime + "/stretchd/control.sock"]

        def log_lines():
            with open(log_path, errors="replace") as log:
                return log.read().splitlines()

        wait_for(lambda: any(" listening " in line for line in log_lines()), "stretchd listening")
        bus = session.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus")
        unique = next(name for name in session.list_names()
                      if name.startswith(":") and bus.GetConnectionUnixProcessID(
                          name, dbus_interface="org.freedesktop.DBus") == daemon.pid)

        def settle():
            time.sleep(2)
            subprocess.run(stretchctl, env=daemon_environment, check=True, stdout=subprocess.DEVNULL)

        def measure(what, flood):
            settle()
            (own, children), lines = cpu_ticks(daemon.pid), len(log_lines())
            started = time.monotonic()
            flood()
            sent = time.monotonic() - started
            settle()
            own_after, children_after = cpu_ticks(daemon.pid)
            milliseconds = 1000 / os.sysconf("SC_CLK_TCK")
            new = log_lines()[lines:]
            print(f"{what}: {count} Notify signals sent in {sent:.2f} s; stretchd CPU "
                  f"{(own_after - own) * milliseconds:.0f} ms (utime+stime), its child processes' "
                  f"{(children_after - children) * milliseconds:.0f} ms; {len(new)} log lines")
            for line in new[:5]:
                print("    " + line)

        def forged():
            forger = dbus.bus.BusConnection(environment["DBUS_SESSION_BUS_ADDRESS"])
            for _ in range(count):
                message = dbus.lowlevel.SignalMessage(WRITER, WRITER_INTERFACE, "Notify")
                message.set_destination(unique)
                message.append(*NOTIFY, signature="sass")
                forger.send_message(message)
            forger.flush()
            forger.close()

        dconf = session.get_object("ca.desrt.dconf", WRITER)
        dconf.AddMethod(WRITER_INTERFACE, "Flood", "u", "",
                        "for _ in range(args[0]):\n"
                        f"    self.EmitSignal('{WRITER_INTERFACE}', 'Notify', 'sass', {list(NOTIFY)!r})",
                        dbus_interface="org.freedesktop.DBus.Mock")

        def owned():
            dconf.Flood(dbus.UInt32(count), dbus_interface=WRITER_INTERFACE, timeout=120)

        print(f"stretchd {bin_dir}/stretchd (pid {daemon.pid}, {unique} on the session bus)")
        measure("forged by another client (unicast to stretchd)", forged)
        measure("sent by dconf (the owner of ca.desrt.dconf, broadcast)", owned)
        daemon.terminate()
        try:
            daemon.wait(10)
        except subprocess.TimeoutExpired:
            print("stretchd did not exit within 10 s of SIGTERM (killed)")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        subprocess.run(["/bin/sh", scripts + "/private-buses.sh", "stop", buses])
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
