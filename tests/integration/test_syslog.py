"""--syslog: every event the monitor shows reaches a real rsyslogd, over
TCP, UDP and a unix datagram socket, as RFC 5424 messages whose MSGID,
TIMESTAMP and structured data say what the JSON view says."""
import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import MONITOR, Monitor, run_workload

TRUE = os.path.realpath("/bin/true")
RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
SD_ID = "ksysmon@32473"
BOM = "\ufeff"
SEP = "\x1f"  # between the fields of a line: the text escaper leaves no control character

# One line per message: what rsyslog parsed, then the message as received.
CONF = """\
global(workDirectory="{dir}" maxMessageSize="1m")
module(load="imuxsock" SysSock.Use="off")
module(load="imtcp")
module(load="imudp")
input(type="imtcp" address="127.0.0.1" port="{tcp}")
input(type="imudp" address="127.0.0.1" port="{udp}" rcvbufSize="16m")
input(type="imuxsock" socket="{sock}" rateLimit.interval="0"
      useSpecialParser="off" parseHostname="on"
      useSysTimeStamp="off" ignoreTimestamp="off")
template(name="raw" type="string"
         string="%inputname%{sep}%msgid%{sep}%timereported:::date-rfc3339%{sep}%app-name%{sep}%procid%{sep}%structured-data%{sep}%msg%{sep}%rawmsg%\\n")
*.* action(type="omfile" file="{out}" template="raw")
"""

PARAM_RE = re.compile(r' ([^= \]"]{1,32})="((?:[^"\\\]]|\\["\\\]])*)"')


def free_port(kind):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def udp_bound(port):
    with open("/proc/net/udp") as f:
        return any(":%04X " % port in line for line in f)


class Rsyslogd:
    """A private rsyslogd on loopback: TCP, UDP and a unix socket (tcp: its
    TCP port, a free one unless given); relp: a RELP listener (imrelp)
    instead of the TCP one, on that port."""

    def __init__(self, tcp=None, relp=False):
        self.dir = tempfile.mkdtemp(prefix="ksysmon-syslog.")
        self.tcp = tcp or free_port(socket.SOCK_STREAM)
        self.udp = free_port(socket.SOCK_DGRAM)
        self.sock = os.path.join(self.dir, "log")
        self.out = os.path.join(self.dir, "out")
        self.relp = relp
        self.proc = None
        self.final_lines = None

    def __enter__(self):
        conf = os.path.join(self.dir, "rsyslog.conf")
        text = CONF.format(dir=self.dir, tcp=self.tcp, udp=self.udp, sock=self.sock,
                           out=self.out, sep=SEP)
        if self.relp:
            text = text.replace('module(load="imtcp")', 'module(load="imrelp")').replace(
                'input(type="imtcp"', 'input(type="imrelp"')
        with open(conf, "w") as f:
            f.write(text)
        self.log = open(os.path.join(self.dir, "rsyslogd.log"), "wb")
        self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", conf,
                                      "-i", os.path.join(self.dir, "pid")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("rsyslogd exited: " + self.errors())
            try:
                with socket.create_connection(("127.0.0.1", self.tcp), timeout=1):
                    pass
                if os.path.exists(self.sock) and udp_bound(self.udp):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("rsyslogd did not start: " + self.errors())

    def errors(self):
        with open(os.path.join(self.dir, "rsyslogd.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        """Stops rsyslogd by its pid (it flushes its file on SIGTERM); what
        it wrote stays in final_lines."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.final_lines is None:
            self.final_lines = self.lines()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def lines(self):
        try:
            with open(self.out, "rb") as f:
                data = f.read().decode("utf-8", "strict")
        except FileNotFoundError:
            return []
        return [l for l in data.split("\n") if l]

    def wait_lines(self, n, timeout=60):
        """The lines, once at least n have been written (or the time is up)."""
        deadline = time.monotonic() + timeout
        lines = self.lines()
        while len(lines) < n and time.monotonic() < deadline:
            time.sleep(0.1)
            lines = self.lines()
        return lines


def escaped(c):
    """The characters every view escapes (ksm_cp_escaped in src/core/escape.c)."""
    return (c < 0x20 or c == 0x7f or 0x80 <= c < 0xa0 or c in (0x2028, 0x2029)
            or 0x202a <= c <= 0x202e or 0x2066 <= c <= 0x2069)


def text_escape(s):
    """The text escaper (src/core/escape.c) on a JSON string."""
    out = []
    for ch in s:
        c = ord(ch)
        if 0xdc80 <= c <= 0xdcff:  # an invalid byte (surrogateescape)
            out.append("\\x%02x" % (c - 0xdc00))
        elif ch == "\\":
            out.append("\\\\")
        elif ch in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch])
        elif escaped(c):
            out.append("".join("\\x%02x" % b for b in ch.encode()))
        else:
            out.append(ch)
    return "".join(out)


