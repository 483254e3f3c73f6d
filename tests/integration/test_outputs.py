"""Files ksysmon writes, tried by a hostile local user and a full disk: no
write goes through a link or into another user's file, new files have the
mode asked, a rotation race writes nothing outside the intended file, and
a full file system loses no event without a count and cuts no line.

The hostile user is a real unprivileged account made for the test (and
removed after); the full disk is a 1 MiB tmpfs (unmounted after)."""
import glob
import grp
import json
import os
import re
import shutil
import signal
import stat
import struct
import subprocess
import tempfile
import time
import unittest

from harness import MONITOR, Monitor, run_workload
from test_capture import records, replay

TRUE = os.path.realpath("/bin/true")
SECRET = b"root's secret: never overwritten\n"


class User:
    """A throw-away unprivileged account."""

    def __init__(self):
        self.name = "ksmtest%d" % (os.getpid() % 100000)

    def __enter__(self):
        subprocess.run(["userdel", self.name], capture_output=True)
        subprocess.run(["useradd", "-M", "-U", "-s", "/usr/sbin/nologin", self.name], check=True)
        out = subprocess.run(["id", "-u", self.name], capture_output=True, check=True)
        self.uid = int(out.stdout)
        self.gid = grp.getgrnam(self.name).gr_gid
        return self

    def __exit__(self, *exc):
        subprocess.run(["userdel", self.name], check=True)
        subprocess.run(["groupdel", self.name], capture_output=True)

    def run(self, *cmd, **kw):
        return subprocess.run(list(cmd), user=self.uid, group=self.gid, extra_groups=[],
                              check=True, **kw)

    def popen(self, *cmd, **kw):
        return subprocess.Popen(list(cmd), user=self.uid, group=self.gid, extra_groups=[], **kw)


def sysctl(name, value=None):
    path = "/proc/sys/" + name.replace(".", "/")
    with open(path) as f:
        old = f.read().strip()
    if value is not None:
        with open(path, "w") as f:
            f.write(str(value))
    return old


def monitor_run(*args):
    """ksysmon with args until it is ready, then SIGINT: (rc, stderr)."""
    with Monitor(*args) as m:
        pass
    return m.returncode, m.stderr


def refused(*args):
    """ksysmon started with args must exit 1 at once: its stderr."""
    p = subprocess.run([MONITOR, "--format", "json"] + list(args), capture_output=True, timeout=60)
    err = p.stderr.decode()
    assert p.returncode == 1, (p.returncode, err)
    assert err.count("\n") == 1, err
    return err


def not_written(stderr, path):
    """The summary's `not written to PATH:` counts, {} when absent."""
    m = re.search(r"^ksysmon: not written to %s:(.*)$" % re.escape(path), stderr, re.M)
    if not m:
        return {}
    return {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}


def json_lines(paths):
    """Every line of the files, each parsed (a cut line fails)."""
    evs = []
    for p in paths:
        with open(p, "rb") as f:
            data = f.read()
        if data:
            assert data.endswith(b"\n"), p
        for line in data.decode("utf-8", "surrogateescape").splitlines():
            evs.append(json.loads(line))
    return evs


def oldest_first(path):
    """path and its rotated files, the oldest first."""
    return sorted(glob.glob(path) + glob.glob(path + ".*"), key=lambda p: -int(p.rsplit(".", 1)[1])
                  if p != path else 0)


