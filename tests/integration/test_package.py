"""The Debian package, end to end: built from a clean copy of the tree by
dpkg-buildpackage, checked by lintian (no error), installed with dpkg -i
(binary, man pages, unit, default configuration, logrotate file), the unit
verified by systemd-analyze, ksysmon started as the unit starts it (its
ExecStart, with its environment file and umask, readiness on a notify
socket), rotated by the packaged logrotate file under an exec storm
(every exec in exactly one file, lines equal to the events counted), then
purged (nothing left).  Also `make install`/`make uninstall` into a
scratch prefix."""
import glob
import gzip
import json
import os
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import unittest

from harness import ROOT, WORKLOAD

TRUE = os.path.realpath("/bin/true")
UNIT = "/lib/systemd/system/ksysmon.service"
LOG = "/var/log/ksysmon/ksysmon.json"
INSTALLED = ["/usr/sbin/ksysmon", "/usr/share/man/man8/ksysmon.8.gz",
             "/usr/share/man/man5/ksysmon.yaml.5.gz", UNIT, "/etc/ksysmon/ksysmon.yaml",
             "/etc/default/ksysmon", "/etc/logrotate.d/ksysmon"]


def clean_copy(dst):
    """The tree as a checkout has it: without build products."""
    shutil.copytree(ROOT, dst, symlinks=True,
                    ignore=shutil.ignore_patterns("build", ".git", "__pycache__", "*.pyc"))


