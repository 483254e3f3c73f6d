#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Core events benchmark: the slowdown a running ksysmon causes.

Storms, each timed in alternating pairs (baseline run, monitored run,
baseline, monitored, ...) so that drift on the machine hits both sides:

  exec      N x (fork, execv /bin/true, waitpid), not pinned
  thread    N x (pthread_create, pthread_join), taskset -c 0
  exec-all  the exec storm on every CPU at once: the highest exec rate the
            machine reaches with /bin/true, for the loss check (no target)
  exec-fast the same with a static program that exits at once (bench/storm.c,
            --fast-exec PATH; skipped without it): a higher exec rate still

A monitored run starts `ksysmon --format json --output /tmp/...`, waits for
"ksysmon: ready" on its standard error, runs the storm, then stops the
monitor with SIGINT. Each monitored run is checked for completeness: the
"ksysmon: lost: ... total=N" summary must say 0, and the JSON file must hold
at least one process_create, process_exec (of PATH) and process_exit of a
child of the storm per exec, or one thread_create and one thread_exit of the
storm's pid per thread.

The figure of merit is the median of the per-pair ratios monitored/baseline
of the storm's wall time; min and max of the ratios give the spread (the
ratio of the storm's own CPU time is shown too). The
monitor's CPU time (from "ready" to its exit, /proc/PID/stat and wait4) and
its max RSS are recorded per monitored run.

Afterwards (unless --no-bpf-stats) one more monitored run of each storm with
kernel.bpf_stats_enabled=1 gives the run time of every BPF program per call,
read from the monitor's own program fds (/proc/PID/fdinfo), so programs of
other ksysmon instances on the machine are not mixed in. Statistics cost
time themselves, so those runs are not part of the ratios.

Exit status: 0 when every monitored run lost nothing and delivered every
expected event; 1 otherwise; 2 for a setup error. Ratio targets are reported
(the verdict line), not enforced.
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

# slowdown targets (reported, not enforced) and the event rates nothing may
# be lost at; exec-all is the loss check at the full exec rate of the machine
TARGETS = {"exec": 1.03, "thread": 1.05, "exec-all": None, "exec-fast": None}
RATE_TARGETS = {"exec": 3000.0, "thread": 90000.0, "exec-all": 3000.0, "exec-fast": 3000.0}
CLK_TCK = os.sysconf("SC_CLK_TCK")
LINE_RE = re.compile(r'^\{"type":"([a-z_]+)","time":"[^"]*","pid":(\d+),')


class BenchError(Exception):
    pass


