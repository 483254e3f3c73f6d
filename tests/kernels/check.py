"""Judges the results of tests/kernels/guest/cases.sh, run in a guest or
natively: every field of ksysmon's events against the workload's own truth.

check_kernel(results_dir) returns a list of Result, one per named check;
a check either passes, fails (with the first wrong fact and ksysmon's
standard error), or is not available on that kernel (ksysmon said so and
the kernel indeed lacks it).  Facts about the kernel itself (attach kinds,
LSMs) come back as Result with status "info".
"""
import calendar
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))
from harness import by_pid, one  # noqa: E402

PASS, FAIL, NA, INFO, FALLBACK = "pass", "fail", "n/a", "info", "fallback"

# every case, in the order a guest runs them
CASES = ["features", "core", "images", "images_raw", "images_perf", "module", "pid", "config",
         "deny", "deny_lsm", "deny_stop_lsm", "deny_stop_fanotify", "deny_stop_audit",
         "deny_unverifiable", "events_all", "namespaces", "scope", "clock_step",
         "detached", "detached_deny_lsm"]

# ksysmon's own bookkeeping lines on standard error; any other line is a
# note (a feature it says is off, a warning)
BOOKKEEPING = re.compile(r"^ksysmon: (ready|summary:|lost:|filtered:|deny: \d+ execs)")


class Result:
    """A check's outcome; fact=True for what is known of the kernel itself
    (never counted as passed or failed)."""

    def __init__(self, check, status, detail="", fact=False):
        self.check, self.status, self.detail, self.fact = check, status, detail, fact

    def __repr__(self):
        return "%s: %s %s" % (self.check, self.status, self.detail)


class Case:
    """One case's directory: ksysmon's output, status and the truth."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)

    def has(self, name):
        return os.path.exists(os.path.join(self.path, name))

    def text(self, name, default=""):
        try:
            with open(os.path.join(self.path, name), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return default

    def truth(self, name):
        """{key: [values]} of t.NAME's key=value lines."""
        vals = {}
        for line in self.text("t." + name).splitlines():
            k, _, v = line.partition("=")
            vals.setdefault(k, []).append(v)
        return vals

    def one_int(self, name, key):
        vals = self.truth(name).get(key)
        if not vals:
            raise AssertionError("the workload printed no %s= (t.%s: %r, status %s)" % (
                key, name, self.text("t." + name), self.text("t.%s.rc" % name).strip()))
        return int(vals[0])

    @property
    def stderr(self):
        return self.text("err")

    @property
    def workload(self):
        """The workload's resolved path."""
        return self.text("workload.path").strip()

    @property
    def workload_arg0(self):
        """The workload's path as the cases ran it (argv[0], filename)."""
        return self.text("workload.arg0").strip()

    def notes(self):
        return [line for line in self.stderr.splitlines()
                if line.startswith("ksysmon: ") and not BOOKKEEPING.match(line)]

    def events(self):
        evs = []
        for n, line in enumerate(self.text("out").splitlines(), 1):
            try:
                evs.append(json.loads(line))
            except ValueError as e:
                raise AssertionError("output line %d is not JSON (%s): %r" % (n, e, line[:200]))
        return evs

    def lost(self):
        m = re.search(r"^ksysmon: lost:(.*)$", self.stderr, re.M)
        if not m:
            raise AssertionError("no lost: line in ksysmon's stderr")
        return {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}

    def filtered(self):
        m = re.search(r"ksysmon: filtered: kernel=(\d+) user=(\d+)", self.stderr)
        if not m:
            raise AssertionError("no filtered: line in ksysmon's stderr")
        return int(m.group(1)), int(m.group(2))


def why_not_started(case):
    """None when ksysmon became ready and stopped cleanly, else why not."""
    if case.has("timeout"):
        return case.text("timeout").strip()
    if not case.has("mon.rc"):
        return "ksysmon was not run (case incomplete)"
    err = case.stderr.strip() or "(nothing on stderr)"
    if not case.has("mon.ready"):
        tail = case.text("debug.tail").strip()
        why = "ksysmon did not start (exit %s): %s" % (case.text("mon.rc").strip(), err)
        if tail:
            why += "\n  libbpf/verifier log, last lines:\n    " + "\n    ".join(
                tail.splitlines()[-12:])
        return why
    if case.has("mon.killed"):
        return "ksysmon did not stop within 60 s of SIGINT and was killed; stderr: " + err
    if case.text("mon.rc").strip() != "0":
        return "ksysmon exited %s after SIGINT; stderr: %s" % (case.text("mon.rc").strip(), err)
    return None


