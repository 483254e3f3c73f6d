"""Optional features on this kernel: each either works, checked against the
truth, or is off with one line saying why while everything else runs.
(The same checks on other kernels: tests/kernels.)"""
import errno
import os
import subprocess
import unittest

import test_deny
import test_image
from harness import MONITOR, WORKLOAD, Monitor, by_pid, run_workload


def active_lsms():
    """The kernel's active LSMs, read independently of ksysmon."""
    path = "/sys/kernel/security/lsm"
    if not os.path.exists(path):
        subprocess.call(["mount", "-t", "securityfs", "securityfs", "/sys/kernel/security"])
    with open(path) as f:
        return f.read().strip().split(",")


class ImageHooks(unittest.TestCase):
    check = test_image.ImageLoads.check
    check_dlopen = test_image.ImageLoads.check_dlopen
    check_mprotect = test_image.ImageLoads.check_mprotect

    def test_raw_hook_matches_dl_iterate_phdr(self):
        self.check_dlopen("--image-hook", "raw")
        self.check_mprotect("--image-hook", "raw")

    def test_fexit_hook_works_or_says_it_is_off(self):
        with Monitor("--events", "image_load,process_exec", "--image-hook", "fexit") as m:
            pid, _, rc = run_workload("dlopen", "libz.so.1")
        self.assertEqual(rc, 0)
        self.assertEqual(m.returncode, 0, m.stderr)
        off = [l for l in m.stderr.splitlines() if "image loads are not reported on this kernel" in l]
        if not off:
            # the kernel attaches fexit: the same facts as the other hooks
            self.check_dlopen("--image-hook", "fexit")
            self.check_mprotect("--image-hook", "fexit")
            return
        # one line, naming what was refused; the rest of the sensor runs
        self.assertEqual(len(off), 1, m.stderr)
        self.assertIn("fexit", off[0])
        evs = m.events()
        self.assertEqual([e for e in evs if e["type"] == "image_load"], [])
        execs = by_pid(evs, pid, "process_exec")
        self.assertEqual(len(execs), 1, m.stderr)
        self.assertEqual(execs[0]["image"], os.path.realpath(WORKLOAD))

    def test_default_hook_says_when_it_falls_back(self):
        """auto takes fexit where it can; otherwise it says which hook it
        took instead and why, and image loads are right."""
        with Monitor("--events", "image_load") as m:
            pass
        lines = [l for l in m.stderr.splitlines() if l.startswith("ksysmon: image loads")]
        self.assertLessEqual(len(lines), 1, m.stderr)
        if lines:
            self.assertRegex(lines[0], r"^ksysmon: image loads are caught by .* on this kernel "
                             r"\(.*\), not fexit on mmap and mprotect: .+$")
        self.check_dlopen()


class DenyEngines(test_deny.DenyTest):
    """--deny-engine lsm and auto against the kernel's own list of LSMs."""

    def test_lsm_engine_works_or_is_refused_in_one_line(self):
        lsms = active_lsms()
        r = subprocess.run([MONITOR, "--deny", self.pattern, "--deny-engine", "lsm"],
                           capture_output=True, text=True, timeout=60,
                           input="") if "bpf" not in lsms else None
        if r is not None:
            # the kernel does not run BPF LSM programs: refused, exit 1
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
            self.assertIn("--deny-engine lsm is not possible on this kernel", r.stderr)
            self.assertIn("does not run BPF LSM programs", r.stderr)
            return
        m = test_deny.Monitor(self.dir, "--deny", self.pattern, "--deny-engine", "lsm")
        self.monitors.append(m)
        try:
            m.start()
        except RuntimeError:
            # bpf is an active LSM but this kernel refuses the program:
            # one line naming the refusal, exit 1
            self.assertEqual(m.returncode, 1, m.stderr())
            lines = m.stderr().splitlines()
            self.assertEqual(len(lines), 1, lines)
            self.assertRegex(lines[0], r"^ksysmon: --deny-engine lsm is not possible on this kernel "
                             r"\(.*\): the kernel refused BPF-LSM at bprm_check_security \(deny_exec: .+\); "
                             r"use --deny-engine fanotify or auto$")
            return
        err, _, pid = test_deny.try_exec(self.evil)
        self.assertEqual(err, errno.EPERM)
        err, status, _ = test_deny.try_exec(self.fine)
        self.assertEqual(err, 0)
        self.stop_ok(m)
        evs = m.blocked()
        self.assertEqual([(e["pid"], e["path"], e["rule"], e["audit"]) for e in evs],
                         [(pid, self.evil, self.pattern, False)])

    def test_auto_engine_denies_whichever_decides(self):
        m = self.monitor("--deny", self.pattern, "--deny-engine", "auto")
        err, _, pid = test_deny.try_exec(self.evil)
        self.assertEqual(err, errno.EPERM)
        err, status, _ = test_deny.try_exec(self.fine)
        self.assertEqual(err, 0)
        self.assertTrue(test_deny.exited_ok(status))
        self.stop_ok(m)
        evs = m.blocked()
        self.assertEqual([(e["pid"], e["path"], e["rule"]) for e in evs], [(pid, self.evil, self.pattern)])
        fallback = [l for l in m.stderr().splitlines() if "--deny rules are decided by this process" in l]
        if "bpf" not in active_lsms():
            self.assertEqual(len(fallback), 1, m.stderr())

    def test_lsm_engine_rejects_patterns_beyond_its_limits(self):
        r = subprocess.run([MONITOR, "--deny", "/" + "[a]" * 9, "--deny-engine", "lsm"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.strip(), "ksysmon: invalid --deny for --deny-engine lsm: more than 8 "
                         "bracket expressions, the kernel engine's limit: '/%s'" % ("[a]" * 9))


def load_tests(loader, tests, pattern):
    """Only this module's own tests (DenyEngines inherits DenyTest's)."""
    suite = unittest.TestSuite()
    for cls in (ImageHooks, DenyEngines):
        for name in loader.getTestCaseNames(cls):
            if name in cls.__dict__:
                suite.addTest(cls(name))
    return suite


if __name__ == "__main__":
    unittest.main()
