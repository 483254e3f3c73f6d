"""One control-character policy for every view: the JSON line, the text
line and the syslog message of the same exec escape the same characters
(C0, DEL, C1, U+2028/2029, U+202A..202E, U+2066..2069), in arguments and
in paths, and the JSON view still gives back the exact bytes."""
import json
import os
import shutil
import socket
import tempfile
import threading
import time
import unittest

from harness import Monitor
from test_core import fork_exec
from test_syslog import escaped, text_escape

TRUE = os.path.realpath("/bin/true")

# one of each kind, alone and inside other text
ODD = ["\x1b[31m", "\x7f", "\u009b31m", "a\u0085b", "\u2028", "\u2029", "x\u202ey",
       "\u202a\u202b\u202c\u202d", "\u2066\u2067\u2068\u2069", "ok\u00a0\u2027\u202f\u206a"]


def raw_set_members(data):
    """Code points of the escaped set that appear unescaped in data (bytes)."""
    text = data.decode("utf-8", "surrogateescape")
    return sorted({hex(ord(c)) for c in text if escaped(ord(c)) and c != "\n"})


class SyslogSocket:
    """A unix datagram socket standing in for /dev/log, drained by a
    thread while the monitor runs: the machine's other execs must not fill
    its queue (a full queue makes the monitor drop messages)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ksysmon-esc.")
        self.path = os.path.join(self.dir, "log")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.got = []
        self.done = threading.Event()
        self.reader = threading.Thread(target=self.drain, daemon=True)
        self.reader.start()

    def drain(self):
        while not self.done.is_set():
            try:
                self.got.append(self.sock.recv(1 << 20))
            except socket.timeout:
                pass

    def messages(self):
        """What arrived, once nothing more has for a while."""
        n = -1
        while n != len(self.got):
            n = len(self.got)
            time.sleep(0.5)
        self.done.set()
        self.reader.join()
        return self.got

    def close(self):
        self.done.set()
        self.reader.join()
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class OneEscapePolicy(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ksysmon-esc.")
        # a program whose directory name holds a C1 control and a bidi override
        d = os.path.join(self.tmp, "bin\u009b\u202e")
        os.mkdir(d)
        self.prog = os.path.join(d, "true\u2028")
        shutil.copy(TRUE, self.prog)
        os.chmod(self.prog, 0o755)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_views(self, fmt):
        log = SyslogSocket()
        try:
            with Monitor("--events", "process_exec", "--syslog", "unix:" + log.path,
                         fmt=fmt) as m:
                pid, st = fork_exec(self.prog, [self.prog] + ODD)
                self.assertEqual(st, 0)
            self.assertEqual(m.returncode, 0, m.stderr)
            msgs = [x for x in log.messages() if (" pid=\"%d\"" % pid).encode() in x]
        finally:
            log.close()
        self.assertEqual(len(msgs), 1, msgs)
        return pid, m.stdout, msgs[0]

    def test_json_text_and_syslog_escape_the_same_set(self):
        pid, out, msg = self.run_views("json")
        line = [l for l in out.split(b"\n") if b'"pid":%d,' % pid in l]
        self.assertEqual(len(line), 1)
        # JSON: nothing of the set raw, each as \uXXXX, the bytes exact
        self.assertEqual(raw_set_members(line[0]), [])
        for u in ("\\u001b", "\\u007f", "\\u009b", "\\u0085", "\\u2028", "\\u2029",
                  "\\u202e", "\\u202a", "\\u2066", "\\u2069"):
            self.assertIn(u.encode(), line[0])
        ev = json.loads(line[0])
        self.assertEqual(ev["argv"], [self.prog] + ODD)
        self.assertEqual(ev["image"], self.prog)
        self.assertEqual(ev["filename"], self.prog)
        # syslog: the text escaper's values, nothing of the set raw
        self.assertEqual(raw_set_members(msg), [])
        sd = lambda v: text_escape(v).replace("\\", "\\\\")  # RFC 5424 PARAM-VALUE
        self.assertIn(('image="%s"' % sd(self.prog)).encode(), msg)
        self.assertIn((' cmdline="%s"' % sd(" ".join([self.prog] + ODD))).encode(), msg)
        self.assertIn(b"\\xc2\\x9b31m", msg)
        self.assertIn(b"x\\xe2\\x80\\xaey", msg)
        self.assertIn(b"ok\xc2\xa0\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xaa", msg)  # neighbours

    def test_text_view(self):
        pid, out, msg = self.run_views("text")
        line = [l for l in out.split(b"\n") if b"Process %d Exec" % pid in l]
        self.assertEqual(len(line), 1)
        self.assertEqual(raw_set_members(line[0]), [])
        want = "Process %d Exec %s: " % (pid, text_escape(self.prog))
        self.assertIn(want.encode(), line[0])
        # an argument holding one of the set is quoted, as one with a space
        for a in ODD[:-1]:
            self.assertIn(('"%s"' % text_escape(a)).encode(), line[0])
        self.assertTrue(line[0].endswith(text_escape(ODD[-1]).encode()))
        # the syslog MSG is this same line
        self.assertTrue(msg.endswith(line[0].split(b": ", 1)[1]), msg)


if __name__ == "__main__":
    unittest.main()
