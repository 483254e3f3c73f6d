"""--container and the pid_ns rules decided in the kernel: the events of
another container, of the host or of another pid namespace are dropped
before the queue (a capture, which records every event that reached the
client, holds none of them; with the pid_ns rules the client's own count
stays at 0) and counted as filtered in the kernel, while the selected ones
arrive whole, including those of a container process moved into a cgroup
made inside the container's, before or after ksysmon started.  Truth:
podman inspect, /proc/PID/cgroup and /proc/PID/ns/pid."""
import json
import os
import re
import subprocess
import tempfile
import time
import unittest

import containers as C
from harness import MONITOR, Monitor

SLEEPER = ["sleep", "300"]
TRUE = os.path.realpath("/bin/true")


def filtered(stderr):
    """(kernel, user) of the last "filtered:" summary line."""
    m = re.findall(r"^ksysmon: filtered: kernel=(\d+) user=(\d+)$", stderr, re.M)
    if not m:
        raise AssertionError("no filtered line in: " + stderr)
    return int(m[-1][0]), int(m[-1][1])


def replay(capture):
    """Every event of a capture, as JSON."""
    r = subprocess.run([MONITOR, "-r", capture, "--format", "json"], capture_output=True,
                       timeout=60, check=True)
    return [json.loads(line) for line in r.stdout.decode().splitlines()]


def move(pid, cgroup_dir):
    with open(os.path.join(cgroup_dir, "cgroup.procs"), "w") as f:
        f.write(str(pid))


class SubCgroup:
    """A cgroup made by hand below a container's; on exit its processes go
    back to the container's cgroup and it is removed."""

    def __init__(self, parent_path, name):
        self.parent = os.path.join(C.unified_mount(), parent_path.lstrip("/"))
        self.dir = os.path.join(self.parent, name)
        self.path = parent_path.rstrip("/") + "/" + name

    def __enter__(self):
        os.mkdir(self.dir)
        return self

    def __exit__(self, *exc):
        if not os.path.isdir(self.dir):
            return
        with open(os.path.join(self.dir, "cgroup.procs")) as f:
            for p in f.read().split():
                try:
                    move(p, self.parent)
                except OSError:
                    pass
        os.rmdir(self.dir)


def waiter(ctr, flag):
    """A shell in the container that runs `/bin/true <flag>` once
    /tmp/<flag> exists; returns its host pid."""
    script = "while [ ! -e /tmp/%s ]; do sleep 0.2; done; exec /bin/true %s" % (flag, flag)
    ctr.exec(["sh", "-c", script], detach=True)

    def find():
        for p in C.pids_in_pidns(C.ns_inodes(ctr.pid())["pid"]):
            argv = C.cmdline(p) or []
            if argv[:2] == ["sh", "-c"] and flag in argv[-1]:
                return p
        return None
    return C.wait_for(find, 10, "the waiter in the container")