def eq(got, want, what):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def run_check(results, name, case, fn):
    """Runs fn(case) -> None (pass) or (status, detail); records a Result."""
    try:
        res = fn(case)
        status, detail = res if res else (PASS, "")
    except AssertionError as e:
        status, detail = FAIL, str(e)
    except Exception as e:  # a crash of the checker is a failure, never a pass
        status, detail = FAIL, "checker error: %r" % e
    if status == FAIL and case.has("err") and "stderr:" not in detail and \
            "did not start" not in detail:
        detail += "\n  ksysmon stderr: " + " | ".join(case.stderr.strip().splitlines())
    results.append(Result(name, status, detail))


# ---------------------------------------------------------------- core

def check_started(case):
    why = why_not_started(case)
    if why:
        raise AssertionError(why)


def started_events(case):
    check_started(case)
    return case.events()


def check_lost(case):
    evs = started_events(case)
    lost = [e for e in evs if e["type"] == "events_lost"]
    if lost:
        raise AssertionError("events_lost events: %r" % lost)
    eq(case.lost()["total"], 0, "lost total")


def vfork_truth(case, name):
    """(parent pid, child pid, child's wait status) of a `workload vfork`."""
    return case.one_int(name, "pid"), case.one_int(name, "child"), case.one_int(name, "status")


def check_exec_fields(ev, case, pid, argv, ppid):
    wl = case.workload
    eq(ev["tid"], pid, "exec tid")
    eq(ev["image"], wl, "exec image")
    eq(ev["filename"], argv[0], "exec filename")
    eq(ev["argv"], argv, "exec argv")
    eq(ev["cmdline"], " ".join(argv), "exec cmdline")
    eq(ev["argv_truncated"], False, "argv_truncated")
    eq((ev["uid"], ev["gid"], ev.get("euid")), (0, 0, 0), "exec uid, gid, euid")
    eq(ev["comm"], os.path.basename(wl)[:15], "exec comm")
    eq(ev["ppid"], ppid, "exec ppid")


def check_create_exec_exit(case):
    evs = started_events(case)
    parent, child, status = vfork_truth(case, "exit")
    eq(status >> 8, 7, "wait status of the child (exit code)")
    cr = one(evs, child, "process_create")
    eq((cr["ppid"], cr["parent_tid"]), (parent, parent), "create ppid, parent_tid")
    eq(cr["comm"], "workload", "create comm")
    ex = one(evs, child, "process_exec")
    check_exec_fields(ex, case, child, [case.workload_arg0, "exit", "7"], parent)
    ext = one(evs, child, "process_exit")
    eq((ext.get("exit_code"), ext.get("signal"), ext["tid"]), (7, None, child),
       "exit code, signal, tid")
    eq(ext["comm"], "workload", "exit comm")
    idx = [evs.index(e) for e in (cr, ex, ext)]
    eq(idx, sorted(idx), "order of create, exec, exit")
    eq(one(evs, parent, "process_exit").get("exit_code"), 0, "parent's exit code")


def check_exit_codes_and_signals(case):
    evs = started_events(case)
    for code in (0, 1, 255):
        _, child, status = vfork_truth(case, "code.%d" % code)
        eq(status >> 8, code, "wait status of the child exiting with %d" % code)
        ext = one(evs, child, "process_exit")
        eq((ext.get("exit_code"), ext.get("signal")), (code, None), "exit_code, signal")
    for name, sig in (("kill", 9), ("segv", 11)):
        _, child, status = vfork_truth(case, name)
        eq(status & 0x7f, sig, "wait status of the child killed by %d" % sig)
        ext = one(evs, child, "process_exit")
        eq((ext.get("signal"), ext.get("core_dumped"), ext.get("exit_code")), (sig, False, None),
           "signal, core_dumped, exit_code of the child killed by %d" % sig)


