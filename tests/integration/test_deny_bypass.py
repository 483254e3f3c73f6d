"""--deny-unverifiable: files the fanotify engine cannot see.

A memfd executed with fexecve is on no filesystem ksysmon can watch.  Here
only --audit is run, which reports without killing: an enforcing run would
kill every other memfd or namespace exec on this shared machine for its
duration, so the kills (memfd, a tmpfs in a user namespace) are checked in
the kernel matrix's QEMU guests (tests/kernels, case deny_unverifiable).
"""
import os
import signal
import subprocess
import time

from test_deny import exited_ok, sha256_of
from test_deny_stall import StallFixture

UNWATCHED = "unwatched filesystem"


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


class DenyBypassTest(StallFixture):
    def setUp(self):
        super().setUp()
        self.unique_binary(self.fine)
        with open(self.fine, "rb") as f:
            self.content = f.read()
        self.digest = sha256_of(self.fine)

    def test_audit_reports_without_killing(self):
        m = self.monitor("--audit", "--deny-sha256", self.digest, "--deny-unverifiable")
        pid, status = memfd_exec(self.content, "ksysmon-audit")
        self.assertTrue(exited_ok(status), status)
        deadline = time.monotonic() + 10
        while not [e for e in m.blocked_partial() if e["pid"] == pid] and time.monotonic() < deadline:
            time.sleep(0.02)
        self.stop_ok(m)
        # other processes of the machine may exec memfds meanwhile
        evs = [e for e in m.blocked() if e["pid"] == pid]
        self.assertEqual([(e["path"], e["rule"], e["audit"]) for e in evs],
                         [("/memfd:ksysmon-audit (deleted)", UNWATCHED, True)])
        self.assert_schema(m)

    def test_needs_a_rule(self):
        p = subprocess.run([os.environ.get("KSYSMON", "build/asan/ksysmon"), "--deny-unverifiable"],
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr, b"ksysmon: --deny-unverifiable needs a --deny or --deny-sha256 rule\n")