def expected_params(ev):
    """The structured data of a JSON event: its fields, type and time aside."""
    params = {}
    for k, v in ev.items():
        if k in ("type", "time"):
            continue
        if k == "argv":
            params["argc"] = str(len(v))
        elif k == "lost":
            params.update(("lost_" + t, str(n)) for t, n in v.items())
        elif isinstance(v, bool):
            params[k] = "true" if v else "false"
        elif isinstance(v, int):
            params[k] = str(v)
        elif k.endswith("time") or k == "sha256" or k == "base":
            params[k] = v
        else:
            params[k] = text_escape(v)
    return params


def parse_sd(sd):
    """[ksysmon@32473 name="value" ...] to {name: value} (PARAM-VALUE
    escapes undone), strictly: anything else fails."""
    if not (sd.startswith("[" + SD_ID) and sd.endswith("]")):
        raise AssertionError("not one ksysmon SD-ELEMENT: %r" % sd[:200])
    body = sd[len(SD_ID) + 1:-1]
    params, pos = {}, 0
    for m in PARAM_RE.finditer(body):
        if m.start() != pos:
            raise AssertionError("bad SD at %d: %r" % (pos, body[pos:pos + 80]))
        params[m.group(1)] = re.sub(r'\\(["\\\]])', r"\1", m.group(2))
        pos = m.end()
    if pos != len(body):
        raise AssertionError("bad SD at %d: %r" % (pos, body[pos:pos + 80]))
    return params


def usec(t):
    """A JSON time (nanoseconds) as RFC 5424 wants it: microseconds."""
    return t[:26] + "Z"


