"""Starts the real monitor and collects what it reports.

Every integration test runs real processes while build/ksysmon (the ASan
build under `make test`) watches, then compares the events with the truth
the test knows.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MONITOR = os.environ.get("KSYSMON", os.path.join(ROOT, "build/asan/ksysmon"))
WORKLOAD = os.environ.get("KSYSMON_WORKLOAD", os.path.join(ROOT, "build/tests/workload"))

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")


def ebytes(s):
    """A JSON string back to the exact bytes (invalid UTF-8 comes as
    lone surrogates, PEP 383)."""
    return s.encode("utf-8", "surrogateescape")


class Monitor:
    """build/ksysmon running in the background, output to a file."""

    def __init__(self, *args, fmt="json", ready_timeout=30):
        self.args = list(args)
        self.fmt = fmt
        self.dir = tempfile.mkdtemp(prefix="ksysmon-test.")
        self.out_path = os.path.join(self.dir, "out")
        self.err_path = os.path.join(self.dir, "err")
        self.ready_timeout = ready_timeout
        self.proc = None
        self.returncode = None
        self.stderr = ""
        self.stdout = b""

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.stop()

    def start(self):
        cmd = [MONITOR, "--format", self.fmt, "--latency-ms", "20"] + self.args
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=self.err)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            with open(self.err_path, "rb") as f:
                if b"ready" in f.read():
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("monitor did not become ready: " + self.stderr)

    def stop(self, sig=signal.SIGINT, timeout=60):
        self.proc.send_signal(sig)
        self.returncode = self.proc.wait(timeout=timeout)
        self.out.close()
        self.err.close()
        with open(self.err_path, "rb") as f:
            self.stderr = f.read().decode("utf-8", "replace")
        with open(self.out_path, "rb") as f:
            self.stdout = f.read()
        return self.returncode

    def events(self):
        evs = []
        for line in self.stdout.decode("utf-8", "strict").splitlines():
            evs.append(json.loads(line))
        return evs

    def summary(self):
        """{'summary': {type: n}, 'lost': {type: n, 'total': n}}"""
        res = {}
        for kind in ("summary", "lost"):
            m = re.search(r"^ksysmon: %s:(.*)$" % kind, self.stderr, re.M)
            if not m:
                raise AssertionError("no %s line in: %s" % (kind, self.stderr))
            res[kind] = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
        return res


def run_workload(*args, check=True, env=None, cwd=None, stdin=None):
    """Runs the workload helper; returns (pid, parsed key=value lines, rc)."""
    p = subprocess.Popen([WORKLOAD] + [str(a) for a in args], stdout=subprocess.PIPE,
                         stdin=subprocess.PIPE if stdin is not None else None,
                         env=env, cwd=cwd)
    out, _ = p.communicate(stdin)
    vals = {}
    for line in out.decode().splitlines():
        k, _, v = line.partition("=")
        vals.setdefault(k, []).append(v)
    if check and p.returncode < 0:
        pass
    return p.pid, vals, p.returncode


def run_held(argv, hold=1.0, **popen):
    """Runs argv (a workload command line under "hold"), keeps it alive
    `hold` seconds after it has done its work, then lets it exit; returns
    (pid, parsed key=value lines, rc).  popen: more Popen arguments."""
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, **popen)
    time.sleep(hold)
    out, _ = p.communicate(b"go\n")
    vals = {}
    for line in out.decode().splitlines():
        k, _, v = line.partition("=")
        vals.setdefault(k, []).append(v)
    return p.pid, vals, p.returncode


def unique_copy(src, dst):
    """A working copy of src whose content no other file has (for digests)."""
    shutil.copy(src, dst)
    with open(dst, "ab") as f:
        f.write(os.urandom(64))
    return dst


def by_pid(events, pid, typ=None):
    return [e for e in events if e.get("pid") == pid and (typ is None or e["type"] == typ)]


def one(events, pid, typ):
    found = by_pid(events, pid, typ)
    if len(found) != 1:
        raise AssertionError("expected one %s for pid %d, got %r" % (typ, pid, found))
    return found[0]


class Mounts:
    """Mounts made by a test, undone (lazily, last first) at the end."""

    def __init__(self):
        self.targets = []

    def mount(self, *args):
        target = args[-1]
        os.makedirs(target, exist_ok=True)
        subprocess.check_call(["mount"] + list(args))
        self.targets.append(target)
        return target

    def overlay(self, base, lower=None):
        """An overlay mounted by hand: base/{lower,upper,work,merged}
        (lower: another directory to use as the lower layer)."""
        for sub in ("lower", "upper", "work"):
            os.makedirs(os.path.join(base, sub), exist_ok=True)
        opts = "lowerdir=%s,upperdir=%s,workdir=%s" % (
            lower or os.path.join(base, "lower"), os.path.join(base, "upper"),
            os.path.join(base, "work"))
        return self.mount("-t", "overlay", "ksysmon-ovl", "-o", opts, os.path.join(base, "merged"))

    def undo(self):
        for t in reversed(self.targets):
            subprocess.call(["umount", "-l", t])
        self.targets = []
