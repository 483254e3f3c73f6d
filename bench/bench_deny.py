#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Deny policy benchmark: what a 100-rule execution policy costs an exec.

An exec storm (bench/execstorm.c: N x fork, execv /bin/true, waitpid) is
timed in alternating pairs, baseline then monitored, so that drift on the
machine hits both sides:

  baseline   no ksysmon running
  policy     ksysmon --events process_exit with 100 --deny globs, none of
             which matches /bin/true (80 with a literal start such as
             /opt/deny17/*, 20 such as */evil17 that need fnmatch on every
             exec): every exec and its ELF interpreter wait for a decision
  policy+sha the same plus 10 --deny-sha256 digests
  uncached   "policy", but the storm runs a copy of /bin/true owned by
             nobody: such a file is never remembered by the kernel, so
             every exec waits for a decision in user space (the baseline
             runs the same copy)
  uncached+sha  "uncached" with the 10 digests too: each decision also
             goes through a hasher thread (the digest cached after the
             first exec)
  stalled    "uncached+sha" while a FUSE server
             holds ksysmon's open of one exec's file for the whole storm
             (tests/integration/stallfs.py): one reader thread is stuck
             in the kernel, the others decide

Allowed files owned by root and not writable by group or others are
remembered by the kernel after their first exec (an fanotify ignore mark),
so in "policy" and "policy+sha" only the first exec of /bin/true and of
the dynamic loader is decided in user space; "uncached" shows the cost of
a decision.

The figure of merit is the median of the per-pair ratios monitored /
baseline of the storm's wall time (target <= 1.05 for "policy"); min and
max give the spread.  Every monitored run must deny nothing and exit 0.

Usage: bench/bench_deny.py --monitor build/ksysmon [--pairs 9] [--n N]
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from stallfs import OPEN, StallFS, Watchdog, hold_exec  # noqa: E402


class BenchError(Exception):
    pass


def build_storm():
    out = os.path.join(ROOT, "build", "bench", "execstorm")
    src = os.path.join(HERE, "execstorm.c")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        subprocess.check_call(["cc", "-O2", "-Wall", "-Wextra", "-Werror", src, "-o", out])
    return out


def rules(with_sha):
    args = []
    for i in range(80):
        args += ["--deny", "/opt/deny%d/*" % i]
    for i in range(20):
        args += ["--deny", "*/evil%d" % i]
    if with_sha:
        for i in range(10):
            args += ["--deny-sha256", "%064x" % (0xdead0000 + i)]
    return args


class Monitor:
    def __init__(self, binary, args):
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [binary, "--format", "json", "--output", os.devnull, "--events", "process_exit"] + args,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.monotonic() + 60
        while b"ksysmon: ready" not in self.stderr():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise BenchError("ksysmon not ready: " + self.stderr().decode(errors="replace"))
            time.sleep(0.02)

    def stderr(self):
        self.err.seek(0)
        return self.err.read()

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        rc = self.proc.wait(timeout=60)
        err = self.stderr().decode(errors="replace")
        if rc != 0:
            raise BenchError("ksysmon exited with %d: %s" % (rc, err))
        if " 0 denied" not in err:
            raise BenchError("the benchmark policy denied something: " + err)
        return err


def storm(exe, n, path):
    p = subprocess.run([exe, str(n), path], capture_output=True, text=True)
    if p.returncode != 0:
        raise BenchError("exec storm failed: %s %s" % (p.stdout, p.stderr))
    return int(p.stdout.split()[0]) / 1e9


class Stall:
    """A FUSE mount whose server never answers the monitor's opens, and an
    exec of its file held up by it; all gone by stop() (or the watchdog)."""

    def __init__(self, monitor, tmp, content):
        mnt = os.path.join(tmp, "fuse")
        os.makedirs(mnt, exist_ok=True)
        self.fs = StallFS(mnt, content, {OPEN}, victim=monitor.proc.pid).start()
        self.watchdog = Watchdog(120, [monitor.proc.pid, self.fs.pid])
        time.sleep(0.3)  # marked
        self.held = hold_exec(os.path.join(mnt, "prog"), 100)
        time.sleep(0.3)  # its event taken by a reader, which stays in the open

    def stop(self):
        self.fs.stop()
        os.waitpid(self.held, 0)
        self.watchdog.disarm()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--monitor", default=os.path.join(ROOT, "build", "ksysmon"))
    ap.add_argument("--pairs", type=int, default=9)
    ap.add_argument("--n", type=int, help="execs per storm (default: about 1 s of baseline)")
    ap.add_argument("--exec-path", default="/bin/true")
    ap.add_argument("--configs", default="policy,policy+sha,uncached,uncached+sha,stalled")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench_deny: needs root", file=sys.stderr)
        return 2
    exe = build_storm()
    storm(exe, 200, args.exec_path)  # warm up
    n = args.n
    if not n:
        t = storm(exe, 500, args.exec_path)
        n = max(500, int(500 / t))
    print("exec storm: %d x fork+execv %s+waitpid, %d pairs, %d CPUs, kernel %s"
          % (n, args.exec_path, args.pairs, os.cpu_count(), os.uname().release))
    results = {}
    tmp = tempfile.mkdtemp(prefix="ksysmon-bench-deny.", dir="/var/tmp")
    untrusted = os.path.join(tmp, "true")
    shutil.copy(args.exec_path, untrusted)
    os.chmod(tmp, 0o755)
    os.chown(untrusted, 65534, 65534)
    for cfg in args.configs.split(","):
        extra = rules(cfg in ("policy+sha", "uncached+sha", "stalled"))
        path = untrusted if cfg in ("uncached", "uncached+sha", "stalled") else args.exec_path
        ratios, base, mon, checked = [], [], [], []
        for _ in range(args.pairs):
            b = storm(exe, n, path)
            m = Monitor(args.monitor, extra)
            stall = None
            try:
                if cfg == "stalled":
                    with open(path, "rb") as f:
                        stall = Stall(m, tmp, f.read())
                t = storm(exe, n, path)
            finally:
                if stall:
                    stall.stop()
                err = m.stop()
            found = re.search(r"(\d+) execs checked", err)
            checked.append(int(found.group(1)) if found else -1)
            base.append(b)
            mon.append(t)
            ratios.append(t / b)
        results[cfg] = (ratios, base, mon)
        med = statistics.median(ratios)
        print("%-12s median ratio %.3f (min %.3f, max %.3f); baseline %.1f us/exec, monitored %.1f us/exec"
              % (cfg, med, min(ratios), max(ratios),
                 statistics.median(base) / n * 1e6, statistics.median(mon) / n * 1e6))
        print("            pairs: " + " ".join("%.3f" % r for r in ratios))
        print("            decisions in user space per monitored run (whole machine): median %d for %d execs"
              % (statistics.median(checked), n))
    shutil.rmtree(tmp, ignore_errors=True)
    med = statistics.median(results["policy"][0]) if "policy" in results else None
    if med is not None:
        print("verdict: policy ratio %.3f %s target 1.05" % (med, "meets" if med <= 1.05 else "MISSES"))
    if "policy+sha" in results:
        med = statistics.median(results["policy+sha"][0])
        print("verdict: policy+sha ratio %.3f %s target 1.01" % (med, "meets" if med <= 1.01 else "MISSES"))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print("bench_deny: %s" % e, file=sys.stderr)
        sys.exit(1)