def check_threads(case):
    evs = started_events(case)
    wrong = []
    runs = sorted(f[2:] for f in os.listdir(case.path)
                  if f.startswith("t.threads.") and not f.endswith(".rc"))
    eq(len(runs), 60, "runs of the threads workload (THREAD_RUNS in cases.sh)")
    for run in runs:
        pid = case.one_int(run, "pid")
        tids = sorted(int(t) for t in case.truth(run).get("tid", []))
        eq(len(tids), 3, "threads the workload started")
        for what, got, want in (
                ("thread_create tids", sorted(e["tid"] for e in by_pid(evs, pid, "thread_create")),
                 tids),
                ("thread_exit tids", sorted(e["tid"] for e in by_pid(evs, pid, "thread_exit")),
                 tids),
                ("process_create events", len(by_pid(evs, pid, "process_create")), 1),
                ("process_exit (tid, exit_code)", [(e["tid"], e.get("exit_code"))
                                                   for e in by_pid(evs, pid, "process_exit")],
                 [(pid, 0)])):
            if got != want:
                wrong.append("process %d: %s: got %r, want %r" % (pid, what, got, want))
    if wrong:
        raise AssertionError("%d of %d runs wrong, the first: %s" % (
            len({w.split(":")[0] for w in wrong}), len(runs), "; ".join(wrong[:2])))


def check_thread_exec(case):
    evs = started_events(case)
    pid = case.one_int("texec", "pid")
    tid = case.one_int("texec", "tid")
    execs = by_pid(evs, pid, "process_exec")
    eq(len(execs), 2, "execs of the process (the workload, then from its thread)")
    check_exec_fields(execs[1], case, tid, [case.workload_arg0, "exit", "0"],
                      execs[1]["ppid"])
    eq(one(evs, pid, "thread_create")["tid"], tid, "thread_create tid")
    eq(one(evs, pid, "process_exit").get("exit_code"), 0, "exit code")


# ---------------------------------------------------------------- images

def feature_note(case, what):
    """How ksysmon says it handles WHAT on this kernel: ("off", line) for
    "WHAT are not reported on this kernel", ("fallback", line) for "WHAT are
    caught by ... on this kernel, not ...", (None, None) when it says
    nothing (the first way)."""
    for n in case.notes():
        if n.startswith("ksysmon: %s are not reported" % what):
            return "off", n
        if n.startswith("ksysmon: %s are caught by" % what):
            return "fallback", n
    return None, None


def check_images(case):
    evs = started_events(case)
    pid = case.one_int("dlopen", "pid")
    loads = by_pid(evs, pid, "image_load")
    how, note = feature_note(case, "image loads")
    if how == "off":
        if loads:
            raise AssertionError("ksysmon says '%s' but reported %d" % (note, len(loads)))
        return NA, note
    truth = [line.split("|") for line in case.text("t.images").splitlines()]
    if len(truth) != 5:
        raise AssertionError("expected 5 objects from dl_iterate_phdr (program, ld.so, libc, "
                             "libz, libyaml), got %r" % truth)
    for name, base, size, path, ino, dev in truth:
        found = [e for e in loads if e["path"] == path]
        eq(len(found), 1, "image_load events for %s" % path)
        e = found[0]
        eq((int(e["base"], 16), e["size"]), (int(base, 16), int(size)), "base, size of " + path)
        eq((e["inode"], e["dev"]), (int(ino), int(dev)), "inode, dev of " + path)
        eq(e["tid"], pid, "tid of " + path)
    eq(len(loads), len(truth), "image_load events of the process")
    return (FALLBACK, note) if how == "fallback" else None


def check_module(case, features):
    if case.has("skipped"):
        if features.get("modules") == "0":
            return NA, "the kernel has no loadable modules"
        raise AssertionError("module case not run: " + case.text("skipped"))
    evs = started_events(case)
    how, note = feature_note(case, "kernel module loads")
    mods = [e for e in evs if e["type"] == "image_load" and e.get("kernel")]
    if how == "off":
        if features.get("module_load_tp") == "0" and not mods:
            return NA, note
        raise AssertionError("ksysmon says '%s' but the kernel has the module_load tracepoint"
                             % note)
    eq(case.text("insmod.rc").strip(), "0", "insmod status (%s)" % case.text("insmod.err"))
    eq(len(mods), 1, "kernel-module image_load events (%r)" % mods)
    eq((mods[0]["pid"], mods[0]["path"]), (0, "dummy"), "module event pid, path")
    return (FALLBACK, note) if how == "fallback" else None


# ---------------------------------------------------------------- options