def proc_cpu_seconds(pid):
    """utime + stime of a live process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime is field 14, stime field 15
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Monitor:
    """One ksysmon process writing JSON Lines to a file in /tmp."""

    def __init__(self, binary, extra_args=()):
        fd, self.path = tempfile.mkstemp(prefix="ksysmon-bench-", suffix=".json", dir="/tmp")
        os.close(fd)
        self.proc = subprocess.Popen(
            [binary, "--format", "json", "--output", self.path, *extra_args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)
        self.stderr_lines = []
        deadline = time.monotonic() + 60
        while True:
            line = self.proc.stderr.readline()
            if not line:
                self.proc.wait()
                raise BenchError("ksysmon exited before ready: " + "".join(self.stderr_lines))
            self.stderr_lines.append(line)
            if line.strip() == "ksysmon: ready":
                break
            if time.monotonic() > deadline:
                raise BenchError("ksysmon not ready after 60 s")
        self.cpu_at_ready = proc_cpu_seconds(self.proc.pid)

    def stop(self):
        """SIGINT, wait; returns (cpu seconds since ready, max RSS KiB, lost total, stderr)."""
        self.proc.send_signal(signal.SIGINT)
        rest = self.proc.stderr.read()  # until the monitor closes it (exits)
        _, status, ru = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.stderr_lines.append(rest)
        err = "".join(self.stderr_lines)
        if self.proc.returncode != 0:
            raise BenchError(f"ksysmon exited with {self.proc.returncode}: {err}")
        m = re.search(r"^ksysmon: lost:.* total=(\d+)$", err, re.M)
        if not m:
            raise BenchError("no 'ksysmon: lost: ... total=N' line on stderr: " + err)
        cpu = ru.ru_utime + ru.ru_stime - self.cpu_at_ready
        return cpu, ru.ru_maxrss, int(m.group(1)), err

    def remove(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.remove()


def storm_under(args, binary, n, extra=(), kind="exec"):
    """One storm of n execs (or threads) under ksysmon binary (with extra
    options): (wall s, storm CPU s, client CPU s, client stderr); fails on
    loss."""
    mon = Monitor(binary, list(extra))
    try:
        time.sleep(args.settle)
        wall, cpu, _ = run_storm(args, kind, n)
        mcpu, _, lost, err = mon.stop()
    finally:
        mon.kill()
        mon.remove()
    if lost:
        raise BenchError("%s lost %d events" % (binary, lost))
    return wall, cpu, mcpu, err


def versus_args(ap, pairs):
    """The options of a two-build exec storm comparison (bench_versions.py,
    bench_container.py)."""
    ap.add_argument("--new", required=True, help="ksysmon binary B")
    ap.add_argument("--workload", required=True)
    ap.add_argument("--pairs", type=int, default=pairs)
    ap.add_argument("--exec-n", type=int)
    ap.add_argument("--seconds", type=float, default=1.5)
    ap.add_argument("--exec-path", default="/bin/true")
    ap.add_argument("--settle", type=float, default=0.2)
    ap.add_argument("--nice", type=int, default=0)


def storm_cmds(args, kind, n):
    if kind == "thread":
        return [["taskset", "-c", str(args.cpu), args.workload, "thread-storm", str(n)]]
    jobs = 1 if kind == "exec" else os.cpu_count()
    return [[args.workload, "exec-storm", str(n), exec_path(args, kind)]] * jobs


def exec_path(args, kind):
    return args.fast_exec if kind == "exec-fast" else args.exec_path


def run_storm(args, kind, n):
    """Runs one storm (its jobs in parallel); returns (wall s, CPU s of the
    storm's processes, their pids)."""
    cmds = storm_cmds(args, kind, n)
    if args.nice:
        cmds = [["nice", "-n", str(args.nice), *c] for c in cmds]
    t0 = time.perf_counter()
    procs = {subprocess.Popen(c, stdin=subprocess.DEVNULL).pid: c for c in cmds}
    cpu, bad = 0.0, []
    for pid in procs:
        _, status, ru = os.wait4(pid, 0)
        cpu += ru.ru_utime + ru.ru_stime
        if os.waitstatus_to_exitcode(status) != 0:
            bad.append(" ".join(procs[pid]))
    wall = time.perf_counter() - t0
    if bad:
        raise BenchError(f"{bad[0]} failed")
    return wall, cpu, set(procs)


def count_events(path, kind, storm_pids, program):
    """Events of this storm in the JSON file: {type: count}."""
    counts = {}
    if kind == "thread":
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                m = LINE_RE.match(line)
                if m and int(m.group(2)) in storm_pids:
                    counts[m.group(1)] = counts.get(m.group(1), 0) + 1
        return counts
    children, execs, exits = set(), [], []
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            if line.startswith('{"type":"process_create"'):
                e = json.loads(line)
                if e["ppid"] in storm_pids:
                    children.add(e["pid"])
            elif line.startswith('{"type":"process_exec"'):
                e = json.loads(line)
                if e["filename"] == program:
                    execs.append(e["pid"])
            elif line.startswith('{"type":"process_exit"'):
                exits.append(int(LINE_RE.match(line).group(2)))
    counts["process_create"] = len(children)
    counts["process_exec"] = sum(1 for p in execs if p in children)
    counts["process_exit"] = sum(1 for p in exits if p in children)
    return counts


def expected_types(kind):
    if kind == "thread":
        return ("thread_create", "thread_exit")
    return ("process_create", "process_exec", "process_exit")


def ops_per_run(kind, n):
    """execs or threads one run of the storm makes"""
    return n * (1 if kind in ("exec", "thread") else os.cpu_count())


def calibrate(args, kind):
    """Storm size (per job) for about --seconds of baseline wall time."""
    n = 300 if kind.startswith("exec") else 20000
    run_storm(args, kind, n)  # warm up caches
    for _ in range(2):
        wall, _, _ = run_storm(args, kind, n)
        n = max(1, int(n * args.seconds / wall))
    return n


def bench_storm(args, kind, n):
    pairs = []
    want = ops_per_run(kind, n)
    for i in range(args.pairs):
        base, base_cpu, _ = run_storm(args, kind, n)
        time.sleep(args.settle)
        mon = Monitor(args.monitor)
        try:
            time.sleep(args.settle)
            wall, storm_cpu, pids = run_storm(args, kind, n)
            cpu, rss, lost, _ = mon.stop()
            counts = count_events(mon.path, kind, pids, exec_path(args, kind))
        finally:
            mon.kill()
        missing = {t: want - counts.get(t, 0) for t in expected_types(kind)
                   if counts.get(t, 0) < want}
        pairs.append({"base": base, "wall": wall, "ratio": wall / base,
                      "cpu_ratio": storm_cpu / base_cpu if base_cpu else float("nan"),
                      "mon_cpu": cpu, "rss_kib": rss, "lost": lost, "counts": counts,
                      "missing": missing})
        print(f"  {kind} pair {i + 1}/{args.pairs}: baseline {base:.3f} s, monitored {wall:.3f} s,"
              f" ratio {wall / base:.3f} (storm CPU {storm_cpu / base_cpu:.3f}),"
              f" monitor CPU {cpu:.3f} s, lost {lost}"
              + (f", MISSING {missing}" if missing else ""), flush=True)
        time.sleep(args.settle)
    return pairs


def fdinfo_progs(pid):
    """{prog_id: (run_time_ns, run_cnt)} of the BPF programs pid holds."""
    progs = {}
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                info = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        except OSError:
            continue
        if "prog_id" in info and "run_time_ns" in info and "link_id" not in info:
            progs[int(info["prog_id"])] = (int(info["run_time_ns"]), int(info["run_cnt"]))
    return progs


def prog_name(prog_id):
    out = subprocess.run(["bpftool", "prog", "show", "id", str(prog_id), "--json"],
                         capture_output=True, text=True)
    try:
        return json.loads(out.stdout)["name"]
    except (ValueError, KeyError):
        return f"prog id {prog_id}"


def bpf_stats(args, kind, n):
    """Per-program run time per call during one monitored storm, with
    kernel.bpf_stats_enabled=1 (restored afterwards)."""
    path = "/proc/sys/kernel/bpf_stats_enabled"
    with open(path) as f:
        old = f.read().strip()
    try:
        with open(path, "w") as f:
            f.write("1")
        mon = Monitor(args.monitor)
        try:
            time.sleep(args.settle)
            before = fdinfo_progs(mon.proc.pid)
            run_storm(args, kind, n)
            after = fdinfo_progs(mon.proc.pid)
            names = {i: prog_name(i) for i in after}
            _, _, lost, _ = mon.stop()
        finally:
            mon.kill()
    finally:
        with open(path, "w") as f:
            f.write(old)
    rows = []
    for i, (t1, c1) in sorted(after.items()):
        t0, c0 = before.get(i, (0, 0))
        calls = c1 - c0
        rows.append({"program": names[i], "calls": calls,
                     "ns_per_call": (t1 - t0) / calls if calls else 0.0,
                     "total_ms": (t1 - t0) / 1e6})
    return {"lost": lost, "programs": rows}


def summarize(kind, n, pairs):
    med = statistics.median
    ops = ops_per_run(kind, n)
    base, wall = med(p["base"] for p in pairs), med(p["wall"] for p in pairs)
    ratios = [p["ratio"] for p in pairs]
    mon_cpu = med(p["mon_cpu"] for p in pairs)
    return {
        "storm": kind, "n_per_job": n, "ops_per_run": ops, "pairs": len(pairs),
        "ratio_median": med(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
        "ratios": ratios, "cpu_ratio_median": med(p["cpu_ratio"] for p in pairs),
        "base_wall_median": base, "mon_wall_median": wall,
        "rate_base": ops / base, "rate_mon": ops / wall,
        "mon_cpu_median": mon_cpu,
        "mon_cpu_ns_per_event": mon_cpu / (ops * len(expected_types(kind))) * 1e9,
        "mon_rss_kib_max": max(p["rss_kib"] for p in pairs),
        "lost_total": sum(p["lost"] for p in pairs),
        "runs_missing_events": sum(1 for p in pairs if p["missing"]),
        "target": TARGETS[kind], "rate_target": RATE_TARGETS[kind],
    }


def print_report(results, stats):
    print()
    print("| storm | per run | pairs | baseline s | monitored s | ratio median | ratio min–max "
          "| target | storm CPU ratio | rate baseline /s | rate monitored /s | monitor CPU s "
          "| monitor CPU ns/event | monitor max RSS MiB | lost | runs missing events |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        target = f"≤ {r['target']:.2f}×" if r["target"] else "—"
        print(f"| {r['storm']} | {r['ops_per_run']} | {r['pairs']} | {r['base_wall_median']:.3f} "
              f"| {r['mon_wall_median']:.3f} | **{r['ratio_median']:.3f}×** "
              f"| {r['ratio_min']:.3f}–{r['ratio_max']:.3f} | {target} "
              f"| {r['cpu_ratio_median']:.3f}× | {r['rate_base']:,.0f} | {r['rate_mon']:,.0f} "
              f"| {r['mon_cpu_median']:.3f} | {r['mon_cpu_ns_per_event']:,.0f} "
              f"| {r['mon_rss_kib_max'] / 1024:.1f} | {r['lost_total']} "
              f"| {r['runs_missing_events']} |")
    if stats:
        print()
        print("BPF programs, kernel.bpf_stats_enabled=1 (one more monitored run per storm;"
              " calls are machine-wide)")
        print()
        print("| storm | program | calls | ns/call | total ms |")
        print("|---|---|---|---|---|")
        for kind, st in stats.items():
            for row in st["programs"]:
                print(f"| {kind} | {row['program']} | {row['calls']} "
                      f"| {row['ns_per_call']:,.0f} | {row['total_ms']:.1f} |")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--monitor", required=True, help="ksysmon binary")
    ap.add_argument("--workload", required=True, help="tests/integration/workload binary")
    ap.add_argument("--pairs", type=int, default=7, help="baseline/monitored pairs per storm (7)")
    ap.add_argument("--seconds", type=float, default=1.5,
                    help="baseline duration each storm is sized to (1.5)")
    ap.add_argument("--exec-n", type=int, help="execs per exec-storm job (default: calibrated)")
    ap.add_argument("--thread-n", type=int, help="threads per storm (default: calibrated)")
    ap.add_argument("--exec-path", default="/bin/true", help="program the exec storms run")
    ap.add_argument("--fast-exec", metavar="PATH",
                    help="static program that exits 0 (build/bench/storm) for exec-fast")
    ap.add_argument("--cpu", type=int, default=0, help="CPU the thread storm is pinned to (0)")
    ap.add_argument("--storms", default="exec,thread,exec-all,exec-fast",
                    help="comma-separated: exec, thread, exec-all, exec-fast (all)")
    ap.add_argument("--nice", type=int, default=0,
                    help="run the storms (baseline and monitored alike) under nice -n N: "
                         "a negative N shields them from other load on the machine (0)")
    ap.add_argument("--settle", type=float, default=0.2, help="pause between runs, seconds")
    ap.add_argument("--no-bpf-stats", action="store_true",
                    help="skip the per-program BPF run time measurement")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    args = ap.parse_args()

    if os.geteuid() != 0:
        print("bench: must run as root (ksysmon loads BPF programs)", file=sys.stderr)
        return 2
    kinds = [k for k in args.storms.split(",") if k]
    if not kinds or any(k not in TARGETS for k in kinds):
        print("bench: --storms takes exec, thread, exec-all, exec-fast", file=sys.stderr)
        return 2
    if "exec-fast" in kinds and not args.fast_exec:
        print("bench: no --fast-exec program: the exec-fast storm is skipped", flush=True)
        kinds.remove("exec-fast")
    if args.pairs < 1:
        print("bench: --pairs must be at least 1", file=sys.stderr)
        return 2

    results, stats = [], {}
    print(f"ksysmon core events bench: kernel {os.uname().release}, {os.cpu_count()} CPUs, "
          f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}, load {os.getloadavg()[0]:.2f}", flush=True)
    try:
        for kind in kinds:
            n = args.thread_n if kind == "thread" else args.exec_n
            n = n or calibrate(args, kind)
            print(f"{kind} storm: {ops_per_run(kind, n)} per run, {args.pairs} pairs", flush=True)
            results.append(summarize(kind, n, bench_storm(args, kind, n)))
            if not args.no_bpf_stats and kind in ("exec", "thread"):
                stats[kind] = bpf_stats(args, kind, n)
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    print_report(results, stats)
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
          + (f"; storms ran under nice -n {args.nice}" if args.nice else ""))

    failed = any(r["lost_total"] or r["runs_missing_events"] for r in results)
    failed = failed or any(st["lost"] for st in stats.values())
    parts = []
    for r in results:
        part = f"{r['storm']} {r['ratio_median']:.3f}×"
        if r["target"]:
            part += f" ({'met' if r['ratio_median'] <= r['target'] else 'MISSED'} ≤ {r['target']:.2f}×)"
        rate_ok = r["rate_mon"] >= r["rate_target"]
        part += f" at {r['rate_mon']:,.0f}/s ({'≥' if rate_ok else 'below'} {r['rate_target']:,.0f}/s)"
        parts.append(part)
    lost = sum(r["lost_total"] for r in results) + sum(st["lost"] for st in stats.values())
    verdict = "FAIL: events lost or missing" if failed else "OK: nothing lost, nothing missing"
    print(f"verdict: {verdict} (lost {lost}); " + "; ".join(parts))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"kernel": os.uname().release, "cpus": os.cpu_count(), "nice": args.nice,
                       "date": time.strftime("%Y-%m-%d"), "results": results,
                       "bpf_stats": stats}, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
