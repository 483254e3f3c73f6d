"""Containers as ksysmon shows them, against podman's own answers: the
container id and runtime of each event (podman inspect), the user name as
the container's /etc/passwd names it (not the host's), --container
selecting one of two running containers by a prefix of its id (the other's
events counted as filtered), --container host, and the one-line errors."""
import contextlib
import hashlib
import json
import os
import re
import shutil
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


THREAD_EVENTS = ("--events", "thread_create,thread_exit")
CONTAINER_FIELDS = ("cgroup_id", "cgroup", "container_id", "container_runtime")


def thread_events(events, chain):
    """The thread events of a ThreadChain's threads, as {(type, tid): event}
    (one of each asserted)."""
    found = {}
    for e in events:
        if e["type"] in ("thread_create", "thread_exit") and e["tid"] in chain.threads:
            key = (e["type"], e["tid"])
            if key in found:
                raise AssertionError("two %s for thread %d" % key)
            found[key] = e
    return found


def replay(cap, *args, fmt="json"):
    out = subprocess.run([MONITOR, "-r", cap, "-f", fmt] + list(args), capture_output=True,
                         timeout=60, check=True).stdout.decode()
    return [json.loads(l) for l in out.splitlines()] if fmt == "json" else out.splitlines()


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

    def check_threads(self, evs, chain, cid):
        """Every thread of chain has exactly one thread_create and one
        thread_exit, each with the thread's own cgroup as /proc showed it
        (path and id) and the container podman says (none on the host)."""
        got = thread_events(evs, chain)
        self.assertEqual(sorted(got), sorted((t, tid) for tid in chain.threads
                                             for t in ("thread_create", "thread_exit")))
        for (typ, tid), e in got.items():
            path, cg_id = chain.threads[tid]
            self.assertEqual(e["pid"], chain.pid)
            self.assertEqual((e["cgroup_id"], e["cgroup"]), (cg_id, path), (typ, tid))
            self.assertNotIn("cgroup_truncated", e)
            if cid:
                self.assertEqual(path, "/libpod_parent/libpod-" + cid)
                self.assertEqual((e.get("container_id"), e.get("container_runtime")),
                                 (cid, "podman"), (typ, tid))
            else:
                self.assertNotIn("container_id", e)
                self.assertNotIn("container_runtime", e)
        return got

    def test_thread_events_say_their_container(self):
        """Threads started in two podman containers and on the host, each
        checked against its own /proc/PID/task/TID/cgroup and podman
        inspect: an unfiltered monitor writing a capture, --container with
        one container's id prefix in capitals (the other's and the host's
        threads filtered, counted), --container all, --container host, and
        configuration rules on container_id, cgroup and container_runtime;
        the replay of the capture says what the live monitor said, in JSON
        and in the text view, and selects as the live monitors did."""
        cap = os.path.join(tempfile.mkdtemp(prefix="ksysmon-thr."), "cap")
        with C.Containers() as s:
            a = C.ThreadChain(s, 3, "thr-a")
            b = C.ThreadChain(s, 2, "thr-b")
            host = C.ThreadChain(s, 1, in_container=False)
            aid, bid = a.container.inspect()["id"], b.container.inspect()["id"]
            n = 1
            while aid[:n] == bid[:n]:
                n += 1
            prefix = aid[:max(n, 12)].upper()
            # rules on the container's fields: a's creations, b's ends
            config = os.path.join(os.path.dirname(cap), "rules.yaml")
            with open(config, "w") as f:
                f.write("events:\n"
                        "  thread_create:\n    include:\n      - container_id: {is: %s}\n"
                        "  thread_exit:\n    include:\n      - all:\n"
                        "          - cgroup: {ends_with: libpod-%s}\n"
                        "          - container_runtime: {is: podman}\n" % (aid, bid))
            with contextlib.ExitStack() as stack:
                mons = {k: stack.enter_context(Monitor(*THREAD_EVENTS, *args)) for k, args in (
                    ("all_events", ("-w", cap, "--print")), ("a", ("--container", prefix)),
                    ("any", ("--container", "all")), ("host", ("--container", "host")),
                    ("rules", ("-c", config)))}
                for chain in (a, b, host):
                    chain.start()
                for chain in (a, b):
                    chain.next()
                a.next()
                self.assertEqual([len(c.threads) for c in (a, b, host)], [3, 2, 1])
                for chain in (a, b, host):
                    self.assertEqual(chain.finish(), 0)
                time.sleep(0.3)
                for m in mons.values():
                    m.stop()
        live = {k: m.events() for k, m in mons.items()}
        every = live["all_events"]
        want = {"a": self.check_threads(every, a, aid), "b": self.check_threads(every, b, bid),
                "host": self.check_threads(every, host, None)}

        def same(evs, chain, key):
            """The events another monitor saw: each monitor's programs
            take their own timestamp, everything else is the same."""
            untimed = lambda d: {k: {f: v for f, v in e.items() if f != "time"}
                                 for k, e in d.items()}
            self.assertEqual(untimed(thread_events(evs, chain)), untimed(want[key]), key)

        # --container ID (capitals): a's threads only; b's and the host's counted
        same(live["a"], a, "a")
        for e in live["a"]:
            self.assertEqual(e.get("container_id"), aid, e)
        self.assertGreaterEqual(filtered_total(mons["a"].stderr), 2 * (2 + 1))
        # all: both containers' threads, none of the host's
        same(live["any"], a, "a")
        same(live["any"], b, "b")
        self.assertFalse(thread_events(live["any"], host))
        for e in live["any"]:
            self.assertIn("container_id", e)
        self.assertGreaterEqual(filtered_total(mons["any"].stderr), 2)
        # host: the host's, none of the containers'
        same(live["host"], host, "host")
        self.assertFalse(thread_events(live["host"], a) or thread_events(live["host"], b))
        for e in live["host"]:
            self.assertNotIn("container_id", e)
        self.assertGreaterEqual(filtered_total(mons["host"].stderr), 2 * (3 + 2))

        # the configuration's rules on container_id, cgroup, container_runtime
        got = {(e["type"], e["tid"]) for e in live["rules"]}
        self.assertEqual(got, {("thread_create", t) for t in a.threads} |
                         {("thread_exit", t) for t in b.threads})

        # the replay: the same events, and the same selections
        self.assertEqual(replay(cap), every)
        got = {(e["type"], e["tid"]) for e in replay(cap, "-c", config)}
        self.assertEqual(got, {("thread_create", t) for t in a.threads} |
                         {("thread_exit", t) for t in b.threads})
        for args, chains in ((("--container", prefix), ("a",)), (("--container", "all"), ("a", "b")),
                             (("--container", "host"), ("host",))):
            evs = replay(cap, *args)
            for key, chain in (("a", a), ("b", b), ("host", host)):
                if key in chains:
                    same(evs, chain, key)
                else:
                    self.assertFalse(thread_events(evs, chain), (args, key))
        text = replay(cap, fmt="text")
        for tid in a.threads:
            lines = [l for l in text if re.search(r": Thread %d (Created in|Exited from) process %d"
                                                  % (tid, a.pid), l)]
            self.assertEqual(len(lines), 2, text)
            for l in lines:
                self.assertTrue(l.endswith(" [container %s]" % aid[:12]), l)
        for tid in host.threads:
            lines = [l for l in text if ": Thread %d " % tid in l]
            self.assertEqual(len(lines), 2)
            self.assertNotIn("[container", " ".join(lines))

    def test_thread_in_threaded_cgroup(self):
        """A thread's own cgroup, not its process's: a process in a cgroup
        made by hand, whose threaded child is named as podman names a
        container; its first thread moved into that child, where it starts
        a second.  Each event has the thread's cgroup at that moment (the
        first thread's creation the process's, its end the child's), and
        --container selects, in the kernel, the events of the child only."""
        # this run's own: another run's cgroup of the same name would be a
        # second container of that id
        cid = hashlib.sha256(b"%d %d" % (os.getpid(), time.time_ns())).hexdigest()
        with C.HandCgroup() as top:
            child = os.path.join(top.dir, "libpod-" + cid)
            os.mkdir(child)
            try:
                with open(os.path.join(child, "cgroup.type"), "w") as f:
                    f.write("threaded")
                child_path, child_id = top.path + "/libpod-" + cid, os.stat(child).st_ino
                with Monitor(*THREAD_EVENTS) as every, \
                        Monitor(*THREAD_EVENTS, "--container", cid[:16]) as sel:
                    p = top.spawn([C.WORKLOAD, "thread-chain", "2"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)
                    out = lambda: p.stdout.readline().decode().strip().partition("=")[2]
                    pid = int(out())
                    t1 = int(out())
                    self.assertEqual(C.thread_cgroup(pid, t1), (top.path, top.id))
                    with open(os.path.join(child, "cgroup.threads"), "w") as f:
                        f.write(str(t1))
                    p.stdin.write(b"\n")
                    p.stdin.flush()
                    t2 = int(out())
                    self.assertEqual(C.thread_cgroup(pid, t1), (child_path, child_id))
                    self.assertEqual(C.thread_cgroup(pid, t2), (child_path, child_id))
                    self.assertEqual(C.thread_cgroup(pid, pid), (top.path, top.id))
                    p.stdin.write(b"\n")
                    p.stdin.close()
                    self.assertEqual(p.wait(30), 0)
                    time.sleep(0.3)
                    every.stop()
                    sel.stop()
            finally:
                os.rmdir(child)
        host, ctr = (top.path, top.id, None, None), (child_path, child_id, cid, "podman")
        want = {("thread_create", t1): host, ("thread_exit", t1): ctr,
                ("thread_create", t2): ctr, ("thread_exit", t2): ctr}
        for m, keys in ((every, set(want)), (sel, {k for k, v in want.items() if v is ctr})):
            got = {(e["type"], e["tid"]): e for e in m.events() if e["pid"] == pid}
            self.assertEqual(set(got), keys)
            for k in keys:
                e = got[k]
                self.assertEqual((e["cgroup"], e["cgroup_id"], e.get("container_id"),
                                  e.get("container_runtime")), want[k], k)
        # the process's own thread events in the top cgroup: dropped before the queue
        self.assertRegex(sel.stderr, r"filtered: kernel=[1-9]")

    def test_exec_blocked_names_its_container(self):
        """Execs refused by --deny (the fanotify engine): one in a running
        container, the first program of a container (which is gone, cgroup
        and all, a moment later), one on the host, and one in a cgroup made
        by hand, named as podman names a container's, whose path is longer
        than a record carries (1023 bytes).  Each exec_blocked names the
        cgroup (path and id as /proc and the hierarchy show them, or as the
        refused process's own exit says; the long one's end, marked cut)
        and the container podman says; the host's none.  The replay of the
        capture says the same."""
        tag = "ksm-denied-%d-%d" % (os.getpid(), time.monotonic_ns())
        work = tempfile.mkdtemp(prefix="ksysmon-ctrdeny.", dir="/var/tmp")
        cap = os.path.join(work, "cap")
        host_copy = os.path.join(work, tag)
        shutil.copy("/bin/true", host_copy)
        long_cid = hashlib.sha256(tag.encode()).hexdigest()
        long_path = "/%s/%s/libpod-%s" % (tag, "/".join(["l" * 200] * 5), long_cid)
        long_dir = os.path.join(C.unified_mount(), long_path[1:])
        os.makedirs(long_dir)
        self.addCleanup(lambda: [os.rmdir(os.path.join(C.unified_mount(), p)) for p in
                                 ["/".join(long_path[1:].split("/")[:i]) for i in range(7, 0, -1)]])

        def enter_long():
            with open(os.path.join(long_dir, "cgroup.procs"), "w") as f:
                f.write("0")
        with C.Containers() as s:
            c = s.run_detached(SLEEPER)
            truth = c.inspect()
            c.exec(["cp", "/bin/busybox", "/tmp/" + tag])
            first = C.podman("create", *C.RUN_FLAGS, "--name", C.unique_name("first"), C.IMAGE,
                             "/" + tag).stdout.strip()
            s.made.append(C.Container(first, "first"))
            C.podman("cp", "/bin/busybox", "%s:/%s" % (first, tag))
            path = C.cgroup_path(truth["pid"])
            path_id = C.cgroup_id(path)
            with Monitor("--events", "process_exit", "--deny", "*/" + tag, "-w", cap,
                         "--print") as m:
                r = c.exec(["/tmp/" + tag, "true"], check=False)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("operation not permitted", r.stderr.lower())
                started = C.podman("start", "-a", first, check=False)
                self.assertNotEqual(started.returncode, 0)
                with self.assertRaises(PermissionError):
                    subprocess.run([host_copy])
                with self.assertRaises(PermissionError):
                    subprocess.run([host_copy], preexec_fn=enter_long)
                time.sleep(0.5)
                m.stop()
            evs = m.events()
        blocked = [e for e in evs if e["type"] == "exec_blocked"]
        self.assertEqual(len(blocked), 4, blocked)
        in_c, at_start, on_host, deep = blocked
        self.assertEqual(in_c["path"], "/tmp/" + tag)
        self.assertEqual((in_c["cgroup"], in_c["cgroup_id"]), (path, path_id))
        self.assertEqual((in_c["container_id"], in_c["container_runtime"]),
                         (truth["id"], "podman"))
        # the first program of a container: its cgroup is gone now; the
        # refused process's exit (read in the kernel) names the same one
        self.assertEqual(at_start["path"], "/" + tag)
        self.assertEqual((at_start["container_id"], at_start["container_runtime"]),
                         (first, "podman"))
        self.assertEqual(at_start["cgroup"], "/libpod_parent/libpod-" + first)
        ends = [e for e in evs if e["type"] == "process_exit" and e["pid"] == at_start["pid"]]
        self.assertEqual(len(ends), 1)
        self.assertEqual(ends[0]["cgroup_id"], at_start["cgroup_id"])
        self.assertFalse(os.path.exists(os.path.join(C.unified_mount(), at_start["cgroup"][1:])))
        self.assertEqual(on_host["path"], os.path.realpath(host_copy))
        self.assertEqual((on_host["cgroup"], on_host["cgroup_id"]),
                         (C.cgroup_path(os.getpid()), C.cgroup_id(C.cgroup_path(os.getpid()))))
        self.assertNotIn("container_id", on_host)
        self.assertGreater(len(long_path), 1023)
        self.assertEqual((deep["cgroup"], deep["cgroup_id"], deep["cgroup_truncated"]),
                         (long_path[-1023:], os.stat(long_dir).st_ino, True))
        self.assertEqual((deep["container_id"], deep["container_runtime"]), (long_cid, "podman"))
        self.assertEqual(replay(cap), evs)
        shutil.rmtree(work, ignore_errors=True)

    def test_exec_blocked_audit_names_its_container(self):
        """--audit: nothing waits, and the cgroup is read just after the
        exec; a program that lives on (a copy of busybox's sleep, in two
        running containers and on the host) is named with its cgroup and
        container all the same.  Each container exec is one event: the
        overlay's own open, through the container's mount, and its layer's
        file opened behind it are one attempt, also while the other
        container's execs come in between."""
        tag = "ksm-audit-%d-%d" % (os.getpid(), time.monotonic_ns())
        runs = 3
        with C.Containers() as s:
            ctrs = [s.run_detached(SLEEPER, tag="aud%d" % i) for i in range(2)]
            truth = {}
            for c in ctrs:
                t = c.inspect()
                path = C.cgroup_path(t["pid"])
                truth[t["id"]] = (path, C.cgroup_id(path), t["id"], "podman")
                c.exec(["sh", "-c", "mkdir /tmp/%s && cp /bin/busybox /tmp/%s/sleep" % (tag, tag)])
            work = tempfile.mkdtemp(prefix="ksysmon-ctraudit.", dir="/var/tmp")
            os.mkdir(os.path.join(work, tag))
            host_copy = os.path.join(work, tag, "sleep")
            shutil.copy("/bin/busybox", host_copy)
            with Monitor("--events", "process_exit", "--deny", "*/%s/sleep" % tag, "--audit") as m:
                loop = "for i in $(seq %d); do podman exec %%s /tmp/%s/sleep 0.3 || exit 1; done" % (
                    runs, tag)
                both = [subprocess.Popen(["sh", "-c", loop % c.id], env=C._engine_env())
                        for c in ctrs]
                self.assertEqual([p.wait(120) for p in both], [0, 0])
                subprocess.run([host_copy, "1"], check=True)
                time.sleep(0.3)
                m.stop()
            shutil.rmtree(work, ignore_errors=True)
        blocked = [e for e in m.events() if e["type"] == "exec_blocked"]
        self.assertEqual(len(blocked), 2 * runs + 1, blocked)
        for e in blocked[:-1]:
            self.assertTrue(e["audit"])
            self.assertEqual((e["cgroup"], e["cgroup_id"], e["container_id"],
                              e["container_runtime"]), truth[e.get("container_id")])
        self.assertEqual(sorted(e["container_id"] for e in blocked[:-1]),
                         sorted([c.id for c in ctrs] * runs))
        on_host = blocked[-1]
        host = C.cgroup_path(os.getpid())
        self.assertEqual((on_host["audit"], on_host["cgroup"], on_host["cgroup_id"]),
                         (True, host, C.cgroup_id(host)))
        self.assertNotIn("container_id", on_host)

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
                     # capitals are the same id: found running, or not
                     ((("0" * 64 if not aid.startswith("0") else "f" * 64)).upper(),
                      "no running container has an id beginning so", 1),
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
            # no record carried the path: the hierarchy's for the id
            self.assertEqual(e["cgroup"], "/libpod_parent/libpod-" + truth["id"])
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
