#!/usr/bin/env python3
"""What recording and shipping cost the monitor: CPU time per event and
bytes per event of each way out, side by side in one run.

  json     --format json --output FILE       (the usual way; the reference)
  capture  -w FILE                           raw records only
  both     -w FILE --format json -o FILE     recording and the JSON view
  rotate   --format json -o FILE --rotate-size 1M --rotate-keep 1000
  syslog   --syslog tcp:127.0.0.1:PORT -o /dev/null  (a local TCP sink that
           reads and counts octet-counted frames)

Each mode runs the same exec storm (fork + exec /bin/true + wait, N times)
in turn, --rounds times; the table gives medians.  CPU is the monitor's
from "ready" until half a second after the storm (every event handled),
without its fixed cost of stopping.  Every run must report
0 lost events, and syslog must have delivered every event it counted.
Usage (root): python3 bench/bench_ship.py --monitor build/ksysmon --workload build/tests/workload
"""
import argparse
import glob
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import BenchError, proc_cpu_seconds  # noqa: E402


class TcpSink(threading.Thread):
    """Accepts one connection and counts RFC 6587 octet-counted frames."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.frames = 0
        self.bytes = 0

    def run(self):
        conn, _ = self.sock.accept()
        buf = bytearray()
        while True:
            data = conn.recv(1 << 20)
            if not data:
                break
            self.bytes += len(data)
            buf += data
            pos = 0
            while True:  # "LEN SP MSG"
                sp = buf.find(b" ", pos)
                if sp < 0 or len(buf) < sp + 1 + int(buf[pos:sp]):
                    break
                pos = sp + 1 + int(buf[pos:sp])
                self.frames += 1
            del buf[:pos]
        conn.close()


def mode_args(mode, d, sink):
    out, cap = os.path.join(d, "out.json"), os.path.join(d, "cap")
    return {
        "json": ["--format", "json", "--output", out],
        "capture": ["-w", cap],
        "both": ["-w", cap, "--format", "json", "--output", out],
        "rotate": ["--format", "json", "--output", out, "--rotate-size", "1M",
                   "--rotate-keep", "1000"],
        "syslog": ["--syslog", "tcp:127.0.0.1:%d" % (sink.port if sink else 0),
                   "--output", "/dev/null"],
    }[mode]


def run_once(args, mode):
    d = tempfile.mkdtemp(prefix="ksysmon-bench-ship.")
    sink = TcpSink() if mode == "syslog" else None
    if sink:
        sink.start()
    try:
        mon = subprocess.Popen([args.monitor, *mode_args(mode, d, sink)], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = mon.stderr.readline()
        if "ready" not in line:
            mon.kill()
            raise BenchError("%s: not ready: %s%s" % (mode, line, mon.stderr.read()))
        cpu0 = proc_cpu_seconds(mon.pid)
        t0 = time.monotonic()
        subprocess.run([args.workload, "exec-storm", str(args.n), "/bin/true"], check=True,
                       stdout=subprocess.DEVNULL, timeout=300)
        wall = time.monotonic() - t0
        # the CPU of handling the events, not of stopping (detaching the
        # programs, freeing the maps: 10-20 ms whatever the events): the
        # monitor is given time to catch up first (it polls every 100 ms)
        time.sleep(0.5)
        cpu1 = proc_cpu_seconds(mon.pid)
        mon.send_signal(signal.SIGINT)
        err = mon.stderr.read()
        _, status, ru = os.wait4(mon.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise BenchError("%s: ksysmon failed: %s" % (mode, err))
        if sink:
            sink.join(timeout=30)
        events = sum(int(v) for v in re.search(r"ksysmon: summary:(.*)", err).group(1)
                     .replace("=", " ").split()[1::2])
        lost = int(re.search(r"ksysmon: lost:.* total=(\d+)", err).group(1))
        if lost:
            raise BenchError("%s: %d events lost" % (mode, lost))
        size = sum(os.path.getsize(p) for p in glob.glob(os.path.join(d, "*")))
        if mode == "syslog":
            m = re.search(r"syslog: sent=(\d+) dropped=(\d+)", err)
            if int(m.group(2)) or sink.frames != int(m.group(1)) or sink.frames != events:
                raise BenchError("syslog: sent %s dropped %s, sink got %d of %d"
                                 % (m.group(1), m.group(2), sink.frames, events))
            size = sink.bytes
        if mode == "capture":  # -w alone shows nothing, so count what it holds
            events = count_capture(args, os.path.join(d, "cap"))
        cpu = cpu1 - cpu0
        return {"wall": wall, "cpu_us_per_event": cpu / events * 1e6,
                "bytes_per_event": size / events, "events": events, "rss_kib": ru.ru_maxrss}
    finally:
        shutil.rmtree(d, ignore_errors=True)


def count_capture(args, path):
    p = subprocess.run([args.monitor, "-r", path, "--format", "json"], capture_output=True,
                       text=True, timeout=120)
    if p.returncode:
        raise BenchError("replay failed: " + p.stderr)
    return len(p.stdout.splitlines())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--monitor", required=True)
    ap.add_argument("--workload", required=True)
    ap.add_argument("--n", type=int, default=3000, help="execs per run (3000)")
    ap.add_argument("--rounds", type=int, default=5, help="runs of each mode (5)")
    ap.add_argument("--modes", default="json,capture,both,rotate,syslog")
    args = ap.parse_args()
    modes = args.modes.split(",")
    res = {m: [] for m in modes}
    for _ in range(args.rounds):
        for m in modes:  # in turn, so that drift falls on every mode alike
            res[m].append(run_once(args, m))
    ref = statistics.median(r["cpu_us_per_event"] for r in res[modes[0]])
    print("%-8s %8s %12s %10s %12s %8s" % ("mode", "events", "CPU us/ev", "vs " + modes[0],
                                           "bytes/ev", "RSS MiB"))
    for m in modes:
        med = lambda k: statistics.median(r[k] for r in res[m])  # noqa: E731
        print("%-8s %8d %12.2f %9.2fx %12.1f %8.1f" % (
            m, med("events"), med("cpu_us_per_event"), med("cpu_us_per_event") / ref,
            med("bytes_per_event"), med("rss_kib") / 1024))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print("bench_ship: " + str(e), file=sys.stderr)
        sys.exit(1)
