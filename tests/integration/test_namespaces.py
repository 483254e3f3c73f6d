"""The namespaces, cgroup and root the kernel records for a process, each
compared with the truth read from /proc and /sys while the process lives:
a plain host process, a new pid and mount namespace with a chroot, a user
namespace made by an unprivileged user, a cgroup made by hand, programs on
an overlay's upper and lower layers, podman (runc) containers (their root
against podman's MergedDir), a root the host does not mount, a container
gone before ksysmon looked at its root, and roots whose host path
mountinfo's order does not tell (a mount moved under a later one, a path
covered by another view of the same filesystem, btrfs subvolumes)."""
import hashlib
import json
import os
import signal
import shutil
import subprocess
import tempfile
import time
import unittest

import containers as C
import harness
import stallfs
from harness import MONITOR, Monitor, by_pid

SLEEP = shutil.which("sleep")


def truth(pid):
    """Everything /proc and /sys say of a live process that the records
    carry."""
    nsp = C.nspid(pid)
    cg = C.cgroup_path(pid)
    st = os.stat("/proc/%d/exe" % pid)
    ids = C.ids(pid)
    t = {"ns": C.ns_inodes(pid), "nspid": nsp, "vppid": C.nsppid(pid), "cgroup": cg,
         "cgroup_id": C.cgroup_id(cg), "root": C.root_of(pid), "dev": st.st_dev,
         "ino": st.st_ino, "ids": ids, "user_ns_host": C.ns_inodes(os.getpid())["user"]}
    if t["ns"]["user"] != t["user_ns_host"]:
        t["ns_ids"] = {"ns_uid": C.to_ns_id(pid, ids["uid"]),
                       "ns_euid": C.to_ns_id(pid, ids["euid"]),
                       "ns_gid": C.to_ns_id(pid, ids["gid"], "gid")}
    t["start_ns"] = C.start_ns(pid)
    # in another mount namespace the root is told by its filesystem; its
    # host path is the caller's truth (podman's MergedDir, the chroot's
    # directory), not /proc/PID/root's "/" of that namespace
    t["own_mnt"] = t["ns"]["mnt"] == C.ns_inodes(os.getpid())["mnt"]
    t["root_dev"] = os.stat("/proc/%d/root" % pid).st_dev
    # the program as the process names it: /proc/PID/exe and /proc/PID/root
    # read from the top of the process's mount tree, the root a prefix
    exe, top_root = os.readlink("/proc/%d/exe" % pid), os.readlink("/proc/%d/root" % pid)
    t["exe"] = exe if top_root == "/" else exe[len(top_root):]
    if not t["own_mnt"]:
        t["root"] = None
    elif t["root"] != "/":
        with_root(t, t["root"])
    return t


def with_root(t, root):
    """t with the host path of the process's root, and what that path
    joined with the process's own view of its program names (stat, read
    while the root is mounted)."""
    t["root"] = root
    st = os.stat(root.rstrip("/") + t["exe"])
    t["exe_in_root"] = (st.st_dev, st.st_ino)
    return t


