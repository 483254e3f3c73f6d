"""Process, exec, exit and thread events of issue "Linux sensor and live
client", checked field by field against processes with known truth."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from harness import MONITOR, TIME_RE, WORKLOAD, Monitor, by_pid, ebytes, one, run_workload

TRUE = os.path.realpath("/bin/true")
SH = os.path.realpath("/bin/sh")


def fork_exec(path, argv):
    """fork + execv from this process; returns (pid, wait status)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(path, argv)
        finally:
            os._exit(127)
    _, st = os.waitpid(pid, 0)
    return pid, st


def argv_blob(argv):
    return b"".join(a + b"\0" for a in argv)


class CoreEvents(unittest.TestCase):
    def check_common(self, ev, t0, t1):
        self.assertRegex(ev["time"], TIME_RE)
        # the stamp lies within the test's window (RFC 3339, UTC)
        ts = time.strptime(ev["time"][:19], "%Y-%m-%dT%H:%M:%S")
        secs = time.mktime(ts) - time.timezone
        self.assertGreaterEqual(secs, int(t0) - 1)
        self.assertLessEqual(secs, t1 + 1)

    def test_fork_exec_exit_odd_arguments(self):
        argv = [b"true", b"a b", b"'single'", b'"double"', b"tab\there", b"new\nline",
                "ütf-8 ✓".encode(), b"", b"\x01\x7f", b"\xff\xfe bad utf8", b"back\\slash", b""]
        with Monitor() as m:
            t0 = time.time()
            pid, st = fork_exec(TRUE, argv)
            t1 = time.time()
        self.assertEqual(m.returncode, 0, m.stderr)
        self.assertEqual(st, 0)
        evs = m.events()
        create = one(evs, pid, "process_create")
        self.assertEqual(create["ppid"], os.getpid())
        self.assertEqual(create["parent_tid"], threading.get_native_id())
        with open("/proc/self/comm") as f:
            self.assertEqual(create["comm"], f.read().rstrip("\n"))
        self.check_common(create, t0, t1)

        ex = one(evs, pid, "process_exec")
        self.assertEqual(ex["tid"], pid)
        self.assertEqual(ex["image"], TRUE)
        self.assertEqual(ex["filename"], TRUE)
        self.assertEqual([ebytes(a) for a in ex["argv"]], argv)
        self.assertEqual(ebytes(ex["cmdline"]), b" ".join(argv))
        self.assertIs(ex["argv_truncated"], False)
        self.assertEqual(ex["uid"], os.getuid())
        self.assertEqual(ex["gid"], os.getgid())
        self.assertEqual(ex["comm"], "true")
        self.check_common(ex, t0, t1)

        ext = one(evs, pid, "process_exit")
        self.assertEqual(ext["exit_code"], 0)
        self.assertNotIn("signal", ext)
        self.assertEqual(ext["tid"], pid)
        self.assertEqual(ext["comm"], "true")
        self.check_common(ext, t0, t1)
        # order: created, then exec, then exit
        idx = [evs.index(e) for e in (create, ex, ext)]
        self.assertEqual(idx, sorted(idx))
        self.assertEqual(m.summary()["lost"]["total"], 0)

    def test_large_argv_default_limit_truncates(self):
        argv = [b"true"] + [(b"%04d" % i) * 500 for i in range(50)]  # ~100 KB
        blob = argv_blob(argv)
        self.assertGreater(len(blob), 100000)
        with Monitor() as m:
            pid, _ = fork_exec(TRUE, argv)
        ex = one(m.events(), pid, "process_exec")
        self.assertIs(ex["argv_truncated"], True)
        got = b"\0".join(ebytes(a) for a in ex["argv"])
        self.assertEqual(len(got), 65536)
        self.assertEqual(got, blob[:65536])

    def test_large_argv_raised_limit_is_exact(self):
        argv = [b"true"] + [(b"%04d" % i) * 500 for i in range(50)] + [b"x" * 100000]
        with Monitor("--max-args-bytes", "300000") as m:
            pid, _ = fork_exec(TRUE, argv)
        ex = one(m.events(), pid, "process_exec")
        self.assertIs(ex["argv_truncated"], False)
        self.assertEqual([ebytes(a) for a in ex["argv"]], argv)

    def test_exit_codes_0_to_255(self):
        pids = {}
        with Monitor("--events", "process_exit") as m:
            for code in range(256):
                pid, _, rc = run_workload("exit", code)
                self.assertEqual(rc, code)
                pids[pid] = code
        evs = m.events()
        self.assertTrue(all(e["type"] == "process_exit" for e in evs))
        for pid, code in pids.items():
            ev = one(evs, pid, "process_exit")
            self.assertEqual(ev["exit_code"], code)
            self.assertNotIn("signal", ev)

    def test_deaths_by_signal(self):
        cases = {}
        tmp = tempfile.mkdtemp(prefix="ksysmon-core.")
        with open("/proc/sys/kernel/core_pattern") as f:
            pattern = f.read().strip()
        try:
            with open("/proc/sys/kernel/core_pattern", "w") as f:
                f.write(os.path.join(tmp, "core.%p"))
            with Monitor("--events", "process_exit") as m:
                env = dict(os.environ, WORKLOAD_NO_CORE="1")
                for sig in (signal.SIGTERM, signal.SIGKILL, signal.SIGUSR1, signal.SIGSEGV):
                    pid, _, rc = run_workload("signal", int(sig), env=env)
                    self.assertEqual(rc, -sig)
                    cases[pid] = (int(sig), False)
                pid, _, rc = run_workload("signal", int(signal.SIGABRT), cwd=tmp)
                self.assertEqual(rc, -signal.SIGABRT)
                cases[pid] = (int(signal.SIGABRT), True)
        finally:
            with open("/proc/sys/kernel/core_pattern", "w") as f:
                f.write(pattern)
            shutil.rmtree(tmp)
        evs = m.events()
        for pid, (sig, core) in cases.items():
            ev = one(evs, pid, "process_exit")
            self.assertEqual(ev["signal"], sig)
            self.assertIs(ev["core_dumped"], core)
            self.assertNotIn("exit_code", ev)

    def test_symlink_relative_and_mounts(self):
        tmp = tempfile.mkdtemp(prefix="ksysmon-paths.")
        odd = os.path.join(tmp, "dir with space", "ü\nnamé")
        os.makedirs(os.path.dirname(odd))
        shutil.copy(TRUE, odd)
        link = os.path.join(tmp, "link-to-true")
        os.symlink(TRUE, link)
        mnt = os.path.join(tmp, "mnt")
        bind = os.path.join(tmp, "bind")
        os.makedirs(mnt)
        os.makedirs(bind)
        subprocess.run(["mount", "-t", "tmpfs", "ksm-tmpfs", mnt], check=True)
        try:
            shutil.copy(TRUE, os.path.join(mnt, "ontmpfs"))
            subprocess.run(["mount", "--bind", mnt, bind], check=True)
            with Monitor() as m:
                p_link, _ = fork_exec(link, [b"link"])
                p_odd, _ = fork_exec(odd, [b"odd"])
                p_tmpfs, _ = fork_exec(os.path.join(mnt, "ontmpfs"), [b"t"])
                p_bind, _ = fork_exec(os.path.join(bind, "ontmpfs"), [b"b"])
                cwd = os.getcwd()
                os.chdir(os.path.dirname(odd))
                try:
                    p_rel, _ = fork_exec("./ü\nnamé", [b"rel"])
                finally:
                    os.chdir(cwd)
            subprocess.run(["umount", bind], check=True)
        finally:
            subprocess.run(["umount", "-l", mnt])
            shutil.rmtree(tmp)
        evs = m.events()
        real_tmp = os.path.realpath(tmp)
        ev = one(evs, p_link, "process_exec")
        self.assertEqual(ev["image"], TRUE)
        self.assertEqual(ev["filename"], link)
        ev = one(evs, p_odd, "process_exec")
        self.assertEqual(ev["image"], os.path.join(real_tmp, "dir with space", "ü\nnamé"))
        ev = one(evs, p_tmpfs, "process_exec")
        self.assertEqual(ev["image"], os.path.join(real_tmp, "mnt", "ontmpfs"))
        ev = one(evs, p_bind, "process_exec")
        self.assertEqual(ev["image"], os.path.join(real_tmp, "bind", "ontmpfs"))
        ev = one(evs, p_rel, "process_exec")
        self.assertEqual(ev["image"], os.path.join(real_tmp, "dir with space", "ü\nnamé"))
        self.assertEqual(ev["filename"], "./ü\nnamé")

    def test_shell_reports_resolved_interpreter(self):
        with Monitor() as m:
            pid, st = fork_exec("/bin/sh", [b"sh", b"-c", b"exit 7"])
        self.assertEqual(os.waitstatus_to_exitcode(st), 7)
        evs = m.events()
        ev = one(evs, pid, "process_exec")
        self.assertEqual(ev["image"], SH)
        self.assertEqual(ev["filename"], "/bin/sh")
        self.assertEqual(one(evs, pid, "process_exit")["exit_code"], 7)

    def test_execveat_with_fd_and_dirfd(self):
        with Monitor() as m:
            p_fd, v_fd, rc1 = run_workload("execveat-fd", TRUE, "fdarg")
            p_dir, v_dir, rc2 = run_workload("execveat-dir", os.path.dirname(TRUE),
                                             os.path.basename(TRUE), "dirarg")
        self.assertEqual((rc1, rc2), (0, 0))
        evs = m.events()
        ev = by_pid(evs, p_fd, "process_exec")[-1]
        self.assertEqual(ev["image"], TRUE)
        self.assertEqual(ev["filename"], "/dev/fd/%s" % v_fd["fd"][0])
        self.assertEqual(ev["argv"], [TRUE, "fdarg"])
        ev = by_pid(evs, p_dir, "process_exec")[-1]
        self.assertEqual(ev["image"], TRUE)
        self.assertEqual(ev["argv"], [os.path.basename(TRUE), "dirarg"])

    def test_failed_exec_reports_nothing(self):
        tmp = tempfile.mkdtemp(prefix="ksysmon-fail.")
        noexec = os.path.join(tmp, "not-executable")
        with open(noexec, "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(noexec, 0o644)
        try:
            with Monitor() as m:
                p1, v1, _ = run_workload("failexec", os.path.join(tmp, "missing"))
                p2, v2, _ = run_workload("failexec", noexec)
        finally:
            shutil.rmtree(tmp)
        self.assertEqual(v1["errno"], ["2"])   # ENOENT
        self.assertEqual(v2["errno"], ["13"])  # EACCES
        evs = m.events()
        for pid in (p1, p2):
            # the workload itself was exec'd once by us; the failed exec adds none
            execs = by_pid(evs, pid, "process_exec")
            self.assertEqual(len(execs), 1)
            self.assertEqual(execs[0]["image"], os.path.realpath(WORKLOAD))
            self.assertEqual(one(evs, pid, "process_exit")["exit_code"], 0)

    def test_exec_from_non_leader_thread(self):
        with Monitor() as m:
            pid, vals, rc = run_workload("thread-exec", TRUE, "from-thread")
        self.assertEqual(rc, 0)
        tid = int(vals["tid"][0])
        self.assertNotEqual(tid, pid)
        evs = m.events()
        execs = by_pid(evs, pid, "process_exec")
        self.assertEqual(len(execs), 2)
        ev = execs[1]
        self.assertEqual(ev["tid"], tid)
        self.assertEqual(ev["image"], TRUE)
        self.assertEqual(ev["argv"], [TRUE, "from-thread"])
        tc = one(evs, pid, "thread_create")
        self.assertEqual(tc["tid"], tid)
        ext = one(evs, pid, "process_exit")
        self.assertEqual(ext["exit_code"], 0)
        # the initial thread, killed by the exec, is the process: no thread
        # event; the thread that took over goes on as the process
        self.assertEqual(by_pid(evs, pid, "thread_exit"), [])
        self.assertEqual(ext["tid"], pid)

    def test_vfork(self):
        with Monitor() as m:
            pid, vals, rc = run_workload("vfork", TRUE, "vforked")
        self.assertEqual(rc, 0)
        child = int(vals["child"][0])
        evs = m.events()
        cr = one(evs, child, "process_create")
        self.assertEqual(cr["ppid"], pid)
        self.assertEqual(cr["parent_tid"], pid)
        ev = one(evs, child, "process_exec")
        self.assertEqual(ev["argv"], [TRUE, "vforked"])
        self.assertEqual(one(evs, child, "process_exit")["exit_code"], 0)

    def test_threads(self):
        with Monitor() as m:
            pid, vals, rc = run_workload("threads", 5)
        self.assertEqual(rc, 0)
        tids = sorted(int(t) for t in vals["tid"])
        evs = m.events()
        created = sorted(e["tid"] for e in by_pid(evs, pid, "thread_create"))
        exited = sorted(e["tid"] for e in by_pid(evs, pid, "thread_exit"))
        self.assertEqual(created, tids)
        self.assertEqual(exited, tids)
        self.assertNotIn(pid, created)
        self.assertEqual(one(evs, pid, "process_exit")["exit_code"], 0)
        self.assertEqual(len(by_pid(evs, pid, "process_create")), 1)


    def thread_story(self, evs, pid):
        """(type, tid) of the process's thread and exit events, in order."""
        return [(e["type"], e["tid"]) for e in evs if e.get("pid") == pid and e["type"] in
                ("thread_create", "thread_exit", "process_exit")]

    def test_initial_thread_ending_alone_is_a_thread_exit(self):
        # SYS_exit in the initial thread while another lives on: each
        # thread's end is reported when it happens, the last thread's too
        for _ in range(3):
            with Monitor("--events", "thread_create,thread_exit,process_exit") as m:
                pid, vals, rc = run_workload("leader-exit", 5, 3)
            tid = int(vals["tid"][0])
            evs = m.events()
            self.assertEqual(self.thread_story(evs, pid), [
                ("thread_create", tid), ("thread_exit", pid), ("thread_exit", tid),
                ("process_exit", tid)])
            self.assertEqual(one(evs, pid, "process_exit")["exit_code"], rc)

    def test_exit_group_from_a_thread(self):
        # exit(3) in a second thread ends the whole group: the thread gets
        # its thread_exit, the initial thread only the process_exit
        with Monitor("--events", "thread_create,thread_exit,process_exit") as m:
            pid, vals, rc = run_workload("thread-exit-group", 4)
        self.assertEqual(rc, 4)
        tid = int(vals["tid"][0])
        story = self.thread_story(m.events(), pid)
        self.assertEqual(story[:2], [("thread_create", tid), ("thread_exit", tid)])
        self.assertEqual(story[2][0], "process_exit")
        self.assertEqual(len(story), 3)
        self.assertEqual(one(m.events(), pid, "process_exit")["exit_code"], 4)


class Client(unittest.TestCase):
    def test_text_format(self):
        with Monitor(fmt="text") as m:
            pid, _ = fork_exec(TRUE, [b"true", b"-l", b"a b", b"new\nline", b""])
        self.assertEqual(m.returncode, 0)
        text = m.stdout.decode()
        me = os.getpid()
        self.assertRegex(text, r"(?m)^\d\d:\d\d:\d\d\.\d{3}: Process %d Created by %d \(thread %d\) \[" %
                         (pid, me, threading.get_native_id()))
        self.assertRegex(text, r'(?m)^\d\d:\d\d:\d\d\.\d{3}: Process %d Exec %s: true -l "a b" "new\\nline" ""$'
                         % (pid, TRUE))
        self.assertRegex(text, r"(?m)^\d\d:\d\d:\d\d\.\d{3}: Process %d Exited with code 0 \[true\]$" % pid)
        self.assertNotIn("\x01", text)

    def test_filters_pid_and_events(self):
        # the workload waits for a line so that its pid is known before the monitor starts
        p = subprocess.Popen([WORKLOAD, "wait-stdin", "threads", "3"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
        line = p.stdout.readline().decode()
        pid = int(line.split("=")[1])
        with Monitor("--pid", str(pid), "--events", "thread_create,process_exit") as m:
            fork_exec(TRUE, [b"true"])  # not selected: must not appear
            out, _ = p.communicate(b"go\n")
        self.assertEqual(p.returncode, 0)
        evs = m.events()
        self.assertTrue(evs)
        self.assertTrue(all(e["pid"] == pid for e in evs), evs)
        self.assertEqual(sorted(e["type"] for e in evs),
                         ["process_exit"] + ["thread_create"] * 3)
        s = m.summary()["summary"]
        self.assertEqual(s["thread_create"], 3)
        self.assertEqual(s["thread_exit"], 0)

    def test_pid_follows_descendants_until_they_exit(self):
        p = subprocess.Popen([WORKLOAD, "wait-stdin", "vfork", "/bin/sh", "-c",
                              "/bin/true child; /bin/sh -c '/bin/true grandchild'"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        pid = int(p.stdout.readline().decode().split("=")[1])
        with Monitor("--pid", str(pid)) as m:
            fork_exec(TRUE, [b"true", b"outsider"])  # not a descendant
            p.communicate(b"go\n")
        self.assertEqual(p.returncode, 0)
        evs = m.events()
        execs = [e for e in evs if e["type"] == "process_exec"]
        self.assertEqual([e["argv"][-1] for e in execs],
                         ["/bin/true child; /bin/sh -c '/bin/true grandchild'", "child",
                          "/bin/true grandchild", "grandchild"])
        pids = {e["pid"] for e in execs}
        self.assertEqual(len(pids), 4)
        for q in pids:
            self.assertEqual([e["type"] for e in evs if e["pid"] == q],
                             ["process_create", "process_exec", "process_exit"])
        self.assertEqual([e["type"] for e in evs if e["pid"] == pid], ["process_exit"])
        self.assertEqual({e["pid"] for e in evs}, pids | {pid})

    def test_pid_follows_clone_parent_children_live_and_in_replay(self):
        # clone3(CLONE_PARENT), from the first and from a second thread, as
        # runc does: the child is the selected process's parent's, but the
        # selected process created it, so it is followed, in the kernel and
        # in a replay (which applies --pid again to what was recorded)
        for variant in ([], ["--thread"]):
            with self.subTest(variant=variant):
                p = subprocess.Popen([WORKLOAD, "wait-stdin", "clone-parent"] + variant +
                                     [TRUE, "cloned"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
                pid = int(p.stdout.readline().decode().split("=")[1])
                cap = tempfile.mktemp(prefix="ksysmon-clone.")
                try:
                    with Monitor("--pid", str(pid), "-w", cap, "--print") as m:
                        out, _ = p.communicate(b"go\n")
                        vals = dict(l.split("=") for l in out.decode().split())
                        child, tid = int(vals["child"]), int(vals["tid"])
                        self.assertGreater(child, 0)
                        _, st = os.waitpid(child, 0)  # ours: CLONE_PARENT made it so
                        self.assertEqual(st, 0)
                    self.assertEqual(m.returncode, 0, m.stderr)
                    replayed = subprocess.run([MONITOR, "-r", cap, "-f", "json", "--pid", str(pid)],
                                              capture_output=True, check=True).stdout
                finally:
                    if os.path.exists(cap):
                        os.unlink(cap)
                for evs in (m.events(), [json.loads(l) for l in replayed.splitlines()]):
                    self.assertEqual([e["type"] for e in evs if e.get("pid") == child],
                                     ["process_create", "process_exec", "process_exit"])
                    cr = one(evs, child, "process_create")
                    self.assertEqual((cr["ppid"], cr["parent_tid"], cr["creator_pid"]),
                                     (os.getpid(), tid, pid))
                    self.assertEqual(one(evs, child, "process_exec")["argv"], [TRUE, "cloned"])

    def test_pid_follows_descendants_with_creations_off(self):
        # the kernel follows new processes at fork even when their
        # creation is not reported
        p = subprocess.Popen([WORKLOAD, "wait-stdin", "vfork", "/bin/sh", "-c",
                              "/bin/true child; /bin/sh -c '/bin/true grandchild'"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        pid = int(p.stdout.readline().decode().split("=")[1])
        with Monitor("--pid", str(pid), "--events", "process_exec") as m:
            fork_exec(TRUE, [b"true", b"outsider"])
            p.communicate(b"go\n")
        self.assertEqual(p.returncode, 0)
        evs = m.events()
        self.assertEqual({e["type"] for e in evs}, {"process_exec"})
        self.assertEqual([e["argv"][-1] for e in evs],
                         ["/bin/true child; /bin/sh -c '/bin/true grandchild'", "child",
                          "/bin/true grandchild", "grandchild"])

    def test_lost_events_are_counted_never_silent(self):
        n = 30000
        p = subprocess.Popen([WORKLOAD, "wait-stdin", "thread-storm", str(n)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        pid = int(p.stdout.readline().decode().split("=")[1])
        # a reader that does not read: the monitor blocks on its output
        # pipe, the small queue fills, and events are lost
        mon = subprocess.Popen([MONITOR, "--format", "json", "--pid", str(pid),
                                "--events", "thread_create", "--max-args-bytes", "1024",
                                "--ringbuf-size", "64K"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = mon.stderr.readline()
        self.assertIn(b"ready", line)
        p.communicate(b"go\n")
        self.assertEqual(p.returncode, 0)
        mon.send_signal(signal.SIGINT)
        out, err = mon.communicate(timeout=60)
        self.assertEqual(mon.returncode, 0, err)
        evs = [json.loads(x) for x in out.decode().splitlines()]
        seen = len(by_pid(evs, pid, "thread_create"))
        lost_events = [e for e in evs if e["type"] == "events_lost"]
        self.assertTrue(lost_events, "a small queue and a storm must lose events")
        lost = sum(e["lost"].get("thread_create", 0) for e in lost_events)
        self.assertGreater(lost, 0)
        self.assertEqual(sum(e["total"] for e in lost_events), lost)
        self.assertEqual(seen + lost, n)
        m = re.search(r"ksysmon: lost:.* thread_create=(\d+) .*total=(\d+)", err.decode())
        self.assertEqual((int(m.group(1)), int(m.group(2))), (lost, lost))
        m = re.search(r"ksysmon: summary:.* thread_create=(\d+)", err.decode())
        self.assertEqual(int(m.group(1)), seen)

    def test_sigterm_drains_and_exits_zero(self):
        with Monitor() as m:
            pid, _ = fork_exec(TRUE, [b"true"])
            m.stop(signal.SIGTERM)
        self.assertEqual(m.returncode, 0)
        one(m.events(), pid, "process_exit")
        self.assertIn("ksysmon: summary:", m.stderr)

    def test_bad_options_one_line_error(self):
        for args in (["--format", "xml"], ["--pid", "abc"], ["--pid", "0"], ["--events", "bogus"],
                     ["--max-args-bytes", "-1"], ["--ringbuf-size", "1000"], ["--latency-ms", "0"],
                     ["--nope"], ["stray"], ["--pid"]):
            r = subprocess.run([MONITOR] + args, capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, args)
            self.assertEqual(r.stdout, "")
            lines = r.stderr.splitlines()
            self.assertEqual(len(lines), 1, (args, r.stderr))
            self.assertTrue(lines[0].startswith("ksysmon: "), lines[0])

    def test_not_root_is_refused(self):
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", MONITOR],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.strip().splitlines(),
                         ["ksysmon: must run as root (loading BPF programs needs CAP_BPF and CAP_PERFMON)"])

    def test_output_to_closed_pipe_ends_cleanly(self):
        p = subprocess.Popen([MONITOR, "--format", "json", "--latency-ms", "10"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = p.stderr.readline()
            if b"ready" in line:
                break
        p.stdout.close()  # the reader goes away
        for _ in range(20):
            fork_exec(TRUE, [b"true"])
        rc = p.wait(timeout=30)
        self.assertEqual(rc, 0)
        p.stderr.close()


if __name__ == "__main__":
    unittest.main()
