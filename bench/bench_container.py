#!/usr/bin/env python3
"""--container ID while an exec storm runs on the host: two builds side by
side, the one that filters in user space (A) and the one that filters in
the kernel (B).

One podman container (from the integration tests' image) sleeps; each
monitored run selects it with `--container ID` and runs the exec storm on
the host, none of whose events is shown.  Runs alternate A, B, A, ... and
give per build: the events that reached the client per second of storm
(shown + filtered by the client, from the summary lines), the events
dropped in the kernel per second, the client's CPU time (user + system
from ready to exit) and the storm's wall and CPU time.  Nothing may be
lost by either.

  python3 bench/bench_container.py --old OLD/build/ksysmon --new build/ksysmon \\
      --workload build/tests/workload [--pairs 7] [--exec-n N]
"""
import argparse
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))
import bench  # noqa: E402
import containers  # noqa: E402


def counts(err):
    """(events that reached the client, events dropped in the kernel) from
    the last summary lines of a run."""
    shown = re.findall(r"^ksysmon: summary:(.*)$", err, re.M)[-1]
    seen = sum(int(kv.split("=")[1]) for kv in shown.split())
    m = re.findall(r"^ksysmon: filtered: (?:kernel=(\d+) )?user=(\d+)$", err, re.M)[-1]
    return seen + int(m[1]), int(m[0] or 0)


def monitored(args, binary, n, cid):
    """One exec storm under binary with --container cid."""
    wall, cpu, mcpu, err = bench.storm_under(args, binary, n, ["--container", cid])
    reached, kernel = counts(err)
    return {"wall": wall, "cpu": cpu, "client_cpu": mcpu,
            "reached_per_s": reached / wall, "kernel_per_s": kernel / wall}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", required=True, help="ksysmon binary A (filters in user space)")
    bench.versus_args(ap, pairs=7)
    args = ap.parse_args()
    args.fast_exec = None
    os.environ.setdefault("KSYSMON_WORKLOAD", os.path.abspath(args.workload))

    containers.build_image()
    with containers.Containers() as ctrs:
        cid = ctrs.run_detached(["sleep", "3600"], tag="bench").id
        n = args.exec_n or bench.calibrate(args, "exec")
        print("exec storm on the host: %d execs per run, %d pairs, --container %s, kernel %s"
              % (n, args.pairs, cid[:12], os.uname().release), flush=True)
        runs = {"old": [], "new": []}
        try:
            for i in range(args.pairs):
                for name in ("old", "new"):
                    r = monitored(args, getattr(args, name), n, cid)
                    runs[name].append(r)
                    print("  pair %d %s: wall %.3f s, storm CPU %.3f s, client CPU %.3f s, "
                          "reached %.0f/s, kernel-dropped %.0f/s"
                          % (i + 1, name, r["wall"], r["cpu"], r["client_cpu"],
                             r["reached_per_s"], r["kernel_per_s"]), flush=True)
        except bench.BenchError as e:
            print("bench: %s" % e, file=sys.stderr)
            return 2
    med = statistics.median
    print("%-36s %14s %14s" % ("median (min-max)", "A user space", "B kernel"))
    for key, label, fmt in (("reached_per_s", "events reaching the client /s", "%.0f"),
                            ("kernel_per_s", "events dropped in the kernel /s", "%.0f"),
                            ("client_cpu", "client CPU s per run", "%.3f"),
                            ("cpu", "storm CPU s per run", "%.3f"),
                            ("wall", "storm wall s per run", "%.3f")):
        cells = []
        for name in ("old", "new"):
            v = [r[key] for r in runs[name]]
            cells.append((fmt + " (" + fmt + "-" + fmt + ")") % (med(v), min(v), max(v)))
        print("%-36s %14s %14s" % (label, cells[0], cells[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