class HostileUser(unittest.TestCase):
    """A shared directory like /tmp (sticky, writable by all), a root-only
    victim file elsewhere, and a real unprivileged user."""

    @classmethod
    def setUpClass(cls):
        cls.user = User().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.user.__exit__(None, None, None)

    def setUp(self):
        self.shared = tempfile.mkdtemp(prefix="ksysmon-shared.")
        os.chmod(self.shared, 0o1777)
        self.private = tempfile.mkdtemp(prefix="ksysmon-private.")
        self.victim = os.path.join(self.private, "victim")
        with open(self.victim, "wb") as f:
            f.write(SECRET)
        os.chmod(self.victim, 0o600)
        os.chmod(self.private, 0o755)  # the user may name the victim, not write it
        self.out = os.path.join(self.shared, "out.log")

    def tearDown(self):
        shutil.rmtree(self.shared)
        shutil.rmtree(self.private)

    def assertVictimIntact(self):
        with open(self.victim, "rb") as f:
            self.assertEqual(f.read(), SECRET)
        st = os.stat(self.victim)
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (0, 0o600))

    def test_symlink_is_refused(self):
        self.user.run("ln", "-s", self.victim, self.out)
        for opt in ("--output", "--write"):
            err = refused(opt, self.out)
            self.assertIn("refusing to write '%s': it is a symbolic link" % self.out, err)
            self.assertVictimIntact()
            self.assertTrue(os.path.islink(self.out))
        # a dangling link is no better: nothing is created where it points
        os.unlink(self.out)
        target = os.path.join(self.private, "created")
        self.user.run("ln", "-s", target, self.out)
        self.assertIn("it is a symbolic link", refused("-o", self.out))
        self.assertFalse(os.path.exists(target))

    def test_users_file_is_refused(self):
        self.user.run("sh", "-c", "umask 0; : > " + self.out)
        self.assertEqual(stat.S_IMODE(os.stat(self.out).st_mode), 0o666)
        for opt in ("-o", "-w"):
            err = refused(opt, self.out)
            self.assertIn("refusing to write '%s': it belongs to another user" % self.out, err)
            self.assertEqual(os.path.getsize(self.out), 0)
        # nor a FIFO of theirs, which would hand them every event
        fifo = os.path.join(self.shared, "fifo")
        self.user.run("mkfifo", fifo)
        self.assertIn("it belongs to another user", refused("-o", fifo))

    def test_hard_link_is_refused(self):
        old = sysctl("fs.protected_hardlinks", 0)
        try:
            self.user.run("ln", self.victim, self.out)
        finally:
            sysctl("fs.protected_hardlinks", old)
        self.assertEqual(os.stat(self.out).st_ino, os.stat(self.victim).st_ino)
        for opt in ("-o", "-w"):
            err = refused(opt, self.out)
            self.assertIn("refusing to write '%s': it has other hard links" % self.out, err)
        self.assertVictimIntact()

    def test_directory_link_is_refused(self):
        """A link of the user on the directory path (followed by the kernel
        once protected_symlinks is off) does not lead root's writes into
        the directory it names."""
        link = os.path.join(self.shared, "logs")
        self.user.run("ln", "-s", self.private, link)
        old = sysctl("fs.protected_symlinks", 0)
        try:
            for opt in ("-o", "-w"):
                target = os.path.join(link, "victim")
                err = refused(opt, target)
                self.assertIn("refusing to write '%s': '%s' is a symbolic link of another user"
                              % (target, link), err)
        finally:
            sysctl("fs.protected_symlinks", old)
        self.assertVictimIntact()
        self.assertEqual(sorted(os.listdir(self.private)), ["victim"])

    def test_new_files_mode_and_group(self):
        cap = os.path.join(self.shared, "cap")
        old = os.umask(0)
        try:
            rc, err = monitor_run("-o", self.out, "-w", cap)
        finally:
            os.umask(old)
        self.assertEqual(rc, 0, err)
        for p in (self.out, cap):
            st = os.lstat(p)
            self.assertTrue(stat.S_ISREG(st.st_mode))
            self.assertEqual((st.st_uid, st.st_nlink, stat.S_IMODE(st.st_mode)), (0, 1, 0o600), p)
        # the user can read neither
        with self.assertRaises(subprocess.CalledProcessError):
            self.user.run("cat", self.out, capture_output=True)
        # a group may be let in: exact mode and group; an existing file of
        # ksysmon's is replaced (a new inode), never written into
        ino, size = os.stat(self.out).st_ino, os.stat(self.out).st_size
        with open(self.out, "rb") as held:  # a reader of the old file sees nothing new
            rc, err = monitor_run("-o", self.out, "--file-mode", "0640", "--file-group", self.user.name)
            self.assertEqual(rc, 0, err)
            self.assertEqual(os.fstat(held.fileno()).st_size, size)
        st = os.stat(self.out)
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_gid), (0o640, self.user.gid))
        self.assertNotEqual(st.st_ino, ino)
        self.user.run("cat", self.out, capture_output=True)
        self.assertEqual(sorted(os.listdir(self.shared)), ["cap", "out.log"])  # no temporary left
        for bad in ("0666", "0700", "0400", "644x", "01600"):
            p = subprocess.run([MONITOR, "--file-mode", bad], capture_output=True)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn("invalid --file-mode", p.stderr.decode())
        p = subprocess.run([MONITOR, "--file-group", "no-such-group-ksm"], capture_output=True)
        self.assertEqual(p.returncode, 2)

    def test_rotation_race(self):
        """While the output rotates, the user keeps planting a link at its
        name: the renames replace the link, nothing is written through it."""
        stop = os.path.join(self.private, "stop")
        with Monitor("-o", self.out, "--rotate-size", "64K", "--rotate-keep", "2") as m:
            racer = self.user.popen("python3", "-c", """
import os, sys, time
end = time.monotonic() + 120  # bounded, whatever happens to the test
n = 0
while time.monotonic() < end and not os.path.exists(sys.argv[3]):
    try:
        os.symlink(sys.argv[1], sys.argv[2]); n += 1
    except OSError:
        pass
print(n)
""", self.victim, self.out, stop, stdout=subprocess.PIPE)
            try:
                for _ in range(15):  # some 4500 events: dozens of rotations
                    run_workload("exec-storm", 100, TRUE)
            finally:
                open(stop, "w").close()
                planted = int(racer.communicate(timeout=150)[0])
        self.assertEqual(m.returncode, 0, m.stderr)
        print("\n  links planted during rotations: %d" % planted, end=" ")
        self.assertRegex(m.stderr, r"rotated: output=([2-9]\d+)")
        self.assertVictimIntact()
        names = sorted(os.listdir(self.shared))
        self.assertEqual(names, ["out.log", "out.log.1", "out.log.2"])
        files = [os.path.join(self.shared, n) for n in names]
        for p in files:
            st = os.lstat(p)
            self.assertTrue(stat.S_ISREG(st.st_mode), p)
            self.assertEqual((st.st_uid, st.st_nlink, stat.S_IMODE(st.st_mode)), (0, 1, 0o600), p)
        self.assertGreater(len(json_lines(files)), 100)