def check_pid(case):
    evs = started_events(case)
    target = int(case.text("target.pid"))
    eq(case.one_int("target", "pid"), target, "pid the target printed")
    _, child, status = vfork_truth(case, "target")
    eq(status >> 8, 4, "target child's exit code")
    eq([e["type"] for e in by_pid(evs, target)], ["process_exit"], "events of the target")
    eq([e["type"] for e in by_pid(evs, child)], ["process_create", "process_exec",
                                                  "process_exit"], "events of its child")
    eq(one(evs, child, "process_exec")["argv"], [case.workload_arg0, "exit", "4"], "child argv")
    eq(one(evs, child, "process_exit").get("exit_code"), 4, "child exit code")
    eq({e["pid"] for e in evs}, {target, child}, "pids reported")


def check_config(case):
    evs = started_events(case)
    excluded = [int(v) for v in case.truth("excluded").get("child", [])]
    eq(len(excluded), 20, "excluded children run")
    for c in excluded:
        eq([e["type"] for e in by_pid(evs, c)], ["process_create"], "events of excluded %d" % c)
    _, kept, _ = vfork_truth(case, "kept")
    eq(one(evs, kept, "process_exec")["argv"], [case.workload_arg0, "exit", "2"], "kept argv")
    eq(one(evs, kept, "process_exit").get("exit_code"), 2, "kept exit code")
    kernel, user = case.filtered()
    if kernel < 40 or user != 0:
        raise AssertionError("filtered: kernel=%d user=%d, want kernel>=40 user=0"
                             % (kernel, user))


def cgroup_of(case, name):
    """The id of a cgroup the case made (the inode stat gave in the guest)."""
    return int(case.text(name + ".id").strip())


def check_scope(case):
    evs = started_events(case)
    cid = "5ca1ab1e0123456789abcdef0123456789abcdef0123456789abcdef01234567"
    top, sub = "/ksm_scope/libpod-" + cid, "/ksm_scope/libpod-%s/sub" % cid
    for name, code, cgroup in (("inside", 3, top), ("below", 4, sub)):
        _, child, status = vfork_truth(case, name)
        eq(status >> 8, code, "wait status of the %s child" % name)
        ex = one(evs, child, "process_exec")
        eq(ex.get("container_id"), cid, "container of the %s child" % name)
        eq(ex.get("cgroup"), cgroup, "cgroup of the %s child" % name)
        eq(one(evs, child, "process_exit").get("exit_code"), code, "%s exit code" % name)
    _, outside, _ = vfork_truth(case, "outside")
    eq(by_pid(evs, outside), [], "events of the process outside")
    # threads: each event with the thread's cgroup (read in the kernel),
    # its path and container; those outside dropped before the queue
    t = case.truth("threads_inside")
    pid, tids = int(t["pid"][0]), [int(x) for x in t["tid"]]
    eq(len(tids), 2, "threads started inside")
    mine = by_pid(evs, pid)
    got = sorted((e["type"], e["tid"]) for e in mine if e["type"].startswith("thread_"))
    eq(got, sorted((k, tid) for tid in tids for k in ("thread_create", "thread_exit")),
       "thread events inside")
    eq(sorted(e["type"] for e in mine if not e["type"].startswith("thread_")),
       ["process_exec", "process_exit"], "process events of the threads' process")
    for e in mine:
        eq((e.get("cgroup_id"), e.get("cgroup"), e.get("container_runtime")),
           (cgroup_of(case, "sub"), sub, "podman"), "cgroup of %s %d" % (e["type"], e["tid"]))
    eq(by_pid(evs, int(case.truth("threads_outside")["pid"][0])), [], "events of the threads outside")
    for e in evs:
        eq(e.get("container_id"), cid, "container of every event shown")
    kernel, _ = case.filtered()
    if kernel < 7:
        raise AssertionError("filtered: kernel=%d, want >= 7" % kernel)


def check_deny(case):
    evs = started_events(case)
    pid = case.one_int("denied", "pid")
    eq(case.truth("denied").get("errno"), ["1"], "errno of the denied exec (EPERM)")
    path = case.text("denied.path").strip()
    ev = one(evs, pid, "exec_blocked")
    eq(ev["path"], path, "exec_blocked path")
    eq(ev["rule"], os.path.join(os.path.dirname(path), "ksm-denied*"), "exec_blocked rule")
    eq(ev.get("audit", False), False, "exec_blocked audit")
    # tried in a cgroup named as podman names a container's
    cid = "de11ed0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
    eq((ev.get("cgroup_id"), ev.get("cgroup"), ev.get("container_id"), ev.get("container_runtime")),
       (cgroup_of(case, "cgroup"), "/ksm_deny/libpod-" + cid, cid, "podman"),
       "exec_blocked cgroup and container")
    eq([e for e in by_pid(evs, pid, "process_exec") if e["image"] == path], [],
       "process_exec of the denied file")
    _, child, status = vfork_truth(case, "allowed")
    eq(status, 0, "wait status of the allowed exec")
    eq(one(evs, child, "process_exit").get("exit_code"), 0, "allowed exit code")


