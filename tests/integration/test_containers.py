"""Containers as ksysmon shows them, against podman's own answers: the
container id and runtime of each event (podman inspect), the user name as
the container's /etc/passwd names it (not the host's), --container
selecting one of two running containers by a prefix of its id (the other's
events counted as filtered), --container host, and the one-line errors."""
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


def execs_of(events, cid, argv0):
    return [e for e in events if e["type"] == "process_exec" and e.get("container_id") == cid
            and e["argv"][:1] == [argv0]]


def filtered_total(stderr):
    """Events filtered in the kernel and by the client together."""
    m = re.findall(r"^ksysmon: filtered: (?:kernel=(\d+) )?user=(\d+)$", stderr, re.M)
    return int(m[-1][0] or 0) + int(m[-1][1]) if m else None


class Containers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        C.build_image()

    def check_container_fields(self, ev, truth):
        self.assertEqual(ev["container_id"], truth["id"])
        self.assertEqual(ev["container_runtime"], "podman")
        self.assertTrue(ev["cgroup"].endswith("libpod-" + truth["id"]), ev["cgroup"])

    def test_run_exec_user_and_stop(self):
        with C.Containers() as s, Monitor("--events", "process_exec,process_exit") as m:
            c = s.run_detached(SLEEPER)
            c.exec(["/bin/true"])
            c.exec(["/bin/id", "-u"], user=C.CTR_UID, workdir=C.CTR_HOME)
            mapped = s.run_detached(SLEEPER, uidmap="0:100000:65536", tag="map")
            mapped.exec(["/bin/id", "-u"], user=C.CTR_UID)
            truth, mid = c.inspect(), mapped.inspect()["id"]
            time.sleep(0.5)
            c.stop()
            mapped.stop()
            time.sleep(0.3)
            m.stop()
            evs = m.events()
        cid = truth["id"]
        sleep = execs_of(evs, cid, "sleep")
        self.assertEqual(len(sleep), 1, "podman run's command")
        self.check_container_fields(sleep[0], truth)
        self.assertEqual(sleep[0]["user"], "root")
        true = execs_of(evs, cid, "/bin/true")
        self.assertEqual(len(true), 1)
        self.assertEqual(true[0]["uid"], 0)
        self.assertEqual(true[0]["user"], "root")
        ids = execs_of(evs, cid, "/bin/id")
        self.assertEqual(len(ids), 1)
        self.assertEqual((ids[0]["uid"], ids[0]["cwd"]), (C.CTR_UID, C.CTR_HOME))
        # the container's name for 1000, which the host does not have
        self.assertEqual(ids[0]["user"], C.CTR_USER)
        # --uidmap: the host uid is 101000, the container's passwd names 1000
        mids = execs_of(evs, mid, "/bin/id")
        self.assertEqual(len(mids), 1)
        self.assertEqual(mids[0]["uid"], 100000 + C.CTR_UID)
        self.assertEqual(mids[0]["ns_uid"], C.CTR_UID)
        self.assertEqual(mids[0]["user"], C.CTR_USER)
        # podman stop: the sleeper's exit is the container's
        exits = [e for e in evs if e["type"] == "process_exit" and e.get("container_id") == cid
                 and e["comm"] == "sleep"]
        self.assertEqual(len(exits), 1)
        self.assertEqual(exits[0]["container_runtime"], "podman")
        # host processes carry no container fields
        host = [e for e in evs if e["type"] == "process_exec" and e["argv"][:1] == ["podman"]]
        self.assertTrue(host)
        for e in host:
            self.assertNotIn("container_id", e)
            self.assertNotIn("container_runtime", e)

    def test_text_view_short_id(self):
        with C.Containers() as s:
            c = s.run_detached(SLEEPER)
            cid = c.inspect()["id"]
            with Monitor("--events", "process_exec", fmt="text") as m:
                c.exec(["/bin/true"])
                time.sleep(0.3)
                m.stop()
        lines = [l for l in m.stdout.decode().splitlines() if "Exec /bin/busybox: /bin/true" in l]
        self.assertEqual(len(lines), 1, m.stdout)
        self.assertTrue(lines[0].endswith(" [container %s]" % cid[:12]), lines[0])

    def test_select_one_of_two_by_prefix(self):
        with C.Containers() as s:
            a = s.run_detached(SLEEPER, tag="a")
            b = s.run_detached(SLEEPER, tag="b")
            aid, bid = a.inspect()["id"], b.inspect()["id"]
            n = 1
            while aid[:n] == bid[:n]:
                n += 1
            with Monitor("--events", "process_exec", "--container", aid[:n + 1]) as m:
                a.exec(["/bin/true"])
                b.exec(["/bin/true"])
                b.exec(["/bin/true"])
                subprocess.run(["/bin/true"])
                time.sleep(0.3)
                m.stop()
            evs = m.events()
            self.assertTrue(evs)
            for e in evs:
                self.assertEqual(e.get("container_id"), aid, e)
            self.assertEqual(len(execs_of(evs, aid, "/bin/true")), 1)
            # b's two execs and the host's, at least, were dropped and counted
            self.assertGreaterEqual(filtered_total(m.stderr), 3)

            with Monitor("--events", "process_exec", "--container", "host") as m:
                a.exec(["/bin/true"])
                subprocess.run(["/bin/true"])
                time.sleep(0.3)
                m.stop()
            evs = m.events()
            self.assertFalse([e for e in evs if "container_id" in e])
            self.assertTrue([e for e in evs if e["argv"] == ["/bin/true"]])
            self.assertGreaterEqual(filtered_total(m.stderr), 1)

    def test_bad_container_values(self):
        with C.Containers() as s:
            a = s.run_detached(SLEEPER)
            aid = a.inspect()["id"]
            # a malformed value is a bad option (2); one naming no running
            # container fails at start (1)
            cases = [("XYZ", "invalid --container 'XYZ'", 2),
                     ("0" * 64 if not aid.startswith("0") else "f" * 64,
                      "no running container has an id beginning so", 1),
                     ("", "invalid --container ''", 2),
                     # a name (podman's, not hex) is told apart from an id
                     (a.name, "a name is not an id: podman ps --no-trunc shows ids", 2)]
            for value, words, code in cases:
                r = subprocess.run([MONITOR, "--container", value], capture_output=True,
                                   text=True, timeout=30)
                self.assertEqual(r.returncode, code, r.stderr)
                lines = r.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertIn(words, lines[0])

    def test_started_before_the_monitor_no_exec_seen(self):
        """A container running before the monitor starts, whose processes
        fork and exit while only creations and exits are watched (no exec
        record carries the cgroup's path): each event names the container,
        its cgroup found from the id alone (the monitor has dropped the
        capability file handles need); the replay of its capture, where the
        cgroup no longer exists, says the same of every event."""
        loop = 'trap "exit 0" TERM; while :; do sleep 0.2 & wait; done'
        with C.Containers() as s:
            c = s.run_detached(["sh", "-c", loop])
            truth = c.inspect()
            pid_ns = C.ns_inodes(truth["pid"])["pid"]
            cg_id = C.cgroup_id(C.cgroup_path(truth["pid"]))
            cap = os.path.join(tempfile.mkdtemp(prefix="ksysmon-cg."), "cap")
            with Monitor("--events", "process_create,process_exit", "-w", cap, "--print") as m:
                time.sleep(1.5)
                c.stop()
                time.sleep(0.3)
                m.stop()
            evs = m.events()
        # the replay, without the container or its cgroup, says the same
        out = subprocess.run([MONITOR, "-r", cap, "-f", "json"], capture_output=True,
                             timeout=60, check=True).stdout
        self.assertEqual([json.loads(l) for l in out.decode().splitlines()], evs)
        mine = [e for e in evs if e.get("pid_ns") == pid_ns]
        self.assertGreaterEqual(len([e for e in mine if e["type"] == "process_create"]), 3)
        self.assertTrue([e for e in mine if e["type"] == "process_exit" and e["comm"] == "sh"])
        for e in mine:
            self.assertEqual(e["cgroup_id"], cg_id)
            self.assertNotIn("cgroup", e)  # no record carried the path
        for e in mine:
            self.assertEqual(e.get("container_id"), truth["id"], e)
            self.assertEqual(e.get("container_runtime"), "podman", e)

    def test_cgroup_names_deep_and_long(self):
        """Cgroups made by hand and named as engines name them: a podman
        container 150 levels deep, one whose path passes PATH_MAX (the
        kernel names neither whole), an lxc name of 243 bytes (the longest
        a cgroup name leaves): exec and exit name each container whole,
        live and in the replay of the capture; --container selects the
        podman ones by a prefix."""
        top = "ksysmon-deep-%d" % os.getpid()
        cases = [(["d"] * 150 + ["libpod-" + "cd" * 32], "podman", "cd" * 32),
                 (["L" * 200] * 22 + ["libpod-" + "ef" * 32], "podman", "ef" * 32),
                 (["lxc.payload." + "n" * 243], "lxc", "n" * 243)]
        root = os.open(C.unified_mount(), os.O_RDONLY | os.O_DIRECTORY)
        opened = []  # (parent fd, name, fd, made here), outermost first
        cap = os.path.join(tempfile.mkdtemp(prefix="ksysmon-cgdeep."), "cap")
        try:
            leaves = []
            for comps, _, _ in cases:
                fd = root
                for name in [top] + comps:  # relative: the paths pass PATH_MAX
                    made = not os.path.exists(os.path.join("/proc/self/fd/%d" % fd, name)) \
                        if fd == root else True
                    if made:
                        os.mkdir(name, dir_fd=fd)
                    sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                    opened.append((fd, name, sub, made))
                    fd = sub
                leaves.append(fd)
            def run_in_each():
                pids = []
                for fd in leaves:
                    def enter(fd=fd):
                        p = os.open("cgroup.procs", os.O_WRONLY, dir_fd=fd)
                        os.write(p, b"0")
                    p = subprocess.Popen(["/bin/true"], preexec_fn=enter)
                    p.wait()
                    pids.append(p.pid)
                time.sleep(0.3)
                return pids

            # --container finds both podman ones however deep or long
            with Monitor("--events", "process_exec", "--container", "cdcd",
                         "--container", "efef") as sel:
                pids = run_in_each()
                sel.stop()
            shown = {e["pid"] for e in sel.events() if e["pid"] in pids}
            self.assertEqual(shown, set(pids[:2]))
            with Monitor("--events", "process_exec,process_exit", "-w", cap, "--print") as m:
                pids = run_in_each()
                m.stop()
            out = subprocess.run([MONITOR, "-r", cap, "-f", "json"], capture_output=True,
                                 timeout=60, check=True).stdout
            replayed = [json.loads(l) for l in out.decode().splitlines()]
            for evs in (m.events(), replayed):
                for pid, (_, runtime, cid) in zip(pids, cases):
                    mine = [e for e in evs if e["pid"] == pid]
                    self.assertEqual(sorted(e["type"] for e in mine),
                                     ["process_exec", "process_exit"])
                    for e in mine:
                        self.assertEqual((e.get("container_runtime"), e.get("container_id")),
                                         (runtime, cid), e["type"])
        finally:
            for parent, name, fd, made in reversed(opened):
                os.close(fd)
                if made:
                    os.rmdir(name, dir_fd=parent)
            os.close(root)

    def test_passwd_changed_while_running(self):
        """The container's /etc/passwd rewritten under a running monitor:
        each exec's user is the name the file gives when the exec is seen
        (not one kept from before the change), a FIFO there gives none and
        holds nothing, a name with a terminal escape is shown exactly; the
        replay of the capture says the same of each exec."""
        cap = os.path.join(tempfile.mkdtemp(prefix="ksysmon-pw."), "cap")
        escaped = "\x1b[31mevil\"q"
        line = "%s:x:" + str(C.CTR_UID) + ":0::/:/bin/sh\\n"
        # (user expected, uid, the change made before the step's exec)
        steps = [("ctruser", C.CTR_UID, None),
                 ("renamed", C.CTR_UID, "sed -i s/^ctruser:/renamed:/ /etc/passwd"),
                 (escaped, C.CTR_UID, "printf 'root:x:0:0::/:/bin/sh\\n%s' \"$NAME\" > /etc/passwd"
                  % line)]
        # podman exec itself reads the FIFO: this step's exec is the shell's
        fifo = ("rm /etc/passwd && mkfifo /etc/passwd && /bin/echo step3 && sleep 1 && "
                "rm /etc/passwd && printf '%s' ctruser > /etc/passwd" % line)
        with C.Containers() as s:
            c = s.run_detached(SLEEPER)
            cid = c.inspect()["id"]
            with Monitor("--events", "process_exec", "--container", cid, "-w", cap,
                         "--print") as m:
                for i, (_, _, change) in enumerate(steps):
                    if change:
                        C.podman("exec", "--env", "NAME=" + escaped, cid, "sh", "-c", change)
                    c.exec(["/bin/echo", "step%d" % i], user=C.CTR_UID)
                    time.sleep(0.5)  # seen before the next change
                c.exec(["sh", "-c", fifo])
                c.exec(["/bin/echo", "step4"], user=C.CTR_UID)
                time.sleep(0.5)
                m.stop()
            live = m.events()
        steps += [(None, 0, fifo), ("ctruser", C.CTR_UID, None)]
        out = subprocess.run([MONITOR, "-r", cap, "-f", "json"], capture_output=True,
                             timeout=60, check=True).stdout
        replayed = [json.loads(l) for l in out.decode().splitlines()]
        for evs in (live, replayed):
            for i, (want, uid, _) in enumerate(steps):
                got = [e for e in execs_of(evs, cid, "/bin/echo")
                       if e["argv"] == ["/bin/echo", "step%d" % i]]
                self.assertEqual(len(got), 1, "step %d" % i)
                self.assertEqual(got[0]["uid"], uid)
                self.assertEqual(got[0].get("user"), want, "step %d" % i)

    def test_user_namespace_made_inside_the_container(self):
        """One host uid (the container's 1000), one mount namespace, two
        user namespaces: `unshare -U -r` inside the container makes the
        same process uid 0 in a namespace of its own, whose name in the
        container's passwd is root.  Each exec's user is the name its own
        `id -un` prints (the process's view), in either order, live and in
        the replay of the capture."""
        cap = os.path.join(tempfile.mkdtemp(prefix="ksysmon-userns."), "cap")
        steps = [["unshare", "-U", "-r", "/bin/id", "-un"], ["/bin/id", "-un"],
                 ["unshare", "-U", "-r", "/bin/id", "-un"], ["/bin/id", "-un"]]
        with C.Containers() as s:
            c = s.run_detached(SLEEPER)
            cid = c.inspect()["id"]
            said = []
            with Monitor("--events", "process_exec", "--container", cid, "-w", cap,
                         "--print") as m:
                for argv in steps:
                    said.append(c.exec(argv, user=C.CTR_UID).stdout.strip())
                    time.sleep(0.3)  # each seen before the next
                m.stop()
            live = m.events()
        self.assertEqual(said, ["root", C.CTR_USER, "root", C.CTR_USER])
        r = subprocess.run([MONITOR, "-r", cap, "-f", "json"], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        replayed = [json.loads(l) for l in r.stdout.decode().splitlines()]
        for evs in (live, replayed):
            ids = execs_of(evs, cid, "/bin/id")
            self.assertEqual(len(ids), len(steps))
            for e, name, argv in zip(ids, said, steps):
                self.assertEqual(e["uid"], C.CTR_UID)
                self.assertEqual(e.get("ns_uid"), 0 if argv[0] == "unshare" else None)
                self.assertEqual(e.get("user"), name, argv)


if __name__ == "__main__":
    unittest.main()
