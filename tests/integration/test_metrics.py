"""--metrics-file: the counters in the Prometheus text format, equal to the
summary printed at the same moment, per type and per place of filtering;
replaced whole (a reader never sees part of a file); read by Debian's
prometheus-node-exporter through its textfile collector."""
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import unittest
import urllib.request

from harness import Monitor
from test_signals import Storm, wait_for

TRUE = os.path.realpath("/bin/true")
CONFIG = """events:
  process_exit:
    exclude:
      - comm: {is: "true"}
  process_exec:
    exclude:
      - image: {ends_with: /workload}
"""


def parse(text):
    """{(name, frozenset(labels)): value} of a text exposition."""
    samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$', line)
        assert m, line
        labels = frozenset(re.findall(r'([a-z]+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))  # node_exporter writes 1.6e+07
    return samples


def summary_at(stderr, n):
    """The n-th summary: ({type: shown}, kernel, user)."""
    shown = re.findall(r"(?m)^ksysmon: summary:(.*)$", stderr)[n]
    filt = re.findall(r"(?m)^ksysmon: filtered: kernel=(\d+) user=(\d+)$", stderr)[n]
    return ({k: int(v) for k, v in (kv.split("=") for kv in shown.split())}, int(filt[0]), int(filt[1]))


class Metrics(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ksysmon-metrics.")
        self.prom = os.path.join(self.dir, "ksysmon.prom")
        self.cfg = os.path.join(self.dir, "ksysmon.yaml")
        with open(self.cfg, "w") as f:
            f.write(CONFIG)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def read(self):
        with open(self.prom) as f:
            return f.read()

    def check_equal_to_summary(self, samples, stderr, n):
        shown, kernel, user = summary_at(stderr, n)
        for t, v in shown.items():
            self.assertEqual(samples[("ksysmon_events_shown_total", frozenset({("type", t)}))], v, t)
        where = lambda w: sum(v for (name, labels), v in samples.items()
                              if name == "ksysmon_events_filtered_total" and ("where", w) in labels)
        self.assertEqual((where("kernel"), where("user")), (kernel, user))

    def test_counters_atomic_and_read_by_node_exporter(self):
        storm = Storm(self.dir, 200)
        out = os.path.join(self.dir, "out.json")
        m = Monitor("--pid", str(storm.pid), "--events", "process_exec,process_exit", "-c", self.cfg,
                    "-o", out, "--metrics-file", self.prom)
        m.start()
        try:
            st = os.stat(self.prom)  # there once ready
            self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (0, 0o644))
            storm.start()
            self.assertEqual(len(storm.wait()), 200)
            time.sleep(0.3)
            m.proc.send_signal(signal.SIGUSR1)
            wait_for(lambda: "ksysmon_events_shown_total" in self.read() and
                     parse(self.read())[("ksysmon_events_filtered_total",
                                         frozenset({("type", "process_exit"), ("where", "kernel")}))] == 200,
                     "the metrics after the storm")
            samples = parse(self.read())
            with open(m.err_path) as f:
                self.check_equal_to_summary(samples, f.read(), 0)
            key = lambda name, **kw: (name, frozenset(kw.items()))
            self.assertEqual(samples[key("ksysmon_events_shown_total", type="process_exec")], 200)
            self.assertEqual(samples[key("ksysmon_events_filtered_total", type="process_exec", where="user")], 1)
            self.assertEqual(samples[key("ksysmon_events_seen_total", type="process_exec")], 201)
            self.assertEqual(samples[key("ksysmon_events_lost_total", type="process_exec")], 0)
            self.assertEqual(samples[key("ksysmon_output_failures_total", file=out)], 0)
            self.assertEqual(samples[key("ksysmon_queue_size_bytes")], 16 << 20)
            self.assertLessEqual(samples[key("ksysmon_queue_used_bytes")], 16 << 20)
            # replaced whole: a reader racing the rewrites sees whole files
            inodes = set()
            for i in range(200):
                if i % 10 == 0:
                    m.proc.send_signal(signal.SIGUSR1)
                with open(self.prom) as f:
                    inodes.add(os.fstat(f.fileno()).st_ino)
                    text = f.read()
                self.assertRegex(text, r"\nksysmon_start_time_seconds \d+\n$")
                time.sleep(0.005)
            self.assertGreater(len(inodes), 1)
            self.scrape(samples)
        finally:
            storm.close()
            m.stop()
        self.assertEqual(m.returncode, 0, m.stderr)
        # the last file is the last summary
        self.check_equal_to_summary(parse(self.read()), m.stderr, -1)

    def scrape(self, samples):
        """node_exporter's textfile collector serves the file as written."""
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        ne = subprocess.Popen(["prometheus-node-exporter", "--collector.disable-defaults",
                               "--collector.textfile", "--collector.textfile.directory=" + self.dir,
                               "--web.listen-address=127.0.0.1:%d" % port],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            body = None
            deadline = time.monotonic() + 30
            while body is None and time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
                        body = r.read().decode()
                except OSError:
                    time.sleep(0.1)
            self.assertIsNotNone(body)
        finally:
            ne.terminate()
            ne.wait(timeout=30)
        self.assertRegex(body, r"(?m)^node_textfile_scrape_error 0$")
        served = parse("\n".join(x for x in body.splitlines() if x.startswith("ksysmon_")))
        # counters only grow: each served value is at least the one read before
        self.assertEqual(set(served), set(samples))
        for k, v in samples.items():
            if k[0].endswith("_total"):
                self.assertGreaterEqual(served[k], v, k)

    def test_refused_targets(self):
        for args, msg in ((["--metrics-file", "/dev/null"], "it must be a regular file"),
                          (["--metrics-file", self.dir], "not a file name|it is a directory")):
            p = subprocess.run([os.environ.get("KSYSMON")] + args, capture_output=True, timeout=60)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertRegex(p.stderr.decode(), msg)
        p = subprocess.run([os.environ.get("KSYSMON"), "--metrics-file", self.prom, "-r", "/x"],
                           capture_output=True, timeout=60)
        self.assertEqual((p.returncode, p.stderr), (2, b"ksysmon: --metrics-file cannot be used with --read\n"))


if __name__ == "__main__":
    unittest.main()