def guest_only(case):
    """n/a where the case would not run (natively: it would hold or kill
    other users' execs), else None."""
    if case.has("guest-only"):
        return NA, "run in a guest only (on a shared machine it would hold or kill other users' execs)"
    return None


def check_deny_stop(case, engine):
    """An allowed and a denied exec while ksysmon is stopped for 3 s: the
    kernel engine and --audit hold neither; fanotify holds both until
    ksysmon runs again (nothing can answer for it)."""
    evs = started_events(case)
    path = case.text("denied.path").strip()
    held = engine == "fanotify"
    for name, errno_ in (("ok", None), ("denied", None if engine == "audit" else "1")):
        t = case.truth(name)
        eq(t.get("ended_stopped"), ["0" if held else "1"], "%s exec ended while ksysmon was stopped" % name)
        if held and float(t["ms"][0]) < 3000:
            raise AssertionError("%s exec took %s ms, less than the stop" % (name, t["ms"][0]))
        if errno_:
            eq(t.get("errno"), [errno_], "errno of the %s exec" % name)
        else:
            eq(t.get("status"), ["0"], "wait status of the %s exec" % name)
    ev = one(evs, case.one_int("denied", "child"), "exec_blocked")
    eq((ev["path"], ev["rule"], ev["audit"]), (path, path, engine == "audit"), "exec_blocked")


def check_deny_unverifiable(case):
    """A memfd exec and a user namespace's tmpfs exec killed (SIGKILL, exit
    status 137 in the shell), each reported once; a watched exec runs."""
    evs = started_events(case)
    alone = case.text("t.memfd_alone.rc").strip()
    if alone == "0":
        eq(case.text("t.memfd.rc").strip(), "137", "status of the memfd exec")
        ev = one(evs, case.one_int("memfd", "pid"), "exec_blocked")
        eq((ev["path"], ev.get("deleted"), ev["rule"]),
           ("/memfd:ksm-memfd (deleted)", True, "unwatched filesystem"), "memfd exec_blocked")
    eq(case.text("t.ns.rc").strip(), "137", "status of the namespace's exec")
    ns = [e for e in evs if e["type"] == "exec_blocked" and e["path"].endswith("/prog")]
    eq([e["rule"] for e in ns], ["unwatched filesystem"], "namespace exec_blocked")
    _, child, status = vfork_truth(case, "watched")
    eq(status, 0, "wait status of the watched exec")
    eq(one(evs, child, "process_exit").get("exit_code"), 0, "watched exit code")
    if alone != "0":
        return PASS, ("memfd exec not checked: it fails on this kernel without ksysmon too (status %s)"
                      % alone)


def check_stop_lsm(case, features):
    """check_deny_stop with the kernel engine, or its one-line refusal
    where the kernel runs no BPF-LSM program."""
    if features.get("bpf_lsm") != "1":
        return guest_only(case) or check_deny_lsm(case, features)
    return guest_only(case) or check_deny_stop(case, "lsm")


def lsm_refused(case, features):
    """(n/a, its line) where the kernel runs no BPF-LSM program (the probe
    could not attach one, or bpf is not an active LSM) and ksysmon refused
    to start with --deny-engine lsm, as it must, in one line; None where it
    ran."""
    if features.get("bpf_lsm") != "1" and not case.has("mon.ready"):
        lines = case.stderr.strip().splitlines()
        if case.text("mon.rc").strip() in ("", "0") or len(lines) != 1:
            raise AssertionError("without BPF-LSM ksysmon must exit non-zero with one line; "
                                 "exit %s, stderr: %r" % (case.text("mon.rc").strip(), lines))
        return NA, lines[0]
    return None


def check_deny_lsm(case, features):
    """As check_deny, decided in the kernel (or its refusal, lsm_refused)."""
    return lsm_refused(case, features) or check_deny(case)


# ---------------------------------------------------------------- detached trees

