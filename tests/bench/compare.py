#!/usr/bin/env python3
"""compare.py - the measuring half of tests/bench/compare.sh.

compare.sh installs the tools, builds panefs and checks the data directory;
this program prepares the data files, mounts, measures and prints the table.
Run it through compare.sh (`bash tests/bench/compare.sh --help`); it can also
re-print the table of a finished run: `python3 compare.py --table OUTDIR`.

What it guarantees
- Systems are measured in the same run and alternate within each row
  (native panefs bindfs mergerfs, native panefs bindfs mergerfs, ...); a
  figure is the median of the rounds.
- Every FUSE mount is made for the row that uses it and undone in every
  outcome (fusermount3 -u, then -uz, then the daemon is terminated, then
  killed), also on SIGINT/SIGTERM/SIGHUP. Every external command has a time
  limit; a command that times out or fails costs its figure ("fail" in the
  table, the reason in raw.csv), never the run.
- These machines reclaim page cache idle for ~30 s: every measured pass is
  preceded by a native read of exactly the bytes it will read (or write in
  place), so "backing warm" holds; "fresh mount" means the FUSE file system
  and its kernel caches are cold, the backing file is still warm.
- raw.csv is appended to (and flushed) as figures come in: an interrupted
  run keeps what it measured.
"""

import argparse
import csv
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40

# Sizes per mode. quick: try the script in a few minutes, figures are rough.
MODES = {
    "full": dict(rounds=3, big=4 * GiB, seqw=2 * GiB, rw=1 * GiB,
                 tail=2 * GiB, sparse=1 * TiB, files=20000, fio_secs=20),
    "quick": dict(rounds=1, big=512 * MiB, seqw=256 * MiB, rw=128 * MiB,
                  tail=256 * MiB, sparse=1 * TiB, files=5000, fio_secs=3),
}

SYSTEMS = ["native", "panefs", "bindfs", "mergerfs"]
PEERS = ["bindfs", "mergerfs"]

# mergerfs: the README's "BASIC SETUP, you don't need mmap" set
# (allow_other,use_ino,cache.files=off,dropcacheonclose=true,
# category.create=mfs) without allow_other (we run as the mounting user, like
# the other two) and with dropcacheonclose=false: with true, every close
# throws the *backing* file out of the page cache, which makes the warm
# re-read (row 2) a disk read and measures a cache policy, not the file
# system. threads= and fuse_msg_size= stay at mergerfs's defaults
# (one thread per core, 1 MiB messages).
MERGERFS_OPTS = "cache.files=off,use_ino,category.create=mfs,dropcacheonclose=false"

FILE_BYTES = 1024          # size of each file of the metadata row
SLOWEST = 20e6             # bytes/s: time limits assume nothing slower