class Namespaces(unittest.TestCase):
    def check_ns(self, ev, t, exec_record=True):
        """Every namespace fact of ev against the truth t."""
        for kind, ino in t["ns"].items():
            self.assertEqual(ev[kind + "_ns"], ino, kind)
        self.assertEqual(ev["cgroup_id"], t["cgroup_id"])
        level = len(t["nspid"]) - 1
        self.assertEqual(ev["pid_ns_level"], level)
        if level:
            self.assertEqual(ev["vpid"], t["nspid"][-1])
            self.assertEqual(ev["vppid"], t["vppid"])
            self.assertIn("container_start", ev)
        else:
            for f in ("vpid", "vppid", "in_init_tree", "container_start"):
                self.assertNotIn(f, ev)
        if "ns_ids" in t:
            for k, v in t["ns_ids"].items():
                self.assertEqual(ev[k], 4294967295 if v is None else v, k)
        else:
            for k in ("ns_uid", "ns_gid", "ns_euid"):
                self.assertNotIn(k, ev)
        # an exec record carries the path; the others have the path of
        # their id, which the exec's record gave
        self.assertEqual(ev["cgroup"], t["cgroup"])
        if not exec_record:
            self.assertNotIn("root", ev)
            return
        if t["own_mnt"]:
            self.assertNotIn("root_dev", ev)
        else:
            self.assertEqual(ev["root_dev"], t["root_dev"])
        for f in ("root_unreachable", "root_unresolved", "root_deleted", "root_truncated",
                  "image_unreachable", "cwd_unreachable", "parent_image_unreachable"):
            self.assertNotIn(f, ev)
        self.assertIsNotNone(t["root"], "the test gives the root's host path")
        if t["root"] == "/":
            self.assertNotIn("root", ev)
        else:
            self.assertEqual(ev["root"], t["root"])
            # the root's host path and the image's path in it name the file
            self.assertEqual(ev["image"], t["exe"])
            self.assertEqual(t["exe_in_root"], (ev["image_dev"], ev["image_inode"]))
        self.assertEqual((ev["image_dev"], ev["image_inode"]), (t["dev"], t["ino"]))

    def events_of(self, mon, pid):
        evs = by_pid(mon.events(), pid)
        ex = [e for e in evs if e["type"] == "process_exec"]
        self.assertTrue(ex, "no process_exec of %d" % pid)
        return ex[-1], [e for e in evs if e["type"] == "process_exit"]

    def watch(self, start, settle=0.3, root=None):
        """start() -> (pid, finish); the process's exec and exit records
        checked against its truth (root: the host path of its root, when
        it is in another mount namespace)."""
        with Monitor() as mon:
            pid, finish = start()
            time.sleep(settle)
            t = truth(pid)
            if root is not None:
                with_root(t, root)
            finish()
            time.sleep(0.2)
            mon.stop()
        ex, exits = self.events_of(mon, pid)
        self.check_ns(ex, t)
        self.assertEqual(len(exits), 1)
        self.check_ns(exits[0], t, exec_record=False)
        return ex, t

    def spawned(self, make):
        """start() for watch() of a Spawned that make() starts."""
        def start():
            sp = make()
            return sp.pid(), sp.kill
        return start

    def test_host_process(self):
        def start():
            p = subprocess.Popen([SLEEP, "1"])
            return p.pid, p.wait
        ex, t = self.watch(start)
        self.assertEqual(ex["pid_ns"], t["ns"]["pid"])
        self.assertNotIn("image_upper_layer", ex)

    def test_pid_and_mount_namespace_with_chroot(self):
        rootfs = tempfile.mkdtemp(prefix="ksysmon-rootfs.")
        try:
            C.unpack_rootfs(rootfs)
            ex, t = self.watch(self.spawned(lambda: C.chroot_pidns(rootfs, ["/bin/sleep", "5"])),
                               root=os.path.realpath(rootfs))
            self.assertEqual((ex["vpid"], ex["vppid"], ex["in_init_tree"]), (1, 0, True))
            self.assertEqual(ex["root"], os.path.realpath(rootfs))
            self.assertNotEqual(ex["pid_ns"], C.ns_inodes(os.getpid())["pid"])
        finally:
            subprocess.run(["umount", "-l", os.path.join(rootfs, "proc")],
                           stderr=subprocess.DEVNULL)
            shutil.rmtree(rootfs, ignore_errors=True)

    def test_chroot_in_the_host_mount_namespace(self):
        """A chroot without a new mount namespace: the kernel's path, as
        /proc/PID/root shows it."""
        rootfs = tempfile.mkdtemp(prefix="ksysmon-rootfs.")
        try:
            C.unpack_rootfs(rootfs)
            ex, t = self.watch(self.spawned(
                lambda: C.Spawned(["chroot", rootfs, "/bin/sleep", "5"], "busybox", 0)))
            self.assertEqual(ex["root"], os.path.realpath(rootfs))
            self.assertNotIn("root_dev", ex)
        finally:
            shutil.rmtree(rootfs, ignore_errors=True)

    def test_root_the_host_does_not_mount(self):
        """A tmpfs mounted in a private mount namespace only, chrooted
        into: no path of the host shows it, and the record says so."""
        top = tempfile.mkdtemp(prefix="ksysmon-hidden.")
        busybox = shutil.which("busybox")
        script = ('mount -t tmpfs ksysmon-hidden "$1" && cp "$2" "$1/busybox" && '
                  'exec chroot "$1" /busybox sleep 5')
        try:
            def start():
                sp = C.Spawned(["unshare", "--mount", "--propagation", "private",
                                "sh", "-c", script, "sh", top, busybox], "busybox", 0)
                return sp.pid(), sp.kill
            with Monitor() as mon:
                pid, finish = start()
                time.sleep(0.3)
                t = truth(pid)
                finish()
                time.sleep(0.2)
                mon.stop()
            ex, _ = self.events_of(mon, pid)
            self.assertFalse(t["own_mnt"])
            self.assertEqual(ex["image"], "/busybox")
            self.assertEqual(ex["root_dev"], t["root_dev"])
            self.assertNotEqual(t["root_dev"], os.stat(top).st_dev)
            self.assertIs(ex["root_unreachable"], True)
            for f in ("root", "root_unresolved"):
                self.assertNotIn(f, ex)
        finally:
            os.rmdir(top)

    def test_pid_namespaces_nested_to_the_kernel_limit(self):
        """32 nested pid namespaces (MAX_PID_NS_LEVEL) and 31: the
        innermost level, its id and namespace, not the host's."""
        for depth in (31, 32):
            def start():
                argv = ["unshare", "-pf", "--"] * depth + [SLEEP, "5"]
                p = subprocess.Popen(argv)
                pid = C.wait_for(lambda: next((k for k in self.descendants(p.pid)
                                               if C.cmdline(k) == [SLEEP, "5"]), None),
                                 what="the innermost sleep")
                return pid, lambda: (os.kill(pid, 9), p.wait())
            ex, t = self.watch(start, settle=0.5)
            self.assertEqual(len(t["nspid"]), depth + 1)
            self.assertEqual((ex["pid_ns_level"], ex["vpid"], ex["vppid"], ex["in_init_tree"]),
                             (depth, 1, 0, True))

    def test_init_tree_to_the_walk_limit(self):
        """A program 62 parents below its namespace's init (the kernel
        walks the process and up to 63 parents), and one 70 below: true,
        then absent (not known); the same chains below a process nsenter
        put in the namespace: false, then absent.  The truth is /proc's
        parent chain."""
        chain = ("import os, sys\n"
                 "for _ in range(int(sys.argv[1])):\n"
                 "    if os.fork():\n"
                 "        os.wait(); os._exit(0)\n"
                 "os.execv(sys.argv[2], sys.argv[2:])\n")
        py = shutil.which("python3")
        init = subprocess.Popen(["unshare", "--pid", "--fork", "--", SLEEP, "30"])
        try:
            top = C.wait_for(lambda: next(iter(C.children(init.pid)), None), what="the init")
            for entered in (False, True):
                for depth, known in ((62, True), (70, False)):
                    def start(depth=depth, entered=entered):
                        # the chain's first python is the init itself, or
                        # a process nsenter put in the namespace
                        argv = ([py, "-c", chain, str(depth), SLEEP, "5"]
                                if not entered else
                                ["nsenter", "-t", str(top), "-p", "--", py, "-c", chain,
                                 str(depth), SLEEP, "5"])
                        if not entered:
                            argv = ["unshare", "--pid", "--fork", "--"] + argv
                        p = subprocess.Popen(argv)
                        pid = C.wait_for(lambda: next((k for k in self.descendants(p.pid)
                                                       if C.cmdline(k) == [SLEEP, "5"]), None),
                                         what="the chain's sleep")
                        self.assertEqual(C.init_tree(pid), (depth, not entered))
                        return pid, lambda: (os.kill(pid, 9), p.wait())
                    ex, _ = self.watch(start, settle=0.5)
                    if known:
                        self.assertIs(ex.get("in_init_tree"), not entered, (depth, entered))
                    else:
                        self.assertNotIn("in_init_tree", ex)
        finally:
            init.kill()
            init.wait()

    def descendants(self, pid):
        out, todo = [], [pid]
        while todo:
            kids = C.children(todo.pop())
            out += kids
            todo += kids
        return out

    def test_chroot_user_names(self):
        """Processes chrooted on the host, uid 1000 each: the name is the
        chroot's passwd file's, never the host's, whatever the file is (a
        link out of the root resolves inside it; a FIFO, a directory, a
        file over 4 MiB, a 1 MiB name, a line with a NUL give none; the
        first of two lines of the uid wins; an escape sequence and invalid
        UTF-8 come out exact); the replay of the capture says the same."""
        names = {
            "inside": (b"chrootuser:x:1000:0::/:\n", "chrootuser"),
            "dups": (b"first:x:1000:0::/:\nsecond:x:1000:0::/:\n", "first"),
            "hostile": (b"\x1b[2J\xff\"q\\:x:1000:0::/:\n",
                        b"\x1b[2J\xff\"q\\".decode("utf-8", "surrogateescape")),
            "nul": (b"a\x00b:x:1000:0::/:\n", None),
            "long": (b"n" * (1 << 20) + b":x:1000:0::/:\n", None),
            "big": (b"x" * (5 << 20), None),
            "fifo": (None, None), "dir": (None, None), "link": (None, "shadowname"),
        }
        base = tempfile.mkdtemp(prefix="ksysmon-chroots.")
        cap = os.path.join(base, "cap")
        try:
            for k, (data, _) in names.items():
                os.makedirs(os.path.join(base, k, "etc"))
                os.makedirs(os.path.join(base, k, "bin"))
                shutil.copy("/bin/busybox", os.path.join(base, k, "bin", "sleep"))
                pw = os.path.join(base, k, "etc", "passwd")
                if data is not None:
                    with open(pw, "wb") as f:
                        f.write(data)
            os.mkfifo(os.path.join(base, "fifo", "etc", "passwd"))
            os.mkdir(os.path.join(base, "dir", "etc", "passwd"))
            with open(os.path.join(base, "link", "etc", "shadow"), "w") as f:
                f.write("shadowname:x:1000:0::/:\n")
            os.symlink("../../../../../../../etc/shadow", os.path.join(base, "link", "etc", "passwd"))
            pids = {}
            with Monitor("--events", "process_exec", "-w", cap, "--print") as m:
                for k in names:
                    pid = os.fork()
                    if pid == 0:  # chroot, drop to 1000, exec: nothing else
                        try:
                            os.chroot(os.path.join(base, k))
                            os.chdir("/")
                            os.setgid(0)
                            os.setuid(1000)
                            os.execv("/bin/sleep", ["sleep", "1"])
                        finally:
                            os._exit(127)
                    pids[pid] = k
                for pid in pids:
                    os.waitpid(pid, 0)
                m.stop()
            out = subprocess.run([MONITOR, "-r", cap, "-f", "json"], capture_output=True,
                                 timeout=60, check=True).stdout
            replayed = [json.loads(l) for l in out.decode().splitlines()]
            for evs in (m.events(), replayed):
                for pid, k in pids.items():
                    ex = [e for e in by_pid(evs, pid) if e["type"] == "process_exec"]
                    self.assertEqual(len(ex), 1, k)
                    self.assertEqual(ex[0]["uid"], 1000, k)
                    self.assertEqual(ex[0]["root"], os.path.join(base, k), k)
                    self.assertEqual(ex[0].get("user"), names[k][1], k)
        finally:
            shutil.rmtree(base, ignore_errors=True)

    def test_user_namespace_of_an_unprivileged_user(self):
        for map_root in (True, False):
            ex, t = self.watch(self.spawned(
                lambda: C.userns_as(1000, [SLEEP, "5"], map_root=map_root)))
            self.assertEqual(ex["uid"], 1000)
            self.assertEqual(ex["ns_uid"], 0 if map_root else 1000)
            self.assertEqual(ex["ns_gid"], 0 if map_root else 1000)

    def test_hand_made_cgroup(self):
        with C.HandCgroup() as cg:
            def start():
                p = cg.spawn([SLEEP, "1"])
                return p.pid, p.wait
            ex, t = self.watch(start)
            self.assertEqual((ex["cgroup"], ex["cgroup_id"]), (cg.path, cg.id))

    def test_overlay_upper_and_lower_layers(self):
        with C.hand_overlay(SLEEP, "up", lower_files={"low": SLEEP}) as ovl:
            for name, upper in (("up", True), ("low", False)):
                def start(name=name):
                    p = subprocess.Popen([os.path.join(ovl["merged"], name), "1"])
                    return p.pid, p.wait
                ex, t = self.watch(start)
                self.assertEqual(ex["image_upper_layer"], upper, name)


