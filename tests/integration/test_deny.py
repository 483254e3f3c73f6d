"""Execution policy: --deny, --deny-sha256, --audit, --fail-closed.

Real execs under the real monitor: a refused exec must fail with EPERM in
the process that tried, an allowed one must run, every refusal must be
reported as an exec_blocked event, and nothing may stay blocked once the
monitor is gone.
"""
import errno
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import Mounts, unique_copy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MONITOR = os.environ.get("KSYSMON", os.path.join(ROOT, "build/asan/ksysmon"))
TRUE = shutil.which("true") or "/bin/true"
SH = os.path.realpath(shutil.which("sh") or "/bin/sh")


def exec_dir():
    """A scratch directory on a filesystem that allows execution."""
    for base in ("/var/tmp", "/tmp"):
        st = os.statvfs(base)
        if not st.f_flag & os.ST_NOEXEC:
            return tempfile.mkdtemp(prefix="ksysmon-deny.", dir=base)
    raise RuntimeError("no exec-capable temporary directory (/var/tmp and /tmp are noexec)")


def try_exec(path, args=None, timeout=10):
    """Executes path in a child; returns (errno of execve or 0, wait
    status, pid).  The child is killed if the exec hangs."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            signal.alarm(timeout)  # survives execve: a hung exec dies
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.execv(path, [path] + list(args or []))
        except OSError as e:
            os.write(w, str(e.errno).encode())
        finally:
            os._exit(127)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 64)
        if not chunk:
            break
        data += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    return (int(data) if data else 0), status, pid


def exited_ok(status):
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


class Monitor:
    """The monitor with a policy, its output in files."""

    def __init__(self, workdir, *args, fmt="json"):
        self.out_path = os.path.join(workdir, "out.%d" % time.monotonic_ns())
        self.err_path = self.out_path + ".err"
        self.cmd = [MONITOR, "--format", fmt, "--latency-ms", "20",
                    "--events", "process_exit"] + list(args)
        self.proc = None
        self.returncode = None

    def start(self, ready_timeout=60):
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdout=self.out, stderr=self.err)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if b"ksysmon: ready" in self.stderr_bytes():
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop(signal.SIGKILL)
        raise RuntimeError("monitor did not become ready: %s" % self.stderr())

    def stderr_bytes(self):
        with open(self.err_path, "rb") as f:
            return f.read()

    def stderr(self):
        return self.stderr_bytes().decode("utf-8", "replace")

    def stdout(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8", "surrogateescape")

    def stop(self, sig=signal.SIGINT, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.returncode = self.proc.wait()
        self.out.close()
        self.err.close()
        return self.returncode

    def blocked(self):
        evs = [json.loads(line) for line in self.stdout().splitlines() if line]
        return [e for e in evs if e["type"] == "exec_blocked"]

    def wait_blocked(self, n, timeout=10):
        """The exec_blocked events once at least n arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            evs = self.blocked_partial()
            if len(evs) >= n:
                return evs
            time.sleep(0.02)
        return self.blocked_partial()

    def blocked_partial(self):
        evs = []
        for line in self.stdout().splitlines(keepends=True):
            if line.endswith("\n"):
                e = json.loads(line)
                if e["type"] == "exec_blocked":
                    evs.append(e)
        return evs


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class DenyFixture(unittest.TestCase):
    """A scratch tree with a denied and an allowed directory, and the
    monitors started, stopped whatever happens."""

    def setUp(self):
        self.dir = os.path.realpath(exec_dir())
        self.monitors = []
        self.mounts = Mounts()
        self.denied_dir = os.path.join(self.dir, "denied")
        self.allowed_dir = os.path.join(self.dir, "allowed")
        os.mkdir(self.denied_dir)
        os.mkdir(self.allowed_dir)
        self.evil = os.path.join(self.denied_dir, "evil")
        self.fine = os.path.join(self.allowed_dir, "fine")
        shutil.copy(TRUE, self.evil)
        shutil.copy(TRUE, self.fine)
        self.pattern = self.denied_dir + "/*"

    def tearDown(self):
        for m in self.monitors:
            if m.proc and m.proc.poll() is None:
                m.stop(signal.SIGKILL)
        self.mounts.undo()
        shutil.rmtree(self.dir, ignore_errors=True)

    def monitor(self, *args, fmt="json"):
        m = Monitor(self.dir, *args, fmt=fmt)
        self.monitors.append(m)
        return m.start()

    def stop_ok(self, m):
        rc = m.stop()
        self.assertEqual(rc, 0, m.stderr())
        self.assertNotIn("ERROR", m.stderr())  # sanitizers
        self.assertNotIn("runtime error", m.stderr())
        return m

    def unique_binary(self, path):
        """A working copy of true(1) whose content no other file has."""
        return unique_copy(TRUE, path)


