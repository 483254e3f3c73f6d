"""--config rules (issue "Rules, enrichment and process identity"): what
passes is emitted; kernel-decidable exclusions never reach the queue."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import MONITOR, Monitor, by_pid, run_workload

TRUE = os.path.realpath("/bin/true")
ECHO = os.path.realpath("/bin/echo")


def config(text):
    fd, path = tempfile.mkstemp(prefix="ksysmon-", suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def filtered(m):
    r = re.search(r"ksysmon: filtered: kernel=(\d+) user=(\d+)", m.stderr)
    return int(r.group(1)), int(r.group(2))


def spawn(argv, n=1):
    pids = []
    for _ in range(n):
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        p.wait()
        pids.append(p.pid)
    return pids


class Config(unittest.TestCase):
    def test_kernel_exclusion_keeps_events_out_of_the_queue(self):
        cfg = config("""
events:
  process_exec:
    exclude:
      - comm: {is: "true"}
  process_exit:
    exclude:
      - comm: {is: "true"}
""")
        with Monitor("--config", cfg) as m:
            pids = spawn([TRUE], 200)
            keep = spawn([ECHO, "kept"])
        evs = m.events()
        for pid in pids:
            self.assertEqual(by_pid(evs, pid, "process_exec"), [])
            self.assertEqual(by_pid(evs, pid, "process_exit"), [])
            self.assertEqual(len(by_pid(evs, pid, "process_create")), 1)
        self.assertEqual(len(by_pid(evs, keep[0], "process_exec")), 1)
        kernel, user = filtered(m)
        # decided before the ring buffer: none of them reached user space
        self.assertGreaterEqual(kernel, 400)
        self.assertEqual(user, 0)
        os.unlink(cfg)

    def test_user_space_rules_include_exclude_precedence(self):
        cfg = config("""
events:
  thread_create: off
  process_exec:
    include:
      - image: {ends_with: /echo}
      - all:
          - image: {is: %s}
          - cmdline: {contains: "wanted"}
    exclude:
      - cmdline: {glob: "* secret*"}
      - any:
          - parent_image: {is: /nonexistent}
          - user: {is_not: root}
""" % TRUE)
        with Monitor("--config", cfg) as m:
            e_plain = spawn([ECHO, "hello"])[0]
            e_secret = spawn([ECHO, "a", "secret", "b"])[0]
            t_wanted = spawn([TRUE, "wanted"])[0]
            t_other = spawn([TRUE, "other"])[0]
            pid, _, _ = run_workload("threads", 2)
        evs = m.events()
        execs = lambda p: by_pid(evs, p, "process_exec")
        self.assertEqual(len(execs(e_plain)), 1)       # included
        self.assertEqual(execs(e_secret), [])          # exclude wins over include
        self.assertEqual(len(execs(t_wanted)), 1)      # all: both conditions hold
        self.assertEqual(execs(t_other), [])           # no include matches
        self.assertEqual(by_pid(evs, pid, "thread_create"), [])  # off
        self.assertEqual(len(by_pid(evs, pid, "thread_exit")), 2)
        # other types have no rules: they all pass
        self.assertEqual(len(by_pid(evs, t_other, "process_exit")), 1)
        kernel, user = filtered(m)
        self.assertGreaterEqual(user, 2)
        os.unlink(cfg)

    def test_malformed_config_does_not_start(self):
        cases = {
            "events:\n  process_exec:\n    exclude:\n      - comm: {startswith: x}\n":
                ":4: unknown condition 'startswith'",
            "events:\n  bogus_event: off\n": ":2:",
            "events:\n  process_exec:\n    exclude:\n      - uid: {contains: 1}\n": ":4:",
            "events: [unclosed\n": ":",
        }
        for text, want in cases.items():
            cfg = config(text)
            r = subprocess.run([MONITOR, "--config", cfg], capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(r.returncode, 2, text)
            lines = r.stderr.splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertTrue(lines[0].startswith("ksysmon: %s:" % cfg), lines[0])
            self.assertIn(want, lines[0])
            self.assertNotIn("ready", r.stderr)
            os.unlink(cfg)
        r = subprocess.run([MONITOR, "--config", "/nonexistent.yaml"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("/nonexistent.yaml", r.stderr)

    def test_image_prefix_excluded_in_kernel(self):
        cfg = config("""
events:
  image_load:
    exclude:
      - path: {begins_with: /usr/lib/x86_64-linux-gnu/libc.so}
""")
        with Monitor("--events", "image_load", "--config", cfg) as m:
            pid, vals, rc = run_workload("dlopen", "libz.so.1")
        paths = [e["path"] for e in by_pid(m.events(), pid, "image_load")]
        self.assertFalse([p for p in paths if "libc.so" in p], paths)
        self.assertTrue([p for p in paths if "libz.so" in p], paths)
        kernel, _ = filtered(m)
        self.assertGreaterEqual(kernel, 1)
        os.unlink(cfg)


if __name__ == "__main__":
    unittest.main()


def read(path):
    with open(path) as f:
        return f.read()


class FileOptions(unittest.TestCase):
    """`options:` sets what the command line sets; the command line wins."""

    def test_options_from_the_file_and_the_command_line_over_them(self):
        d = tempfile.mkdtemp(prefix="ksysmon-opts.")
        out = os.path.join(d, "out.log")
        path = config("options:\n"
                      "  format: json\n"
                      "  events: [process_exec, process_exit]\n"
                      "  output: %s\n"
                      "  file-mode: \"0640\"\n"
                      "  latency-ms: 10\n"
                      "events:\n"
                      "  process_exit:\n"
                      "    exclude:\n"
                      "      - comm: {is: \"true\"}\n" % out)
        try:
            # the harness adds --format json --latency-ms 20 on the command line
            with Monitor("-c", path, fmt="text") as m:
                pid, _, _ = run_workload("exec-storm", 1, TRUE)
                with open(path) as f:
                    kept = f.read()
                with open(path, "w") as f:
                    f.write(kept.replace("latency-ms: 10", "latency-ms: 50"))
                m.proc.send_signal(signal.SIGHUP)
                deadline = time.monotonic() + 30
                while "options changed" not in read(m.err_path):
                    self.assertLess(time.monotonic(), deadline)
                    time.sleep(0.02)
            self.assertEqual(m.returncode, 0, m.stderr)
            self.assertEqual(m.stdout, b"")  # --output came from the file
            self.assertEqual(os.stat(out).st_mode & 0o777, 0o640)
            text = read(out)
            # text, as the command line said; exec events only, exits of true excluded
            self.assertRegex(text, r"Process \d+ Exec %s" % TRUE)
            self.assertNotIn('{"type"', text)
            self.assertNotIn("Created by", text)
            self.assertIsNone(re.search(r"Exited with code 0 \[true\]", text))
            self.assertRegex(m.stderr, r"(?m)^ksysmon: %s: its options changed \(a restart applies them\); the configuration in force is kept$"
                             % re.escape(path))
        finally:
            os.unlink(path)
            shutil.rmtree(d)

    def test_bad_option_in_the_file_names_its_line(self):
        path = config("events:\n  thread_exit: off\noptions:\n  rotate-size: 1K\n")
        try:
            r = subprocess.run([MONITOR, "-c", path, "-o", "/tmp/x"], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 2)
            self.assertEqual(r.stderr, "ksysmon: %s:4: invalid --rotate-size '1K' (expected a size of at least 64K)\n" % path)
        finally:
            os.unlink(path)
