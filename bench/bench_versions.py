#!/usr/bin/env python3
"""Two ksysmon builds side by side on the exec storm (or the thread storm,
--storm thread): what one costs more than the other.

Runs alternate — monitored by A, by B, by A, ... — so that drift on the
machine falls on both sides, and gives per pair the ratio B / A of the
storm's wall time and of its own CPU time (user + system of its processes,
where the BPF programs run), then the BPF programs' run time per call under
each build (kernel.bpf_stats_enabled=1).  Nothing may be lost by either.

With --in-container the storm runs inside a podman container (the test
image, tests/integration/containers.py): entered with nsenter (every
namespace, its root and working directory) and put in the container's
cgroup, so that its wall and CPU time are measured as on the host while
every exec is a container's.

  python3 bench/bench_versions.py --old OLD/build/ksysmon --new build/ksysmon \\
      --workload build/tests/workload [--pairs 9] [--exec-n N] [--in-container]
      [--storm thread [--thread-n N] [--cpu C]]
"""
import argparse
import contextlib
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def monitored(args, binary, n):
    """One storm under binary: (wall s, storm CPU s); fails on loss."""
    wall, cpu, _, _ = bench.storm_under(args, binary, n, kind=args.storm)
    return wall, cpu


@contextlib.contextmanager
def in_container():
    """A running test container; while it runs, bench's storms run in it."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                    "tests", "integration"))
    import containers as C
    C.build_image()
    with C.Containers() as s:
        c = s.run_detached(["sleep", "100000"], tag="bench")
        pid = C.wait_for(lambda: c.pid(), what="container pid")
        procs = os.path.join(C.unified_mount(), C.cgroup_path(pid).lstrip("/"), "cgroup.procs")
        host_cmds = bench.storm_cmds

        def storm_cmds(args, kind, n):
            """each storm command, its workload run in the container (what
            comes before it, taskset, stays outside)"""
            cmds = []
            for cmd in host_cmds(args, kind, n):
                i = cmd.index(args.workload)
                cmds.append(cmd[:i] + ["sh", "-c", 'echo 0 > "$0" && exec "$@"', procs,
                                       "nsenter", "-t", str(pid), "-a", "-r", "-w", "--",
                                       C.WORKLOAD_IN_IMAGE] + cmd[i + 1:])
            return cmds
        bench.storm_cmds = storm_cmds
        try:
            yield
        finally:
            bench.storm_cmds = host_cmds
            c.stop(timeout=0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", required=True, help="ksysmon binary A (the reference)")
    bench.versus_args(ap, pairs=9)
    ap.add_argument("--in-container", action="store_true",
                    help="run the storm in a podman container")
    ap.add_argument("--storm", choices=("exec", "thread"), default="exec",
                    help="exec: fork, exec, wait; thread: pthread_create, join on one CPU")
    ap.add_argument("--thread-n", type=int, help="threads per thread storm (default: calibrated)")
    ap.add_argument("--cpu", type=int, default=0, help="CPU the thread storm is pinned to (0)")
    args = ap.parse_args()
    args.fast_exec = None
    if args.in_container:
        with in_container():
            return compare(args)
    return compare(args)


def compare(args):

    kind = args.storm
    n = (args.thread_n if kind == "thread" else args.exec_n) or bench.calibrate(args, kind)
    print("%s storm: %d %ss per run, %d pairs, kernel %s"
          % (kind, n, kind, args.pairs, os.uname().release), flush=True)
    walls, cpus = [], []
    try:
        for i in range(args.pairs):
            a = monitored(args, args.old, n)
            b = monitored(args, args.new, n)
            walls.append(b[0] / a[0])
            cpus.append(b[1] / a[1])
            print("  pair %d: A %.3f s (CPU %.3f), B %.3f s (CPU %.3f), wall B/A %.3f, CPU B/A %.3f"
                  % (i + 1, a[0], a[1], b[0], b[1], walls[-1], cpus[-1]), flush=True)
        stats = {}
        for name in ("old", "new"):
            args.monitor = getattr(args, name)
            stats[name] = {r["program"]: r for r in bench.bpf_stats(args, kind, n)["programs"]}
    except bench.BenchError as e:
        print("bench: %s" % e, file=sys.stderr)
        return 2
    med = statistics.median
    print("wall B/A median %.3f (%.3f-%.3f); storm CPU B/A median %.3f (%.3f-%.3f)"
          % (med(walls), min(walls), max(walls), med(cpus), min(cpus), max(cpus)))
    print("%-24s %12s %12s" % ("program", "A ns/call", "B ns/call"))
    for prog in sorted(set(stats["old"]) | set(stats["new"])):
        a, b = stats["old"].get(prog), stats["new"].get(prog)
        if (a and a["calls"]) or (b and b["calls"]):
            print("%-24s %12.0f %12.0f" % (prog, a["ns_per_call"] if a else 0,
                                            b["ns_per_call"] if b else 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