class SameFile(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ksysmon-same.")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_two_views_one_file_refused(self):
        f = os.path.join(self.dir, "f")
        other = os.path.join(self.dir, "..", os.path.basename(self.dir), "f")
        for args in (["-o", f, "-w", f], ["-o", f, "-w", other],
                     ["-o", f, "-w", f + ".1", "--rotate-size", "64K"],
                     ["-o", f + ".5", "-w", f, "--rotate-size", "64K"]):
            err = refused(*args)
            self.assertIn("is the same file as the output", err)
        self.assertEqual(os.listdir(self.dir), [])
        # without rotation, F.1 is another file; past --rotate-keep too
        for args in (["-o", f, "-w", f + ".1"],
                     ["-o", f, "-w", f + ".3", "--rotate-size", "64K", "--rotate-keep", "2"]):
            rc, err = monitor_run(*args)
            self.assertEqual(rc, 0, err)
        # a replay into the file it reads
        cap = os.path.join(self.dir, "cap")
        rc, err = monitor_run("-w", cap)
        self.assertEqual(rc, 0, err)
        _, err, _ = replay("-r", cap, "-o", cap, check_rc=1)
        self.assertIn("--read '%s' is the same file as the output" % cap, err)
        _, err, _ = replay("-r", cap, "-w", "/dev/null", check_rc=2)

    def test_config_fifo_refused(self):
        fifo = os.path.join(self.dir, "rules.yaml")
        os.mkfifo(fifo)
        start = time.monotonic()
        p = subprocess.run([MONITOR, "-c", fifo], capture_output=True, timeout=30)
        self.assertLess(time.monotonic() - start, 10)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr.decode(), "ksysmon: %s: not a regular file\n" % fifo)

    def test_pid_absent_is_said(self):
        pid = 4194000
        while os.path.exists("/proc/%d" % pid):
            pid -= 1
        with Monitor("--pid", str(pid)) as m:
            pass
        self.assertEqual(m.returncode, 0)
        self.assertIn("ksysmon: warning: --pid %d: no such process now; followed if a process takes this id\n" % pid,
                      m.stderr)