class Containers(unittest.TestCase):
    check_ns = Namespaces.check_ns
    events_of = Namespaces.events_of

    @classmethod
    def setUpClass(cls):
        C.build_image()

    def container(self, **kw):
        """podman run -d, then podman exec: the init and the entered process
        against their truth."""
        with C.Containers() as s, Monitor() as mon:
            c = s.run_detached(["sleep", "30"], **kw)
            init = C.wait_for(lambda: c.pid(), what="container pid")
            t_init = truth(init)
            with_root(t_init, c.inspect()["merged_dir"])
            c.exec(["sh", "-c", "exec sleep 3"], detach=True, user=kw.get("user"))
            entered = C.wait_for(lambda: [p for p in C.pids_in_pidns(t_init["ns"]["pid"])
                                          if p != init], what="podman exec")[0]
            time.sleep(0.3)
            t_ent = truth(entered)
            with_root(t_ent, t_init["root"])
            c.stop(timeout=0)
            mon.stop()
        ex, _ = self.events_of(mon, init)
        self.check_ns(ex, t_init)
        self.assertTrue(t_init["cgroup"].endswith("libpod-" + c.id), t_init["cgroup"])
        self.assertEqual((ex["vpid"], ex["in_init_tree"]), (1, True))
        ent, _ = self.events_of(mon, entered)
        self.check_ns(ent, t_ent)
        self.assertEqual((ent["vppid"], ent["in_init_tree"]), (0, False))
        # the init's start: the same in both records, and as /proc says (ticks)
        start = C.parse_time_ns(ex["container_start"])
        self.assertEqual(ent["container_start"], ex["container_start"])
        self.assertLess(abs(start - C.boot_epoch_ns() - t_init["start_ns"]), 20_000_000)
        self.assertFalse(ex["image_upper_layer"])
        return ex, ent

    def test_root(self):
        ex, ent = self.container()
        self.assertTrue(ex["root"].startswith("/var/lib/containers/storage/overlay/"), ex["root"])

    def test_replay_shows_the_root_found_live(self):
        """A capture keeps where the host showed a container's root: its
        replay, once the container and its overlay are gone, shows the
        same, without looking at the mounts again."""
        cap = os.path.join(tempfile.mkdtemp(prefix="ksysmon-cap."), "c.ksm")
        try:
            with C.Containers() as s, Monitor("-w", cap, "--print") as mon:
                c = s.run_detached(["sleep", "30"])
                merged = c.inspect()["merged_dir"]
                c.exec(["sh", "-c", "exec sleep 0"])
                c.stop(timeout=0)
                mon.stop()
            live = [e for e in mon.events() if e["type"] == "process_exec" and "root_dev" in e]
            self.assertTrue([e for e in live if e.get("root") == merged], live)
            self.assertFalse(os.path.exists(os.path.join(merged, "bin")))
            out = subprocess.run([harness.MONITOR, "-r", cap, "-f", "json"], check=True,
                                 capture_output=True, timeout=60).stdout.decode()
            again = [e for e in map(json.loads, out.splitlines())
                     if e["type"] == "process_exec" and "root_dev" in e]
            self.assertEqual(again, live)
        finally:
            shutil.rmtree(os.path.dirname(cap), ignore_errors=True)

    def test_container_gone_before_ksysmon_looked(self):
        """The monitor held (SIGSTOP: it enforces nothing, so no exec waits
        for it) while a container runs, ends and is removed, and another
        one starts (which may take the first overlay's device number): the
        first one's root cannot be told any more, and is said to be so,
        never the second one's."""
        with C.Containers() as s, Monitor() as mon:
            mon.proc.send_signal(signal.SIGSTOP)
            try:
                name = C.unique_name("gone")
                C.podman("run", "--rm", "--name", name, *C.RUN_FLAGS, C.IMAGE,
                         "sh", "-c", "exec true")
                c2 = s.run_detached(["sleep", "30"])
                merged2 = c2.inspect()["merged_dir"]
            finally:
                mon.proc.send_signal(signal.SIGCONT)
            time.sleep(0.5)
            c2.stop(timeout=0)
            mon.stop()
        evs = [e for e in mon.events() if e["type"] == "process_exec" and
               e["argv"] == ["sh", "-c", "exec true"]]
        self.assertEqual(len(evs), 1, evs)
        self.assertIs(evs[0]["root_unresolved"], True)
        for f in ("root", "root_unreachable"):
            self.assertNotIn(f, evs[0])
        second = [e for e in mon.events() if e["type"] == "process_exec" and
                  e.get("comm") == "sleep" and "root_dev" in e]
        self.assertTrue(second)
        self.assertEqual(second[-1]["root"], merged2)

    def test_replay_names_no_user_where_live_could_not(self):
        """A container's execs named while it runs, then more handled only
        after it ended (the monitor held meanwhile, by SIGSTOP: it enforces
        nothing): live has no name for those (no process of the namespace
        left to read its passwd through), and neither has the replay, though
        it recorded the name of the earlier ones."""
        cap = os.path.join(tempfile.mkdtemp(prefix="ksysmon-cap."), "c.ksm")
        try:
            with C.Containers() as s, Monitor("-w", cap, "--print") as mon:
                c = s.run_detached(["sh", "-c", "while :; do /bin/sleep 0.05; done"])
                time.sleep(1.5)
                mon.proc.send_signal(signal.SIGSTOP)
                try:
                    time.sleep(0.5)
                    c.stop(timeout=0)
                    C.podman("rm", "-f", c.id)
                finally:
                    mon.proc.send_signal(signal.SIGCONT)
                time.sleep(0.5)
                mon.stop()
            sleeps = [e for e in mon.events() if e["type"] == "process_exec" and
                      e["argv"] == ["/bin/sleep", "0.05"] and e.get("container_id") == c.id]
            self.assertIn("root", [e.get("user") for e in sleeps])
            self.assertIn(None, [e.get("user") for e in sleeps])
            r = subprocess.run([harness.MONITOR, "-r", cap, "-f", "json"],
                               capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            self.assertEqual(r.stdout, mon.stdout)
        finally:
            shutil.rmtree(os.path.dirname(cap), ignore_errors=True)

    def test_user_1000(self):
        ex, ent = self.container(user="1000")
        self.assertEqual((ex["uid"], ent["uid"]), (1000, 1000))

    def test_uid_map(self):
        ex, ent = self.container(uidmap="0:100000:65536")
        self.assertEqual((ex["uid"], ex["ns_uid"]), (100000, 0))


def mountinfo_dev(point):
    """major:minor of the mount at point, as /proc/self/mountinfo lists it
    (the superblock's device), in st_dev form."""
    found = None
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            fields = line.split(b" ")
            p = fields[4].decode()
            for esc, ch in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
                p = p.replace(esc, ch)
            if p == point:
                major, minor = map(int, fields[2].split(b":"))
                found = os.makedev(major, minor)
    return found


class RootPaths(unittest.TestCase):
    """Roots in another mount namespace found where the host's mount table
    does not say it in its order: each answer against the truth of stat(2)
    (the path reported shows the very directory /proc/PID/root is), on a
    base directory whose name mountinfo escapes."""

    def setUp(self):
        self.top = tempfile.mkdtemp(prefix="ksysmon-roots.")
        self.base = os.path.join(self.top, "a b\tc\nd\\e\\040f")
        self.mounts = harness.Mounts()
        # moves need a parent that is not shared; mounts below stay here
        self.mounts.mount("-t", "tmpfs", "ksysmon-base", self.base)
        subprocess.check_call(["mount", "--make-private", self.base])

    def tearDown(self):
        self.mounts.undo()
        shutil.rmtree(self.top, ignore_errors=True)

    def mount(self, *args):
        return self.mounts.mount(*args)

    def rootfs(self, at):
        os.makedirs(os.path.join(at, "bin"))
        shutil.copy("/bin/busybox", os.path.join(at, "bin", "sleep"))
        return at

    def later_chroot(self, root):
        """A process in a mount namespace of its own made now (it keeps
        the mounts there are now), that chroots into root and runs
        /bin/sleep there once go() is called; returns go, which returns
        the process's pid (the same through unshare, chroot and the exec)."""
        p = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                              'read go && exec chroot "$1" /bin/sleep 5', "sh", root],
                             stdin=subprocess.PIPE)
        own = os.readlink("/proc/self/ns/mnt")
        C.wait_for(lambda: os.readlink("/proc/%d/ns/mnt" % p.pid) != own and
                   C.cmdline(p.pid)[:1] == ["sh"], what="the namespace")
        self.addCleanup(lambda: (p.kill(), p.wait()))

        def go():
            p.stdin.write(b"go\n")
            p.stdin.flush()
            C.wait_for(lambda: C.cmdline(p.pid) == ["/bin/sleep", "5"], what="the exec")
            return p.pid
        return go

    def root_of(self, go):
        """The process_exec of go()'s process and the stat(2) truth of its
        root, read while it lives."""
        with Monitor("--events", "process_exec") as mon:
            pid = go()
            time.sleep(0.3)
            st = os.stat("/proc/%d/root" % pid)
            mon.stop()
        ex = [e for e in by_pid(mon.events(), pid) if e["type"] == "process_exec" and
              e["argv"] == ["/bin/sleep", "5"]]
        self.assertEqual(len(ex), 1)
        return ex[0], (st.st_dev, st.st_ino)

    def check_root(self, ev, truth, path, dev):
        for f in ("root_unreachable", "root_unresolved"):
            self.assertNotIn(f, ev)
        self.assertEqual(ev["root"], path)
        st = os.stat(path)
        self.assertEqual((st.st_dev, st.st_ino), truth, "the path shows the root itself")
        self.assertEqual(ev["root_dev"], dev)

    def test_mount_moved_under_a_later_one(self):
        """A filesystem mounted, another mounted after it, then the first
        moved below the second: mountinfo lists the first before the
        second that holds it, and the root is still shown there."""
        a, b = os.path.join(self.base, "a"), os.path.join(self.base, "b")
        self.mount("-t", "tmpfs", "ksysmon-moved", a)
        self.rootfs(os.path.join(a, "root"))
        self.mount("-t", "tmpfs", "ksysmon-holder", b)
        moved = os.path.join(b, "a")
        os.mkdir(moved)
        subprocess.check_call(["mount", "--move", a, moved])
        self.mounts.targets.append(moved)
        go = self.later_chroot(os.path.join(moved, "root"))
        ev, truth = self.root_of(go)
        self.check_root(ev, truth, os.path.join(moved, "root"), mountinfo_dev(moved))

    def test_shortest_path_covered_by_another_view_of_the_filesystem(self):
        """The root's filesystem bound at a short path and at a long one;
        then a bind of another directory of the same filesystem, made
        before them, moved over the short one: the short path now shows
        that other directory (same device), the long one the root."""
        first = os.path.join(self.base, "first")
        self.mount("-t", "tmpfs", "ksysmon-fs", first)
        self.rootfs(os.path.join(first, "root"))
        self.rootfs(os.path.join(first, "decoy", "root"))
        decoy = self.mount("--bind", os.path.join(first, "decoy"), os.path.join(self.base, "d"))
        short = self.mount("--bind", first, os.path.join(self.base, "s"))
        long_ = self.mount("--bind", first, os.path.join(self.base, "a", "longer", "path"))
        go = self.later_chroot(os.path.join(first, "root"))
        subprocess.check_call(["mount", "--move", decoy, short])
        self.mounts.targets.remove(decoy)
        self.mounts.targets.append(short)
        subprocess.check_call(["umount", first])
        self.mounts.targets.remove(first)
        ev, truth = self.root_of(go)
        st = os.stat(os.path.join(short, "root"))
        self.assertNotEqual((st.st_dev, st.st_ino), truth, "the short path shows another directory")
        self.assertEqual(st.st_dev, truth[0])
        self.check_root(ev, truth, os.path.join(long_, "root"), mountinfo_dev(long_))

    def test_btrfs_subvolume_and_top(self):
        """Roots on btrfs, whose stat(2) gives each subvolume a device
        number of its own (not the filesystem's, that mountinfo lists):
        a subvolume and a directory of the top one, each found, root_dev
        the filesystem's."""
        img = os.path.join(self.top, "btrfs.img")
        with open(img, "wb") as f:
            f.truncate(256 << 20)
        subprocess.run(["mkfs.btrfs", "-q", img], check=True, capture_output=True)
        m = self.mount("-o", "loop", img, os.path.join(self.base, "btrfs"))
        subprocess.run(["btrfs", "subvolume", "create", os.path.join(m, "sub")], check=True,
                       capture_output=True)
        dev = mountinfo_dev(m)
        for d in ("sub", "plain"):
            root = self.rootfs(os.path.join(m, d))
            ev, truth = self.root_of(self.later_chroot(root))
            self.assertNotEqual(truth[0], dev, "btrfs: stat's number is not mountinfo's")
            self.check_root(ev, truth, root, dev)