def check_detached(case):
    """Programs executed from a tree in no mount namespace: image, the
    program's image_load and the exit's image are the path inside the tree,
    as the process's own /proc/self/exe shows it, after "(unreachable)",
    flagged; the file is the one executed (fstat); the workload's first
    exec, by its own path, is not flagged."""
    evs = started_events(case)
    how, note = feature_note(case, "image loads")
    for name, in_tree in (("bind", "/"), ("tree", "/sub/prog")):
        pid = case.one_int(name, "pid")
        eq(case.truth(name).get("exe"), [in_tree], "/proc/self/exe of the %s exec" % name)
        want = "(unreachable)" + in_tree
        dev, ino = case.one_int(name, "dev"), case.one_int(name, "ino")
        execs = by_pid(evs, pid, "process_exec")
        eq([(e["image"], e.get("image_unreachable")) for e in execs],
           [(case.workload, None), (want, True)], "images of the %s process" % name)
        eq((execs[1]["image_dev"], execs[1]["image_inode"]), (dev, ino), "%s image dev, inode" % name)
        ex = one(evs, pid, "process_exit")
        eq((ex.get("image"), ex.get("image_unreachable")), (want, True), "%s exit image" % name)
        if how == "off":
            continue
        loads = sorted((e["path"], e.get("path_unreachable", False))
                       for e in by_pid(evs, pid, "image_load")
                       if (e["dev"], e["inode"]) == (dev, ino) or e.get("path_unreachable"))
        # the bind's file is the workload itself: its first exec maps it too
        eq(loads, sorted([(want, True)] + ([(case.workload, False)] if name == "bind" else [])),
           "%s image loads of the executed file" % name)
    return (FALLBACK, note) if how == "fallback" else None


def check_detached_deny_lsm(case, features):
    """--deny-engine lsm with a rule on the path inside a detached tree
    and one on the file's own path: the exec from the tree runs, the exec by
    its path is denied."""
    refused = lsm_refused(case, features)
    if refused:
        return refused
    evs = started_events(case)
    pid = case.one_int("detached", "pid")
    eq(case.text("t.detached.rc").strip(), "0", "status of the exec from the detached tree")
    eq(by_pid(evs, pid, "exec_blocked"), [], "exec_blocked of the exec from the detached tree")
    flags = [e.get("image_unreachable") for e in by_pid(evs, pid, "process_exec")]
    eq((flags[-1:], set(flags[:-1])), ([True], {None}), "its images' flags (timeout, the workload, "
       "the program from the tree)")
    path = case.text("denied.path").strip()
    denied = case.one_int("denied", "pid")
    eq(case.truth("denied").get("errno"), ["1"], "errno of the exec by the file's path (EPERM)")
    ev = one(evs, denied, "exec_blocked")
    eq((ev["path"], ev["rule"], ev.get("path_unreachable")),
       (path, os.path.dirname(path) + "/*", None), "exec_blocked of the exec by its path")


def check_namespaces(case):
    """`unshare --pid --fork` then exec cat: vpid 1, level 1, its namespace's
    id as a process inside read it, no parent inside; the host's own
    processes in the host's namespace with no vpid."""
    evs = started_events(case)
    host_ns = case.one_int("host", "pid_ns")
    eq(case.text("t.inside.rc").strip(), "0", "unshare's status")
    ns = int(case.truth("inside")["pid_ns"][0])
    status = dict(line.split(":", 1) for line in case.text("t.inside").splitlines() if ":" in line)
    nspid = [int(x) for x in status["NSpid"].split()]
    eq(len(nspid), 2, "NSpid depth")
    eq(nspid[1], 1, "NSpid inside")
    ex = [e for e in evs if e["type"] == "process_exec" and e["pid"] == nspid[0]]
    if not ex:
        raise AssertionError("no process_exec of pid %d" % nspid[0])
    e = ex[-1]
    eq(e["argv"][0], "cat", "exec argv[0]")
    eq((e.get("vpid"), e.get("vppid"), e.get("pid_ns_level"), e.get("in_init_tree")),
       (1, 0, 1, True), "vpid, vppid, pid_ns_level, in_init_tree")
    eq(e.get("pid_ns"), ns, "pid_ns")
    if ns == host_ns:
        raise AssertionError("the new pid namespace has the host's id %d" % ns)
    host = [x for x in evs if x["type"] == "process_exec" and x.get("pid_ns") == host_ns]
    if not host:
        raise AssertionError("no process_exec in the host's pid namespace %d" % host_ns)
    eq((host[0].get("pid_ns_level"), host[0].get("vpid")), (0, None),
       "host process: pid_ns_level, vpid")


