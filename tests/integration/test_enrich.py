"""Enrichment and process identity (issue "Rules, enrichment and process
identity"): parent lineage, cwd, users, exit context, GUIDs across pid
reuse."""
import os
import subprocess
import tempfile
import time
import unittest

from harness import (MONITOR, WORKLOAD, Monitor, Mounts, by_pid, one, run_held, run_workload,
                     unique_copy)

STATIC = os.path.join(os.path.dirname(WORKLOAD), "workload-static")


def sha256_of(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()

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


class ParentFacts(unittest.TestCase):
    def test_parent_that_exits_at_once(self):
        # the parent ends right after creating the child, which execs at
        # once: whichever came first, the exec event names its parent at
        # that moment (ppid) and what that parent was running
        for _ in range(3):
            self.check_orphans(300)

    def check_orphans(self, n):
        with Monitor("--events", "process_create,process_exec,process_exit") as m:
            pid, vals, rc = run_workload("orphans", n, TRUE, "orphan")
        self.assertEqual(rc, 0)
        mids = {int(x) for x in vals["mid"]}
        self.assertEqual(len(mids), n)
        evs = m.events()
        execs = [e for e in evs if e["type"] == "process_exec" and e["argv"] == [TRUE, "orphan"]]
        self.assertEqual(len(execs), n)
        cmdline = "%s orphans %d %s orphan" % (WORKLOAD, n, TRUE)
        reparented = 0
        for e in execs:
            if e["ppid"] in mids:
                self.assertEqual((e.get("parent_image"), e.get("parent_cmdline")),
                                 (WORKLOAD, cmdline), e)
            else:  # the parent had gone: the child's new parent (init)
                reparented += 1
                try:
                    want = os.readlink("/proc/%d/exe" % e["ppid"])
                except PermissionError:  # init's exe is hidden here: its argv[0]
                    with open("/proc/%d/cmdline" % e["ppid"], "rb") as f:
                        want = f.read().split(b"\0")[0].decode()
                self.assertEqual(e.get("parent_image"), want, e)
        print("parent_facts: %d of %d children exec'd after their parent ended" % (reparented, n))


def seeded_guid(pid):
    """The identity ksysmon gives a process already running when it
    started: boot id, start from /proc (clock ticks), pid."""
    with open("/proc/%d/stat" % pid) as f:
        ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    start = ticks * (10**9 // os.sysconf("SC_CLK_TCK"))
    h = boot_prefix() + "%016x" % start + "%08x" % pid
    return "-".join((h[:8], h[8:12], h[12:16], h[16:20], h[20:]))


class CloneParent(unittest.TestCase):
    """clone3(CLONE_PARENT): the child's parent is its creator's parent,
    but until it execs the child runs its creator's program.  Its image and
    command line (its exit's image, its own children's parent_cmdline) are
    the creator's, as /proc/CHILD shows them; the parent fields stay the
    real parent's; creator_guid names the creator exactly.  Live and in a
    replay, from the first thread and from a second one, for a creator
    started while ksysmon watched and for one already running before."""

    def run_case(self, variant, before):
        cap = tempfile.mktemp(prefix="ksysmon-clone.")
        argv = [WORKLOAD, "wait-stdin", "clone-parent", *variant, "--stay", TRUE, "grandchild"]
        p = None
        if before:  # running (and exec'd) before ksysmon starts: seeded from /proc
            p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            self.assertTrue(p.stdout.readline().startswith(b"pid="))
        try:
            with Monitor("-w", cap, "--print") as m:
                if not before:
                    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                    self.assertTrue(p.stdout.readline().startswith(b"pid="))
                p.stdin.write(b"go\n")  # wait-stdin: now clone
                p.stdin.flush()
                vals = {}
                while "child" not in vals:
                    k, _, v = p.stdout.readline().decode().strip().partition("=")
                    vals[k] = v
                creator, child, tid = p.pid, int(vals["child"]), int(vals["tid"])
                self.assertEqual(p.wait(timeout=30), 0)  # the creator; the child lives on
                # the child's own view, while it runs the creator's program
                truth = {"exe": os.readlink("/proc/%d/exe" % child),
                         "cmdline": joined_cmdline(child),
                         "parent_guid": seeded_guid(os.getpid())}
                p.stdin.write(b"go\n")  # the child: now fork the grandchild
                p.stdin.close()
                out = p.stdout.read().decode()
                grandchild = int(out.split("grandchild=")[1].split()[0])
                _, st = os.waitpid(child, 0)  # ours: CLONE_PARENT made it so
                self.assertEqual(os.WEXITSTATUS(st), 3)
            self.assertEqual(m.returncode, 0, m.stderr)
            replayed = subprocess.run([MONITOR, "-r", cap, "-f", "json"], capture_output=True,
                                      check=True).stdout
        finally:
            if p and p.poll() is None:
                p.kill()
            if os.path.exists(cap):
                os.unlink(cap)
        self.assertEqual(replayed, m.stdout)
        evs = m.events()
        self.assertEqual(truth["exe"], os.path.realpath(WORKLOAD))
        cr = one(evs, child, "process_create")
        self.assertEqual((cr["ppid"], cr["parent_tid"], cr["creator_pid"]),
                         (os.getpid(), tid, creator))
        self.assertEqual(cr["parent_guid"], truth["parent_guid"])
        self.assertEqual(cr["creator_guid"], one(evs, creator, "process_exit")["process_guid"])
        if not before:
            self.assertEqual(cr["creator_guid"], one(evs, creator, "process_exec")["process_guid"])
        x = one(evs, child, "process_exit")
        self.assertEqual((x["image"], x["exit_code"]), (truth["exe"], 3))
        self.assertNotIn("image_deleted", x)
        g = one(evs, grandchild, "process_exec")
        self.assertEqual((g["ppid"], g["parent_guid"]), (child, cr["process_guid"]))
        self.assertEqual(g["parent_image"], truth["exe"])
        self.assertEqual(g["parent_cmdline"], truth["cmdline"])
        self.assertEqual(g["argv"], [TRUE, "grandchild"])

    def test_child_runs_its_creators_program(self):
        for variant in ([], ["--thread"]):
            for before in (False, True):
                with self.subTest(variant=variant, before=before):
                    self.run_case(variant, before)


def joined_cmdline(pid):
    """/proc/PID/cmdline as ksysmon joins arguments: by single spaces."""
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().rstrip(b"\0").replace(b"\0", b" ").decode()


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
            # alive while its events are handled: a file is read only
            # through the process's own view of it
            pid, vals, rc = run_held([WORKLOAD, "hold", "mprotect-exec", big])
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
        # /usr/bin/true was read once, then came from the cache; the only
        # errors are images of the two short-lived processes, mapped by a
        # process gone before they could be opened through it (and not
        # read before: their identity was not in the cache)
        errors = [e for e in evs if "sha256_error" in e and e["pid"] in (p1.pid, p2.pid, pid)]
        self.assertTrue(all(e["pid"] in (p1.pid, p2.pid) and e["type"] == "image_load" and
                            e["sha256_error"] == "gone" for e in errors), errors)
        self.assertRegex(m.stderr, r"ksysmon: hash: computed=\d+ cached=[1-9]\d* failed=\d+")
        os.unlink(big)
        os.rmdir(tmp)

    def test_each_exec_gets_its_own_files_digest(self):
        # the shell execs again at once: /proc/PID/exe is then the second
        # program, never to be taken for the first
        sleep = os.path.realpath("/bin/sleep")
        with Monitor("--hash", "sha256", "--events", "process_exec") as m:
            runs = []
            for prog, args in ((sleep, "0.3"), (TRUE, "x"), (sleep, "0")):
                p = subprocess.Popen([SH, "-c", 'exec %s %s' % (prog, args)])
                p.wait()
                runs.append((p.pid, prog))
        evs = m.events()
        for pid, prog in runs:
            execs = by_pid(evs, pid, "process_exec")
            self.assertEqual([e["image"] for e in execs], [SH, prog])
            for e in execs:
                self.assertEqual(e.get("sha256"), sha256_of(e["image"]), e)

    def chroot_copy(self, tmp, name):
        """A chroot with its own /usr/bin/env: a unique copy of the static
        workload, so that no other file has its digest."""
        root = os.path.join(tmp, name)
        os.makedirs(os.path.join(root, "usr/bin"))
        env = os.path.join(root, "usr/bin/env")
        unique_copy(STATIC, env)
        os.chmod(env, 0o755)
        return root, env

    def test_chroot_digest_is_of_its_own_file_or_an_error(self):
        tmp = tempfile.mkdtemp(prefix="ksysmon-hash.")
        try:
            live_root, live_env = self.chroot_copy(tmp, "live")
            gone_root, gone_env = self.chroot_copy(tmp, "gone")
            with Monitor("--hash", "sha256", "--events", "process_exec,image_load") as m:
                # alive while its events are handled: the digest of its file
                live = subprocess.Popen(["chroot", live_root, "/usr/bin/env", "wait-stdin",
                                         "exit", "0"], stdin=subprocess.PIPE,
                                        stdout=subprocess.DEVNULL)
                time.sleep(1)
                live.communicate(b"go\n")
                # gone before: an error, never the host's /usr/bin/env
                gone = subprocess.Popen(["chroot", gone_root, "/usr/bin/env", "exit", "0"])
                gone.wait()
            evs = m.events()
            host = sha256_of("/usr/bin/env")
            ex = by_pid(evs, live.pid, "process_exec")[-1]
            self.assertEqual(ex["image"], "/usr/bin/env")
            self.assertEqual(ex.get("sha256"), sha256_of(live_env), ex)
            img = [e for e in by_pid(evs, live.pid, "image_load") if e["path"] == "/usr/bin/env"]
            self.assertEqual([e.get("sha256") for e in img], [sha256_of(live_env)])
            for e in by_pid(evs, gone.pid):
                if e.get("image", e.get("path")) == "/usr/bin/env":
                    self.assertNotEqual(e.get("sha256"), host, e)
                    self.assertIn(e.get("sha256") or e.get("sha256_error"),
                                  (sha256_of(gone_env), "gone"), e)
        finally:
            subprocess.call(["rm", "-rf", tmp])

    def test_overlay_program_and_library_digests(self):
        tmp = tempfile.mkdtemp(prefix="ksysmon-hash.")
        mounts = Mounts()
        try:
            lower = os.path.join(tmp, "lower")
            os.makedirs(lower)
            unique_copy(WORKLOAD, os.path.join(lower, "prog"))
            os.chmod(os.path.join(lower, "prog"), 0o755)
            unique_copy(os.path.realpath("/lib/x86_64-linux-gnu/libz.so.1"),
                        os.path.join(lower, "libz-copy.so"))
            merged = mounts.overlay(tmp)
            prog, lib = os.path.join(merged, "prog"), os.path.join(merged, "libz-copy.so")
            with Monitor("--hash", "sha256", "--events", "all") as m:
                pid, _, rc = run_held([prog, "hold", "dlopen", lib])
            self.assertEqual(rc, 0)
            evs = m.events()
            self.assertEqual(one(evs, pid, "process_exec")["sha256"], sha256_of(prog))
            got = {e["path"]: e.get("sha256", e.get("sha256_error"))
                   for e in by_pid(evs, pid, "image_load")}
            self.assertEqual(got.get(prog), sha256_of(prog), got)
            self.assertEqual(got.get(lib), sha256_of(lib), got)
        finally:
            mounts.undo()
            subprocess.call(["rm", "-rf", tmp])

    def test_bad_hash_name(self):
        from harness import MONITOR
        r = subprocess.run([MONITOR, "--hash", "md5"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.strip(), "ksysmon: invalid --hash 'md5' (expected sha256)")


if __name__ == "__main__":
    unittest.main()
