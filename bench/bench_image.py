#!/usr/bin/env python3
"""Overhead of image_load tracking and of kernel-side rule exclusion.

Side by side in one run, alternating pairs (baseline, monitored, ...):
  anon    workload mmap-storm N          anonymous mmap + munmap (target <= 1.03x)
  anon-perf  the same with --image-hook perf
  dlopen  workload dlopen-storm N LIB    dlopen + dlclose of a library; every
                                         load must be reported (nothing lost)
  rules   workload exec-storm N /bin/true, default events, with a --config
          that excludes 99 %+ of them in the kernel (target <= 1.01x)
Usage (root): python3 bench/bench_image.py --monitor build/ksysmon --workload build/tests/workload
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import BenchError, Monitor  # noqa: E402

LIB = "libz.so.1"
RULES = """events:
  all:
    exclude:
      - comm: {is: "true"}
      - comm: {is: workload}
  image_load:
    exclude:
      - path: {begins_with: /usr/}
"""


def storm_cmd(args, kind, n):
    if kind.startswith("anon"):
        return [args.workload, "mmap-storm", str(n)]
    if kind == "dlopen":
        return [args.workload, "dlopen-storm", str(n), LIB]
    return [args.workload, "exec-storm", str(n), "/bin/true"]


def timed(cmd):
    t0 = time.perf_counter()
    pid = os.spawnv(os.P_NOWAIT, cmd[0], cmd)
    _, status, ru = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise BenchError(" ".join(cmd) + " failed")
    return time.perf_counter() - t0, ru.ru_utime + ru.ru_stime, pid


def calibrate(args, kind):
    n = {"anon": 20000, "anon-perf": 20000, "dlopen": 500, "rules": 300}[kind]
    wall, _, _ = timed(storm_cmd(args, kind, n))
    return max(n, int(n * args.seconds / max(wall, 1e-3)))


def count_loads(path, pid):
    n = 0
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            if '"image_load"' in line and '"pid":%d,' % pid in line and "libz.so" in line:
                n += 1
    return n


def bench(args, kind):
    n = calibrate(args, kind)
    # image storms need image_load; the rules storm runs the default events
    extra = [] if kind == "rules" else ["--events", "all"]
    if kind.endswith("-perf"):
        extra += ["--image-hook", "perf"]
    cfg = None
    if kind == "rules":
        fd, cfg = tempfile.mkstemp(suffix=".yaml")
        os.write(fd, RULES.encode())
        os.close(fd)
        extra += ["--config", cfg]
    ratios, cpu_ratios, rate = [], [], []
    filtered = None
    for _ in range(args.pairs):
        base, base_cpu, _ = timed(storm_cmd(args, kind, n))
        mon = Monitor(args.monitor, extra)
        try:
            wall, cpu, pid = timed(storm_cmd(args, kind, n))
            _, _, lost, err = mon.stop()
            if lost:
                raise BenchError(f"{kind}: {lost} events lost")
            if kind == "dlopen":
                seen = count_loads(mon.path, pid)
                if seen != n:
                    raise BenchError(f"dlopen: {seen} image_load events for {n} loads")
            if kind == "rules":
                filtered = err
        finally:
            mon.remove()
        ratios.append(wall / base)
        cpu_ratios.append(cpu / base_cpu if base_cpu else 1.0)
        rate.append(n / base)
    if cfg:
        os.unlink(cfg)
    res = {
        "storm": kind, "n": n, "pairs": args.pairs,
        "ratio": statistics.median(ratios), "min": min(ratios), "max": max(ratios),
        "cpu_ratio": statistics.median(cpu_ratios), "rate": statistics.median(rate),
    }
    if filtered:
        for line in filtered.splitlines():
            if line.startswith("ksysmon: filtered:") or line.startswith("ksysmon: summary:"):
                res.setdefault("monitor", []).append(line)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--monitor", required=True)
    ap.add_argument("--workload", required=True)
    ap.add_argument("--pairs", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--storms", default="anon,anon-perf,dlopen,rules")
    ap.add_argument("--json")
    args = ap.parse_args()
    results = []
    try:
        for kind in args.storms.split(","):
            r = bench(args, kind)
            results.append(r)
            print("%-7s n=%-7d ratio %.3f (%.3f-%.3f)  storm CPU ratio %.3f  %.0f ops/s%s" % (
                kind, r["n"], r["ratio"], r["min"], r["max"], r["cpu_ratio"], r["rate"],
                "".join("\n        " + x for x in r.get("monitor", []))))
    except BenchError as e:
        print("bench_image: " + str(e), file=sys.stderr)
        return 1
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