class DenyTest(DenyFixture):
    # ---- path rules ----

    def test_path_rule_denies_with_eperm(self):
        m = self.monitor("--deny", self.pattern)
        err, status, pid = try_exec(self.evil)
        self.assertEqual(err, errno.EPERM)
        err, status, _ = try_exec(self.fine)
        self.assertEqual(err, 0)
        self.assertTrue(exited_ok(status))
        err, status, _ = try_exec(TRUE)
        self.assertEqual(err, 0)
        self.assertTrue(exited_ok(status))
        self.stop_ok(m)
        evs = m.blocked()
        self.assertEqual(len(evs), 1, m.stdout())
        ev = evs[0]
        self.assertEqual(ev["pid"], pid)
        self.assertEqual(ev["path"], self.evil)
        self.assertEqual(ev["rule"], self.pattern)
        self.assertIs(ev["audit"], False)
        self.assertNotIn("sha256", ev)
        self.assertRegex(ev["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
        self.assertIn("1 denied", m.stderr())

    def test_text_line(self):
        m = self.monitor("--deny", self.pattern, fmt="text")
        err, _, pid = try_exec(self.evil)
        self.assertEqual(err, errno.EPERM)
        self.stop_ok(m)
        self.assertRegex(m.stdout(), r"(?m)^\d\d:\d\d:\d\d\.\d{3}: Process %d denied exec of %s \(rule: %s\)$"
                         % (pid, self.evil.replace(".", r"\."), self.pattern.replace(".", r"\.").replace("*", r"\*")))

    def test_symlink_is_resolved(self):
        link = os.path.join(self.allowed_dir, "innocent")
        os.symlink(self.evil, link)
        m = self.monitor("--deny", self.pattern)
        err, _, pid = try_exec(link)
        self.assertEqual(err, errno.EPERM)
        self.stop_ok(m)
        evs = m.blocked()
        self.assertEqual([(e["pid"], e["path"]) for e in evs], [(pid, self.evil)])

    def test_hard_link_escapes_a_path_rule(self):
        self.unique_binary(self.evil)
        hard = os.path.join(self.allowed_dir, "hard")
        os.link(self.evil, hard)
        m = self.monitor("--deny", self.pattern)
        err, status, _ = try_exec(hard)  # another name: the path rule allows it
        self.assertEqual(err, 0)
        self.assertTrue(exited_ok(status))
        self.stop_ok(m)

    # ---- content rules ----

    def test_sha256_denies_copies_and_links(self):
        self.unique_binary(self.evil)
        digest = sha256_of(self.evil)
        copy = os.path.join(self.allowed_dir, "copy")
        hard = os.path.join(self.allowed_dir, "hard")
        sym = os.path.join(self.allowed_dir, "sym")
        shutil.copy(self.evil, copy)
        os.link(self.evil, hard)
        os.symlink(self.evil, sym)
        m = self.monitor("--deny-sha256", digest.upper())
        tried = {}
        for path in (self.evil, copy, hard, sym, self.evil):
            err, _, pid = try_exec(path)
            self.assertEqual(err, errno.EPERM, path)
            tried[pid] = path
        err, status, _ = try_exec(self.fine)
        self.assertEqual(err, 0)
        self.assertTrue(exited_ok(status))
        # a changed file is hashed again: it now runs
        with open(copy, "ab") as f:
            f.write(b"x")
        err, status, _ = try_exec(copy)
        self.assertEqual(err, 0)
        self.assertTrue(exited_ok(status))
        self.stop_ok(m)
        evs = m.blocked()
        self.assertEqual(len(evs), 5, m.stdout())
        for ev in evs:
            self.assertEqual(ev["sha256"], digest)
            self.assertEqual(ev["rule"], "sha256:" + digest)
            self.assertIs(ev["audit"], False)
            want = tried[ev["pid"]]
            self.assertEqual(ev["path"], os.path.realpath(want))

    def test_modified_file_is_checked_again(self):
        """An allowed root-owned file is let through by the kernel from
        then on; writing to it must end that."""
        evil_content = self.unique_binary(os.path.join(self.dir, "content"))
        digest = sha256_of(evil_content)
        target = os.path.join(self.allowed_dir, "target")
        shutil.copy(TRUE, target)
        os.chmod(target, 0o755)
        m = self.monitor("--deny-sha256", digest)
        for _ in range(3):
            err, status, _ = try_exec(target)
            self.assertEqual(err, 0)
            self.assertTrue(exited_ok(status))
        with open(evil_content, "rb") as src, open(target, "r+b") as dst:
            dst.write(src.read())  # same inode, new content
        err, _, pid = try_exec(target)
        self.assertEqual(err, errno.EPERM)
        self.stop_ok(m)
        self.assertEqual([(e["pid"], e["path"]) for e in m.blocked()], [(pid, target)])

    def test_both_kinds_of_rules(self):
        self.unique_binary(self.fine)
        digest = sha256_of(self.fine)
        m = self.monitor("--deny", self.pattern, "--deny-sha256", digest)
        self.assertEqual(try_exec(self.evil)[0], errno.EPERM)
        self.assertEqual(try_exec(self.fine)[0], errno.EPERM)
        err, status, _ = try_exec(TRUE)
        self.assertEqual(err, 0)
        self.assertTrue(exited_ok(status))
        self.stop_ok(m)
        rules = sorted(e["rule"] for e in m.blocked())
        self.assertEqual(rules, sorted([self.pattern, "sha256:" + digest]))

    # ---- interpreters ----

    def test_denied_interpreter_behind_shebang(self):
        interp = os.path.join(self.denied_dir, "sh")
        shutil.copy(SH, interp)
        script = os.path.join(self.allowed_dir, "script")
        with open(script, "w") as f:
            f.write("#!%s\nexit 0\n" % interp)
        os.chmod(script, 0o755)
        m = self.monitor("--deny", self.pattern)
        err, _, pid = try_exec(script)
        self.assertEqual(err, errno.EPERM)
        # the same script with an allowed interpreter runs
        with open(script, "w") as f:
            f.write("#!%s\nexit 0\n" % SH)
        err, status, _ = try_exec(script)
        self.assertEqual(err, 0)
        self.assertTrue(exited_ok(status))
        self.stop_ok(m)
        evs = m.blocked()
        self.assertEqual([(e["pid"], e["path"]) for e in evs], [(pid, interp)])

    # ---- audit, release, failures ----

    def test_audit_runs_and_reports(self):
        m = self.monitor("--audit", "--deny", self.pattern)
        err, status, pid = try_exec(self.evil)
        self.assertEqual(err, 0)
        self.assertTrue(exited_ok(status))
        self.stop_ok(m)
        evs = m.blocked()
        self.assertEqual(len(evs), 1, m.stdout())
        self.assertEqual(evs[0]["pid"], pid)
        self.assertEqual(evs[0]["path"], self.evil)
        self.assertIs(evs[0]["audit"], True)
        self.assertIn("1 audited", m.stderr())

    def test_nothing_blocked_after_exit(self):
        m = self.monitor("--deny", self.pattern)
        self.assertEqual(try_exec(self.evil)[0], errno.EPERM)
        self.stop_ok(m)
        err, status, _ = try_exec(self.evil)
        self.assertEqual(err, 0)
        self.assertTrue(exited_ok(status))

    def test_released_when_killed(self):
        m = self.monitor("--deny", self.pattern)
        self.assertEqual(try_exec(self.evil)[0], errno.EPERM)
        m.stop(signal.SIGKILL)
        err, status, _ = try_exec(self.evil)
        self.assertEqual(err, 0)
        self.assertTrue(exited_ok(status))

    def test_many_execs_under_policy(self):
        m = self.monitor("--deny", self.pattern)
        for _ in range(50):
            self.assertEqual(try_exec(self.evil)[0], errno.EPERM)
            err, status, _ = try_exec(self.fine)
            self.assertEqual(err, 0)
            self.assertTrue(exited_ok(status))
        self.stop_ok(m)
        self.assertEqual(len(m.blocked()), 50)

    # long enough for the programs other processes on the machine run
    # meanwhile, far too short to hash 1 GiB
    TIMEOUT_MS = "50"

    def big_binary(self):
        """true(1) padded (sparsely) to 1 GiB."""
        big = os.path.join(self.allowed_dir, "big")
        self.unique_binary(big)
        with open(big, "r+b") as f:
            f.truncate(1 << 30)
        return big

    def test_timeout_fails_open_by_default(self):
        big = self.big_binary()
        m = self.monitor("--deny-sha256", "ab" * 32, "--deny-timeout-ms", self.TIMEOUT_MS)
        err, status, _ = try_exec(big)
        self.assertEqual(err, 0)
        self.assertTrue(exited_ok(status))
        self.stop_ok(m)
        self.assertEqual(m.blocked(), [])
        undecided = re.search(r"(\d+) undecided \(allowed\)", m.stderr())
        self.assertTrue(undecided and int(undecided.group(1)) >= 1, m.stderr())

    def test_timeout_fail_closed(self):
        big = self.big_binary()
        m = self.monitor("--deny-sha256", "ab" * 32, "--deny-timeout-ms", self.TIMEOUT_MS, "--fail-closed")
        err, _, pid = try_exec(big)
        self.assertEqual(err, errno.EPERM)
        self.stop_ok(m)
        evs = [e for e in m.blocked() if e["pid"] == pid]
        self.assertEqual([(e["path"], e["rule"], e["audit"]) for e in evs], [(big, "decision timeout", False)])

    def test_filesystem_mounted_later(self):
        mnt = os.path.join(self.dir, "mnt")
        os.mkdir(mnt)
        m = self.monitor("--deny", mnt + "/*")
        self.mounts.mount("-t", "tmpfs", "-o", "size=16m", "ksysmon-test", mnt)
        target = os.path.join(mnt, "evil")
        shutil.copy(TRUE, target)
        # the new filesystem is marked within moments of the mount
        deadline = time.monotonic() + 5
        while True:
            err, _, _ = try_exec(target)
            if err == errno.EPERM or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(err, errno.EPERM)
        self.stop_ok(m)
        self.assertTrue(any(e["path"] == target for e in m.blocked()))

    def test_removed_file_executed_by_fd(self):
        # the path says what state the file is in, as the sensor's paths do
        prog = self.unique_binary(os.path.join(self.dir, "removed"))
        m = self.monitor("--deny-sha256", sha256_of(prog))
        fd = os.open(prog, os.O_RDONLY)
        os.unlink(prog)
        pid = os.fork()
        if pid == 0:
            try:
                os.execve(fd, ["removed"], {})
            except OSError as e:
                os._exit(e.errno)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        self.assertEqual(os.waitstatus_to_exitcode(status), errno.EPERM)
        self.stop_ok(m)
        self.assertEqual([(e["pid"], e["path"], e.get("deleted")) for e in m.blocked()],
                         [(pid, prog + " (deleted)", True)])

    # ---- one attempt, one event, whatever the mount layout ----

    def layouts(self):
        """A program reachable through an overlay (from its lower and its
        upper layer), an overlay on that overlay, and a bind mount;
        returns {path executed: file}."""
        d = lambda *p: os.path.join(self.dir, *p)
        os.makedirs(d("lower"))
        os.makedirs(d("upper"))
        self.unique_binary(d("lower", "prog"))
        shutil.copy(d("lower", "prog"), d("upper", "up"))
        self.mounts.overlay(self.dir)
        self.mounts.overlay(d("o2"), lower=d("merged"))
        self.mounts.mount("--bind", d("lower"), d("bind"))
        return [d("merged", "prog"), d("merged", "up"), d("o2", "merged", "prog"),
                d("o2", "merged", "up"), d("bind", "prog"), d("lower", "prog")]

    def check_one_event_per_attempt(self, audit):
        paths = self.layouts()
        digest = sha256_of(paths[0])
        m = self.monitor("--deny-sha256", digest, *(["--audit"] if audit else []))
        pids = {}
        for path in paths + paths:  # each twice: nothing remembered wrongly
            err, status, pid = try_exec(path)
            if audit:
                self.assertEqual((err, exited_ok(status)), (0, True), path)
            else:
                self.assertEqual(err, errno.EPERM, path)
            pids[pid] = path
        self.stop_ok(m)
        got = sorted((e["pid"], e["path"], e["rule"], e["audit"]) for e in m.blocked())
        want = sorted((pid, path, "sha256:" + digest, audit) for pid, path in pids.items())
        self.assertEqual(got, want)

    def test_overlay_and_bind_mounts_one_event_per_audited_exec(self):
        self.check_one_event_per_attempt(audit=True)

    def test_overlay_and_bind_mounts_one_event_per_denied_exec(self):
        self.check_one_event_per_attempt(audit=False)

    def test_overlay_exec_leaves_its_lower_file_checked(self):
        # a path rule on the lower layer: the overlay's name of the file is
        # another path (as a bind mount's), but running it must not make
        # the lower file itself pass unchecked afterwards (a bind mount
        # would: the same file under an allowed name is remembered, as a
        # hard link is, see the README)
        paths = self.layouts()
        lower = paths[-1]
        m = self.monitor("--deny", os.path.dirname(lower) + "/*")
        for path in paths[:4]:
            err, status, _ = try_exec(path)
            self.assertEqual((err, exited_ok(status)), (0, True), path)
        err, _, pid = try_exec(lower)
        self.assertEqual(err, errno.EPERM)
        self.stop_ok(m)
        self.assertEqual([(e["pid"], e["path"]) for e in m.blocked()], [(pid, lower)])

    def test_bad_rules_exit_2(self):
        cases = [
            (["--deny", "relative/*"], "absolute"),
            (["--deny", ""], "--deny"),
            (["--deny", "/tmp/[abc"], "unterminated"),
            (["--deny", "/tmp/../x"], "component"),
            (["--deny-sha256", "xyz"], "64 hexadecimal"),
            (["--deny-sha256", "a" * 63], "64 hexadecimal"),
            (["--deny-sha256", "a" * 65], "64 hexadecimal"),
            (["--deny-sha256", "g" * 64], "64 hexadecimal"),
            (["--audit"], "needs a --deny"),
            (["--fail-closed"], "needs a --deny"),
            (["--deny", "/x", "--deny-timeout-ms", "0"], "--deny-timeout-ms"),
        ]
        for args, words in cases:
            with self.subTest(args=args):
                p = subprocess.run([MONITOR] + args, capture_output=True, timeout=60)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertEqual(p.stdout, b"")
                err = p.stderr.decode()
                self.assertEqual(err.count("\n"), 1, err)
                self.assertTrue(err.startswith("ksysmon: "), err)
                self.assertIn(words, err)


if __name__ == "__main__":
    unittest.main()
