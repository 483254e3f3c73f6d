"""Instants that many events name: a pid namespace's container_start has
one value in every event of the namespace, over seconds and hundreds of
batches, live and in a replay (also of each rotated capture file alone),
equal to the truth read from /proc (the init's start time, in clock
ticks, plus the boot time read here); the init's own process_exit says
the same instant as its start_time.  A podman container and a pid
namespace made with unshare."""
import glob
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import containers as C
from harness import MONITOR, Monitor

TICK_NS = 10**9 // os.sysconf("SC_CLK_TCK")
RUN_S = 3.0


def boot_bracket():
    """The wall-clock time of boot, read here as REALTIME between two
    reads of BOOTTIME: (lowest, highest) it can be; the narrowest of 20."""
    best = None
    for _ in range(20):
        b1 = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
        r = time.clock_gettime_ns(time.CLOCK_REALTIME)
        b2 = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
        if best is None or b2 - b1 < best[1] - best[0]:
            best = (r - b2, r - b1)
    return best


def start_truth(pid):
    """Where the start of process pid lies on the wall clock, from /proc
    alone: its start in clock ticks since boot (field 22 of stat: the tick
    it started in) plus the boot time; (lowest, highest) in ns."""
    lo, hi = boot_bracket()
    ticks = C.start_ns(pid) // TICK_NS
    return lo + ticks * TICK_NS, hi + (ticks + 1) * TICK_NS


def replay(path):
    out = subprocess.run([MONITOR, "-r", path, "-f", "json"], capture_output=True,
                         timeout=120, check=True)
    err = out.stderr.decode("utf-8", "replace")
    assert "Sanitizer" not in err and "runtime error" not in err, err
    return out.stdout


# busybox sh and dash both fork and exec /bin/sleep every turn
LOOP = "while :; do /bin/sleep 0.02; done"


class ContainerStart(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ksysmon-instants.")
        self.cap = os.path.join(self.dir, "cap")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def check(self, mon, init, pid_ns, truth):
        """Every event of pid namespace pid_ns, live and replayed, names
        one container_start, within truth; the init's exit names it too."""
        live = mon.events()
        evs = [e for e in live if e.get("pid_ns") == pid_ns]
        starts = {e["container_start"] for e in evs}
        self.assertEqual(len(starts), 1, sorted(starts))
        times = sorted(C.parse_time_ns(e["time"]) for e in evs)
        self.assertGreater(len(evs), 150)
        self.assertGreater(times[-1] - times[0], (RUN_S - 0.5) * 10**9)
        start = C.parse_time_ns(starts.pop())
        self.assertTrue(truth[0] <= start <= truth[1],
                        "container_start %d not in [%d, %d]" % (start, *truth))
        exits = [e for e in evs if e["type"] == "process_exit" and e["pid"] == init]
        self.assertEqual(len(exits), 1)
        self.assertEqual(C.parse_time_ns(exits[0]["start_time"]), start)
        # the rotated files, each replayed alone, oldest first, print what
        # was printed live
        files = sorted(glob.glob(self.cap + ".*"), key=lambda f: -int(f.rsplit(".", 1)[1]))
        # at least one rotated file beside the current one (each begins with
        # the process table and the cgroups known, so how many a run fills
        # depends on what else the machine runs)
        self.assertGreaterEqual(len(files), 1)
        self.assertEqual(b"".join(replay(f) for f in files + [self.cap]), mon.stdout)

    def monitor(self):
        return Monitor("-w", self.cap, "--print", "--rotate-size", "64K", "--rotate-keep", "100")

    def test_unshare_pid_namespace(self):
        with self.monitor() as mon:
            sp = C.Spawned(["unshare", "--pid", "--fork", "--kill-child", "sh", "-c", LOOP],
                           os.path.basename(os.path.realpath(shutil.which("sh"))), 1)
            try:
                init = sp.pid()
                pid_ns = C.ns_inodes(init)["pid"]
                truth = start_truth(init)
                time.sleep(RUN_S)
            finally:
                sp.kill()
            time.sleep(0.2)
            mon.stop()
        self.assertEqual(mon.returncode, 0, mon.stderr)
        self.check(mon, init, pid_ns, truth)

    def test_podman_container(self):
        C.build_image()
        with C.Containers() as s, self.monitor() as mon:
            c = s.run_detached(["sh", "-c", LOOP])
            init = C.wait_for(lambda: c.pid(), what="container pid")
            pid_ns = C.ns_inodes(init)["pid"]
            truth = start_truth(init)
            started = c.inspect()["started_ns"]
            for _ in range(3):
                c.exec(["/bin/sleep", "0.1"])
                time.sleep(RUN_S / 3)
            c.stop(timeout=0)
            time.sleep(0.2)
            mon.stop()
        self.assertEqual(mon.returncode, 0, mon.stderr)
        self.check(mon, init, pid_ns, truth)
        # podman says the container started once runc started its process:
        # after the init was made
        start = C.parse_time_ns(next(e["container_start"] for e in mon.events()
                                     if e.get("pid_ns") == pid_ns))
        self.assertLess(start, started)
        entered = [e for e in mon.events() if e.get("pid_ns") == pid_ns and
                   e["type"] == "process_exec" and e["vpid"] != 1 and e.get("vppid") == 0]
        self.assertEqual(len(entered), 3)


if __name__ == "__main__":
    unittest.main()
