"""Execution policy when the monitor cannot answer at once.

A FUSE server that never answers the monitor, a stopped --audit monitor:
no exec of anyone else may wait longer than --deny-timeout-ms, and the
policy must stay enforced.

Safety: while a --deny monitor cannot answer, execs on the whole machine
may wait.  Each test arms a watchdog before it stalls anything: a forked
child that never execs and, on its own timer, resumes and kills the
monitor and the FUSE server.  The measured execs carry an alarm.
"""
import errno
import json
import os
import signal
import time
import unittest

from stallfs import OPEN, READ, StallFS, Watchdog, hold_exec
from test_deny import DenyFixture, exited_ok, sha256_of, try_exec
from test_schema import Checker, load_schema, require_jsonschema

TIMEOUT_MS = 500  # the default --deny-timeout-ms
NOBODY = 65534


def timed_exec(path, uid=None):
    """(errno of execve or 0, wait status, seconds the exec took to fail
    or the program to run), in a child (as uid when given)."""
    t0 = time.monotonic()
    if uid is None:
        err, status, _ = try_exec(path)
        return err, status, time.monotonic() - t0
    pid = os.fork()
    if pid == 0:
        try:
            signal.alarm(10)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.execv(path, [path])
        except OSError as e:
            os._exit(100 + (e.errno % 100))
        os._exit(127)
    _, status = os.waitpid(pid, 0)
    return 0, status, time.monotonic() - t0


class StallFixture(DenyFixture):
    """DenyFixture with a file always decided in user space, and a FUSE
    mount point whose server and watchdog go whatever happens."""

    def setUp(self):
        super().setUp()
        self.fs = None
        self.watchdog = None
        os.chmod(self.dir, 0o755)
        for d in (self.denied_dir, self.allowed_dir):
            os.chmod(d, 0o755)
        # group-writable: never let through by the kernel, always decided
        self.untrusted = os.path.join(self.allowed_dir, "untrusted")
        self.unique_binary(self.untrusted)
        os.chmod(self.untrusted, 0o775)
        self.mnt = os.path.join(self.dir, "fuse")
        os.mkdir(self.mnt)

    def tearDown(self):
        if self.fs:
            self.fs.stop()
        if self.watchdog:
            self.watchdog.disarm()
        super().tearDown()

    def stall_fs(self, monitor, ops, content=None):
        """The FUSE mount, holding `ops` of the monitor forever; the
        watchdog ends it all after 20 s whatever happens."""
        if content is None:
            with open(self.untrusted, "rb") as f:
                content = f.read()
        self.fs = StallFS(self.mnt, content, ops, victim=monitor.proc.pid).start()
        self.watchdog = Watchdog(20, [monitor.proc.pid, self.fs.pid])
        time.sleep(0.3)  # the monitor marks the new filesystem
        return os.path.join(self.mnt, "prog")

    def assert_prompt(self, path, uid=None, want_err=0):
        err, status, took = timed_exec(path, uid)
        self.assertEqual(err, want_err, path)
        if not want_err:
            self.assertTrue(exited_ok(status), (path, status))
        self.assertLess(took, TIMEOUT_MS / 1000, "%s took %.3f s" % (path, took))

    def assert_schema(self, m):
        """Every line the monitor wrote matches the published schema."""
        require_jsonschema()
        checker = Checker(load_schema())
        for line in m.stdout().splitlines():
            self.assertEqual(checker.errors(json.loads(line)), [], line)

    def wait_stderr(self, m, text, timeout=10):
        deadline = time.monotonic() + timeout
        while text not in m.stderr() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertIn(text, m.stderr())