def dpkg(*args):
    """dpkg, waiting while another package tool holds the lock."""
    deadline = time.monotonic() + 300
    while True:
        p = subprocess.run(["dpkg"] + list(args), capture_output=True,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        if p.returncode == 0 or b"lock" not in p.stderr or time.monotonic() > deadline:
            return p
        time.sleep(2)


def unit_value(text, key):
    m = re.search(r"^%s=(.*)$" % key, text, re.M)
    assert m, key
    return m.group(1)


def events_of(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if data:
        assert data.endswith(b"\n"), path
    return [json.loads(x) for x in data.decode("utf-8", "surrogateescape").splitlines()]


class Package(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ksysmon-deb.")
        src = os.path.join(cls.dir, "ksysmon")
        clean_copy(src)
        p = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src,
                           capture_output=True, timeout=900)
        assert p.returncode == 0, p.stderr.decode()[-3000:]
        debs = glob.glob(os.path.join(cls.dir, "ksysmon_*_amd64.deb"))
        assert len(debs) == 1, debs
        cls.deb = debs[0]
        cls.changes = glob.glob(os.path.join(cls.dir, "ksysmon_*_amd64.changes"))[0]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def test_lintian_finds_no_error(self):
        p = subprocess.run(["lintian", "--allow-root", self.changes], capture_output=True)
        out = p.stdout.decode()
        errors = [x for x in out.splitlines() if x.startswith("E:")]
        self.assertEqual(errors, [], out)
        self.assertEqual(p.returncode, 0, out + p.stderr.decode())
        self.assertNotIn("E:", p.stderr.decode())

    def test_install_run_rotate_purge(self):
        dpkg("--purge", "ksysmon")  # a run cut short before left it
        p = dpkg("-i", self.deb)
        self.assertEqual(p.returncode, 0, p.stderr)
        try:
            self.installed()
            self.run_as_the_unit()
        finally:
            p = dpkg("--purge", "ksysmon")
        self.assertEqual(p.returncode, 0, p.stderr)
        for path in INSTALLED + ["/etc/ksysmon", "/var/log/ksysmon"]:
            self.assertFalse(os.path.lexists(path), path)

    def installed(self):
        for path in INSTALLED:
            self.assertTrue(os.path.isfile(path), path)
        self.assertEqual(stat.S_IMODE(os.stat("/var/log/ksysmon").st_mode), 0o750)
        version = subprocess.run(["/usr/sbin/ksysmon", "--version"], capture_output=True,
                                 check=True).stdout.decode().split()[1]
        self.assertIn("ksysmon_%s-" % version, os.path.basename(self.deb))
        p = subprocess.run(["systemd-analyze", "verify", UNIT], capture_output=True)
        self.assertEqual((p.returncode, p.stderr), (0, b""))
        p = subprocess.run(["man", "--warnings", "-P", "cat", "ksysmon.yaml"], capture_output=True)
        self.assertEqual((p.returncode, p.stderr), (0, b""))

    def run_as_the_unit(self):
        """ExecStart as systemd would run it: its environment file, umask,
        a notify socket; logrotate -f with the packaged file during a storm."""
        with open(UNIT) as f:
            unit = f.read()
        self.assertEqual(unit_value(unit, "Type"), "notify")
        self.assertEqual(unit_value(unit, "ExecReload"), "/bin/kill -HUP $MAINPID")
        envfile = unit_value(unit, "EnvironmentFile").lstrip("-")
        cmd = ". %s; umask %s; exec %s" % (shlex.quote(envfile), unit_value(unit, "UMask"),
                                          unit_value(unit, "ExecStart"))
        sock_path = os.path.join(self.dir, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        sock.settimeout(60)
        err_path = os.path.join(self.dir, "stderr")
        with open(err_path, "wb") as err:
            mon = subprocess.Popen(["sh", "-c", cmd], stderr=err,
                                   env=dict(os.environ, NOTIFY_SOCKET=sock_path))
        try:
            self.assertEqual(sock.recv(4096), b"READY=1")
            with open(err_path) as f:
                self.assertIn("ksysmon: ready\n", f.read())  # said before
            st = os.stat(LOG)
            self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (0, 0o600))
            env = dict(os.environ, WORKLOAD_IDS=os.path.join(self.dir, "ids"), WORKLOAD_RATE="1500")
            storm = subprocess.Popen([WORKLOAD, "exec-storm", "3000", TRUE], env=env,
                                     stdout=subprocess.DEVNULL)
            state = os.path.join(self.dir, "logrotate.state")
            for i in range(2):
                time.sleep(0.5)
                p = subprocess.run(["logrotate", "-f", "-s", state, "/etc/logrotate.d/ksysmon"],
                                   capture_output=True)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(sock.recv(4096), b"RELOADING=1")
                self.assertEqual(sock.recv(4096), b"READY=1")
            self.assertEqual(storm.wait(timeout=120), 0)
            time.sleep(0.3)
            mon.send_signal(signal.SIGTERM)
            self.assertEqual(mon.wait(timeout=60), 0)
            self.assertEqual(sock.recv(4096), b"STOPPING=1")
        finally:
            if mon.poll() is None:
                mon.kill()
            sock.close()
        with open(err_path) as f:
            stderr = f.read()
        self.assertEqual(stderr.count("ksysmon: reloaded\n"), 2, stderr)
        files = [LOG, LOG + ".1", LOG + ".2.gz"]
        self.assertEqual(sorted(glob.glob(LOG + "*")), sorted(files))
        evs = []
        for path in files:
            evs += events_of(path)
        summary = re.findall(r"(?m)^ksysmon: summary:(.*)$", stderr)[-1]
        counted = sum(int(kv.split("=")[1]) for kv in summary.split())
        self.assertEqual(len([e for e in evs if e["type"] != "events_lost"]), counted)
        self.assertNotIn("not written", stderr)
        with open(os.path.join(self.dir, "ids")) as f:
            ids = sorted(int(x) for x in f)
        self.assertEqual(len(ids), 3000)
        execs = sorted(e["pid"] for e in evs if e["type"] == "process_exec" and e["image"] == TRUE
                       and e["pid"] in set(ids))
        self.assertEqual(execs, ids)


class BpfObject(unittest.TestCase):
    def test_builds_for_every_architecture_in_the_tree(self):
        """The kept kernel types of each architecture compile the programs,
        whatever kernel this machine runs."""
        archs = sorted(os.listdir(os.path.join(ROOT, "src/bpf/vmlinux")))
        archs = [a for a in archs if os.path.isdir(os.path.join(ROOT, "src/bpf/vmlinux", a))]
        self.assertEqual(archs, ["arm64", "x86"])
        for arch in archs:
            d = tempfile.mkdtemp(prefix="ksysmon-bpf.")
            try:
                p = subprocess.run(["make", "-s", "-C", ROOT, "BUILD=" + d, "ARCH=" + arch,
                                    d + "/ksysmon.skel.h"], capture_output=True)
                self.assertEqual(p.returncode, 0, p.stderr)
                with open(d + "/ksysmon.bpf.o", "rb") as f:
                    elf = f.read(20)
                # an ELF object for e_machine EM_BPF (247)
                self.assertEqual((elf[:4], elf[18:20]), (b"\x7fELF", (247).to_bytes(2, "little")), arch)
            finally:
                shutil.rmtree(d)


class MakeInstall(unittest.TestCase):
    def test_install_and_uninstall_into_a_prefix(self):
        d = tempfile.mkdtemp(prefix="ksysmon-install.")
        try:
            paths = ["PREFIX=%s/usr" % d, "SYSCONFDIR=%s/etc" % d, "LOGDIR=%s/log" % d]
            p = subprocess.run(["make", "-s", "-C", ROOT, "install"] + paths, capture_output=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            unit = "%s/usr/lib/systemd/system/ksysmon.service" % d
            with open(unit) as f:
                self.assertIn("ExecStart=%s/usr/sbin/ksysmon --config %s/etc/ksysmon/ksysmon.yaml" % (d, d),
                              f.read())
            p = subprocess.run(["systemd-analyze", "verify", "--man=no", unit], capture_output=True)
            self.assertEqual((p.returncode, p.stderr), (0, b""))
            with open("%s/etc/ksysmon/ksysmon.yaml" % d, "a") as f:
                f.write("# the administrator's\n")
            p = subprocess.run(["make", "-s", "-C", ROOT, "install"] + paths, capture_output=True)
            self.assertIn(b"keeping", p.stdout)
            with open("%s/etc/ksysmon/ksysmon.yaml" % d) as f:
                self.assertIn("# the administrator's", f.read())
            p = subprocess.run(["make", "-s", "-C", ROOT, "uninstall"] + paths, capture_output=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            left = sorted(os.path.relpath(os.path.join(r, f), d)
                          for r, _, fs in os.walk(d) for f in fs)
            self.assertEqual(left, ["etc/default/ksysmon", "etc/ksysmon/ksysmon.yaml"])
        finally:
            shutil.rmtree(d)


if __name__ == "__main__":
    unittest.main()