class HeldFileSystems(unittest.TestCase):
    """A program on a file system whose server answers everyone but
    ksysmon, and holds ksysmon's requests forever (what any user can do
    with FUSE in a user namespace of their own): its root chrooted into on
    the host, in a mount namespace of its own, and run from the host with
    --hash sha256.  The monitor never waits on it longer than its bound:
    the host's execs meanwhile are shown while the server holds (with
    their digests), the held process's exec is shown without a user name
    (not known, never another), with its root, and with the digest said
    to be timed out; the monitor stops while still held (its summary at
    once, naming what is held; its end once answered)."""

    HELD = (stallfs.LOOKUP, stallfs.GETATTR, stallfs.OPEN, stallfs.READ, stallfs.OPENDIR,
            stallfs.READDIR, stallfs.ACCESS, stallfs.STATFS, stallfs.GETXATTR)

    def held(self, how, *args):
        """how: "chroot" (on the host), "mntns" (chroot in a mount
        namespace of its own), "path" (run by its path from the host)."""
        mnt = tempfile.mkdtemp(prefix="ksysmon-heldfs.")
        with open(shutil.which("busybox"), "rb") as f:
            busybox = f.read()
        mon = Monitor("--events", "process_exec", *args)
        mon.start()
        fs = stallfs.StallFS(mnt, busybox, self.HELD, victim=mon.proc.pid).start()
        dev = mountinfo_dev(mnt)
        try:
            pid = os.fork()
            if pid == 0:  # busybox as sleep from the FUSE mount, nothing else
                try:
                    if how == "mntns" and stallfs._libc.unshare(0x00020000) != 0:  # CLONE_NEWNS
                        os._exit(126)
                    if how != "path":
                        os.chroot(mnt)
                    os.execv("/prog" if how != "path" else os.path.join(mnt, "prog"),
                             ["sleep", "4"])
                finally:
                    os._exit(127)
            time.sleep(0.3)
            # the host's execs go on being shown while the server holds
            markers = []
            for i in range(5):
                argv = ["/bin/echo", "after-held-%d-%d" % (os.getpid(), i)]
                subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
                markers.append(argv)

            def shown():
                with open(mon.out_path, "rb") as f:
                    seen = [json.loads(l) for l in f.read().splitlines()]
                return [e for e in seen if e["argv"] in markers]
            C.wait_for(lambda: len(shown()) == len(markers), timeout=5,
                       what="the host's execs shown while the file system holds")
            if "--hash" in args:
                with open("/bin/echo", "rb") as f:
                    echo = hashlib.sha256(f.read()).hexdigest()
                self.assertEqual({e.get("sha256") for e in shown()}, {echo})
            self.assertIsNotNone(fs.pid, "the server still holds")
            # stopped while held: the summary at once, saying what is held;
            # the process itself ends once the server answers (its thread
            # returns from the file system only then)
            mon.proc.send_signal(signal.SIGINT)
            C.wait_for(lambda: b"ksysmon: lost:" in open(mon.err_path, "rb").read(), timeout=5,
                       what="the summary while held")
            with open(mon.err_path, "rb") as f:
                err = f.read().decode()
            self.assertRegex(err, r"(?m)^ksysmon: file system calls given up \(a root's after "
                             r"200 ms, a digest's after 50 ms\): [1-9]\d*; held now: [1-9]\d*$")
            fs.stop()
            self.assertEqual(mon.stop(timeout=30), 0, mon.stderr)
            # the held process too may wait behind ksysmon's held lookup
            # (the directory's lock): it ends once the server is gone
            os.waitpid(pid, 0)
        finally:
            fs.stop()
            if mon.proc.poll() is None:
                mon.proc.kill()
                mon.proc.wait()
            os.rmdir(mnt)
        ex = [e for e in by_pid(mon.events(), pid) if e["type"] == "process_exec"]
        self.assertEqual(len(ex), 1)
        self.assertEqual(ex[0]["argv"], ["sleep", "4"])
        self.assertEqual(mon.summary()["lost"]["total"], 0)
        return ex[0], mnt, dev

    def test_chroot_on_the_host(self):
        ev, mnt, _ = self.held("chroot")
        self.assertNotIn("user", ev)
        self.assertEqual(ev["root"], mnt)
        self.assertNotIn("root_dev", ev)

    def test_own_mount_namespace(self):
        """The root's host path is proven without asking the server (the
        walk ends on its mount by crossing it, and statx asks no server)."""
        ev, mnt, dev = self.held("mntns")
        self.assertNotIn("user", ev)
        for f in ("root_unreachable", "root_unresolved"):
            self.assertNotIn(f, ev)
        self.assertEqual(ev["root"], mnt)
        self.assertEqual(ev["root_dev"], dev)

    def test_digest(self):
        ev, mnt, _ = self.held("path", "--hash", "sha256")
        self.assertEqual(ev["image"], os.path.join(mnt, "prog"))
        self.assertNotIn("sha256", ev)
        self.assertEqual(ev["sha256_error"], "timeout")
        self.assertEqual(ev["user"], "root")  # the host's: its root is the host's

if __name__ == "__main__":
    unittest.main()
