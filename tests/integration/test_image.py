"""image_load events (issue "Image loads"): path, base and size checked
against what the dynamic loader itself reports in the same process."""
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import ROOT, WORKLOAD, Monitor, by_pid, ebytes, one, run_workload

STATIC = os.path.join(os.path.dirname(WORKLOAD), "workload-static")
LIBS = ["libz.so.1", "libelf.so.1", "libcrypto.so.3", "libbpf.so.1"]


def images(vals):
    """{name: (base, size)} from the workload's image= lines."""
    res = {}
    for line in vals.get("image", []):
        name, base, size = line.split("|")
        res[name] = (int(base, 16), int(size))
    return res


def stat_ids(path):
    st = os.stat(path)
    return st.st_ino, st.st_dev


class ImageLoads(unittest.TestCase):
    def check(self, ev, path, base, size):
        self.assertEqual(ev["path"], path)
        self.assertEqual(int(ev["base"], 16), base, ev)
        self.assertEqual(ev["size"], size, ev)
        ino, dev = stat_ids(path)
        self.assertEqual((ev["inode"], ev["dev"]), (ino, dev))
        self.assertEqual(ev["tid"], ev["pid"])

    def test_dlopen_system_libraries_match_dl_iterate_phdr(self):
        self.check_dlopen()

    def test_perf_hook_reports_the_same(self):
        self.check_dlopen("--image-hook", "perf")

    def test_mprotect_with_perf_hook(self):
        self.check_mprotect("--image-hook", "perf")

    def check_dlopen(self, *extra):
        with Monitor("--events", "image_load", *extra) as m:
            pid, vals, rc = run_workload("dlopen", *LIBS)
        self.assertEqual(rc, 0)
        self.assertEqual(m.returncode, 0, m.stderr)
        evs = by_pid(m.events(), pid, "image_load")
        truth = images(vals)
        checked = 0
        for name, (base, size) in truth.items():
            if name == "linux-vdso.so.1":
                continue  # not a file
            path = os.path.realpath(WORKLOAD if name == "" else name)
            found = [e for e in evs if e["path"] == path]
            self.assertEqual(len(found), 1, (name, found))  # one event per image
            self.check(found[0], path, base, size)
            checked += 1
        # program, interpreter, libc and the four libraries
        self.assertEqual(checked, 3 + len(LIBS))
        self.assertEqual(len(evs), checked)

    def test_dlclose_then_dlopen_is_a_new_load(self):
        with Monitor("--events", "image_load") as m:
            pid, vals, rc = run_workload("dlopen", "--twice", "libz.so.1")
        self.assertEqual(rc, 0)
        path = os.path.realpath("/lib/x86_64-linux-gnu/libz.so.1")
        found = [e for e in by_pid(m.events(), pid, "image_load") if e["path"] == path]
        self.assertEqual(len(found), 2)
        base, size = images(vals)["/lib/x86_64-linux-gnu/libz.so.1"]
        self.check(found[1], path, base, size)

    def test_library_on_tmpfs_and_bind_mount(self):
        tmp = tempfile.mkdtemp(prefix="ksysmon-img.")
        mnt, bind = os.path.join(tmp, "tmpfs"), os.path.join(tmp, "bind")
        os.makedirs(mnt)
        os.makedirs(bind)
        subprocess.run(["mount", "-t", "tmpfs", "ksm-img", mnt], check=True)
        try:
            src = os.path.realpath("/lib/x86_64-linux-gnu/libz.so.1")
            shutil.copy(src, os.path.join(mnt, "libcopy.so"))
            subprocess.run(["mount", "--bind", mnt, bind], check=True)
            on_tmpfs = os.path.join(os.path.realpath(mnt), "libcopy.so")
            on_bind = os.path.join(os.path.realpath(bind), "libcopy.so")
            with Monitor("--events", "image_load") as m:
                p1, v1, _ = run_workload("dlopen", on_tmpfs)
                p2, v2, _ = run_workload("dlopen", on_bind)
            for pid, vals, path in ((p1, v1, on_tmpfs), (p2, v2, on_bind)):
                ev = [e for e in by_pid(m.events(), pid, "image_load") if e["path"] == path]
                self.assertEqual(len(ev), 1, m.events())
                base, size = images(vals)[path]
                self.check(ev[0], path, base, size)
            subprocess.run(["umount", bind], check=True)
        finally:
            subprocess.run(["umount", "-l", mnt])
            shutil.rmtree(tmp)

    def test_program_path_with_spaces_and_non_ascii(self):
        tmp = tempfile.mkdtemp(prefix="ksysmon-img.")
        prog = os.path.join(os.path.realpath(tmp), "dir with space", "prög\x01ram")
        os.makedirs(os.path.dirname(prog))
        shutil.copy(WORKLOAD, prog)
        try:
            with Monitor("--events", "image_load,process_exec") as m:
                p = subprocess.run([prog, "dlopen"], capture_output=True, check=True)
            vals = {}
            for line in p.stdout.decode().splitlines():
                k, _, v = line.partition("=")
                vals.setdefault(k, []).append(v)
            pid = int(vals["pid"][0])
            evs = m.events()
            ex = one(evs, pid, "process_exec")
            self.assertEqual(ex["image"], prog)
            img = [e for e in by_pid(evs, pid, "image_load") if e["path"] == prog]
            self.assertEqual(len(img), 1)
            base, size = images(vals)[""]
            self.check(img[0], prog, base, size)
        finally:
            shutil.rmtree(tmp)

    def test_memfd_executable(self):
        with Monitor("--events", "image_load,process_exec,process_exit") as m:
            pid, _, rc = run_workload("memfd-exec", WORKLOAD, "exit", "0")
        self.assertEqual(rc, 0)
        evs = m.events()
        execs = by_pid(evs, pid, "process_exec")
        self.assertEqual(execs[-1]["image"], "/memfd:ksm-memfd (deleted)")
        mem = [e for e in by_pid(evs, pid, "image_load") if "memfd" in e["path"]]
        self.assertEqual(len(mem), 1, evs)
        self.assertEqual(mem[0]["path"], "/memfd:ksm-memfd (deleted)")
        self.assertIs(mem[0]["memfd"], True)
        self.assertIs(mem[0]["deleted"], True)
        # the exit names the program as the exec did
        self.assertEqual(one(evs, pid, "process_exit")["image"], "/memfd:ksm-memfd (deleted)")

    def test_static_program_has_no_interpreter(self):
        with Monitor("--events", "image_load") as m:
            p = subprocess.run([STATIC, "exit", "0"], check=True)
        # the pid is not printed by "exit": find the static program's events
        evs = [e for e in m.events() if e["path"] == os.path.realpath(STATIC)]
        self.assertEqual(len(evs), 1, evs)
        pid = evs[0]["pid"]
        self.assertEqual([e["path"] for e in by_pid(m.events(), pid)], [os.path.realpath(STATIC)])
        self.assertEqual(p.returncode, 0)
        self.assertEqual(int(evs[0]["base"], 16) % 4096, 0)
        self.assertGreater(evs[0]["size"], os.path.getsize(STATIC) // 2)

    def test_mprotect_adding_exec_reports_once(self):
        self.check_mprotect()

    def check_mprotect(self, *extra):
        path = os.path.realpath("/lib/x86_64-linux-gnu/libz.so.1")
        with Monitor("--events", "image_load", *extra) as m:
            pid, vals, rc = run_workload("mprotect-exec", path)
        self.assertEqual(rc, 0)
        found = [e for e in by_pid(m.events(), pid, "image_load") if e["path"] == path]
        self.assertEqual(len(found), 1, found)
        page = 4096
        size = (int(vals["len"][0]) + page - 1) // page * page
        self.check(found[0], path, int(vals["addr"][0], 16), size)

    def test_anonymous_and_non_exec_mappings_are_ignored(self):
        with Monitor("--events", "image_load") as m:
            pid, _, rc = run_workload("mmap-storm", 1000)
        self.assertEqual(rc, 0)
        paths = [e["path"] for e in by_pid(m.events(), pid, "image_load")]
        # program, interpreter, libc: nothing for the 1000 anonymous mappings
        self.assertEqual(len(paths), 3, paths)

    def test_text_view(self):
        with Monitor("--events", "image_load", fmt="text") as m:
            pid, vals, _ = run_workload("dlopen", "libz.so.1")
        base, size = images(vals)["/lib/x86_64-linux-gnu/libz.so.1"]
        line = "Image loaded into process %d at 0x%x (size 0x%x): %s" % (
            pid, base, size, os.path.realpath("/lib/x86_64-linux-gnu/libz.so.1"))
        self.assertIn(line, m.stdout.decode())

    def test_kernel_modules_absence_is_stated(self):
        with Monitor("--events", "image_load") as m:
            pass
        has_modules = os.path.exists("/proc/modules")
        msg = "kernel module loads are not reported"
        if has_modules:
            self.assertNotIn(msg, m.stderr)
        else:
            self.assertIn(msg, m.stderr)


if __name__ == "__main__":
    unittest.main()