class SyslogDelivery(unittest.TestCase):
    def deliver(self, target, input_name, storm, *monitor_args, program=TRUE, argv=()):
        """Runs an exec storm of `storm` processes with --syslog target;
        returns (JSON events, rsyslog lines)."""
        with Rsyslogd() as srv:
            with Monitor("--syslog", target(srv), *monitor_args) as m:
                wpid, _, rc = run_workload("exec-storm", storm, program, *argv)
                self.assertEqual(rc, 0)
            self.assertEqual(m.returncode, 0, m.stderr)
            evs = m.events()
            sm = re.search(r"^ksysmon: syslog: sent=(\d+) dropped=(\d+) waiting=0 failures=0$",
                           m.stderr, re.M)
            self.assertIsNotNone(sm, m.stderr)
            lines = srv.wait_lines(len(evs))
            time.sleep(0.3)  # nothing more may come
            lines = srv.lines()
            self.assertEqual(srv.errors().count("error"), 0, srv.errors())
        self.assertEqual((int(sm.group(1)), int(sm.group(2))), (len(evs), 0), m.stderr)
        self.check(evs, lines, input_name, wpid, storm, program)
        return evs, lines

    def check(self, evs, lines, input_name, wpid, storm, program):
        # the workload's N executions are among the events, as N messages
        mine = [e for e in evs if e["type"] == "process_exec" and e.get("ppid") == wpid
                and e["image"] == program]
        self.assertEqual(len(mine), storm)
        self.assertEqual(len(lines), len(evs), "%d events, %d messages" % (len(evs), len(lines)))
        want = collections.Counter()
        for e in evs:
            want[(e["type"], usec(e["time"]), tuple(sorted(expected_params(e).items())))] += 1
        got = collections.Counter()
        for line in lines:
            f = line.split(SEP)
            self.assertEqual(len(f), 8, line)
            inp, msgid, ts, app, procid, sd, msg, raw = f
            self.assertEqual(inp, input_name)
            self.assertEqual(app, "ksysmon")
            self.assertTrue(procid.isdigit(), procid)
            self.assertRegex(raw, r"^<1[24]>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z ")
            warn = msgid in ("events_lost", "exec_blocked")
            self.assertTrue(raw.startswith("<12>" if warn else "<14>"), raw[:80])
            self.assertTrue(msg.lstrip(" ").startswith(BOM), msg[:20])
            self.assertTrue(raw.endswith(msg.lstrip(" ")), raw[-80:])
            # rsyslog writes "+00:00" where the message says "Z"
            ts = re.sub(r"\+00:00$", "Z", ts)
            got[(msgid, ts, tuple(sorted(parse_sd(sd).items())))] += 1
        missing, extra = want - got, got - want
        if missing or extra:
            self.fail("%d missing, e.g. %s\n%d unexpected, e.g. %s" % (
                len(missing), list(missing)[:2], len(extra), list(extra)[:2]))
        by_pid = {dict(k[2]).get("pid"): k for k in got if k[0] == "process_exec"}
        for e in mine:
            params = dict(by_pid[str(e["pid"])][2])
            self.assertEqual(params["image"], text_escape(program))

    # Every process event of the machine, not only the workload's (thread
    # events are left out: a thread storm elsewhere would make millions).
    EVENTS = ("--events", "process_create,process_exec,process_exit")

    def test_tcp_every_process_event(self):
        self.deliver(lambda s: "tcp:127.0.0.1:%d" % s.tcp, "imtcp", 300, *self.EVENTS)

    def test_tcp_hostile_path(self):
        # '"', ']', '\\', a control character and an invalid byte in the
        # executed file's name: the messages stay well-formed and exact
        tmp = tempfile.mkdtemp(prefix="ksysmon-syslog.")
        try:
            name = os.path.join(tmp.encode(), b'a"b]c\\d\x01e\xff')
            shutil.copy(TRUE, name)
            os.chmod(name, 0o755)
            self.deliver(lambda s: "tcp:127.0.0.1:%d" % s.tcp, "imtcp", 5, *self.EVENTS,
                         program=name.decode("utf-8", "surrogateescape"))
        finally:
            shutil.rmtree(tmp)

    def test_host_port_is_tcp(self):
        self.deliver(lambda s: "localhost:%d" % s.tcp, "imtcp", 20, *self.EVENTS)

    def test_udp(self):
        self.deliver(lambda s: "udp:127.0.0.1:%d" % s.udp, "imudp", 100, *self.EVENTS)

    def test_unix_socket(self):
        self.deliver(lambda s: "unix:" + s.sock, "imuxsock", 100, *self.EVENTS)