class KernelScope(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        C.build_image()

    def test_container_selected_in_kernel(self):
        with C.Containers() as s:
            a = s.run_detached(SLEEPER, tag="a")
            b = s.run_detached(SLEEPER, tag="b")
            ta, tb = a.inspect(), b.inspect()
            aid, bid = ta["id"], tb["id"]
            apath = C.cgroup_path(ta["pid"])
            self.assertIn(aid, apath)
            n = 1
            while aid[:n] == bid[:n]:
                n += 1
            # one sub-cgroup made before ksysmon starts, one after
            with SubCgroup(apath, "before") as before:
                w1 = waiter(a, "one")
                move(w1, before.dir)
                w2 = waiter(a, "two")
                cap = os.path.join(tempfile.mkdtemp(prefix="ksysmon-scope."), "cap")
                with Monitor("--events", "process_exec", "--container", aid[:n + 1],
                             "-w", cap, "--print") as m:
                    with SubCgroup(apath, "after") as after:
                        move(w2, after.dir)
                        self.assertEqual(C.cgroup_path(w1), before.path)
                        self.assertEqual(C.cgroup_path(w2), after.path)
                        a.exec(["/bin/true"])
                        for _ in range(3):
                            b.exec(["/bin/true"])
                        host = []
                        for _ in range(3):
                            p = subprocess.Popen([TRUE])
                            p.wait()
                            host.append(p.pid)
                        a.exec(["touch", "/tmp/one", "/tmp/two"])
                        C.wait_for(lambda: not os.path.exists("/proc/%d" % w1) and
                                   not os.path.exists("/proc/%d" % w2), 10, "the waiters")
                        time.sleep(0.3)
                        m.stop()
            evs = m.events()
            for e in evs:
                self.assertEqual(e.get("container_id"), aid, e)
            trues = [e for e in evs if e["argv"] == ["/bin/true"]]
            self.assertEqual(len(trues), 1, trues)
            echoes = {e["argv"][1]: e for e in evs if e["argv"][:1] == ["/bin/true"] and
                      len(e["argv"]) == 2}
            self.assertEqual(sorted(echoes), ["one", "two"])
            self.assertEqual(echoes["one"]["cgroup"], before.path)
            self.assertEqual(echoes["two"]["cgroup"], after.path)
            self.assertEqual(echoes["one"]["pid"], w1)
            self.assertEqual(echoes["two"]["pid"], w2)
            # what crossed the queue (the capture records every event that
            # reached the client, shown or not): none of b's execs, none of
            # the host's trues; they were counted as dropped in the kernel
            # (other processes of this machine may add to either count)
            crossed = replay(cap)
            self.assertTrue([e for e in crossed if e.get("container_id") == aid])
            self.assertFalse([e for e in crossed if e.get("container_id") == bid])
            self.assertFalse([e for e in crossed if e["pid"] in host])
            kernel, _ = filtered(m.stderr)
            self.assertGreaterEqual(kernel, 3 + 3)

    def test_container_host_stays_in_user_space(self):
        with C.Containers() as s:
            a = s.run_detached(SLEEPER, tag="a")
            with Monitor("--events", "process_exec", "--container", "host") as m:
                a.exec(["/bin/true"])
                subprocess.run([TRUE])
                time.sleep(0.3)
                m.stop()
            evs = m.events()
            self.assertTrue([e for e in evs if e["argv"] == [TRUE]])
            self.assertFalse([e for e in evs if "container_id" in e])
            kernel, user = filtered(m.stderr)
            self.assertEqual(kernel, 0)
            self.assertGreaterEqual(user, 1)


class PidNsRules(unittest.TestCase):
    def run_in_pidns(self, rules):
        """Runs /bin/true twice in a new pid namespace and once on the host
        under a monitor whose rules (a format string of the namespace's
        id) are given; returns (events, stderr, namespace id, host pid of
        the namespace's shell)."""
        sh = C.Spawned(["unshare", "--pid", "--fork", "--kill-child", "sh", "-c",
                        "read go; %s; %s" % (TRUE, TRUE)],
                       os.path.basename(os.path.realpath("/bin/sh")), 1, stdin=subprocess.PIPE)
        try:
            pid = sh.pid()
            ino = os.stat("/proc/%d/ns/pid" % pid).st_ino
            self.assertNotEqual(ino, os.stat("/proc/self/ns/pid").st_ino)
            with tempfile.NamedTemporaryFile("w", suffix=".yaml") as cfg:
                cfg.write(rules % ino)
                cfg.flush()
                with Monitor("--events", "process_create,process_exec,process_exit",
                             "-c", cfg.name) as m:
                    sh.proc.stdin.write(b"go\n")
                    sh.proc.stdin.close()
                    self.assertEqual(sh.finish(), 0)
                    subprocess.run([TRUE])
                    time.sleep(0.3)
                    m.stop()
        finally:
            sh.kill()
        return m.events(), m.stderr, ino, pid

    def test_exclude_pid_ns(self):
        evs, err, ino, pid = self.run_in_pidns(
            "events:\n  all:\n    exclude:\n      - pid_ns: %d\n")
        self.assertFalse([e for e in evs if e.get("pid_ns") == ino])
        self.assertFalse([e for e in evs if e["pid"] == pid])
        self.assertTrue([e for e in evs if e["type"] == "process_exec" and e["argv"] == [TRUE]])
        kernel, user = filtered(err)
        # two creates, two execs and two exits of true, the shell's exit
        self.assertGreaterEqual(kernel, 7)
        self.assertEqual(user, 0)

    def test_include_pid_ns(self):
        evs, err, ino, pid = self.run_in_pidns(
            "events:\n  all:\n    include:\n      - pid_ns: %d\n")
        self.assertTrue(evs)
        for e in evs:
            self.assertEqual(e.get("pid_ns"), ino, e)
        execs = [e for e in evs if e["type"] == "process_exec"]
        self.assertEqual([e["argv"] for e in execs], [[TRUE], [TRUE]])
        self.assertEqual(len([e for e in evs if e["type"] == "process_exit"]), 3)
        kernel, user = filtered(err)
        self.assertGreaterEqual(kernel, 3)  # the host's true: create, exec, exit
        self.assertEqual(user, 0)


if __name__ == "__main__":
    unittest.main()
