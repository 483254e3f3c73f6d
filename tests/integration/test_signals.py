"""Signals a service receives: SIGHUP (logrotate, `systemctl reload`)
reopens the files and reloads the configuration, SIGUSR1 prints the
counters; under an exec storm, no event is lost or shown twice, and the
kernel's exclusions are swapped without a moment where neither the old nor
the new configuration applies."""
import json
import os
import re
import select
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest

from harness import WORKLOAD, Monitor

TRUE = os.path.realpath("/bin/true")

# both exclude the exit of the storm's children (comm "true") in the kernel,
# by different rules; the bad one is refused with its line
CONFIG_A = """events:
  process_exit:
    exclude:
      - comm: {is: "true"}
"""
CONFIG_B = """events:
  process_exit:
    exclude:
      - any:
          - pid: {is: 1}
          - comm: {is: "true"}
  process_exec:
    exclude:
      - comm: {is: sleep}
"""
CONFIG_BAD = """events:
  process_exit:
    exclude:
      - comm: {startswith: "true"}
"""


class Storm:
    """A shell whose pid is known before the storm starts (for --pid): on
    each line on its standard input it runs the next exec storm of TRUE
    (children's pids to DIR/ids.I), then prints `done`."""

    def __init__(self, d, *sizes, rate=None):
        self.dir = d
        env = dict(os.environ)
        if rate:
            env["WORKLOAD_RATE"] = str(rate)
        script = ('i=0; for n in "$@"; do read go || exit 1; '
                  'WORKLOAD_IDS="%s/ids.$i" "%s" exec-storm "$n" "%s" >/dev/null; '
                  'echo done; i=$((i+1)); done' % (d, WORKLOAD, TRUE))
        self.proc = subprocess.Popen(["sh", "-c", script, "sh"] + [str(n) for n in sizes],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.pid = self.proc.pid
        self.phase = 0

    def start(self):
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()

    def wait(self):
        """Waits for the running phase to end; its children's pids."""
        line = self.proc.stdout.readline()
        assert line == b"done\n", line
        with open(os.path.join(self.dir, "ids.%d" % self.phase)) as f:
            ids = [int(x) for x in f]
        self.phase += 1
        return ids

    def running(self):
        """Whether the running phase has not printed `done` yet."""
        r, _, _ = select.select([self.proc.stdout], [], [], 0)
        return not r

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self.proc.stdout.close()


def read_lines(path):
    """The events of a file, each line whole and parsed."""
    with open(path, "rb") as f:
        data = f.read()
    if data:
        assert data.endswith(b"\n"), path
    return [json.loads(x) for x in data.decode("utf-8", "surrogateescape").splitlines()]


def wait_for(pred, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


class Signals(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ksysmon-signals.")
        self.out = os.path.join(self.dir, "out.json")
        self.cfg = os.path.join(self.dir, "ksysmon.yaml")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def write_config(self, text):
        """Replaced as editors and packages do: a new file renamed over."""
        tmp = self.cfg + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.cfg)

    def stderr(self, m):
        with open(m.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def signal_and_wait(self, m, sig, pattern):
        """Sends sig and waits for one more line matching pattern."""
        n = len(re.findall(pattern, self.stderr(m), re.M))
        m.proc.send_signal(sig)
        wait_for(lambda: len(re.findall(pattern, self.stderr(m), re.M)) > n, pattern)

    def test_hup_and_usr1_under_storm_lose_nothing(self):
        """logrotate's rename-and-signal rotation, configuration reloads
        (good and bad) and counter dumps, again and again during a storm:
        every exec of the storm is in exactly one file, the events counted
        equal the lines across the files, and the exits both configurations
        exclude were all excluded by the kernel (none reached the client)."""
        self.write_config(CONFIG_A)
        storm = Storm(self.dir, 3000, rate=1000)
        m = Monitor("--pid", str(storm.pid), "--events", "process_exec,process_exit",
                    "-o", self.out, "--file-mode", "0640", "-c", self.cfg)
        m.start()
        try:
            storm.start()
            rounds = 0
            while storm.running() or rounds < 3:
                rounds += 1
                os.rename(self.out, "%s.%d" % (self.out, rounds))
                bad = rounds % 3 == 0
                self.write_config(CONFIG_BAD if bad else (CONFIG_B if rounds % 2 else CONFIG_A))
                self.signal_and_wait(m, signal.SIGHUP,
                                     r"^ksysmon: (reloaded|.*configuration in force is kept)$")
                if bad:
                    self.assertRegex(self.stderr(m), r"(?m)^ksysmon: %s:4: unknown condition 'startswith'.*; the configuration in force is kept$"
                                     % re.escape(self.cfg))
                self.signal_and_wait(m, signal.SIGUSR1, r"^ksysmon: summary:")
            ids = storm.wait()
        finally:
            storm.close()
            m.stop()
        self.assertEqual(m.returncode, 0, m.stderr)
        self.assertGreaterEqual(rounds, 3)
        self.assertEqual(len(re.findall(r"(?m)^ksysmon: reloaded$", m.stderr)),
                         rounds - rounds // 3)
        self.assertEqual(len(re.findall(r"(?m)^ksysmon: summary:", m.stderr)), rounds + 1)
        self.assertRegex(m.stderr, r"(?m)^ksysmon: reopened: output=%d capture=0$" % rounds)
        files = [self.out] + ["%s.%d" % (self.out, i) for i in range(1, rounds + 1)]
        evs = []
        for p in files:
            st = os.stat(p)
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o640, p)
            evs += read_lines(p)
        s = m.summary()
        self.assertEqual(s["lost"]["total"], 0)
        self.assertEqual(len(evs), sum(s["summary"].values()))
        self.assertEqual(len(ids), 3000)
        execs = [e["pid"] for e in evs if e["type"] == "process_exec" and e["image"] == TRUE]
        self.assertEqual(sorted(execs), sorted(ids))
        # the exits of TRUE: excluded by each configuration, always in the kernel
        self.assertEqual([e for e in evs if e["type"] == "process_exit" and e["comm"] == "true"], [])
        f = re.findall(r"(?m)^ksysmon: filtered: kernel=(\d+) user=(\d+)$", m.stderr)[-1]
        self.assertEqual((int(f[0]), int(f[1])), (3000, 0), m.stderr)

    def test_copytruncate_writes_on_at_the_new_end(self):
        """logrotate's copytruncate: the file is copied, then cut to 0 in
        place; the next lines start the file (no hole of zero bytes), and a
        SIGHUP afterwards keeps the file (same inode) and still writes on."""
        storm = Storm(self.dir, 200, 200, 200)
        m = Monitor("--pid", str(storm.pid), "--events", "process_exec", "-o", self.out)
        m.start()
        phases = []
        try:
            for phase in range(3):
                storm.start()
                ids = storm.wait()
                phases.append(ids)
                wait_for(lambda: {e["pid"] for e in read_lines(self.out)} >= set(ids),
                         "phase %d in the output" % phase)
                if phase == 2:
                    break
                ino = os.stat(self.out).st_ino
                shutil.copy(self.out, "%s.%d" % (self.out, phase + 1))
                os.truncate(self.out, 0)
                if phase == 1:
                    self.signal_and_wait(m, signal.SIGHUP, r"^ksysmon: reloaded$")
                self.assertEqual(os.stat(self.out).st_ino, ino)
        finally:
            storm.close()
            m.stop()
        self.assertEqual(m.returncode, 0, m.stderr)
        self.assertNotIn("reopened:", m.stderr)
        for i, p in enumerate(["%s.1" % self.out, "%s.2" % self.out, self.out]):
            with open(p, "rb") as f:
                self.assertTrue(f.read(1) == b"{", p)
            mine = [e["pid"] for e in read_lines(p) if e["type"] == "process_exec" and e["image"] == TRUE]
            self.assertEqual(sorted(mine), sorted(phases[i]), p)

    def test_hup_recreates_a_removed_file_and_keeps_rules_of_a_new_file(self):
        """A file removed (not renamed) is made again by the safe-file
        rules; a file of another user put at the name is refused, and
        ksysmon writes on to the file it had."""
        storm = Storm(self.dir, 50, 50)
        m = Monitor("--pid", str(storm.pid), "--events", "process_exec", "-o", self.out)
        m.start()
        try:
            os.unlink(self.out)
            self.signal_and_wait(m, signal.SIGHUP, r"^ksysmon: reloaded$")
            st = os.stat(self.out)
            self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode), st.st_nlink), (0, 0o600, 1))
            storm.start()
            first = storm.wait()
            wait_for(lambda: {e["pid"] for e in read_lines(self.out)} >= set(first), "phase 0")
            os.rename(self.out, self.out + ".1")
            with open(self.out, "w") as f:
                f.write("not ksysmon's\n")
            os.chown(self.out, 65534, 65534)
            self.signal_and_wait(m, signal.SIGHUP, r"^ksysmon: refusing to write")
            storm.start()
            second = storm.wait()
        finally:
            storm.close()
            m.stop()
        self.assertEqual(m.returncode, 0, m.stderr)
        self.assertRegex(m.stderr, r"(?m)^ksysmon: refusing to write '%s': it belongs to another user; writing on to the file it was$"
                         % re.escape(self.out))
        with open(self.out) as f:
            self.assertEqual(f.read(), "not ksysmon's\n")
        mine = [e["pid"] for e in read_lines(self.out + ".1") if e["type"] == "process_exec" and e["image"] == TRUE]
        self.assertEqual(sorted(mine), sorted(first + second))


if __name__ == "__main__":
    unittest.main()