def wait_said(mon, text, timeout=15):
    """Waits until the running monitor has said text on stderr; returns
    all it said so far."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(mon.err_path, "rb") as f:
            said = f.read().decode("utf-8", "replace")
        if text in said:
            return said
        time.sleep(0.05)
    raise AssertionError("not said within %d s: %r; said: %s; the monitor: %s" % (
        timeout, text, said, where(mon.proc.pid)))


def where(pid):
    """What a process is doing now: its state and, per thread, the kernel
    function it waits in and its system call (for a failure's message)."""
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            with open("/proc/%d/task/%s/wchan" % (pid, tid)) as f:
                wchan = f.read()
            with open("/proc/%d/task/%s/syscall" % (pid, tid)) as f:
                call = f.read().split()[0]
        except OSError as e:
            state, wchan, call = "?", str(e), "?"
        out.append("%s %s %s syscall %s" % (tid, state, wchan, call))
    return "; ".join(out)


def prom(path, name):
    """A sample's value in a metrics file."""
    with open(path) as f:
        m = re.search(r"^%s (\d+)$" % name, f.read(), re.M)
    return int(m.group(1)) if m else None


def syslog_summary(stderr):
    """sent, dropped, waiting, failures of the last summary (SIGUSR1
    prints others before)."""
    found = re.findall(r"^ksysmon: syslog: sent=(\d+) dropped=(\d+) waiting=(\d+) failures=(\d+)$",
                       stderr, re.M)
    assert found, stderr
    return [int(x) for x in found[-1]]


class Storm:
    """/bin/true run again and again (about 50 a second) until stopped:
    events for the monitor to send while the target fails and recovers."""

    def __init__(self):
        self.p = subprocess.Popen(["sh", "-c", "while :; do %s; sleep 0.02; done" % TRUE])

    def stop(self):
        self.p.kill()
        self.p.wait()


class SyslogFailures(unittest.TestCase):
    """A target that fails while ksysmon runs is said once on stderr when
    it starts failing and once when it works again, with counts, and in
    the metrics file; the counters agree with the events shown and with
    what the server received."""
    EVENTS = ("--events", "process_create,process_exec,process_exit")

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ksysmon-syslog-fail.")
        self.prom = os.path.join(self.dir, "k.prom")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def metrics(self, mon, name):
        """name's value in a metrics file written now (SIGUSR1)."""
        before = os.stat(self.prom).st_ino
        mon.proc.send_signal(signal.SIGUSR1)
        wait_until(lambda: os.stat(self.prom).st_ino != before)
        return prom(self.prom, name)

    def test_refused_then_accepted(self):
        srv = Rsyslogd().__enter__()
        target = "tcp:127.0.0.1:%d" % srv.tcp
        storm = None
        try:
            with Monitor("--syslog", target, "--metrics-file", self.prom, *self.EVENTS) as m:
                storm = Storm()
                time.sleep(1)
                self.assertEqual(self.metrics(m, "ksysmon_syslog_failing"), 0)
                srv.stop()  # refuses from now on
                t0 = time.monotonic()
                said = wait_said(m, "is failing")
                noticed = time.monotonic() - t0
                self.assertIn("ksysmon: syslog %s is failing: " % target, said)
                self.assertRegex(said, r"is failing: (the server closed the connection|Connection "
                                       r"refused|Connection reset by peer); its messages are counted "
                                       r"as dropped until it works again")
                time.sleep(2)
                self.assertEqual(self.metrics(m, "ksysmon_syslog_failing"), 1)
                self.assertEqual(self.metrics(m, "ksysmon_syslog_failures_total"), 1)
                dropped_then = self.metrics(m, "ksysmon_syslog_dropped_total")
                self.assertGreater(dropped_then, 0)
                srv2 = Rsyslogd(tcp=srv.tcp).__enter__()  # accepts again, same port
                try:
                    t1 = time.monotonic()
                    said = wait_said(m, "works again after")
                    recovered = time.monotonic() - t1
                    time.sleep(1)
                    self.assertEqual(self.metrics(m, "ksysmon_syslog_failing"), 0)
                    storm.stop()
                    time.sleep(0.3)
                    m.stop()
                finally:
                    srv2.stop()
        finally:
            if storm:
                storm.stop()
            srv.stop()
        self.assertEqual(m.returncode, 0, m.stderr)
        self.assertEqual(m.stderr.count("is failing"), 1, m.stderr)
        self.assertEqual(m.stderr.count("works again after"), 1, m.stderr)
        sent, dropped, waiting, failures = syslog_summary(m.stderr)
        shown = len(m.events())
        self.assertEqual((sent + dropped, waiting, failures), (shown, 0, 1))
        again = re.search(r"works again after (\d+\.\d) s: (\d+) messages dropped meanwhile "
                          r"\(sent=(\d+) dropped=(\d+) in all\)", m.stderr)
        self.assertEqual(int(again.group(2)), dropped)  # one episode: every drop in it
        self.assertGreaterEqual(dropped, dropped_then)
        # what the two servers received, one message a line, is what was sent
        received = len(srv.final_lines) + len(srv2.final_lines)
        self.assertEqual(received, sent, "received %d, sent %d, dropped %d" % (received, sent, dropped))
        print("syslog: failure said %.2f s after the server stopped, recovery %.2f s after it "
              "came back; sent=%d dropped=%d received=%d" % (noticed, recovered, sent, dropped, received))

    def test_relp_server_takes_nothing(self):
        # a RELP listener answers plain frames with "serverclose" and
        # discards them: nothing is sent, everything is dropped, and said
        with Rsyslogd(relp=True) as srv:
            target = "tcp:127.0.0.1:%d" % srv.tcp
            with Monitor("--syslog", target, *self.EVENTS) as m:
                storm = Storm()
                try:
                    said = wait_said(m, "is failing")
                    time.sleep(2)
                finally:
                    storm.stop()
                time.sleep(0.3)
                m.stop()
            lines = srv.lines()
        self.assertIn("ksysmon: syslog %s is failing: the server answered (a syslog server never "
                      "does: it takes no plain syslog messages, a RELP server?)" % target, said)
        self.assertEqual(m.stderr.count("is failing"), 1, m.stderr)
        self.assertNotIn("works again after", m.stderr)
        sent, dropped, waiting, failures = syslog_summary(m.stderr)
        self.assertEqual((sent, dropped, waiting, failures), (0, len(m.events()), 0, 1))
        self.assertGreater(dropped, 20)
        self.assertEqual(lines, [])

    def test_server_that_stops_reading(self):
        # a server that accepts and reads nothing: its TCP acknowledges
        # until its buffer is full, then messages wait, unacknowledged:
        # said after 3 s; the connection is given up when a send waits 1 s,
        # and what the server had not acknowledged is dropped (never
        # delivered later); then it reads all it has: what was sent
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(8)
        target = "tcp:127.0.0.1:%d" % lsock.getsockname()[1]
        conns = []
        try:
            with Monitor("--syslog", target, *self.EVENTS) as m:
                conns.append(lsock.accept()[0])
                storm = Storm()
                try:
                    said = wait_said(m, "is failing", timeout=30)
                    time.sleep(1)
                finally:
                    storm.stop()
                time.sleep(0.3)
                m.stop()
            lsock.setblocking(False)
            while True:  # connections made again, which nobody accepted
                try:
                    conns.append(lsock.accept()[0])
                except BlockingIOError:
                    break
            received = 0
            for c in conns:
                c.settimeout(2)
                data = b""
                while True:
                    try:
                        chunk = c.recv(1 << 20)
                    except (ConnectionResetError, socket.timeout):
                        break
                    if not chunk:
                        break
                    data += chunk
                received += frames(data)
        finally:
            for c in conns:
                c.close()
            lsock.close()
        self.assertRegex(said, r"is failing: (the server acknowledged nothing for 3 s \(\d+ "
                               r"messages waiting\); messages wait for it|the server took nothing "
                               r"for 1 s; its messages are counted as dropped)")
        sent, dropped, waiting, failures = syslog_summary(m.stderr)
        self.assertEqual((sent + dropped, waiting), (len(m.events()), 0))
        self.assertGreater(dropped, 0)
        self.assertEqual(received, sent, "received %d, sent %d, dropped %d" % (received, sent, dropped))
        print("syslog: a server that reads nothing: sent=%d dropped=%d received=%d" %
              (sent, dropped, received))


def frames(data):
    """Whole octet-counted frames in data ("LEN MSG")."""
    n, pos = 0, 0
    while True:
        sp = data.find(b" ", pos)
        if sp < 0:
            return n
        size = int(data[pos:sp])
        if sp + 1 + size > len(data):
            return n
        n += 1
        pos = sp + 1 + size


def wait_until(pred, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


class SyslogErrors(unittest.TestCase):
    def run_monitor(self, *args):
        p = subprocess.run([MONITOR] + list(args), capture_output=True, timeout=60)
        return p.returncode, p.stderr.decode("utf-8", "replace")

    def test_unreachable_tcp_fails_at_start(self):
        port = free_port(socket.SOCK_STREAM)  # nothing listens there
        rc, err = self.run_monitor("--syslog", "tcp:127.0.0.1:%d" % port)
        self.assertEqual(rc, 1, err)
        self.assertEqual(err, "ksysmon: syslog tcp:127.0.0.1:%d: cannot connect: "
                              "Connection refused\n" % port)

    def test_missing_unix_socket_fails_at_start(self):
        rc, err = self.run_monitor("--syslog=unix:/nonexistent/ksysmon/log")
        self.assertEqual(rc, 1, err)
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn("cannot connect: No such file or directory", err)

    def test_bad_target_syntax_exits_2(self):
        for target, reason in (("tcp:host", "missing ':PORT'"),
                               ("host:70000", "port must be a number from 1 to 65535"),
                               ("::1:514", "an IPv6 address needs brackets"),
                               ("unix:", "empty socket path")):
            rc, err = self.run_monitor("--syslog", target)
            self.assertEqual(rc, 2, err)
            self.assertIn(reason, err)
            self.assertIn(target, err)


if __name__ == "__main__":
    unittest.main()
