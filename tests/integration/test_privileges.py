"""Least privilege: ksysmon needs capabilities, not uid 0 (each missing one
is named with its use), and once its programs are attached it keeps only
those it still uses, in every set (effective, permitted, bounding), with
no_new_privs; events, reloads and exec denial go on without the rest."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import MONITOR, Monitor, run_workload

TRUE = os.path.realpath("/bin/true")
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

CAPS = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
        "CAP_SYS_PTRACE": 19, "CAP_SYS_ADMIN": 21, "CAP_BPF": 39}


def cap_sets(pid):
    """{'CapEff': set of numbers, ...} and NoNewPrivs of a process."""
    sets = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"):
                bits = int(v, 16)
                sets[k] = {c for c in range(64) if bits >> c & 1}
            elif k == "NoNewPrivs":
                sets[k] = int(v)
    return sets


# bpf(BPF_MAP_LOOKUP_ELEM) on fd -1: EBADF where the kernel lets a process
# use the maps it holds without CAP_BPF, EPERM where every bpf() call needs
# it (5.10 with unprivileged BPF disabled)
BPF_PROBE = """
import ctypes, os, platform
libc = ctypes.CDLL(None, use_errno=True)
nr = {"x86_64": 321, "aarch64": 280}[platform.machine()]
libc.syscall(nr, 1, ctypes.create_string_buffer(b"\\xff" * 4 + bytes(124)), 128)
print(os.strerror(ctypes.get_errno()))
"""


def bpf_needs_cap_bpf():
    """Measured in a process without CAP_BPF and CAP_SYS_ADMIN."""
    out = subprocess.run(["setpriv", "--bounding-set=-bpf,-sys_admin", "--inh-caps=-bpf,-sys_admin",
                          "python3", "-c", BPF_PROBE], capture_output=True, text=True, check=True).stdout
    assert out.strip() in ("Bad file descriptor", "Operation not permitted"), out
    return out.strip() == "Operation not permitted"


def ambient(*caps):
    c = ",".join("+" + x for x in caps)
    return NOBODY + ["--inh-caps=" + c, "--ambient-caps=" + c]


class Privileges(unittest.TestCase):
    def setUp(self):
        self.bpf = {CAPS["CAP_BPF"]} if bpf_needs_cap_bpf() else set()
        self.dir = tempfile.mkdtemp(prefix="ksysmon-priv.")
        os.chown(self.dir, 65534, 65534)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_missing_capabilities_are_named(self):
        r = subprocess.run(ambient("bpf") + [MONITOR], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.splitlines(), [
            "ksysmon: missing CAP_PERFMON (to attach the BPF tracing programs), CAP_SYS_PTRACE "
            "(to read every process's /proc entries); run as root or grant them "
            "(AmbientCapabilities= of a unit, setpriv --ambient-caps)"])
        r = subprocess.run(ambient("bpf", "perfmon", "sys_ptrace") + [MONITOR, "--deny", "/x/*"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"^ksysmon: missing CAP_SYS_ADMIN \(for fanotify exec decisions \(--deny\)\);")

    def test_runs_without_root_with_its_capabilities(self):
        out = os.path.join(self.dir, "out.json")
        err = os.path.join(self.dir, "err")
        with open(err, "wb") as e:
            p = subprocess.Popen(ambient("bpf", "perfmon", "sys_ptrace") +
                                 [MONITOR, "-f", "json", "-l", "20", "-o", out], stderr=e)
        try:
            deadline = time.monotonic() + 60
            while b"ready" not in open(err, "rb").read():
                self.assertIsNone(p.poll(), open(err).read())
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.02)
            self.assertEqual(cap_sets(p.pid)["CapEff"], {CAPS["CAP_SYS_PTRACE"]} | self.bpf)
            pid, _, _ = run_workload("exec-storm", 1, TRUE)
            time.sleep(0.3)
        finally:
            p.send_signal(signal.SIGINT)
            self.assertEqual(p.wait(timeout=60), 0)
        st = os.stat(out)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (65534, 0o600))
        with open(out) as f:
            self.assertIn('"ppid":%d' % pid, f.read())

    def test_capabilities_given_up_once_attached(self):
        keep = {CAPS["CAP_DAC_OVERRIDE"], CAPS["CAP_FOWNER"], CAPS["CAP_SYS_PTRACE"]} | self.bpf
        with Monitor() as m:
            sets = cap_sets(m.proc.pid)
            m.proc.send_signal(signal.SIGHUP)  # reopening needs none of the rest
            time.sleep(0.3)
        self.assertEqual(m.returncode, 0, m.stderr)
        self.assertIn("ksysmon: reloaded\n", m.stderr)
        for k in ("CapEff", "CapPrm", "CapBnd"):
            self.assertEqual(sets[k], keep, k)
        self.assertEqual((sets["CapInh"], sets["CapAmb"], sets["NoNewPrivs"]), (set(), set(), 1))
        # exec decisions and digests keep what they use
        denied = os.path.join(self.dir, "denied")
        shutil.copy(TRUE, denied)
        with Monitor("--deny", denied, "--hash", "sha256") as m:
            sets = cap_sets(m.proc.pid)
            with self.assertRaises(PermissionError):
                subprocess.run([denied])
        # (CAP_SYS_ADMIN opens bpf() as CAP_BPF does: the latter is never kept with it)
        self.assertEqual(sets["CapEff"], (keep - self.bpf) | {CAPS["CAP_SYS_ADMIN"], CAPS["CAP_DAC_READ_SEARCH"]})
        self.assertIn('"type":"exec_blocked"', m.stdout.decode())


if __name__ == "__main__":
    unittest.main()