def human(n):
    for unit, size in (("TiB", TiB), ("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size and n % size == 0:
            return "%d %s" % (n // size, unit)
    return "%d B" % n


# --- measures: id, label, unit, which way is better ------------------------

def measures(cfg):
    big, seqw, rw, tail = (human(cfg[k]) for k in ("big", "seqw", "rw", "tail"))
    n = cfg["files"]
    return [
        ("1", "seq read 1M, %s file, fresh mount" % big, "MB/s", "high"),
        ("2", "seq read again, same mount (warm)", "MB/s", "high"),
        ("3a", "rand read 4K psync, 1 job, fresh mount", "IOPS", "high"),
        ("3b", "rand read 4K psync, 2 jobs, fresh mount", "IOPS", "high"),
        ("4", "seq write 1M, %s, + fsync" % seqw, "MB/s", "high"),
        ("5", "rand write 4K psync, 1 job, %s file" % rw, "IOPS", "high"),
        ("6a", "create %d files of 1 KiB" % n, "s", "low"),
        ("6b", "stat them all (find -ls)", "s", "low"),
        ("6c", "delete them all (rm -rf)", "s", "low"),
        ("7a", "read last %s of the %s file" % (tail, big), "MB/s", "high"),
        ("7b", "read last %s of a 1 TiB sparse file" % tail, "MB/s", "high"),
        ("7", "scale: 7b / 7a (1.00 = size costs nothing)", "x", "ratio"),
        ("8a", "daemon peak RSS (VmHWM) after rows 1+2", "MiB", "low"),
        ("8b", "daemon peak RSS (VmHWM) after row 7b", "MiB", "low"),
        ("8c", "daemon CPU (utime+stime) per GiB, row 1", "s/GiB", "low"),
        ("8d", "daemon RssAnon (not file maps) after 1+2", "MiB", "low"),
    ]


# --- small helpers ----------------------------------------------------------

T0 = time.monotonic()


def log(msg):
    t = int(time.monotonic() - T0)
    sys.stderr.write("[%02d:%02d] %s\n" % (t // 60, t % 60, msg))
    sys.stderr.flush()


class Failed(Exception):
    """A step failed or timed out: its figure is lost, the run goes on."""


class Interrupted(BaseException):
    pass


def on_signal(signum, frame):
    if signum == signal.SIGALRM:
        raise Interrupted("the whole-run time limit (--deadline) is up")
    raise Interrupted("signal %d, %s" % (signum, signal.Signals(signum).name))


STUCK = []   # children that did not die when killed (blocked on a mount)
CHILD_FILE = None   # where the running command's process group is noted


def run(argv, timeout, stdout=subprocess.DEVNULL, check=True, what=None):
    """Run argv in its own process group under a time limit.

    Returns (rc, stdout text or None, stderr text). On timeout the whole
    group (fio forks its jobs) is killed and Failed is raised."""
    what = what or " ".join(argv[:3])
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout,
                         stderr=subprocess.PIPE, start_new_session=True,
                         text=True, cwd="/")
    # for compare.sh's EXIT trap, should this process be SIGKILLed
    if CHILD_FILE:
        with open(CHILD_FILE, "w") as f:
            f.write("%d\n" % p.pid)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(p)
        raise Failed("timeout after %ds: %s" % (timeout, what))
    except BaseException:
        kill_group(p)
        raise
    finally:
        if CHILD_FILE:
            try:
                os.unlink(CHILD_FILE)
            except OSError:
                pass
    if check and p.returncode != 0:
        raise Failed("exit %d: %s: %s" % (p.returncode, what,
                                          (err or "").strip()[-300:]))
    return p.returncode, out, err or ""


def kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        STUCK.append(p)


def timed(argv, timeout, what=None, stdout=subprocess.DEVNULL):
    t = time.perf_counter()
    _, out, err = run(argv, timeout, stdout=stdout, what=what)
    return time.perf_counter() - t, out, err


def limit(nbytes, floor=60):
    return int(floor + nbytes / SLOWEST)


def dd_read(path, off, length, what):
    """Read [off, off+length) in 1 MiB blocks; seconds. Short = failure."""
    secs, _, err = timed(["dd", "if=" + path, "of=/dev/null", "bs=1M",
                          "skip=%d" % off, "count=%d" % length,
                          "iflag=skip_bytes,count_bytes"],
                         limit(length), what=what)
    m = re.search(r"^(\d+) bytes", err, re.M)
    if not m or int(m.group(1)) != length:
        raise Failed("%s: short read (%s)" % (what, err.strip()[-200:]))
    return secs


def warm(path, off, length):
    """Native read so the backing bytes are in the page cache right now."""
    dd_read(path, off, length, "warm-up read of " + os.path.basename(path))


def proc_fields(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()


def cpu_secs(pid):
    f = proc_fields(pid)     # f[0] is field 3 (state): utime=14, stime=15
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def status_mib(pid, field="VmHWM"):
    """A kB field of /proc/PID/status in MiB. VmHWM is the peak resident
    set, file pages of mappings included (panefs's windows); RssAnon is
    the current resident set that is not a file mapping."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise Failed("no %s in /proc/%d/status" % (field, pid))


def unescape_mnt(s):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def is_mounted(path):
    with open("/proc/self/mountinfo") as f:
        return any(unescape_mnt(line.split()[4]) == path for line in f)


# --- mounts -----------------------------------------------------------------

class Mount:
    """One fresh mount of a system on its own mount point (native: SOURCE).

    A context manager: the mount is undone on leaving, in every outcome."""

    count = 0

    def __init__(self, bench, system):
        self.b = bench
        self.system = system
        self.proc = None
        self.pid = None
        if system == "native":
            self.path = bench.src
        else:
            self.path = os.path.join(bench.data, "mnt-" + system)

    def argv(self):
        b = self.b
        if self.system == "panefs":
            opts = ["-o", b.panefs_opts] if b.panefs_opts else []
            return [b.panefs, "-f"] + opts + [b.src, self.path]
        if self.system == "bindfs":
            return ["bindfs", "-f", b.src, self.path]
        if self.system == "mergerfs":
            return ["mergerfs", "-f", "-o", MERGERFS_OPTS, b.src, self.path]
        raise ValueError(self.system)

    def __enter__(self):
        if self.system == "native":
            return self
        os.makedirs(self.path, exist_ok=True)
        if is_mounted(self.path):
            log("%s: stale mount found, unmounting" % self.path)
            force_umount(self.path)
        Mount.count += 1
        logname = os.path.join(self.b.logs, "daemon-%03d-%s.log"
                               % (Mount.count, self.system))
        with open(logname, "w") as lf:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                         stdout=lf, stderr=subprocess.STDOUT,
                                         start_new_session=True, cwd="/")
        self.pid = self.proc.pid
        self.b.note_daemon(self.pid, self.path)
        try:
            deadline = time.monotonic() + 15
            while not is_mounted(self.path):
                if self.proc.poll() is not None:
                    with open(logname, errors="replace") as lf:
                        said = " / ".join(lf.read().strip().splitlines()[-2:])
                    raise Failed("%s exited with %d before mounting: %s"
                                 % (self.system, self.proc.returncode,
                                    said or "(no output; see %s)" % logname))
                if time.monotonic() > deadline:
                    raise Failed("%s did not mount within 15 s" % self.system)
                time.sleep(0.02)
            run(["stat", self.path], 10, what="stat of the new mount")
        except BaseException:
            self.umount()
            raise
        return self

    def __exit__(self, *exc):
        self.umount()
        return False

    def umount(self):
        if self.proc is None:
            return
        p, path = self.proc, self.path
        if is_mounted(path):
            try:
                run(["fusermount3", "-u", path], 10, what="fusermount3 -u")
            except Failed as e:
                log("%s: %s; lazy unmount" % (self.system, e))
                force_umount(path)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log("%s: daemon %d still there 10 s after unmount; SIGTERM"
                % (self.system, p.pid))
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        if is_mounted(path):
            force_umount(path)
        if p.returncode not in (0, None):
            log("%s: daemon exited with status %s" % (self.system, p.returncode))
        self.proc = None
        self.b.note_daemon(None, None)


def force_umount(path):
    for argv in (["fusermount3", "-u", path], ["fusermount3", "-uz", path],
                 ["umount", "-l", path]):
        if not is_mounted(path):
            return
        try:
            run(argv, 10, check=False)
        except Failed:
            pass


# --- the benchmark ----------------------------------------------------------

class Bench:
    def __init__(self, a):
        self.mode = "quick" if a.quick else "full"
        self.cfg = dict(MODES[self.mode])
        if a.rounds:
            self.cfg["rounds"] = a.rounds
        if a.fio_secs:
            self.cfg["fio_secs"] = a.fio_secs
        self.rows = a.only
        self.data = os.path.abspath(a.data)
        self.src = os.path.join(self.data, "src")
        self.out = os.path.abspath(a.out)
        self.logs = os.path.join(self.out, "logs")
        self.panefs = os.path.abspath(a.panefs)
        self.panefs_opts = a.panefs_opts
        self.systems = a.systems
        self.cmdline = a.cmdline
        os.makedirs(self.src, exist_ok=True)
        os.makedirs(self.logs, exist_ok=True)
        global CHILD_FILE
        CHILD_FILE = os.path.join(self.data, ".child")
        c = self.cfg
        self.big = os.path.join(self.src, "big-%dM.bin" % (c["big"] // MiB))
        self.rwf = os.path.join(self.src, "rw-%dM.bin" % (c["rw"] // MiB))
        self.sparse = os.path.join(self.src, "sparse-%dG-tail%dM.bin"
                                   % (c["sparse"] // GiB, c["tail"] // MiB))
        self.seqw = os.path.join(self.src, "seqwrite.bin")
        self.metaroot = os.path.join(self.src, "meta")
        self.meta = None
        self.round = 0
        self.token = "%x%x" % (os.getpid(), time.time_ns() // 1000)
        self.raw = []
        self.rawf = open(os.path.join(self.out, "raw.csv"), "w", newline="")
        self.raww = csv.writer(self.rawf)
        self.raww.writerow(["round", "row", "system", "value", "unit", "note",
                            "utc"])
        self.units = {m[0]: m[2] for m in measures(c)}

    # The wrapper's EXIT trap unmounts what a killed python left behind.
    def note_daemon(self, pid, path):
        f = os.path.join(self.data, ".daemon")
        if pid:
            with open(f, "w") as fh:
                fh.write("%d %s\n" % (pid, path))
        elif os.path.exists(f):
            os.unlink(f)

    def record(self, rnd, row, system, value, note=""):
        self.raw.append((rnd, row, system, value, note))
        self.raww.writerow([rnd, row, system,
                            "" if value is None else "%.6g" % value,
                            self.units[row], note,
                            time.strftime("%H:%M:%S", time.gmtime())])
        self.rawf.flush()
        if value is None:
            log("  row %-3s %-8s FAILED: %s" % (row, system, note))
        else:
            log("  row %-3s %-8s %12.6g %s" % (row, system, value,
                                               self.units[row]))

    # -- data ---------------------------------------------------------------

    def prepare(self):
        c, R = self.cfg, self.rows
        want_big = bool(R & {"1", "2", "3", "7", "8"})
        want_rw = "5" in R
        want_sparse = "7" in R
        need = 512 * MiB + (c["seqw"] if "4" in R else 0)
        for path, size, want, full in (
                (self.big, c["big"], want_big, c["big"]),
                (self.rwf, c["rw"], want_rw, c["rw"]),
                (self.sparse, c["tail"], want_sparse, c["sparse"])):
            if want and not self.ready(path, full):
                need += size
        free = shutil.disk_usage(self.src).free
        if free < need:
            raise SystemExit("compare: %s has %s free, needs %s"
                             % (self.src, human(free // MiB * MiB),
                                human(need // MiB * MiB)))
        self.rm_native(self.seqw)
        self.rm_native(self.metaroot)
        # Row 6 creates its files in a directory of its own per system
        # and round, all made now. ext4 without a journal (these machines)
        # will not reuse an inode freed in the last 60 s (300 s while its
        # inode table block is dirty) and skips such inodes one by one:
        # creating files right after another system deleted 20,000 in the
        # same block group costs ~0.6 ms per create, for everyone. Below a
        # directory with the "top directory" flag (chattr +T) ext4 puts
        # each new subdirectory in a flex group with the fewest
        # directories, so directories made together land in different
        # groups and no measurement creates on inodes another just freed
        # (see meta_dir() for runs that follow each other).
        os.mkdir(self.metaroot)
        try:
            run(["chattr", "+T", self.metaroot], 10, what="chattr +T")
        except (Failed, OSError) as e:
            log("note: chattr +T %s failed (%s); row 6 creates may be slowed "
                "by inodes freed just before" % (self.metaroot, e))
        if "6" in self.rows:
            for rnd in range(1, c["rounds"] + 1):
                for system in self.systems:
                    os.mkdir(self.meta_dir(system, rnd))
        if want_big and self.make_random(self.big, c["big"]):
            # the sparse file's tail is a copy of the big file's
            if os.path.exists(self.marker(self.sparse)):
                os.unlink(self.marker(self.sparse))
        if want_rw:
            self.make_random(self.rwf, c["rw"])
        if want_sparse and not self.ready(self.sparse, c["sparse"]):
            log("preparing %s (%s, last %s = the tail of %s)"
                % (os.path.basename(self.sparse), human(c["sparse"]),
                   human(c["tail"]), os.path.basename(self.big)))
            tmp = self.sparse + ".tmp"
            with open(tmp, "wb") as f:
                f.truncate(c["sparse"])
            run(["dd", "if=" + self.big, "of=" + tmp, "bs=1M",
                 "skip=%d" % (c["big"] - c["tail"]),
                 "seek=%d" % (c["sparse"] - c["tail"]),
                 "count=%d" % c["tail"], "conv=notrunc,fsync",
                 "iflag=skip_bytes,count_bytes", "oflag=seek_bytes",
                 "status=none"], limit(c["tail"], 120), what="make sparse")
            self.seal(tmp, self.sparse)
        run(["sync"], 300)

    def preflight(self):
        """Mount and unmount each FUSE system once: a panefs that does not
        mount (bad PANEFS_OPTS, no FUSE) stops the run at once; a peer
        that does not mount is reported and its figures will say fail."""
        for system in self.systems[1:]:
            try:
                with Mount(self, system):
                    pass
            except Failed as e:
                if system == "panefs":
                    raise SystemExit("compare: panefs does not mount: %s" % e)
                log("warning: %s does not mount: %s" % (system, e))

    # A data file is ready when its marker (outside SOURCE) says it was
    # written to the end: an interrupted preparation is redone.
    def marker(self, path):
        return os.path.join(self.data, ".ready-" + os.path.basename(path))

    def ready(self, path, size):
        return (os.path.exists(self.marker(path)) and os.path.exists(path)
                and os.path.getsize(path) == size)

    def seal(self, tmp, path):
        os.rename(tmp, path)
        open(self.marker(path), "w").close()

    def make_random(self, path, size):
        """Make path (size bytes of random data) unless it is ready;
        True if it was made."""
        if self.ready(path, size):
            return False
        log("preparing %s (%s of random data)" % (os.path.basename(path),
                                                  human(size)))
        tmp = path + ".tmp"
        run(["dd", "if=/dev/urandom", "of=" + tmp, "bs=1M",
             "count=%d" % (size // MiB), "conv=fsync", "status=none"],
            limit(size, 120), what="make " + os.path.basename(path))
        self.seal(tmp, path)
        return True

    # -- one measurement per system, guarded --------------------------------

    def each(self, rnd, rows, fn):
        """fn(system) -> {row: value} for every system; a failure records
        None (and why) for each of rows."""
        self.round = rnd
        for system in self.systems:
            try:
                got = fn(system)
            except Failed as e:
                for row in rows:
                    self.record(rnd, row, system, None, str(e))
                continue
            for row in rows:
                if row in got:
                    self.record(rnd, row, system, got[row])

    def on(self, system, path):
        """The same file as seen through system's mount point."""
        m = os.path.join(self.data, "mnt-" + system)
        return path if system == "native" else m + path[len(self.src):]

    # rows 1, 2, 8a, 8c: one fresh mount, read the big file twice
    def g_read(self, system):
        c, r = self.cfg, {}
        with Mount(self, system) as m:
            f = self.on(system, self.big)
            warm(self.big, 0, c["big"])
            cpu0 = cpu_secs(m.pid) if m.pid else 0
            r["1"] = c["big"] / dd_read(f, 0, c["big"], "row 1 read") / 1e6
            if m.pid:
                r["8c"] = (cpu_secs(m.pid) - cpu0) / (c["big"] / GiB)
            warm(self.big, 0, c["big"])
            r["2"] = c["big"] / dd_read(f, 0, c["big"], "row 2 read") / 1e6
            if m.pid:
                r["8a"] = status_mib(m.pid, "VmHWM")
                r["8d"] = status_mib(m.pid, "RssAnon")
        return r

    def fio(self, system, name, path, rw, size, jobs):
        c = self.cfg
        outf = os.path.join(self.logs, "fio-%s-%s-%d.json"
                            % (name, system, int(time.time() * 1000)))
        argv = ["fio", "--name=" + name, "--filename=" + path,
                "--rw=" + rw, "--bs=4k", "--ioengine=psync", "--iodepth=1",
                "--numjobs=%d" % jobs, "--size=%d" % size,
                "--time_based", "--runtime=%d" % c["fio_secs"],
                "--invalidate=0", "--norandommap", "--randrepeat=0",
                "--allow_file_create=0", "--fallocate=none",
                # jobs as threads: fio's job processes start sessions of
                # their own, out of reach of a kill of fio's process group
                "--thread",
                "--group_reporting", "--output-format=json",
                "--output=" + outf]
        run(argv, c["fio_secs"] + 90, what="fio " + name)
        with open(outf) as fh:
            text = fh.read()
        # fio may print notes before the JSON object
        doc = json.loads(text[text.index("{"):])
        key = "read" if "read" in rw else "write"
        iops = sum(j[key]["iops"] for j in doc["jobs"])
        errs = sum(j.get("error", 0) for j in doc["jobs"])
        if errs or iops <= 0:
            raise Failed("fio %s: error %d, %g IOPS (%s)" % (name, errs, iops,
                                                               outf))
        return iops

    # row 3a/3b: random reads, fresh mount per job count
    def g_randread(self, system, jobs, row):
        c = self.cfg
        with Mount(self, system):
            warm(self.big, 0, c["big"])
            return {row: self.fio(system, "randread%d" % jobs,
                                  self.on(system, self.big), "randread",
                                  c["big"], jobs)}

    # row 4: sequential write of a new file, fsync before close
    def g_seqwrite(self, system):
        c = self.cfg
        self.rm_native(self.seqw)
        run(["sync"], 300)     # nobody's dirty pages in our fsync
        try:
            with Mount(self, system):
                secs, _, _ = timed(["dd", "if=/dev/zero",
                                    "of=" + self.on(system, self.seqw),
                                    "bs=1M", "count=%d" % (c["seqw"] // MiB),
                                    "conv=fsync", "status=none"],
                                   limit(c["seqw"]), what="row 4 write")
            if os.path.getsize(self.seqw) != c["seqw"]:
                raise Failed("row 4: file has %d bytes"
                             % os.path.getsize(self.seqw))
            return {"4": c["seqw"] / secs / 1e6}
        finally:
            self.rm_native(self.seqw)

    # row 5: random writes in place into a preallocated, warm file
    def g_randwrite(self, system):
        c = self.cfg
        try:
            with Mount(self, system):
                warm(self.rwf, 0, c["rw"])
                return {"5": self.fio(system, "randwrite",
                                      self.on(system, self.rwf), "randwrite",
                                      c["rw"], 1)}
        finally:
            run(["sync"], 300)   # the next system starts with a clean file

    # row 6: create, stat, delete many small files
    def g_meta(self, system):
        n = self.cfg["files"]
        self.meta = self.meta_dir(system, self.round)
        r = {}
        try:
            with Mount(self, system):
                d = self.on(system, self.meta)
                _, out, _ = run([sys.executable, "-c", CREATE, d, str(n),
                                 str(FILE_BYTES)], 600,
                                stdout=subprocess.PIPE, what="row 6 create")
                r["6a"] = float(out.strip())
                secs, out, _ = timed(["find", d, "-ls"], 600,
                                     stdout=subprocess.PIPE, what="find -ls")
                lines = out.count("\n")
                if lines != n + 1:
                    raise Failed("find -ls listed %d entries, not %d"
                                 % (lines, n + 1))
                r["6b"] = secs
                secs, _, _ = timed(["rm", "-rf", d], 600, what="rm -rf")
                if os.path.exists(self.meta):
                    raise Failed("rm -rf left %s behind" % self.meta)
                r["6c"] = secs
            return r
        finally:
            self.rm_native(self.meta)

    # rows 7a, 7b (+ 8b): the same bytes at the end of a small and a huge file
    def g_scale(self, system, which):
        c = self.cfg
        path, size, row = ((self.big, c["big"], "7a") if which == "small"
                           else (self.sparse, c["sparse"], "7b"))
        off = size - c["tail"]
        r = {}
        with Mount(self, system) as m:
            warm(path, off, c["tail"])
            r[row] = c["tail"] / dd_read(self.on(system, path), off,
                                         c["tail"], "row " + row) / 1e6
            if m.pid and row == "7b":
                r["8b"] = status_mib(m.pid, "VmHWM")
        return r

    def meta_dir(self, system, rnd):
        # Names unique to the run: ext4 starts its search for the emptiest
        # group at a hash of the name, so the same names would land in the
        # same groups as the last run's, whose inodes may be freed <60 s ago.
        return os.path.join(self.metaroot, "%s-%d-%s" % (system, rnd,
                                                         self.token))

    def rm_native(self, path):
        if os.path.isdir(path):
            run(["rm", "-rf", path], 600)
        elif os.path.lexists(path):
            os.unlink(path)

    # -- the run ------------------------------------------------------------

    def run_all(self):
        """Row by row; in each round every system once, in the same order.
        A group's parts (rows 7a and 7b) alternate within a round so their
        ratio compares like with like."""
        R = self.rows
        groups = []
        if R & {"1", "2", "8"}:
            groups.append([("rows 1, 2, 8a, 8c, 8d: sequential read",
                            ["1", "2", "8a", "8c", "8d"], self.g_read)])
        if "3" in R:
            groups.append([("row 3a: random read, 1 job", ["3a"],
                            lambda s: self.g_randread(s, 1, "3a"))])
            groups.append([("row 3b: random read, 2 jobs", ["3b"],
                            lambda s: self.g_randread(s, 2, "3b"))])
        if "4" in R:
            groups.append([("row 4: sequential write", ["4"],
                            self.g_seqwrite)])
        if "5" in R:
            groups.append([("row 5: random write", ["5"], self.g_randwrite)])
        if "6" in R:
            groups.append([("row 6: metadata", ["6a", "6b", "6c"],
                            self.g_meta)])
        if "7" in R:
            groups.append([("row 7a: tail of the small file", ["7a"],
                            lambda s: self.g_scale(s, "small")),
                           ("row 7b: tail of the 1 TiB file", ["7b", "8b"],
                            lambda s: self.g_scale(s, "huge"))])
        n = self.cfg["rounds"]
        for parts in groups:
            for rnd in range(1, n + 1):
                for title, rows, fn in parts:
                    log("%s, round %d/%d" % (title, rnd, n))
                    self.each(rnd, rows, fn)


CREATE = r"""
import os, sys, time
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = b"x" * size
if not os.path.isdir(d):
    os.mkdir(d)
t = time.perf_counter()
for i in range(n):
    fd = os.open("%s/f%06d" % (d, i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, data)
    os.close(fd)
print(time.perf_counter() - t)
"""


# --- the table ----------------------------------------------------------------

def load_raw(path):
    rows = []
    with open(path, newline="") as f:
        for rec in csv.DictReader(f):
            v = float(rec["value"]) if rec["value"] else None
            rows.append((int(rec["round"]), rec["row"], rec["system"], v,
                         rec["note"]))
    return rows


def summarize(raw, cfg, systems):
    """{(row, system): (median or None, rounds ok, rounds tried)}"""
    vals = {}
    for rnd, row, system, v, _ in raw:
        vals.setdefault((row, system), {})[rnd] = v
    # row 7: per-round ratio 7b/7a, then the median
    for system in systems:
        a, b = vals.get(("7a", system), {}), vals.get(("7b", system), {})
        if a or b:
            vals[("7", system)] = {
                rnd: (b[rnd] / a[rnd] if a.get(rnd) and b.get(rnd) else None)
                for rnd in set(a) | set(b)}
    med = {}
    for key, per in vals.items():
        ok = [v for v in per.values() if v is not None]
        med[key] = (statistics.median(ok) if ok else None, len(ok), len(per))
    return med


def ratio(x, ref, better):
    """How many times better x is than ref (>1: x is better)."""
    if x is None or ref is None or better == "ratio" or x <= 0 or ref <= 0:
        return None
    return x / ref if better == "high" else ref / x


def table(raw, cfg, systems, outdir):
    med = summarize(raw, cfg, systems)
    ms = [m for m in measures(cfg) if any((m[0], s) in med for s in systems)]
    peers = [s for s in PEERS if s in systems]
    recs = []
    for mid, label, unit, better in ms:
        figs = {s: med.get((mid, s), (None, 0, 0)) for s in systems}
        nat = figs.get("native", (None,))[0]
        pv = [figs[s][0] for s in peers if figs[s][0] is not None]
        best = None
        if pv and better != "ratio":
            best = max(pv) if better == "high" else min(pv)
        for s in systems:
            v, ok, tried = figs[s]
            if tried == 0:
                continue
            rn = ratio(v, nat, better) if s != "native" else None
            rp = ratio(v, best, better) if s == "panefs" else None
            recs.append(dict(row=mid, measure=label, unit=unit,
                             better=better, system=s, value=v, ok=ok,
                             rounds=tried, ratio_native=rn, ratio_best_peer=rp))
    with open(os.path.join(outdir, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["row", "measure", "unit", "better", "system", "value",
                    "ratio_to_native", "panefs_ratio_to_best_peer",
                    "rounds_ok", "rounds"])
        for r in recs:
            w.writerow([r["row"], r["measure"], r["unit"], r["better"],
                        r["system"], fmtv(r["value"], r["unit"], plain=True),
                        fmtr(r["ratio_native"], plain=True),
                        fmtr(r["ratio_best_peer"], plain=True),
                        r["ok"], r["rounds"]])

    # the printed table: one line per measure
    head = ["row", "measure", "unit"] + systems + ["panefs/best peer"]
    lines = []
    for mid, label, unit, better in ms:
        cells = [mid, label, unit]
        rp = None
        for s in systems:
            r = next((x for x in recs if x["row"] == mid and x["system"] == s),
                     None)
            if r is None:
                cells.append("-")
                continue
            c = fmtv(r["value"], unit)
            if r["ratio_native"] is not None:
                c += " (%s)" % fmtr(r["ratio_native"])
            if r["ok"] < r["rounds"]:
                c += " [%d/%d ok]" % (r["ok"], r["rounds"])
            cells.append(c)
            if s == "panefs":
                rp = r["ratio_best_peer"]
        cells.append(fmtr(rp) if rp is not None else "-")
        lines.append(cells)
    width = [max(len(str(x[i])) for x in [head] + lines)
             for i in range(len(head))]
    def fmt(cells):
        return "  ".join(str(c).ljust(width[i]) if i < 2 else str(c).rjust(width[i])
                         for i, c in enumerate(cells)).rstrip()
    out = [fmt(head), fmt(["-" * w for w in width])] + [fmt(c) for c in lines]
    out += ["",
            "Figures are medians over %s; (Nx) is the ratio to native and the"
            % ("%d rounds" % cfg["rounds"] if cfg["rounds"] > 1
               else "1 round (--quick: rough)"),
            "last column panefs against the better of bindfs and mergerfs,",
            "both oriented so that >1 means better (for s, MiB and s/GiB the",
            "ratio is reference/figure). MB/s = 10^6 bytes/s. 'fail' and",
            "'[k/n ok]': see raw.csv for the reason."]
    text = "\n".join(out) + "\n"
    with open(os.path.join(outdir, "table.txt"), "w") as f:
        f.write(text)
    # the same for a README
    with open(os.path.join(outdir, "table.md"), "w") as f:
        f.write("| " + " | ".join(head) + " |\n")
        f.write("|" + "|".join("---" if i < 2 else "---:"
                               for i in range(len(head))) + "|\n")
        for cells in lines:
            f.write("| " + " | ".join(str(c) for c in cells) + " |\n")
        f.write("\n" + " ".join(out[len(lines) + 3:]) + "\n")
    return text


def fmtv(v, unit, plain=False):
    if v is None:
        return "" if plain else "fail"
    if plain:
        return "%.6g" % v
    if unit in ("MB/s", "IOPS"):
        return "%.0f" % v
    if unit == "MiB":
        return "%.1f" % v
    if unit == "x":
        return "%.3f" % v
    return "%.3f" % v if v < 10 else "%.2f" % v


def fmtr(r, plain=False):
    if r is None:
        return ""
    return "%.3f" % r if plain else "%.2fx" % r


# --- machine.txt --------------------------------------------------------------

def sh(argv):
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=20)
        return (p.stdout + p.stderr).strip()
    except (OSError, subprocess.SubprocessError) as e:
        return "(%s)" % e


def machine(b):
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = next(l.split()[1] for l in f if l.startswith("MemTotal:"))
    repo = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    commit = sh(["git", "-C", repo, "--no-optional-locks", "rev-parse",
                 "--short", "HEAD"])
    dirty = sh(["git", "-C", repo, "--no-optional-locks", "status",
                "--porcelain", "--untracked-files=no"])
    c = b.cfg
    lines = [
        "date (UTC):  %s" % time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "command:     %s" % b.cmdline,
        "mode:        %s, %d round(s), systems %s, rows %s"
        % (b.mode, c["rounds"], " ".join(b.systems),
           ",".join(sorted(b.rows))),
        "cores:       %d online (%s)" % (os.cpu_count(), model),
        "memory:      %.1f GiB" % (int(mem) / 1024 / 1024),
        "kernel:      %s" % " ".join(os.uname()),
        "os:          %s" % sh(["sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"]),
        "data:        %s" % b.data,
        "data fs:     %s" % sh(["df", "-T", b.src]).splitlines()[-1],
        "mount opts:  %s" % sh(["findmnt", "-n", "-o", "OPTIONS", "-T", b.src]),
        "open files:  RLIMIT_NOFILE %s" % sh(["sh", "-c", "ulimit -n"]),
        "panefs:      %s (%s%s)" % (b.panefs,
                                    sh([b.panefs, "-V"]).splitlines()[0],
                                    os.environ.get("PANEFS_BUILD_NOTE", "")),
        "panefs tree: commit %s%s" % (commit, ", uncommitted changes" if dirty
                                      else ""),
        "panefs argv: %s" % " ".join(Mount(b, "panefs").argv()),
        "bindfs:      %s; argv: %s" % (sh(["bindfs", "--version"]).splitlines()[0],
                                       " ".join(Mount(b, "bindfs").argv())),
        "mergerfs:    %s; argv: %s" % (sh(["mergerfs", "--version"]).splitlines()[0],
                                       " ".join(Mount(b, "mergerfs").argv())),
        "fio:         %s" % sh(["fio", "--version"]),
        "libfuse:     %s" % sh(["fusermount3", "--version"]),
        "sizes:       big %s, seq write %s, rand-write file %s, sparse %s "
        "(tail %s), %d files, fio %d s"
        % (human(c["big"]), human(c["seqw"]), human(c["rw"]),
           human(c["sparse"]), human(c["tail"]), c["files"], c["fio_secs"]),
    ]
    with open(os.path.join(b.out, "machine.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


# --- main ---------------------------------------------------------------------

def parse_rows(text):
    rows = set()
    for part in text.split(","):
        part = part.strip()
        m = re.fullmatch(r"([1-8])(?:-([1-8]))?", part)
        if not m:
            raise SystemExit("compare: --only: bad row list %r (rows 1-8, "
                             "e.g. 1,3-5)" % text)
        lo = int(m.group(1))
        hi = int(m.group(2) or lo)
        rows |= {str(i) for i in range(lo, hi + 1)}
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--data", default="/var/tmp/panefs-bench")
    ap.add_argument("--only", default="1-8")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--fio-secs", type=int)
    ap.add_argument("--panefs")
    ap.add_argument("--panefs-opts", default="")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--cmdline", default=" ".join(sys.argv))
    ap.add_argument("--deadline", type=int, default=0,
                    help="stop (cleanly) after this many seconds")
    ap.add_argument("--table", metavar="OUTDIR",
                    help="print the table of a finished run again")
    a = ap.parse_args()

    if a.table:
        mode = "quick" if "mode:        quick" in open(
            os.path.join(a.table, "machine.txt")).read() else "full"
        raw = load_raw(os.path.join(a.table, "raw.csv"))
        cfg = dict(MODES[mode])
        cfg["rounds"] = max(r[0] for r in raw)
        systems = [s for s in SYSTEMS if any(r[2] == s for r in raw)]
        sys.stdout.write(table(raw, cfg, systems, a.table))
        return 0

    a.only = parse_rows(a.only)
    a.systems = [s for s in a.systems.split(",") if s]
    if not a.systems or set(a.systems) - set(SYSTEMS) or a.systems[0] != "native":
        raise SystemExit("compare: --systems must start with native and "
                         "name some of %s" % ",".join(SYSTEMS))
    if a.rounds is not None and a.rounds < 1:
        raise SystemExit("compare: --rounds must be at least 1")
    if a.fio_secs is not None and not 1 <= a.fio_secs <= 600:
        raise SystemExit("compare: --fio-secs must be 1 to 600")
    if not a.panefs or not os.access(a.panefs, os.X_OK):
        raise SystemExit("compare: --panefs PATH (an executable) is needed")
    if not a.out:
        a.out = os.path.join(a.data, time.strftime("out-%Y%m%dT%H%M%SZ",
                                                   time.gmtime()))
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
        signal.signal(s, on_signal)
    if a.deadline > 0:
        signal.alarm(a.deadline)

    b = Bench(a)
    machine(b)
    log("panefs bench (%s): data in %s, results in %s"
        % (b.mode, b.data, b.out))
    rc = 0
    try:
        b.preflight()
        b.prepare()
        b.run_all()
    except Interrupted as e:
        log("interrupted (%s): the table below has what was measured" % e)
        rc = 130
    finally:
        b.rawf.close()
        for p in STUCK:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log("pid %d is still stuck" % p.pid)
    text = table(b.raw, b.cfg, b.systems, b.out)
    sys.stdout.write("\n" + text)
    sys.stdout.write("\nresults: %s/results.csv, raw per round: %s/raw.csv, "
                     "machine: %s/machine.txt\n" % (b.out, b.out, b.out))
    if any(v is None for _, _, _, v, _ in b.raw) and rc == 0:
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
