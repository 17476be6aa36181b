#!/usr/bin/env python3
"""reaper.py [--syslog SOCKET LOGFILE] STATUSFILE SECS -- CMD...

Runs CMD as a child subreaper (PR_SET_CHILD_SUBREAPER), so that a daemon
CMD starts (panefs without -f, run by mount.fuse3) is re-parented to us
when its parent exits: we reap it and append "PID STATUS" to STATUSFILE
(STATUS is the exit code, or -SIGNAL), which tells a test the daemon's
real exit status after `umount`.

With --syslog, a datagram socket is bound at SOCKET (e.g. /dev/log in a
private mount namespace) and every record received is appended to
LOGFILE, one a line: the test reads what the daemon sent to syslog.

When CMD ends, daemons still running get SECS seconds to exit, then
SIGTERM, then SIGKILL (a FUSE daemon that dies takes its mount with it).
Exit status: CMD's, or 1 if a daemon had to be killed. SIGTERM/SIGINT
are passed on to CMD.
"""
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time

PR_SET_CHILD_SUBREAPER = 36


def listen(sock, path):
    with open(path, "a", encoding="utf-8", errors="replace") as out:
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                return
            out.write(data.decode("utf-8", "replace").rstrip("\n") + "\n")
            out.flush()


def children():
    """Our live child processes (zombies are reaped by the loop)."""
    me, kids = os.getpid(), []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == me and fields[0] != "Z":
            kids.append(int(d))
    return kids


def main():
    args = sys.argv[1:]
    if args[:1] == ["--syslog"]:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(args[1])
        threading.Thread(target=listen, args=(sock, args[2]),
                         daemon=True).start()
        args = args[3:]
    status_file, secs = args[0], float(args[1])
    cmd = args[3:] if args[2] == "--" else args[2:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("reaper: prctl: %s" % os.strerror(ctypes.get_errno()),
              file=sys.stderr)
        return 1
    child = subprocess.Popen(cmd)
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda n, f: child.send_signal(n))
    rc, killed = None, False
    deadline = None
    with open(status_file, "a") as out:
        while True:
            if rc is not None:
                if not children():
                    break
                if deadline is None:
                    deadline = time.time() + secs
                if time.time() > deadline:
                    for p in children():
                        print("reaper: killing leftover pid %d" % p,
                              file=sys.stderr)
                        os.kill(p, signal.SIGKILL if killed else
                                signal.SIGTERM)
                    killed = True
                    deadline = time.time() + 5
            try:
                pid, ws = os.waitpid(-1, os.WNOHANG if rc is not None else 0)
            except ChildProcessError:
                if rc is not None:
                    break
                continue
            except InterruptedError:
                continue
            if pid == 0:
                time.sleep(0.05)
                continue
            st = os.waitstatus_to_exitcode(ws)
            if pid == child.pid:
                rc = st if st >= 0 else 128 - st
                child.returncode = rc
            else:
                out.write("%d %d\n" % (pid, st))
                out.flush()
    return 1 if killed and rc == 0 else rc


if __name__ == "__main__":
    sys.exit(main())
