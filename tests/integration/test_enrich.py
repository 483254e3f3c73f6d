"""Enrichment and process identity (issue "Rules, enrichment and process
identity"): parent lineage, cwd, users, exit context, GUIDs across pid
reuse."""
import os
import subprocess
import tempfile
import time
import unittest

from harness import WORKLOAD, Monitor, by_pid, one, run_workload

TRUE = os.path.realpath("/bin/true")
SH = os.path.realpath("/bin/sh")
GUID_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def boot_prefix():
    with open("/proc/sys/kernel/random/boot_id") as f:
        return f.read().strip().replace("-", "")[:8]


class Enrichment(unittest.TestCase):
    def test_lineage_through_three_execs(self):
        tmp = tempfile.mkdtemp(prefix="ksysmon-cwd.")
        with Monitor() as m:
            p = subprocess.Popen([SH, "-c", '%s -c "%s level3; :"; :' % (SH, TRUE)], cwd=tmp)
            p.wait()
        self.assertEqual(p.returncode, 0)
        evs = m.events()
        a = one(evs, p.pid, "process_exec")
        self.assertEqual(a["ppid"], os.getpid())
        execs = [e for e in evs if e["type"] == "process_exec"]
        b = [e for e in execs if e["ppid"] == p.pid]
        self.assertEqual(len(b), 1)
        b = b[0]
        c = [e for e in execs if e["ppid"] == b["pid"]]
        self.assertEqual(len(c), 1)
        c = c[0]
        # each level names its parent by image, command line and identity
        self.assertEqual(a["parent_image"], os.path.realpath("/proc/self/exe"))
        self.assertEqual(b["parent_image"], SH)
        self.assertEqual(b["parent_cmdline"], a["cmdline"])
        self.assertEqual(c["parent_image"], SH)
        self.assertEqual(c["parent_cmdline"], b["cmdline"])
        self.assertEqual(c["argv"], [TRUE, "level3"])
        self.assertEqual(b["parent_guid"], a["process_guid"])
        self.assertEqual(c["parent_guid"], b["process_guid"])
        for e in (a, b, c):
            self.assertRegex(e["process_guid"], GUID_RE)
            self.assertTrue(e["process_guid"].startswith(boot_prefix()))
            self.assertEqual(e["cwd"], os.path.realpath(tmp))
            self.assertEqual((e["user"], e["uid"], e["euid"]), ("root", 0, 0))
        # the create event of b carries the same identities
        cb = one(evs, b["pid"], "process_create")
        self.assertEqual(cb["process_guid"], b["process_guid"])
        self.assertEqual(cb["parent_guid"], a["process_guid"])
        # the exit event: image, start and duration
        xc = one(evs, c["pid"], "process_exit")
        self.assertEqual(xc["image"], TRUE)
        self.assertEqual(xc["process_guid"], c["process_guid"])
        self.assertLessEqual(xc["start_time"], c["time"])
        self.assertLess(xc["duration_ms"], 5000)
        os.rmdir(tmp)

    def test_exit_duration_and_euid_and_user(self):
        with Monitor() as m:
            t0 = time.time()
            p = subprocess.Popen(["setpriv", "--euid=65534", "/bin/sleep", "0.3"])
            p.wait()
            t1 = time.time()
        self.assertEqual(p.returncode, 0)
        evs = m.events()
        ex = by_pid(evs, p.pid, "process_exec")[-1]
        self.assertEqual(ex["image"], os.path.realpath("/bin/sleep"))
        self.assertEqual((ex["uid"], ex["euid"], ex["user"]), (0, 65534, "root"))
        x = one(evs, p.pid, "process_exit")
        self.assertEqual(x["image"], os.path.realpath("/bin/sleep"))
        self.assertGreaterEqual(x["duration_ms"], 300)
        self.assertLessEqual(x["duration_ms"], (t1 - t0) * 1000 + 50)

    def test_running_process_seeded_from_proc(self):
        # started before the monitor: its identity and image come from
        # /proc; it ends only when told to, once the monitor is ready
        p = subprocess.Popen([WORKLOAD, "wait-stdin", "exit", "0"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
        self.assertTrue(p.stdout.readline().startswith(b"pid="))
        t0 = time.monotonic()
        with Monitor() as m:
            time.sleep(max(0.0, 0.6 - (time.monotonic() - t0)))
            p.communicate(b"go\n")
        self.assertEqual(p.returncode, 0)
        evs = m.events()
        x = one(evs, p.pid, "process_exit")
        self.assertEqual(x["image"], os.path.realpath(WORKLOAD))
        self.assertRegex(x["process_guid"], GUID_RE)
        self.assertGreaterEqual(x["duration_ms"], 500)

    def test_guid_unique_across_pid_reuse(self):
        # fork until the kernel hands out an earlier child's pid again
        with Monitor("--events", "process_create,process_exit") as m:
            pid, vals, rc = run_workload("fork-until-reuse")
        self.assertEqual(rc, 0, vals)
        reused = int(vals["reused"][0])
        evs = [e for e in m.events() if e["pid"] == reused and e["type"] == "process_create"
               and e["ppid"] == pid]
        self.assertEqual(len(evs), 2, evs)
        self.assertNotEqual(evs[0]["process_guid"], evs[1]["process_guid"])
        exits = [e for e in m.events() if e["pid"] == reused and e["type"] == "process_exit"]
        self.assertEqual([e["process_guid"] for e in exits[-2:]],
                         [e["process_guid"] for e in evs])
        self.assertEqual(m.summary()["lost"]["total"], 0)

    def test_thread_and_image_events_carry_the_process_guid(self):
        with Monitor("--events", "all") as m:
            pid, vals, rc = run_workload("threads", 2)
        evs = m.events()
        guid = one(evs, pid, "process_exec")["process_guid"]
        for e in by_pid(evs, pid):
            self.assertEqual(e["process_guid"], guid, e)


class Hashing(unittest.TestCase):
    def test_hash_of_exec_and_images_matches_the_files(self):
        import hashlib
        tmp = tempfile.mkdtemp(prefix="ksysmon-hash.")
        big = os.path.join(tmp, "big-lib.so")
        with open(big, "wb") as f:  # large enough that hashing must wait for it
            f.write(b"\0" * (1 << 20))
        with Monitor("--hash", "sha256", "--events", "all") as m:
            p1 = subprocess.Popen([TRUE, "once"])
            p1.wait()
            p2 = subprocess.Popen([TRUE, "twice"])
            p2.wait()
            pid, vals, rc = run_workload("mprotect-exec", big)
        self.assertEqual(rc, 0)
        evs = m.events()

        def digest(path):
            with open(path, "rb") as f:
                return hashlib.sha256(f.read()).hexdigest()
        for p in (p1, p2):
            ex = by_pid(evs, p.pid, "process_exec")[-1]
            self.assertEqual(ex["sha256"], digest(TRUE))
        img = [e for e in by_pid(evs, pid, "image_load")]
        self.assertTrue(img)
        for e in img:
            self.assertEqual(e["sha256"], digest(e["path"].replace(" (deleted)", "")), e)
        self.assertIn(digest(big), [e["sha256"] for e in img])
        # /usr/bin/true was read once, then came from the cache
        self.assertRegex(m.stderr, r"ksysmon: hash: computed=\d+ cached=[1-9]\d* failed=0")
        os.unlink(big)
        os.rmdir(tmp)

    def test_bad_hash_name(self):
        from harness import MONITOR
        r = subprocess.run([MONITOR, "--hash", "md5"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.strip(), "ksysmon: invalid --hash 'md5' (expected sha256)")


if __name__ == "__main__":
    unittest.main()