def rfc3339_ns(text):
    """2026-11-25T09:13:44.701637127Z as ns since the epoch."""
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{9})Z$", text)
    if not m:
        raise AssertionError("not an RFC 3339 time with ns: %r" % text)
    secs = calendar.timegm(tuple(int(x) for x in m.groups()[:6]))
    return secs * 10**9 + int(m.group(7))


def check_clock_step(case):
    """The wall clock set an hour forward and back while a pid namespace's
    processes run: their events' times jump an hour and back; every event
    names one container_start, the init's process_exit the same as its
    start_time, and a lifetime on the boot clock (seconds, not an hour); the
    replay prints what was printed live."""
    evs = started_events(case)
    eq(case.text("t.loop.rc").strip(), "0", "the namespace's loop status")
    mine = [e for e in evs if "container_start" in e]
    if len(mine) < 100:
        raise AssertionError("only %d events in the pid namespace" % len(mine))
    eq(len({e["container_start"] for e in mine}), 1, "distinct container_start values")
    times = [rfc3339_ns(e["time"]) for e in mine]
    hour = 3600 * 10**9
    ahead = [t for t in times if t > times[0] + hour - 60 * 10**9]
    if not ahead:
        raise AssertionError("no event an hour ahead: the step was not followed")
    if times[-1] > times[0] + 60 * 10**9:
        raise AssertionError("the last event is still ahead: the step back was not followed")
    init = [e for e in mine if e["type"] == "process_exit" and e.get("vpid") == 1]
    eq(len(init), 1, "the init's process_exit")
    eq(init[0]["start_time"], mine[0]["container_start"], "the init's start_time")
    if init[0]["duration_ms"] > 60000:
        raise AssertionError("the init lived %d ms: the steps moved its lifetime" % init[0]["duration_ms"])
    eq(case.text("replay.rc").strip(), "0", "the replay's status")
    if case.text("replay") != case.text("out"):
        raise AssertionError("the replay differs from the live output")


def check_events_all(case):
    evs = started_events(case)
    pid = case.one_int("threads", "pid")
    tid = case.one_int("threads", "tid")
    eq([e["tid"] for e in by_pid(evs, pid, "thread_create")], [tid], "thread_create")
    if not by_pid(evs, pid, "image_load"):
        raise AssertionError("no image_load event for the workload")


# ---------------------------------------------------------------- facts

def feature_facts(case):
    f = {}
    for line in case.text("t.features").splitlines():
        k, _, v = line.partition("=")
        f[k] = v
    return f


def probe_result(case, kind):
    out = case.text("probe." + kind).strip()
    if case.text("probe.%s.rc" % kind).strip() == "0":
        return PASS, "attached"
    return NA, out or "probe failed (status %s)" % case.text("probe.%s.rc" % kind).strip()


# check name -> (case, function); the matrix's rows, in order
CHECKS = [
    ("starts with default events", "core", check_started),
    ("process create/exec/exit", "core", check_create_exec_exit),
    ("exit codes, deaths by signal", "core", check_exit_codes_and_signals),
    ("threads", "core", check_threads),
    ("exec from a thread", "core", check_thread_exec),
    ("image loads (dl_iterate_phdr truth)", "images", check_images),
    ("image loads, --image-hook raw", "images_raw", check_images),
    ("image loads, --image-hook perf", "images_perf", check_images),
    ("kernel module loads", "module", None),
    ("--pid", "pid", check_pid),
    ("--config kernel rule", "config", check_config),
    ("--deny (fanotify)", "deny", check_deny),
    ("--deny --deny-engine lsm", "deny_lsm", None),
    ("stopped ksysmon, lsm engine", "deny_stop_lsm", None),
    ("stopped ksysmon, fanotify engine", "deny_stop_fanotify",
     lambda c: guest_only(c) or check_deny_stop(c, "fanotify")),
    ("stopped ksysmon, --audit", "deny_stop_audit", lambda c: guest_only(c) or check_deny_stop(c, "audit")),
    ("--deny-unverifiable", "deny_unverifiable", lambda c: guest_only(c) or check_deny_unverifiable(c)),
    ("--events all", "events_all", check_events_all),
    ("pid namespace facts", "namespaces", check_namespaces),
    ("--container in the kernel", "scope", check_scope),
    ("wall clock set while running", "clock_step", lambda c: guest_only(c) or check_clock_step(c)),
    ("paths on a detached mount", "detached", check_detached),
    ("--deny-engine lsm, a detached mount", "detached_deny_lsm", None),
]
LOST_CHECK = "events lost: 0"


