#!/usr/bin/env python3
"""The image-load hooks side by side on another kernel: an anonymous
mmap/munmap storm (no image loads, so this is pure hook cost) with no
monitor, with ksysmon --image-hook fexit and with --image-hook raw, in
alternating rounds inside one QEMU guest of the kernel matrix
(tests/kernels).  Times come from the guest's own clock, so they are
emulated time: only the ratios mean something.

  python3 bench/bench_guest_image.py --kernel 6.12 [--rounds 7] [--mmaps 200000]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# busybox sh in the guest; /proc/uptime has centiseconds, so each storm is
# sized to take seconds
GUEST = r"""
now() { read u _ < /proc/uptime; echo "${u%%.*}${u#*.}"; }
storm() { t0=$(now); workload mmap-storm %(mmaps)d > /dev/null; t1=$(now); echo $((t1 - t0)); }
watch() {
	ksysmon --events image_load --image-hook $1 > /dev/null 2> /tmp/err.$1 &
	pid=$!
	while ! grep -q ready /tmp/err.$1; do
		kill -0 $pid 2> /dev/null || { echo "BENCH-FAIL $1: $(cat /tmp/err.$1)"; return 1; }
		sleep 0.1
	done
	grep -v ready /tmp/err.$1 | sed "s/^/BENCH-NOTE $1 /"
}
storm > /dev/null
i=0
while [ $i -lt %(rounds)d ]; do
	for hook in fexit raw; do
		base=$(storm)
		watch $hook || break 2
		mon=$(storm)
		kill -INT $pid; wait $pid
		echo "BENCH $hook $base $mon"
	done
	i=$((i + 1))
done
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", default="6.12")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--mmaps", type=int, default=200000)
    ap.add_argument("--verbose", action="store_true", help="print every round (centiseconds)")
    args = ap.parse_args()
    script = GUEST % {"mmaps": args.mmaps, "rounds": args.rounds}
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tests/kernels/run.py"),
                        "--kernels", args.kernel, "--timeout", "3000", "--shell", script],
                       capture_output=True, text=True, timeout=3600)
    ratios, notes = {}, set()
    for line in r.stdout.splitlines():
        m = re.search(r"BENCH (\w+) (\d+) (\d+)$", line)
        if m and args.verbose:
            print(line[line.index("BENCH"):])
        if m and int(m.group(2)) > 0:
            ratios.setdefault(m.group(1), []).append(int(m.group(3)) / int(m.group(2)))
        if "BENCH-FAIL" in line or "BENCH-NOTE" in line:
            notes.add(line[line.index("BENCH-"):])
    for n in sorted(notes):
        print(n)
    if not ratios:
        print(r.stdout[-3000:], r.stderr[-2000:])
        return 1
    print("kernel %s, anonymous mmap storm (%d mmap+munmap), %d rounds, monitored/baseline:"
          % (args.kernel, args.mmaps, args.rounds))
    for hook, rs in ratios.items():
        print("  --image-hook %-5s median %.3fx  (min %.3f, max %.3f, n=%d)"
              % (hook, statistics.median(rs), min(rs), max(rs), len(rs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