class FullDisk(unittest.TestCase):
    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="ksysmon-tmpfs.")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", self.mnt], check=True)
        self.other = tempfile.mkdtemp(prefix="ksysmon-full.")

    def tearDown(self):
        subprocess.run(["umount", self.mnt], check=True)
        os.rmdir(self.mnt)
        shutil.rmtree(self.other)

    def fill_then_free(self, *args, name):
        """Runs ksysmon with args while exec storms fill the tmpfs, then
        frees room and goes on; the monitor and what it wrote."""
        filler = os.path.join(self.mnt, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * (600 << 10))
        # only this test's processes: others' storms would fill the room
        # freed at the end again
        with Monitor("--pid", str(os.getpid()), *args) as m:
            path = os.path.join(self.mnt, name)
            deadline = time.monotonic() + 60
            while "cannot write " + path not in open(m.err_path).read():
                self.assertLess(time.monotonic(), deadline, "the tmpfs never filled")
                run_workload("exec-storm", 200, TRUE)
            run_workload("exec-storm", 200, TRUE)  # lost while full
            os.unlink(filler)
            time.sleep(1.2)  # writing is tried again once a second
            run_workload("exec-storm", 50, TRUE)
            time.sleep(0.5)
        self.assertEqual(m.returncode, 0, m.stderr)
        self.assertIn("ksysmon: cannot write %s: No space left on device; events are counted as lost "
                      "until writing works again\n" % path, m.stderr)
        return m, path

    def check_counts(self, m, path, evs):
        """Events counted == events written + events counted as not written;
        the events_lost records naming the file report the same counts."""
        seen = m.summary()["summary"]
        lost = not_written(m.stderr, path)
        self.assertGreater(lost["total"], 0)
        # said once per failure episode (a freed byte may end one briefly)
        self.assertGreaterEqual(lost["failures"], 1)
        self.assertEqual(m.stderr.count("cannot write "), lost["failures"], m.stderr)
        for t in seen:
            written = sum(1 for e in evs if e["type"] == t)
            self.assertEqual(seen[t], written + lost[t], t)
        # every episode that ended is reported; a report that could not be
        # written is itself counted (events_lost), its counts then only in
        # the summary
        reports = [e for e in evs if e["type"] == "events_lost" and "file" in e]
        self.assertGreaterEqual(len(reports), 1)
        reported = {}
        for r in reports:
            self.assertEqual((r["file"], r["error"]), (path, "No space left on device"))
            for t, n in r["lost"].items():
                reported[t] = reported.get(t, 0) + n
        for t in seen:
            if lost["events_lost"] == 0:
                self.assertEqual(reported.get(t, 0), lost[t], t)
            else:
                self.assertLessEqual(reported.get(t, 0), lost[t], t)
        return lost

    def replayed_as_live(self, out, live):
        """Each replayed event is the live one (files live, live.1, ...),
        byte for byte, in order, none missing but those not written; the
        number of replayed events."""
        shown = [x for f in oldest_first(live) for x in open(f, "rb").read().splitlines()
                 if b'"events_lost"' not in x]
        again = [x for x in out.splitlines() if b'"events_lost"' not in x]
        it = iter(shown)
        self.assertTrue(all(any(x == y for y in it) for x in again))
        return len(again)

    def test_output_on_full_tmpfs(self):
        out = "out.json"
        m, path = self.fill_then_free("-o", os.path.join(self.mnt, out), name=out)
        evs = json_lines([path])  # every line whole
        lost = self.check_counts(m, path, evs)
        # measured, for the record
        print("\n  output: counted=%d written=%d lost=%d" % (
            sum(m.summary()["summary"].values()),
            sum(1 for e in evs if e["type"] != "events_lost"), lost["total"]), end=" ")

    def test_capture_on_full_tmpfs(self):
        """The capture loses records whole; after the gap it says the clock
        and the process table again, so a replay shows every event written
        exactly as the live run showed it."""
        live = os.path.join(self.other, "live.json")
        m, path = self.fill_then_free("-w", os.path.join(self.mnt, "cap"), "--print", "-o", live,
                                      name="cap")
        out, err, rc = replay("-r", path, "-f", "json")
        replayed = [json.loads(x) for x in out.decode("utf-8", "surrogateescape").splitlines()]
        self.check_counts(m, path, replayed)
        self.assertGreater(self.replayed_as_live(out, live), 300)

    def test_rotated_capture_on_full_tmpfs(self):
        """Rotation that cannot start a new file is tried again later; each
        file replays on its own, and together they are the live output
        less what was counted as not written."""
        live = os.path.join(self.other, "live.json")
        m, path = self.fill_then_free("-w", os.path.join(self.mnt, "cap"), "--print", "-o", live,
                                      "--rotate-size", "64K", "--rotate-keep", "1000", name="cap")
        self.assertRegex(m.stderr, r"rotated: output=\d+ capture=[1-9]")
        out = b""
        for f in oldest_first(path):
            data, _, _ = replay("-r", f, "-f", "json")
            out += data
        replayed = [json.loads(x) for x in out.decode("utf-8", "surrogateescape").splitlines()]
        self.check_counts(m, path, replayed)
        self.replayed_as_live(out, live)

    def test_dev_full_keeps_running_and_enforcing(self):
        """/dev/full refuses every write: all is counted, nothing stops,
        and a deny policy goes on being enforced."""
        d = tempfile.mkdtemp(prefix="ksysmon-deny.", dir=self.other)
        denied = os.path.join(d, "denied")
        shutil.copy(TRUE, denied)
        with Monitor("-o", "/dev/full", "--deny", denied) as m:
            run_workload("exec-storm", 50, TRUE)
            time.sleep(0.3)
            for _ in range(3):
                with self.assertRaises(PermissionError):
                    subprocess.run([denied])
                time.sleep(1.1)
        self.assertEqual(m.returncode, 0, m.stderr)
        self.assertTrue(stat.S_ISCHR(os.stat("/dev/full").st_mode))
        seen = m.summary()["summary"]
        lost = not_written(m.stderr, "/dev/full")
        self.assertEqual(lost["failures"], 1)
        for t in seen:
            self.assertEqual(lost[t], seen[t], t)
        self.assertGreaterEqual(seen["exec_blocked"], 3)

    def test_exit_on_output_error(self):
        p = subprocess.Popen([MONITOR, "-o", "/dev/full", "--on-output-error", "exit"],
                             stderr=subprocess.PIPE)
        try:
            time.sleep(1)
            run_workload("exec-storm", 5, TRUE)
            _, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
        self.assertEqual(p.returncode, 1)
        self.assertIn("ksysmon: cannot write /dev/full: No space left on device", err.decode())
        self.assertIn("ksysmon: summary:", err.decode())