def check_kernel(results_dir, cases=None):
    """[Result] for the cases found in results_dir (all of CASES unless
    cases is given; a case expected but absent fails)."""
    cases = cases or CASES
    results = []
    loaded = {}
    for c in cases:
        loaded[c] = Case(os.path.join(results_dir, c))
    feats = feature_facts(loaded["features"]) if "features" in loaded else {}
    if "features" in loaded:
        lsm_attached = loaded["features"].text("probe.lsm.rc").strip() == "0"
        feats["bpf_lsm"] = "1" if lsm_attached and "bpf" in feats.get("lsm", "").split(",") else "0"
    for c in cases:
        case = loaded[c]
        if not case.has("done") and not case.has("timeout"):
            why = "no results (the guest did not get to this case, or its output was lost)"
            results.append(Result("case %s" % c, FAIL, why))
    for name, c, fn in CHECKS:
        if c not in cases or not loaded[c].has("done") and not loaded[c].has("timeout"):
            continue
        case = loaded[c]
        if fn is None:  # checks that need the kernel's facts
            fn = {"module": check_module, "deny_lsm": check_deny_lsm, "deny_stop_lsm": check_stop_lsm,
                  "detached_deny_lsm": check_detached_deny_lsm}[c]
            run_check(results, name, case, lambda k, fn=fn: fn(k, feats))
        else:
            run_check(results, name, case, fn)
    lost_cases = [loaded[c] for c in cases if c != "features" and loaded[c].has("mon.ready")]
    if lost_cases:
        lr = []
        for case in lost_cases:
            run_check(lr, case.name, case, check_lost)
        bad = [r for r in lr if r.status == FAIL]
        results.append(Result(LOST_CHECK, FAIL if bad else PASS,
                              "; ".join("%s: %s" % (r.check, r.detail) for r in bad)))
    if "features" in loaded and loaded["features"].has("done"):
        fc = loaded["features"]
        for kind, label in (("fentry", "fentry (kernel)"), ("kprobe", "kprobes (kernel)"),
                            ("lsm", "BPF-LSM (kernel)")):
            st, detail = probe_result(fc, kind)
            if kind == "lsm" and st == PASS and feats["bpf_lsm"] != "1":
                # attached to a hook that is never called
                st, detail = NA, "attaches, but bpf is not an active LSM (%s)" % feats.get("lsm")
            results.append(Result(label, INFO if st == PASS else NA, detail, fact=True))
        tp = feats.get("module_load_tp")
        results.append(Result("module_load tracepoint (kernel)", INFO if tp == "1" else NA,
                              "present" if tp == "1" else "absent", fact=True))
        # the choice ksysmon's loader makes (src/linux/loader.c): the tracepoint's
        # group_dead (6.16+), else fentry on taskstats_exit, else signal->live,
        # which ksysmon says at start
        gd = feats.get("exit_group_dead")
        said = [n for c in ("core",) if c in loaded for n in loaded[c].notes()
                if n.startswith("ksysmon: a process's last thread is told by signal->live")]
        if gd == "1":
            results.append(Result("last thread of a process at exit", PASS,
                                  "sched_process_exit's group_dead", fact=True))
        elif said:
            results.append(Result("last thread of a process at exit", FALLBACK, said[0], fact=True))
        else:
            results.append(Result("last thread of a process at exit", PASS,
                                  "fentry on taskstats_exit (no group_dead in sched_process_exit)",
                                  fact=True))
    return results


def notes(results_dir, cases=None):
    """ksysmon's notes (lines other than its bookkeeping, without the
    "ksysmon: " prefix) where it started, each once, with the options of
    every run that printed it: [(note, [options])]."""
    seen = {}
    for c in cases or CASES:
        case = Case(os.path.join(results_dir, c))
        if not case.has("mon.ready"):
            continue
        for n in case.notes():
            runs = seen.setdefault(n[len("ksysmon: "):], [])
            args = case.text("mon.args").strip() or "(no options)"
            if args not in runs:
                runs.append(args)
    return list(seen.items())