class DenyStallTest(StallFixture):
    def test_fuse_server_holding_the_monitors_open_holds_up_no_other_exec(self):
        m = self.monitor("--deny", self.pattern)
        prog = self.stall_fs(m, {OPEN})
        # this exec's event is read by one reader, whose open of prog the
        # server never answers
        held = hold_exec(prog, 30)
        time.sleep(0.3)
        for _ in range(20):
            self.assert_prompt(self.untrusted)
            self.assert_prompt(self.untrusted, uid=NOBODY)
        self.assert_prompt(self.evil, want_err=errno.EPERM)
        # stop: answered and marks gone at once, although a reader never returns
        t0 = time.monotonic()
        m.proc.send_signal(signal.SIGTERM)
        self.wait_stderr(m, "execs checked")
        self.assertLess(time.monotonic() - t0, 3)
        self.assertIn("threads still held in a filesystem call (no exec waits for them): 1\n", m.stderr())
        self.assert_prompt(self.evil)  # nothing enforced, nothing waits
        # the server goes: the held open fails, the monitor ends
        self.fs.stop()
        self.fs = None
        self.assertEqual(m.proc.wait(timeout=30), 0, m.stderr())
        m.out.close()
        m.err.close()
        os.waitpid(held, 0)
        self.assertNotIn("ERROR", m.stderr())
        blocked = m.blocked()
        self.assertEqual([(e["path"], e["rule"]) for e in blocked if e["path"] != prog],
                         [(self.evil, self.pattern)])

    def test_fuse_content_is_unverifiable(self):
        for fail_closed in (False, True):
            with self.subTest(fail_closed=fail_closed):
                with open(self.untrusted, "rb") as f:
                    content = f.read()
                args = ["--deny-sha256", sha256_of(self.untrusted)] + (["--fail-closed"] if fail_closed else [])
                m = self.monitor(*args)
                # the server never answers the monitor's reads: no hash could end
                prog = self.stall_fs(m, {READ}, content)
                self.assert_prompt(prog, want_err=errno.EPERM if fail_closed else 0)
                self.assert_prompt(self.untrusted, want_err=errno.EPERM)
                self.stop_ok(m)
                self.fs.stop()
                self.fs = None
                self.watchdog.disarm()
                self.watchdog = None
                evs = [(e["path"], e["rule"]) for e in m.blocked()]
                want = [(self.untrusted, "sha256:" + sha256_of(self.untrusted))]
                if fail_closed:
                    want.insert(0, (prog, "unverifiable filesystem"))
                self.assertEqual(evs, want)
                self.assert_schema(m)
                self.assertRegex(m.stderr(), r"\b1 undecided \((allowed|denied)\)")

    def test_hasher_held_by_a_filesystem_is_answered_at_the_deadline(self):
        """An overlay whose lower layer is a FUSE server that never answers
        ksysmon's reads: overlay is not FUSE, so the file is hashed, and
        the hasher stays in the kernel.  The timer answers at
        --deny-timeout-ms; other content checks go on meanwhile."""
        m = self.monitor("--deny-sha256", "ab" * 32, "--fail-closed", "--deny-timeout-ms", str(TIMEOUT_MS))
        self.stall_fs(m, {READ})
        merged = self.mounts.overlay(os.path.join(self.dir, "ovl"), lower=self.mnt)
        time.sleep(0.3)  # marked
        prog = os.path.join(merged, "prog")
        err, _, took = timed_exec(prog)
        self.assertEqual(err, errno.EPERM)
        self.assertGreaterEqual(took, TIMEOUT_MS / 1000)
        self.assertLess(took, 2 * TIMEOUT_MS / 1000)
        # a file never hashed before, while that hasher is still held
        fresh = os.path.join(self.allowed_dir, "fresh")
        self.unique_binary(fresh)
        os.chmod(fresh, 0o775)
        self.assert_prompt(fresh)
        m.proc.send_signal(signal.SIGINT)
        self.wait_stderr(m, "execs checked")
        self.fs.stop()
        self.fs = None
        self.assertEqual(m.proc.wait(timeout=30), 0, m.stderr())
        m.out.close()
        m.err.close()
        self.assertIn("threads still held in a filesystem call (no exec waits for them): 1\n", m.stderr())
        self.assertEqual([(e["path"], e["rule"]) for e in m.blocked()], [(prog, "decision timeout")])
        self.assert_schema(m)

    def test_stopped_audit_monitor_holds_up_no_exec(self):
        m = self.monitor("--audit", "--deny", self.pattern)
        self.watchdog = Watchdog(20, [m.proc.pid])
        os.kill(m.proc.pid, signal.SIGSTOP)
        try:
            err, status, took = timed_exec(self.evil)
            self.assert_prompt(self.untrusted)
        finally:
            os.kill(m.proc.pid, signal.SIGCONT)
        self.watchdog.disarm()
        self.watchdog = None
        self.assertEqual(err, 0)
        self.assertTrue(exited_ok(status))
        self.assertLess(took, TIMEOUT_MS / 1000)
        evs = m.wait_blocked(1)
        self.stop_ok(m)
        self.assertEqual([(e["path"], e["audit"]) for e in evs], [(self.evil, True)])


if __name__ == "__main__":
    unittest.main()