class Replay(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ksysmon-replay.")
        self.cap = os.path.join(self.dir, "cap")
        with Monitor("-w", self.cap) as m:
            run_workload("exec-storm", 50, TRUE)
        self.assertEqual(m.returncode, 0, m.stderr)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_many_malformed_records_are_summarised(self):
        h, data, recs = records(self.cap)
        bad = bytearray(data)
        n = 0
        for off, typ, size in recs:
            if typ < 0x100:
                struct.pack_into("<H", bad, off, 0x77)
                n += 1
        big = os.path.join(self.dir, "bad")
        with open(big, "wb") as f:
            f.write(bytes(bad[:h[2]]) + bytes(bad[h[2]:]) * 50)
        _, err, _ = replay("-r", big, "-f", "json", check_rc=1)
        self.assertGreater(n, 100)
        self.assertEqual(err.count("malformed record at byte"), 1, err)
        self.assertIn("%d malformed records skipped in all" % (n * 50), err)
        self.assertLessEqual(len(err.splitlines()), 5, err)

    def test_sigint_during_replay_prints_the_summary(self):
        h, data, _ = records(self.cap)
        big = os.path.join(self.dir, "big")
        with open(big, "wb") as f:
            f.write(data[:h[2]])
            body = data[h[2]:]
            for _ in range(4000):
                f.write(body)
        p = subprocess.Popen([MONITOR, "-r", big, "-f", "json", "-o", "/dev/null"],
                             stderr=subprocess.PIPE)
        time.sleep(1.5)
        self.assertIsNone(p.poll(), "the replay ended before it could be interrupted")
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
        err = err.decode()
        self.assertEqual(p.returncode, 0, err)
        self.assertRegex(err, r"ksysmon: %s: interrupted at byte \d+; the rest is not replayed\n" % re.escape(big))
        self.assertIn("ksysmon: summary:", err)


if __name__ == "__main__":
    unittest.main()
