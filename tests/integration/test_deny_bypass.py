"""Execution policy against files the fanotify engine cannot see.

A file copied into a tmpfs mounted in a new user and mount namespace, a
memfd executed with fexecve, a FUSE mount: with --deny-unverifiable each
is killed (SIGKILL, before its first instruction) and reported once as
exec_blocked with rule "unwatched filesystem"; execs from watched
filesystems are untouched.
"""
import errno
import os
import shutil
import signal
import subprocess

from stallfs import OPEN
from test_deny import exited_ok, sha256_of, try_exec
from test_deny_stall import TIMEOUT_MS, StallFixture, timed_exec

UNWATCHED = "unwatched filesystem"
UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"


def memfd_exec(content, name):
    """Runs content from a memfd (fexecve) in a child: (pid, wait status)."""
    pid = os.fork()
    if pid == 0:
        try:
            signal.alarm(10)
            fd = os.memfd_create(name, 0)
            os.write(fd, content)
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.execve(fd, [name], {})
        finally:
            os._exit(127)
    return pid, os.waitpid(pid, 0)[1]


def userns_tmpfs_exec(src):
    """Copies src into a tmpfs mounted in a new user and mount namespace,
    as an unprivileged user would, and runs it there: the exit status
    (negative: the signal that killed it)."""
    script = ('mount -t tmpfs ksysmon-test /mnt && cp "$1" /mnt/prog && '
              'exec /mnt/prog')
    p = subprocess.run([UNSHARE, "-Urm", "sh", "-c", script, "sh", src],
                       capture_output=True, timeout=30)
    return p.returncode


class DenyBypassTest(StallFixture):
    def setUp(self):
        super().setUp()
        self.unique_binary(self.fine)
        with open(self.fine, "rb") as f:
            self.content = f.read()
        self.digest = sha256_of(self.fine)

    def unwatched(self, m):
        return [e for e in m.blocked() if e["rule"] == UNWATCHED]

    def test_memfd_and_user_namespace_tmpfs_are_killed(self):
        m = self.monitor("--deny-sha256", self.digest, "--deny-unverifiable")
        pid, status = memfd_exec(self.content, "ksysmon-test")
        self.assertTrue(os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status)
        rc = userns_tmpfs_exec(self.fine)
        self.assertEqual(rc, -signal.SIGKILL)
        # watched filesystems: decided as ever
        self.assertEqual(try_exec(self.fine)[0], errno.EPERM)
        err, status, _ = try_exec(self.evil)
        self.assertEqual(err, 0)
        self.assertTrue(exited_ok(status))
        self.stop_ok(m)
        evs = self.unwatched(m)
        self.assertEqual([(e["path"], e["audit"]) for e in evs],
                         [("/memfd:ksysmon-test", False), ("/mnt/prog", False)], m.stdout())
        self.assertEqual(evs[0]["pid"], pid)
        self.assert_schema(m)
        self.assertEqual([e["path"] for e in m.blocked() if e["rule"] != UNWATCHED], [self.fine])

    def test_audit_reports_without_killing(self):
        m = self.monitor("--audit", "--deny-sha256", self.digest, "--deny-unverifiable")
        pid, status = memfd_exec(self.content, "ksysmon-audit")
        self.assertTrue(exited_ok(status), status)
        evs = m.wait_blocked(1)
        self.stop_ok(m)
        self.assertEqual([(e["pid"], e["path"], e["rule"], e["audit"]) for e in evs],
                         [(pid, "/memfd:ksysmon-audit", UNWATCHED, True)])

    def test_fuse_is_killed_and_never_opened(self):
        """Under --deny-unverifiable FUSE is not watched: ksysmon never
        opens its files, so a server that never answers holds up nothing."""
        m = self.monitor("--deny", self.denied_dir + "/*", "--deny-unverifiable")
        prog = self.stall_fs(m, {OPEN}, self.content)
        err, status, took = timed_exec(prog)
        self.assertEqual(err, 0)
        self.assertTrue(os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status)
        self.assertLess(took, TIMEOUT_MS / 1000)
        err, status, took = timed_exec(self.fine)
        self.assertTrue(exited_ok(status))
        self.assertLess(took, TIMEOUT_MS / 1000)
        self.stop_ok(m)
        self.assertNotIn("held in a filesystem call", m.stderr())
        self.assertEqual([e["path"] for e in self.unwatched(m)], [prog])

    def test_needs_a_rule(self):
        p = subprocess.run([os.environ.get("KSYSMON", "build/asan/ksysmon"), "--deny-unverifiable"],
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr, b"ksysmon: --deny-unverifiable needs a --deny or --deny-sha256 rule\n")
