#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""ksysmon side by side with the tools users would pick instead.

Storms (tests/integration/workload, each sized to about --seconds):

  exec     N x (fork, execv /bin/true, waitpid), not pinned
  thread   N x (pthread_create, pthread_join), taskset -c 0
  thread2  two thread storms at once, one pinned to each of CPUs 0 and 1
  mmap     N x anonymous 64 KiB mmap + munmap (no process or thread events)
  dlopen   N x dlopen + dlclose of libz.so.1

Tools: no monitor (the baseline), ksysmon with text and with JSON Lines
written to a file (--events all for mmap and dlopen, where its image-load
hook is what costs), forkstat (proc connector), bpftrace and `perf record`
on the sched_process_fork/exec/exit tracepoints, and auditd with
execve/execveat, exit/exit_group and clone/clone3/fork/vfork rules (with
Debian's default backlog settings, -b 8192 --backlog_wait_time 60000).

For every storm, alternating pairs: baseline run, monitored run, baseline,
monitored, ..., for each tool in turn. A monitored run starts the tool,
waits until it is attached, runs the storm, stops the tool by its pid
(SIGINT, or SIGTERM for auditd; SIGKILL after --stop-timeout) and reads its
output. Per tool and storm:

  ratio         storm wall time monitored / baseline: median of the pairs,
                min-max as the spread
  complete      workload ids (child pids, thread ids, the storm's own pid)
                whose creation, exec (exec storm) and exit the tool reported,
                of those the workload wrote (WORKLOAD_IDS); for dlopen, the
                loads of libz reported for the storm's pid
  lost          as the tool reports it: ksysmon's "lost: ... total=N",
                bpftrace's "Lost N events", perf's lost samples, the delta of
                `auditctl -s` "lost", forkstat's "recv ... nobufs" lines
  CPU           user + system time of the tool from attached to exit
                (/proc/PID/stat, wait4); for auditd plus kauditd's
                kernel thread; per 1,000 events of the storm
  RSS           max resident set of the tool (wait4)

Then the loss threshold of ksysmon with its default queue: paced thread
storms on every CPU at rising event rates, with the monitor at nice 0 and
at nice 19, until it loses events (see --loss-*).

Every subprocess has a timeout; audit rules carry the key ksysmon-bench and
are removed on every exit path, with the audit settings restored.
"""
import argparse
import collections
import glob
import json
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import BenchError, Monitor, proc_cpu_seconds  # noqa: E402

STORMS = ("exec", "thread", "thread2", "mmap", "dlopen")
TOOLS = ("ksysmon-text", "ksysmon-json", "forkstat", "bpftrace", "perf", "auditd")
LIB = "libz.so.1"
# events a monitor of process, thread and image events sees per storm operation
EVENTS_PER_OP = {"exec": 3, "thread": 2, "thread2": 2, "mmap": 0, "dlopen": 1}
AUDIT_KEY = "ksysmon-bench"
TRACEPOINTS = ("sched:sched_process_fork", "sched:sched_process_exec", "sched:sched_process_exit")
BPFTRACE_SCRIPT = """\
tracepoint:sched:sched_process_fork { printf("fork %d %d\\n", args->parent_pid, args->child_pid); }
tracepoint:sched:sched_process_exec { printf("exec %d %s\\n", args->pid, str(args->filename)); }
tracepoint:sched:sched_process_exit { printf("exit %d\\n", args->pid); }
"""


# ---------------------------------------------------------------- storms

def storm_cmds(args, storm, n):
    w, n = args.workload, str(n)
    if storm == "exec":
        return [[w, "exec-storm", n, "/bin/true"]]
    if storm == "thread":
        return [["taskset", "-c", "0", w, "thread-storm", n]]
    if storm == "thread2":
        return [["taskset", "-c", str(cpu), w, "thread-storm", n] for cpu in (0, 1)]
    if storm == "mmap":
        return [[w, "mmap-storm", n]]
    return [[w, "dlopen-storm", n, LIB]]


def run_storm(args, storm, n, rate=None):
    """Runs the storm's jobs in parallel; returns (wall seconds, the ids the
    jobs created, as a list: a tid may come back within a run).
    rate: operations per second per job (WORKLOAD_RATE)."""
    tmp = tempfile.mkdtemp(prefix="ksysmon-peers-ids-")
    try:
        procs = []
        t0 = time.perf_counter()
        for i, cmd in enumerate(storm_cmds(args, storm, n)):
            env = dict(os.environ, WORKLOAD_IDS=os.path.join(tmp, str(i)))
            if rate:
                env["WORKLOAD_RATE"] = str(rate)
            procs.append(subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL))
        # a blocking wait: Popen.wait(timeout) polls with sleeps of up to
        # 50 ms, which would be the resolution of every time measured here
        dog = threading.Timer(args.storm_timeout, lambda: [p.kill() for p in procs])
        dog.start()
        try:
            for p in procs:
                p.wait()
        finally:
            dog.cancel()
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        wall = time.perf_counter() - t0
        if wall >= args.storm_timeout:
            raise BenchError(f"{storm} storm still running after {args.storm_timeout} s")
        for p in procs:
            if p.returncode != 0:
                raise BenchError(f"{' '.join(p.args)} failed ({p.returncode})")
        ids = []
        for name in os.listdir(tmp):
            with open(os.path.join(tmp, name)) as f:
                ids += [int(x) for x in f.read().split()]
        return wall, ids
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def calibrate(args, storm):
    """Storm size (per job) for about --seconds of baseline wall time."""
    n = {"exec": 300, "thread": 20000, "thread2": 20000, "mmap": 20000, "dlopen": 500}[storm]
    run_storm(args, storm, n)  # warm up caches
    for _ in range(2):
        wall, _ = run_storm(args, storm, n)
        n = max(1, int(n * args.seconds / wall))
    return n


# ---------------------------------------------------------------- processes

def wait_until(cond, timeout, proc, what):
    """Polls cond() until true; fails if proc exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while not cond():
        if proc.poll() is not None:
            raise BenchError(f"{what} exited ({proc.returncode}) before it was attached")
        if time.monotonic() > deadline:
            raise BenchError(f"{what} not attached after {timeout} s")
        time.sleep(0.05)


def peak_rss_kib(pid):
    """VmHWM of a live process, 0 once it is gone. wait4's ru_maxrss will
    not do: a child spawned with vfork carries the peak of the parent's
    memory (this script's) from before its exec."""
    try:
        for line in read_text(f"/proc/{pid}/status").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def stop_pid(proc, sig, timeout):
    """Sends sig to proc, SIGKILL if it is still there after timeout;
    returns (rusage from wait4, peak RSS KiB seen until it exited)."""
    if proc.poll() is not None:
        raise BenchError(f"{proc.args[0]} exited early ({proc.returncode})")
    rss = peak_rss_kib(proc.pid)
    proc.send_signal(sig)
    deadline = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return ru, rss
        rss = max(rss, peak_rss_kib(proc.pid))  # it may grow while it winds up
        if time.monotonic() > deadline:
            proc.kill()
            _, status, ru = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            print(f"  {proc.args[0]} killed: no exit {timeout} s after signal {sig}", flush=True)
            return ru, rss
        time.sleep(0.02)


def run_bounded(cmd, timeout, **kw):
    """subprocess.run with a timeout that is a bench error."""
    try:
        return subprocess.run(cmd, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{' '.join(cmd)}: no answer after {timeout} s")


def read_text(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def kthread_pid(name):
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and read_text(f"/proc/{pid}/comm").strip() == name:
                return int(pid)
        except OSError:
            continue
    return None


# ---------------------------------------------------------------- tools

class Tool:
    """One monitoring tool run around one storm. Subclasses start it, stop
    it, and turn its output into (kind, id) pairs, kind being create, exec,
    exit or image (a load of LIB)."""

    signal = signal.SIGINT

    def __init__(self, args, storm):
        self.args, self.storm = args, storm
        self.dir = tempfile.mkdtemp(prefix="ksysmon-peers-")
        self.proc = None
        self.cpu0 = 0.0

    def path(self, name):
        return os.path.join(self.dir, name)

    def spawn(self, cmd, stdout="stdout"):
        with open(self.path(stdout), "w") as out, open(self.path("stderr"), "w") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)

    def attached(self):
        self.cpu0 = proc_cpu_seconds(self.proc.pid)

    def stop(self):
        """Returns {cpu, rss_kib, lost}; lost is an int or a string."""
        ru, rss = stop_pid(self.proc, self.signal, self.args.stop_timeout)
        return {"cpu": ru.ru_utime + ru.ru_stime - self.cpu0, "rss_kib": rss,
                "lost": self.lost()}

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def required(self):
        """Kinds this tool must report for an id to count as seen."""
        if self.storm in ("thread", "thread2"):
            return {"create", "exit"}
        return {"create", "exec", "exit"}

    def captures_images(self):
        return False


class Ksysmon(Tool):
    """build/ksysmon through bench.py's Monitor (waits for "ready", SIGINT,
    reads the lost summary)."""

    TEXT_RE = re.compile(r"^[0-9:.]+: (?:(Process|Thread) (\d+) (Created|Exec|Exited)"
                         r"|Image loaded into process (\d+) .*: (.*)$)")
    JSON_RE = re.compile(r'^\{"type":"([a-z_]+)","time":"[^"]*","pid":(\d+),(?:"tid":(\d+),)?')
    KINDS = {"Created": "create", "Exec": "exec", "Exited": "exit",
             "process_create": "create", "thread_create": "create", "process_exec": "exec",
             "process_exit": "exit", "thread_exit": "exit", "image_load": "image"}

    def __init__(self, args, storm, fmt):
        super().__init__(args, storm)
        self.fmt = fmt
        self.mon = None

    def start(self):
        extra = ["--format", self.fmt]  # after Monitor's --format json: the last one counts
        if self.storm in ("mmap", "dlopen"):
            extra += ["--events", "all"]
        self.mon = Monitor(self.args.monitor, extra)
        self.proc = self.mon.proc

    def stop(self):
        # Monitor.stop reads stderr to the end: a watchdog bounds it
        dog = threading.Timer(self.args.stop_timeout, self.proc.kill)
        dog.start()
        rss = peak_rss_kib(self.proc.pid)  # see peak_rss_kib
        try:
            cpu, _, lost, _ = self.mon.stop()
        finally:
            dog.cancel()
        return {"cpu": cpu, "rss_kib": rss, "lost": lost}

    def events(self):
        with open(self.mon.path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if self.fmt == "text":
                    m = self.TEXT_RE.match(line)
                    if not m:
                        continue
                    if m.group(4):
                        if LIB[:-2] in m.group(5):
                            yield "image", int(m.group(4))
                    else:
                        yield self.KINDS[m.group(3)], int(m.group(2))
                else:
                    m = self.JSON_RE.match(line)
                    if not m or m.group(1) not in self.KINDS:
                        continue
                    kind = self.KINDS[m.group(1)]
                    if kind == "image":
                        if LIB[:-2] in line:
                            yield kind, int(m.group(2))
                    else:
                        yield kind, int(m.group(3) if m.group(1).startswith("thread") else m.group(2))

    def cleanup(self):
        if self.mon:
            self.mon.kill()
        super().cleanup()

    def captures_images(self):
        return True


class Forkstat(Tool):
    LINE_RE = re.compile(r"^\S+ (fork|exec|exit|clone)\s+(\d+) (\w*)")

    def start(self):
        self.spawn(["forkstat", "-l", "-S", "-e", "fork,exec,exit,clone"])
        # the header comes once it listens on the proc connector
        wait_until(lambda: "Event" in read_text(self.path("stdout")), 30, self.proc, "forkstat")
        self.attached()

    def lost(self):
        # ENOBUFS on its netlink socket: events dropped, how many is not said
        n = read_text(self.path("stdout")).count(" nobufs ")
        return f"{n} overruns" if n else 0

    def events(self):
        with open(self.path("stdout"), encoding="utf-8", errors="replace") as f:
            for line in f:
                m = self.LINE_RE.match(line)
                if not m:
                    continue
                ev, pid, info = m.groups()
                if ev in ("fork", "clone"):
                    if info in ("child", "thread"):  # the parent's line names the parent
                        yield "create", int(pid)
                else:
                    yield ev, int(pid)


class Bpftrace(Tool):
    LINE_RE = re.compile(r"^(fork|exec|exit) (\d+)(?: (\d+))?")

    def start(self):
        with open(self.path("script.bt"), "w") as f:
            f.write(BPFTRACE_SCRIPT)
        self.spawn(["bpftrace", "-o", self.path("out"), self.path("script.bt")])
        wait_until(lambda: os.path.exists(self.path("out"))
                   and "Attaching" in read_text(self.path("out")), 60, self.proc, "bpftrace")
        self.attached()

    def lost(self):
        text = read_text(self.path("out")) + read_text(self.path("stderr"))
        return sum(int(x) for x in re.findall(r"Lost (\d+) events", text))

    def events(self):
        with open(self.path("out"), encoding="utf-8", errors="replace") as f:
            for line in f:
                m = self.LINE_RE.match(line)
                if m:
                    ev = m.group(1)
                    if ev == "fork":
                        yield "create", int(m.group(3))
                    else:
                        yield ev, int(m.group(2))


def perf_binary():
    # Debian's /usr/bin/perf may be a wrapper that wants a perf built for
    # the running kernel; the versioned binary works on any kernel
    found = sorted(glob.glob("/usr/bin/perf_[0-9]*"))
    return found[-1] if found else shutil.which("perf") or "perf"


class Perf(Tool):
    FORK_RE = re.compile(r"sched_process_fork: .* child_pid=(\d+)")
    EXEC_RE = re.compile(r"sched_process_exec: .* pid=(\d+) old_pid=")
    EXIT_RE = re.compile(r"sched_process_exit: .* pid=(\d+) prio=")
    LOST_RE = re.compile(r"PERF_RECORD_LOST(?:_SAMPLES)?.*?lost[: ]+(\d+)", re.I)

    def start(self):
        ctl, ack = self.path("ctl"), self.path("ack")
        os.mkfifo(ctl)
        os.mkfifo(ack)
        events = [a for tp in TRACEPOINTS for a in ("-e", tp)]
        # -D -1: start with the events off, switched on through the control
        # fifo, whose ack says exactly when recording has begun
        self.spawn([perf_binary(), "record", "-a", "-D", "-1", "--control",
                    f"fifo:{ctl},{ack}", *events, "-o", self.path("perf.data")])
        self.output = None
        ctl_fd = ack_fd = -1
        try:
            deadline = time.monotonic() + 60
            while ctl_fd < 0:
                try:
                    ctl_fd = os.open(ctl, os.O_WRONLY | os.O_NONBLOCK)
                except OSError:  # ENXIO until perf opens it
                    if time.monotonic() > deadline or self.proc.poll() is not None:
                        raise BenchError("perf did not open its control fifo")
                    time.sleep(0.05)
            ack_fd = os.open(ack, os.O_RDONLY | os.O_NONBLOCK)
            os.write(ctl_fd, b"enable\n")
            got = b""
            while b"ack" not in got:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise BenchError("perf did not acknowledge 'enable'")
                select.select([ack_fd], [], [], 0.1)
                try:
                    chunk = os.read(ack_fd, 64)
                except BlockingIOError:
                    chunk = b""
                if not chunk:
                    time.sleep(0.02)  # no writer yet: EOF
                got += chunk
        finally:
            for fd in (ctl_fd, ack_fd):
                if fd >= 0:
                    os.close(fd)
        self.attached()

    def script(self):
        """perf script of the recording, once, into a file."""
        if self.output is None:
            self.output = self.path("script.txt")
            with open(self.output, "w") as out, open(self.path("script.err"), "w") as err:
                run_bounded([perf_binary(), "script", "-i", self.path("perf.data"),
                             "--show-lost-events", "-F", "event,trace"],
                            self.args.stop_timeout * 3, stdout=out, stderr=err)
        return self.output

    def lost(self):
        n = 0
        with open(self.script(), encoding="utf-8", errors="replace") as f:
            for line in f:
                if "LOST" in line:
                    m = self.LOST_RE.search(line)
                    n += int(m.group(1)) if m else 0
        return n

    def events(self):
        with open(self.script(), encoding="utf-8", errors="replace") as f:
            for line in f:
                if "sched_process_fork" in line:
                    m, kind = self.FORK_RE.search(line), "create"
                elif "sched_process_exec" in line:
                    m, kind = self.EXEC_RE.search(line), "exec"
                else:
                    m, kind = self.EXIT_RE.search(line), "exit"
                if m:
                    yield kind, int(m.group(1))


def audit_status():
    out = run_bounded(["auditctl", "-s"], 30, capture_output=True, text=True).stdout
    return {k: v for k, v in (l.split(" ", 1) for l in out.splitlines() if " " in l)}


def auditctl(*argv):
    r = run_bounded(["auditctl", *argv], 30, capture_output=True, text=True)
    if r.returncode:
        raise BenchError(f"auditctl {' '.join(argv)}: {r.stderr.strip()}")


AUDIT_RULES = (("execve", "execveat"), ("exit", "exit_group"), ("clone", "clone3", "fork", "vfork"))


def audit_remove_rules():
    """Removes the bench's rules, whatever happened before."""
    subprocess.run(["auditctl", "-D", "-k", AUDIT_KEY], timeout=30,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Auditd(Tool):
    """auditd in the foreground (-n) with its own configuration: Debian's
    auditd.conf, but logging to a file of this run and with no plugins."""

    signal = signal.SIGTERM  # how auditd is told to stop
    SYSCALL_RE = re.compile(r"^type=SYSCALL .*? syscall=(\d+) (?:success=(\w+) exit=(-?\d+) )?"
                            r".*? pid=(\d+) ")
    # x86_64 numbers: clone, fork, vfork, clone3 / execve, execveat / exit, exit_group
    CREATE, EXEC, EXIT = {56, 57, 58, 435}, {59, 322}, {60, 231}

    def start(self):
        self.saved = audit_status()
        os.mkdir(self.path("plugins"))
        conf = read_text("/etc/audit/auditd.conf")
        conf = re.sub(r"(?m)^log_file = .*$", f"log_file = {self.path('audit.log')}", conf)
        conf = re.sub(r"(?m)^plugin_dir = .*$", f"plugin_dir = {self.path('plugins')}", conf)
        conf = re.sub(r"(?m)^max_log_file_action = .*$", "max_log_file_action = IGNORE", conf)
        with open(self.path("auditd.conf"), "w") as f:
            f.write(conf)
        os.chmod(self.path("auditd.conf"), 0o640)
        self.spawn(["auditd", "-n", "-c", self.dir])
        wait_until(lambda: audit_status().get("pid") == str(self.proc.pid), 30, self.proc, "auditd")
        auditctl("-b", "8192", "--backlog_wait_time", "60000")  # Debian's audit.rules
        for calls in AUDIT_RULES:
            auditctl("-a", "always,exit", "-F", "arch=b64",
                     *[a for c in calls for a in ("-S", c)], "-k", AUDIT_KEY)
        self.lost0 = int(audit_status()["lost"])
        self.kauditd = kthread_pid("kauditd")
        self.kcpu0 = proc_cpu_seconds(self.kauditd) if self.kauditd else 0.0
        self.attached()

    def stop(self):
        audit_remove_rules()
        # let auditd write what the kernel still holds before it stops
        deadline = time.monotonic() + self.args.stop_timeout
        while audit_status().get("backlog", "0") != "0" and time.monotonic() < deadline:
            time.sleep(0.1)
        self.lost1 = int(audit_status()["lost"])
        kcpu = proc_cpu_seconds(self.kauditd) - self.kcpu0 if self.kauditd else 0.0
        res = super().stop()
        res["cpu"] += kcpu
        self.restore()
        return res

    def restore(self):
        s = self.saved
        for opt, key in (("-e", "enabled"), ("-b", "backlog_limit"),
                         ("--backlog_wait_time", "backlog_wait_time")):
            if key in s:
                subprocess.run(["auditctl", opt, s[key]], timeout=30,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def cleanup(self):
        audit_remove_rules()
        alive = self.proc and self.proc.poll() is None
        super().cleanup()
        if alive:
            self.restore()

    def lost(self):
        return self.lost1 - self.lost0

    def required(self):
        # a thread's exit record carries the process id, not the thread's
        if self.storm in ("thread", "thread2"):
            return {"create"}
        return super().required()

    def events(self):
        with open(self.path("audit.log"), encoding="utf-8", errors="replace") as f:
            for line in f:
                m = self.SYSCALL_RE.match(line)
                if not m or AUDIT_KEY not in line:
                    continue
                nr, ok, ret, pid = int(m.group(1)), m.group(2), m.group(3), int(m.group(4))
                if nr in self.CREATE and ok == "yes":
                    yield "create", int(ret)
                elif nr in self.EXEC and ok == "yes":
                    yield "exec", pid
                elif nr in self.EXIT:
                    yield "exit", pid


def make_tool(args, name, storm):
    if name.startswith("ksysmon-"):
        return Ksysmon(args, storm, name.split("-", 1)[1])
    return {"forkstat": Forkstat, "bpftrace": Bpftrace, "perf": Perf, "auditd": Auditd}[name](args, storm)


# ---------------------------------------------------------------- measuring

def completeness(tool, storm, ids, n):
    """(seen, expected) for the storm, or None when the tool cannot see it.
    An id the workload created k times (a reused tid) must be reported k
    times with each required kind."""
    if storm == "dlopen":
        if not tool.captures_images():
            return None
        pid = ids[0]
        return min(n, sum(1 for kind, i in tool.events() if kind == "image" and i == pid)), n
    want = collections.Counter(ids)
    got = {i: collections.Counter() for i in want}
    for kind, i in tool.events():
        if i in got:
            got[i][kind] += 1
    need = tool.required()
    return sum(min(k, *(got[i][kind] for kind in need)) for i, k in want.items()), len(ids)


def monitored_run(args, name, storm, n):
    tool = make_tool(args, name, storm)
    try:
        tool.start()
        time.sleep(args.settle)
        wall, ids = run_storm(args, storm, n)
        res = tool.stop()
        res["wall"] = wall
        res["complete"] = completeness(tool, storm, ids, n)
        return res
    finally:
        tool.cleanup()


def bench_storm(args, storm, tools):
    n = calibrate(args, storm)
    jobs = len(storm_cmds(args, storm, n))
    print(f"{storm} storm: {n * jobs} operations per run, {args.pairs} pairs", flush=True)
    runs = {t: [] for t in tools}
    for i in range(args.pairs):
        for name in tools:
            base, _ = run_storm(args, storm, n)
            time.sleep(args.settle)
            r = monitored_run(args, name, storm, n)
            r["base"] = base
            runs[name].append(r)
            c = r["complete"]
            print(f"  {storm} {name} pair {i + 1}: baseline {base:.3f} s, monitored "
                  f"{r['wall']:.3f} s, ratio {r['wall'] / base:.3f}, "
                  f"complete {f'{c[0]} of {c[1]}' if c else 'n/a'}, lost {r['lost']}, "
                  f"CPU {r['cpu']:.3f} s, RSS {r['rss_kib'] / 1024:.1f} MiB", flush=True)
            time.sleep(args.settle)
    rows = [summarize(storm, n * jobs, name, runs[name]) for name in tools]
    # one rate per storm, from every baseline run, so that the tools line up
    base = statistics.median(r["base"] for name in tools for r in runs[name])
    for row in rows:
        row["event_rate"] = n * jobs * EVENTS_PER_OP[storm] / base
    return rows


def sum_lost(lost):
    """Sum over the runs of counts, or of "N overruns" (forkstat)."""
    if all(isinstance(x, int) for x in lost):
        return sum(lost)
    return f"{sum(int(str(x).split()[0]) for x in lost)} overruns"


def summarize(storm, ops, name, runs):
    med = statistics.median
    ratios = [r["wall"] / r["base"] for r in runs]
    complete = [r["complete"] for r in runs]
    events = ops * EVENTS_PER_OP[storm]
    cpu = med(r["cpu"] for r in runs)
    lost = [r["lost"] for r in runs]
    return {
        "storm": storm, "tool": name, "ops": ops, "pairs": len(runs),
        "ratio": med(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
        "base_wall": med(r["base"] for r in runs),
        # the worst run: completeness is a promise for every run
        "complete": min(complete, key=lambda c: c[0] / c[1]) if all(complete) else None,
        "lost": sum_lost(lost),
        "cpu_s": cpu, "cpu_ms_per_1k": cpu * 1e6 / events if events else None,
        "rss_mib": max(r["rss_kib"] for r in runs) / 1024,
    }


# ---------------------------------------------------------------- loss threshold

def renice_all(pid, nice):
    # nice is per thread on Linux: every thread of the monitor
    for tid in os.listdir(f"/proc/{pid}/task"):
        os.setpriority(os.PRIO_PROCESS, int(tid), nice)


def loss_run(args, nice, rate):
    """One paced thread storm on every CPU at rate events/s in total (None:
    as fast as it goes) for --loss-seconds, under ksysmon (JSON to a file,
    default queue) at nice (relative to the storms, at most 19). Returns
    (achieved events/s, lost)."""
    jobs = len(storm_cmds(args, "thread2", 1))
    per_job = rate / jobs / EVENTS_PER_OP["thread2"] if rate else None
    n = int((per_job or args.loss_max_ops) * args.loss_seconds)
    mon = Monitor(args.monitor)
    try:
        renice_all(mon.proc.pid, min(19, os.getpriority(os.PRIO_PROCESS, 0) + nice))
        time.sleep(args.settle)
        wall, ids = run_storm(args, "thread2", n, rate=per_job)
        dog = threading.Timer(args.stop_timeout, mon.proc.kill)
        dog.start()
        try:
            _, _, lost, _ = mon.stop()
        finally:
            dog.cancel()
    finally:
        mon.kill()
    return len(ids) * EVENTS_PER_OP["thread2"] / wall, lost


def loss_bounds(rows):
    """The first target at which a run lost events, and the rates reached
    below it. Targets, not reached rates, order the runs: a storm that no
    longer sleeps between operations saturates the CPUs, and what it then
    reaches depends on how much CPU the monitor takes from it."""
    target = lambda r: r["target"] or float("inf")  # noqa: E731
    lossy = [r for r in rows if r["lost"]]
    first = min(map(target, lossy)) if lossy else float("inf")
    clean = [r["rate"] for r in rows if not lossy or target(r) < first]
    at_first = [r for r in rows if target(r) == first]
    return {"max_clean": max(clean) if clean else None,
            "first_lossy_target": first if first != float("inf") else None,  # None: "max"
            "first_lossy_rates": [r["rate"] for r in at_first if r["lost"]],
            "first_lossy_runs": f"{sum(1 for r in at_first if r['lost'])} of {len(at_first)}"}


def loss_scan(args):
    """Rising target rates until ksysmon loses, then halving the gap between
    the last clean target and the first lossy one. The thresholds are the
    rates the storms reached, which fall short of the targets when the
    machine cannot go faster."""
    found = {}
    for nice in args.loss_nice:
        rows = []

        def step(rate):
            # a loss needs the monitor starved for long enough, which the
            # scheduler does not do alike every time: --loss-repeat runs
            any_lost = 0
            for _ in range(args.loss_repeat):
                got, lost = loss_run(args, nice, rate)
                rows.append({"target": rate, "rate": got, "lost": lost})
                print(f"  loss scan, monitor nice +{nice}: target "
                      f"{f'{rate:,.0f}' if rate else 'max'}/s, reached {got:,.0f} events/s, "
                      f"lost {lost}", flush=True)
                any_lost += lost
            return any_lost

        good = bad = None
        for rate in args.loss_rates + [None]:
            if step(rate):
                bad = rate
                break
            good = rate
        if bad and good:
            for _ in range(args.loss_bisect):
                mid = (good + bad) / 2
                if step(mid):
                    bad = mid
                else:
                    good = mid
        found[nice] = {"rows": rows, **loss_bounds(rows)}
    return found


# ---------------------------------------------------------------- report

def fmt_lost(x):
    return str(x) if x != 0 else "0"


def print_tables(results):
    for storm in dict.fromkeys(r["storm"] for r in results):
        rows = [r for r in results if r["storm"] == storm]
        r0 = rows[0]
        rate = f"{r0['event_rate']:,.0f} events/s" if r0["event_rate"] else "no process events"
        print(f"\n{storm}: {r0['ops']:,} operations per run, baseline {r0['base_wall']:.3f} s "
              f"({rate}), {r0['pairs']} pairs\n")
        print("| tool | ratio median | min–max | complete | lost | CPU ms | CPU ms per 1k events "
              "| max RSS MiB |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            c = r["complete"]
            comp = f"{c[0]:,} of {c[1]:,}" if c else "not captured"
            per1k = f"{r['cpu_ms_per_1k']:.1f}" if r["cpu_ms_per_1k"] is not None else "—"
            print(f"| {r['tool']} | **{r['ratio']:.3f}×** | {r['ratio_min']:.3f}–{r['ratio_max']:.3f} "
                  f"| {comp} | {fmt_lost(r['lost'])} | {r['cpu_s'] * 1000:.0f} | {per1k} "
                  f"| {r['rss_mib']:.1f} |")


def print_loss(found):
    print("\nksysmon loss threshold (default queue, JSON to a file, paced thread storms "
          "on every CPU):\n")
    print("| monitor nice (relative to the storms) | target events/s | reached events/s | lost |")
    print("|---|---|---|---|")
    for nice, f in found.items():
        for r in f["rows"]:
            target = f"{r['target']:,.0f}" if r["target"] else "max"
            print(f"| +{nice} | {target} | {r['rate']:,.0f} | {r['lost']} |")
    print()
    for nice, f in found.items():
        clean = f"{f['max_clean']:,.0f} events/s" if f["max_clean"] else "none"
        if f["first_lossy_rates"]:
            t = f["first_lossy_target"]
            lossy = (f"first loss at target {f'{t:,.0f}/s' if t else 'max'} ({f['first_lossy_runs']} "
                     f"runs lost, at {', '.join(f'{x:,.0f}' for x in f['first_lossy_rates'])} events/s)")
        else:
            lossy = "no loss at any rate tried"
        print(f"monitor nice +{nice}: nothing lost up to {clean}; {lossy}")


STORM_LABELS = {"exec": "exec", "thread": "thread (1 CPU)", "thread2": "thread2 (2 CPUs)",
                "dlopen": "dlopen (image loads)"}


def plot(results, path):
    """PNG of slowdown against the storm's event rate, one line per tool
    (storms without events, mmap, have no place on this axis)."""
    if not shutil.which("gnuplot"):
        print("bench_peers: no gnuplot, no plot", file=sys.stderr)
        return
    # a tool that cannot see a storm's events (image loads for all but
    # ksysmon) has no slowdown to show for it
    results = [r for r in results if r["event_rate"] and r["complete"]]
    tools = list(dict.fromkeys(r["tool"] for r in results))
    rates = {r["storm"]: r["event_rate"] for r in results}
    if not rates:
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        with open(data, "w") as f:
            for t in tools:
                pts = sorted((r["event_rate"], r["ratio"]) for r in results if r["tool"] == t)
                f.write("\n".join(f"{x:.0f} {y:.4f}" for x, y in pts) + "\n\n\n")
        def title(t):
            # a tool that dropped events did less work: say so beside its line
            short = [r["storm"] for r in results if r["tool"] == t
                     and r["complete"][0] < r["complete"][1]]
            return t + (f" (missed events in {', '.join(short)})" if short else "")
        plots = ", ".join(f"'{data}' index {i} using 1:2 with linespoints lw 2 pt {5 + i} ps 1.2 "
                          f"title '{title(t)}'" for i, t in enumerate(tools))
        # storm names along the bottom, on two heights: some rates are close
        labels = "\n".join(
            f"set label '{STORM_LABELS.get(s, s)}' at first {x:.0f}, graph {0.03 + 0.05 * (i % 2):.2f} center"
            for i, (s, x) in enumerate(sorted(rates.items(), key=lambda kv: kv[1])))
        script = f"""set terminal pngcairo size 900,560 font ',10'
set output '{os.path.abspath(path)}'
set title 'Slowdown of the storms under each monitor (median of the pairs)'
set xlabel 'event rate of the storm without monitor (process, thread and image-load events/s)'
set ylabel 'wall time monitored / baseline'
set logscale xy
set xrange [{min(rates.values()) / 2:.0f}:{max(rates.values()) * 2:.0f}]
set ytics (0.9, 1, 1.1, 1.25, 1.5, 2, 3, 5, 10, 20, 50)
set yrange [0.7:*]
set grid
set key top left
{labels}
plot {plots}, 1 with lines lc rgb 'gray' dt 2 notitle
"""
        run_bounded(["gnuplot"], 60, input=script, text=True, check=True)
    print(f"plot: {path}")


# ---------------------------------------------------------------- main

PID_MAX = "/proc/sys/kernel/pid_max"


def raise_pid_max():
    """Sets kernel.pid_max to 4194304 (what systemd sets on most machines)
    so that tids are not reused within a storm; returns the old value."""
    old = read_text(PID_MAX).strip()
    with open(PID_MAX, "w") as f:
        f.write("4194304")
    return old


def ensure_tracefs():
    """bpftrace and perf find tracepoints in tracefs; mounts it when it is
    not. Returns True when it was mounted here (to unmount at the end)."""
    if os.path.isdir("/sys/kernel/tracing/events"):
        return False
    run_bounded(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"], 30, check=True)
    return True


def versions():
    def first_line(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"
    cpu = next((l.split(":", 1)[1].strip() for l in read_text("/proc/cpuinfo").splitlines()
                if l.startswith("model name")), "?")
    return {"cpu": cpu, "cpus": os.cpu_count(), "kernel": os.uname().release,
            "ksysmon": "build of " + first_line(["git", "rev-parse", "--short", "HEAD"]),
            "forkstat": first_line(["forkstat", "-h"]), "bpftrace": first_line(["bpftrace", "--version"]),
            "perf": first_line([perf_binary(), "--version"]),
            "auditd": first_line(["auditctl", "-v"])}


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--monitor", help="ksysmon binary (required)")
    ap.add_argument("--workload", help="tests/integration/workload binary (required)")
    ap.add_argument("--pairs", type=int, default=7, help="pairs per storm and tool (7)")
    ap.add_argument("--seconds", type=float, default=0.8,
                    help="baseline duration each storm is sized to (0.8)")
    ap.add_argument("--storms", default=",".join(STORMS), help="comma-separated subset of "
                    + ", ".join(STORMS))
    ap.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of "
                    + ", ".join(TOOLS))
    ap.add_argument("--settle", type=float, default=0.2, help="pause between runs, seconds")
    ap.add_argument("--storm-timeout", type=float, default=120,
                    help="longest a storm may take, seconds (120)")
    ap.add_argument("--stop-timeout", type=float, default=60,
                    help="longest a tool may take to stop after its signal (60)")
    ap.add_argument("--no-loss", action="store_true", help="skip the loss threshold scan")
    ap.add_argument("--loss-rates", default="50000,100000,150000,200000,300000",
                    help="events/s the loss scan tries, then as fast as the machine goes")
    ap.add_argument("--loss-nice", default="0,19",
                    help="monitor nice levels of the loss scan, added to the storms' (0,19)")
    ap.add_argument("--loss-seconds", type=float, default=5, help="length of a loss run (5)")
    ap.add_argument("--loss-max-ops", type=int, default=150000,
                    help="threads per second per CPU assumed when sizing the unpaced run")
    ap.add_argument("--loss-bisect", type=int, default=2, help="halvings after the first loss")
    ap.add_argument("--loss-repeat", type=int, default=2, help="runs per rate of the loss scan (2)")
    ap.add_argument("--plot", default=os.path.join(os.path.dirname(__file__), "peers.png"),
                    help="PNG of slowdown by event rate (bench/peers.png; '' for none)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    ap.add_argument("--replot", metavar="FILE",
                    help="only draw --plot again from the results of an earlier --json FILE")
    args = ap.parse_args()
    args.storms = [s for s in args.storms.split(",") if s]
    args.tools = [t for t in args.tools.split(",") if t]
    args.loss_rates = [float(x) for x in args.loss_rates.split(",") if x]
    args.loss_nice = [int(x) for x in args.loss_nice.split(",") if x]
    bad = [s for s in args.storms if s not in STORMS] + [t for t in args.tools if t not in TOOLS]
    if not args.replot and not (args.monitor and args.workload):
        ap.error("--monitor and --workload are required")
    if bad or args.pairs < 1:
        ap.error(f"unknown storm or tool, or no pairs: {bad}")
    return args


def interrupted(signum, frame):
    raise KeyboardInterrupt


def main():
    args = parse_args()
    if args.replot:
        with open(args.replot) as f:
            plot(json.load(f)["results"], args.plot)
        return 0
    if os.geteuid() != 0:
        print("bench_peers: must run as root", file=sys.stderr)
        return 2
    missing = [t for t in args.tools if not t.startswith("ksysmon")
               and not shutil.which({"auditd": "auditctl"}.get(t, t))]
    if missing:
        print(f"bench_peers: not installed: {', '.join(missing)} "
              "(bash scripts/deps.sh --bench)", file=sys.stderr)
        return 2
    # a SIGTERM unwinds like Ctrl-C, through every finally below
    signal.signal(signal.SIGTERM, interrupted)
    info = versions()
    print(f"ksysmon and peers: {info['cpu']}, {info['cpus']} CPUs, kernel {info['kernel']}, "
          f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}, load {os.getloadavg()[0]:.2f}", flush=True)
    for k in ("forkstat", "bpftrace", "perf", "auditd"):
        print(f"  {k}: {info[k]}")
    mounted, pid_max = False, None
    results, found = [], {}
    try:
        pid_max = raise_pid_max()
        mounted = ensure_tracefs()
        audit_remove_rules()  # left over from an interrupted run
        for storm in args.storms:
            results += bench_storm(args, storm, args.tools)
        if not args.no_loss:
            print("loss threshold scan", flush=True)
            found = loss_scan(args)
    except BenchError as e:
        print(f"bench_peers: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench_peers: interrupted", file=sys.stderr)
        return 130
    finally:
        audit_remove_rules()
        if mounted:
            subprocess.run(["umount", "/sys/kernel/tracing"], timeout=30)
        if pid_max:
            with open(PID_MAX, "w") as f:
                f.write(pid_max)
    print_tables(results)
    if found:
        print_loss(found)
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.plot and results:
        plot(results, args.plot)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "date": time.strftime("%Y-%m-%d"), "results": results,
                       "loss": {str(k): v for k, v in found.items()}}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
