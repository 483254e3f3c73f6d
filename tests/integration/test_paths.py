"""Every resolved path says what state it is in, and equals what the
process itself sees at that moment: its /proc/self/exe, /proc/self/cwd,
/proc/self/maps and stat(2) of each mapped file, printed by the workload
("paths" mode) while the monitor records its exec and image loads.  Deleted
and renamed working directories, directories deeper or longer than the
walker's limit, a chroot, an overlay mounted by hand."""
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import WORKLOAD, Monitor, Mounts, by_pid, run_held

STATIC = os.path.join(os.path.dirname(WORKLOAD), "workload-static")
SH = os.path.realpath("/bin/sh")
LIBC = os.path.realpath("/lib/x86_64-linux-gnu/libc.so.6")
TRUE = os.path.realpath("/bin/true")


class PathsAsTheProcessSeesThem(unittest.TestCase):
    def setUp(self):
        self.tmp = os.path.realpath(tempfile.mkdtemp(prefix="ksysmon-paths."))
        self.mounts = Mounts()

    def tearDown(self):
        self.mounts.undo()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_paths(self, argv, **kw):
        """Runs argv (ending in a workload "hold paths") under the monitor;
        returns (its exec event, its image loads, its own view)."""
        with Monitor("--events", "process_exec,image_load") as m:
            pid, vals, rc = run_held(argv, **kw)
        self.assertEqual(rc, 0, vals)
        evs = m.events()
        execs = by_pid(evs, pid, "process_exec")
        self.assertTrue(execs, m.stderr)
        maps = {}
        for line in vals.get("map", []):
            start, dev, ino, path = line.split("|", 3)
            maps.setdefault(path, (int(dev), int(ino)))
        view = {k: v[0] for k, v in vals.items() if k != "map"}
        loads = by_pid(evs, pid, "image_load")
        for e in loads:
            self.assertNotIn("path_unreachable", e)
        return execs[-1], loads, view, maps

    def check_flags(self, ev, field, deleted=False, truncated=False):
        self.assertEqual(ev.get(field + "_deleted", False), deleted, ev)
        self.assertEqual(ev.get(field + "_truncated", False), truncated, ev)
        # every path here is reached from the process's root (see test_detached)
        self.assertNotIn(field + "_unreachable", ev)

    def test_deleted_and_renamed_cwd(self):
        d = os.path.join(self.tmp, "d")
        cases = (('rmdir "$1"', d + " (deleted)", True),
                 ('mv "$1" "$1.new"', d + ".new", False))
        for change, want, deleted in cases:
            with self.subTest(change=change):
                script = 'mkdir "$1" && cd "$1" && %s && exec "$2" hold paths' % change
                ex, _, view, _ = self.run_paths([SH, "-c", script, SH, d, WORKLOAD])
                self.assertEqual(view["cwd"], want)
                self.assertEqual(ex["cwd"], want)
                self.check_flags(ex, "cwd", deleted=deleted)
                shutil.rmtree(d + ".new", ignore_errors=True)

    def test_cwd_and_image_deeper_than_the_walker(self):
        # 170 components (the walker follows 160): cut from the root side,
        # and said so, for cwd, image and image_load.path alike
        deep = os.path.join(self.tmp, *["d"] * 170)
        os.makedirs(deep)
        prog = os.path.join(deep, "w")
        shutil.copy(STATIC, prog)
        ex, imgs, view, _ = self.run_paths(["./w", "hold", "paths"], cwd=deep)
        for field, full in (("cwd", deep), ("image", prog)):
            self.assertEqual(view["cwd" if field == "cwd" else "exe"], full)
            self.assertTrue(full.endswith(ex[field]) and ex[field].startswith("/"), ex)
            self.assertEqual(ex[field].count("/"), 160, ex[field])
            self.check_flags(ex, field, truncated=True)
        img = [e for e in imgs if prog.endswith(e["path"])]
        self.assertEqual(len(img), 1, imgs)
        self.assertIs(img[0].get("path_truncated"), True)

    def test_cwd_longer_than_path_max(self):
        # 20 components of 250 bytes: past PATH_MAX, even the process's own
        # readlink fails; the walker keeps the last 4095 bytes and says so
        parts = ["%03d" % i + "x" * 247 for i in range(20)]
        fd = os.open(self.tmp, os.O_RDONLY)
        try:
            for p in parts:  # relative steps: the full path is too long for mkdir
                os.mkdir(p, dir_fd=fd)
                nfd = os.open(p, os.O_RDONLY, dir_fd=fd)
                os.close(fd)
                fd = nfd
            full = os.path.join(self.tmp, *parts)
            ex, _, view, _ = self.run_paths([WORKLOAD, "hold", "paths"], cwd=fd_path(fd),
                                            pass_fds=(fd,))
        finally:
            os.close(fd)
        self.assertIn("cwd_errno", view)
        self.assertTrue(full.endswith(ex["cwd"]), ex["cwd"][:80])
        self.assertLessEqual(len(ex["cwd"].encode()), 4095)
        self.assertGreater(len(ex["cwd"].encode()), 3800)
        self.check_flags(ex, "cwd", truncated=True)

    def test_parent_image_removed_or_renamed_since_its_exec(self):
        # the parent's program as it is when the child execs, not as it was
        # when the parent started
        for change, suffix, deleted in (("rm", " (deleted)", True), ("mv", ".new", False)):
            with self.subTest(change=change):
                prog = os.path.join(self.tmp, "parent")
                shutil.copy(WORKLOAD, prog)
                p = subprocess.Popen([prog, "wait-stdin", "vfork", TRUE, "child"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                pid = int(p.stdout.readline().decode().split("=")[1])
                with Monitor("--events", "process_exec") as m:
                    if deleted:
                        os.unlink(prog)
                    else:
                        os.rename(prog, prog + ".new")
                    out, _ = p.communicate(b"go\n")
                self.assertEqual(p.returncode, 0)
                child = int(dict(l.split("=") for l in out.decode().split())["child"])
                ex = [e for e in m.events() if e["pid"] == child and e["type"] == "process_exec"]
                self.assertEqual(len(ex), 1)
                self.assertEqual(ex[0]["ppid"], pid)
                self.assertEqual(ex[0]["parent_image"], prog + suffix)
                self.check_flags(ex[0], "parent_image", deleted=deleted)
                if not deleted:
                    os.unlink(prog + ".new")

    def test_chroot(self):
        root = os.path.join(self.tmp, "root")
        os.makedirs(os.path.join(root, "bin"))
        os.makedirs(os.path.join(root, "proc"))
        shutil.copy(STATIC, os.path.join(root, "bin", "w"))
        self.mounts.mount("-t", "proc", "proc", os.path.join(root, "proc"))
        ex, imgs, view, maps = self.run_paths(["chroot", root, "/bin/w", "hold", "paths"])
        self.assertEqual((ex["image"], ex["cwd"]), (view["exe"], view["cwd"]))
        self.assertEqual((ex["image"], ex["cwd"]), ("/bin/w", "/"))
        self.check_flags(ex, "image")
        self.check_flags(ex, "cwd")
        img = [e for e in imgs if e["path"] == "/bin/w"]  # after chroot(8)'s own
        self.assertEqual(len(img), 1, imgs)
        self.assertEqual((img[0]["dev"], img[0]["inode"]), maps["/bin/w"])

    def test_overlay_program_and_library(self):
        lower = os.path.join(self.tmp, "lower")
        os.makedirs(lower)
        shutil.copy(WORKLOAD, os.path.join(lower, "prog"))
        shutil.copy(LIBC, os.path.join(lower, "libc.so.6"))
        merged = self.mounts.overlay(self.tmp)
        prog = os.path.join(merged, "prog")
        env = dict(os.environ, LD_LIBRARY_PATH=merged)
        ex, imgs, view, maps = self.run_paths([prog, "hold", "paths"], env=env)
        self.assertEqual(ex["image"], view["exe"])
        self.assertEqual(ex["image"], prog)
        got = {e["path"]: (e["dev"], e["inode"]) for e in imgs}
        for path in (prog, os.path.join(merged, "libc.so.6")):
            self.assertIn(path, maps)  # the process maps it under the overlay's name
            self.assertEqual(got.get(path), maps[path], (path, got))
        st = os.stat(prog)  # the overlay's device, not the layer's
        self.assertNotEqual(st.st_dev, os.stat(os.path.join(lower, "prog")).st_dev)


def fd_path(fd):
    return "/proc/self/fd/%d" % fd


if __name__ == "__main__":
    unittest.main()
