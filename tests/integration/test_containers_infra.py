"""The container helpers work on this machine: the image builds offline,
podman (runc) runs it rootful, with a uid map, in a pod and rootless,
and the truth readers agree with podman and with each other.  Also the
helpers that make the same facts without podman."""
import os
import shutil
import subprocess
import tempfile
import unittest

import containers as C
from harness import WORKLOAD

HEX64 = r"[0-9a-f]{64}"
# a pid 1 that exits 7 as soon as it is asked to stop
STOPPABLE = ["sh", "-c", "trap 'exit 7' TERM; while :; do sleep 1 & wait; done"]


def host_ns():
    return C.ns_inodes(os.getpid())


class ContainerTruth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.digest = C.build_image()

    def assert_own_pidns(self, pid, vpid=1):
        nsp = C.nspid(pid)
        self.assertEqual(len(nsp), 2, nsp)
        self.assertEqual(nsp, [pid, vpid])
        self.assertNotEqual(C.ns_inodes(pid)["pid"], host_ns()["pid"])

    def test_image_is_built_once_per_content(self):
        self.assertRegex(self.digest, HEX64)
        self.assertEqual(C.build_image(), self.digest)
        label = C.podman("image", "inspect", "--format",
                         '{{index .Labels "%s"}}' % C.LABEL, C.IMAGE).stdout.strip()
        self.assertEqual(label, self.digest)

    def test_dynamic_program_runs_in_the_image(self):
        r = C.run([C.WORKLOAD_IN_IMAGE, "threads", "2"])
        lines = r.stdout.split()
        self.assertEqual(lines[0], "pid=1")
        self.assertEqual(len([x for x in lines if x.startswith("tid=")]), 2)
        r = C.run(["cat", "/etc/passwd", "/etc/group"])
        self.assertIn("%s:x:%d:%d::%s:" % (C.CTR_USER, C.CTR_UID, C.CTR_UID, C.CTR_HOME), r.stdout)
        self.assertIn("root:x:0:0:root:/root:", r.stdout)
        self.assertEqual(C.run(["sh", "-c", "exit 5"], check=False).returncode, 5)

    def test_detached_container_facts_agree(self):
        with C.Session() as s:
            c = s.run_detached(STOPPABLE)
            i = c.inspect()
            pid = i["pid"]
            self.assertRegex(i["id"], HEX64)
            self.assertEqual(i["id"], c.id)
            self.assert_own_pidns(pid)
            self.assertEqual(C.nsppid(pid), 0)
            ns, host = C.ns_inodes(pid), host_ns()
            for n in ("pid", "mnt", "net", "uts", "ipc"):
                self.assertNotEqual(ns[n], host[n], n)
            # no user namespace without a uid map; cgroup v1 layout: host cgroup ns
            self.assertEqual(ns["user"], host["user"])
            self.assertEqual(ns["cgroup"], host["cgroup"])
            cg = C.cgroup_path(pid)
            self.assertEqual(cg, "/libpod_parent/libpod-" + c.id)
            self.assertEqual(cg, i["cgroup_path"])
            self.assertEqual(C.cgroup_id(cg), os.stat(C.unified_mount() + cg).st_ino)
            self.assertNotEqual(C.cgroup_id(cg), C.cgroup_id(C.cgroup_path(os.getpid())))
            # its files: the exe is the image's busybox as seen in MergedDir
            self.assertTrue(os.path.isdir(i["upper_dir"]), i["upper_dir"])
            exe = os.stat("/proc/%d/exe" % pid)
            img = os.stat(os.path.join(i["merged_dir"], "bin/busybox"))
            self.assertEqual((exe.st_dev, exe.st_ino), (img.st_dev, img.st_ino))
            self.assertEqual(C.root_of(pid), "/")
            # podman's start time and the kernel's agree within clock ticks + runc's work
            started = C.boot_epoch_ns() + C.start_ns(pid)
            self.assertLess(abs(i["started_ns"] - started), 3 * 10**9,
                            (i["started_at"], started))
            c.stop()
            self.assertEqual(c.wait(), 7)
            self.assertFalse(os.path.exists("/proc/%d" % pid))
        self.assertNotIn(c.id, C.podman("ps", "-a", "--no-trunc", "-q").stdout)

    def test_exec_as_root_and_as_user(self):
        with C.Session() as s:
            c = s.run_detached(STOPPABLE)
            init = c.pid()
            r = c.exec(["sh", "-c", "id; pwd; echo $$"])
            out = r.stdout.split("\n")
            self.assertTrue(out[0].startswith("uid=0(root) gid=0(root)"), out[0])
            self.assertEqual(out[1], "/")
            self.assertNotEqual(int(out[2]), 1)
            r = c.exec(["sh", "-c", "id; pwd"], user=C.CTR_UID, workdir=C.CTR_HOME)
            ident, cwd = r.stdout.split("\n")[:2]
            self.assertTrue(ident.startswith("uid=1000(%s) gid=1000(%s)" % (C.CTR_USER, C.CTR_GROUP)),
                            ident)
            self.assertEqual(cwd, C.CTR_HOME)
            # a process exec'd in: same namespaces and cgroup as pid 1, host uid 1000
            c.exec(["sleep", "7.5"], user=C.CTR_UID, detach=True)
            pidns = C.ns_inodes(init)["pid"]
            pid = C.wait_for(lambda: [p for p in C.pids_in_pidns(pidns)
                                      if open("/proc/%d/cmdline" % p).read() == "sleep\x007.5\x00"],
                             what="the exec'd sleep")[0]
            self.assertEqual(len(C.nspid(pid)), 2)
            self.assertNotEqual(C.nspid(pid)[1], 1)
            self.assertEqual(C.ns_inodes(pid), C.ns_inodes(init))
            self.assertEqual(C.cgroup_path(pid), C.cgroup_path(init))
            self.assertEqual(C.ids(pid)["uid"], C.CTR_UID)
            self.assertEqual(C.ids(pid)["euid"], C.CTR_UID)
            self.assertEqual(C.status_field(pid, "NSpgid")[-1], C.status_field(pid, "NSpid")[-1])

    def test_uid_map(self):
        with C.Session() as s:
            c = s.run_detached(["sleep", "30"], user=C.CTR_UID, uidmap="0:100000:65536")
            pid = c.pid()
            self.assertEqual(C.id_map(pid), [(0, 100000, 65536)])
            self.assertEqual(C.id_map(pid, "gid"), [(0, 100000, 65536)])
            self.assertNotEqual(C.ns_inodes(pid)["user"], host_ns()["user"])
            self.assertEqual(C.ids(pid)["uid"], 100000 + C.CTR_UID)
            self.assertEqual(C.to_ns_id(pid, C.ids(pid)["uid"]), C.CTR_UID)
            self.assertIsNone(C.to_ns_id(pid, 0))
            r = c.exec(["id"], user=C.CTR_UID)
            self.assertTrue(r.stdout.startswith("uid=1000(%s)" % C.CTR_USER), r.stdout)

    def test_two_containers_and_a_pod(self):
        with C.Session() as s:
            a, b = s.run_detached(["sleep", "30"]), s.run_detached(["sleep", "30"])
            pod = s.pod()
            p = s.run_detached(["sleep", "30"], extra=("--pod", pod))
            pids = [x.pid() for x in (a, b, p)]
            for x in pids:
                self.assert_own_pidns(x)
            self.assertEqual(len({a.id, b.id, p.id}), 3)
            for n in ("pid", "mnt", "uts", "ipc"):
                self.assertEqual(len({C.ns_inodes(x)[n] for x in pids[:2]}), 2, n)
            paths = [C.cgroup_path(x) for x in pids]
            self.assertEqual(paths[:2], ["/libpod_parent/libpod-" + a.id,
                                         "/libpod_parent/libpod-" + b.id])
            self.assertEqual(paths[2], "/libpod_parent/%s/libpod-%s" % (pod, p.id))
            self.assertEqual(len({C.cgroup_id(x) for x in paths}), 3)
            # the pod's infra container shares its uts and ipc namespaces
            infra = C.podman("pod", "inspect", "--format", "{{.InfraContainerID}}", pod).stdout
            ipid = C.Container(infra.strip(), None).pid()
            self.assertEqual(C.ns_inodes(ipid)["ipc"], C.ns_inodes(pids[2])["ipc"])

    def test_rootless(self):
        uid = 1000
        with C.rootless(uid) as pm:
            r = pm("run", "--rm", *C.RUN_FLAGS, C.IMAGE, "sh", "-c", "id -u; cat /proc/self/uid_map")
            self.assertEqual(r.stdout.split(), ["0", "0", str(uid), "1"])
            pm("run", "-d", "--name", "rootless", *C.RUN_FLAGS, C.IMAGE, "sleep", "30")
            pid = int(pm("inspect", "--format", "{{.State.Pid}}", "rootless").stdout)
            self.assert_own_pidns(pid)
            self.assertNotEqual(C.ns_inodes(pid)["user"], host_ns()["user"])
            self.assertEqual(C.id_map(pid), [(0, uid, 1)])
            self.assertEqual(C.ids(pid)["uid"], uid)
            # cgroup v1 layout: rootless podman makes no cgroup, the container
            # stays where podman was started
            self.assertEqual(C.cgroup_path(pid), C.cgroup_path(os.getpid()))
        self.assertFalse(os.path.exists("/proc/%d" % pid))


class WithoutPodman(unittest.TestCase):
    def test_chroot_in_new_pid_and_mount_namespaces(self):
        root = tempfile.mkdtemp(prefix="ksysmon-rootfs.")
        try:
            C.unpack_rootfs(root)
            sp = C.chroot_pidns(root, ["/bin/sleep", "30"])
            pid = sp.pid()
            self.assertEqual(C.nspid(pid), [pid, 1])
            self.assertEqual(C.root_of(pid), root)
            ns, host = C.ns_inodes(pid), host_ns()
            self.assertNotEqual(ns["pid"], host["pid"])
            self.assertNotEqual(ns["mnt"], host["mnt"])
            self.assertEqual(ns["user"], host["user"])
            self.assertEqual(C.cgroup_path(pid), C.cgroup_path(os.getpid()))
            sp.kill()
            self.assertFalse(os.path.exists("/proc/%d" % pid))
            # the dynamic program has all it needs in the unpacked root
            r = subprocess.run(["unshare", "--pid", "--fork", "chroot", root,
                                C.WORKLOAD_IN_IMAGE, "exit", "5"], timeout=30)
            self.assertEqual(r.returncode, 5)
            st = os.stat(os.path.join(root, C.CTR_HOME.lstrip("/")))
            self.assertEqual((st.st_uid, st.st_gid), (C.CTR_UID, C.CTR_UID))
        finally:
            subprocess.call(["umount", "-l", os.path.join(root, "proc")],
                            stderr=subprocess.DEVNULL)
            shutil.rmtree(root, ignore_errors=True)

    def test_user_namespace_of_an_unprivileged_user(self):
        for uid, map_root, inside in ((1000, True, 0), (65534, False, 65534)):
            sp = C.userns_as(uid, ["sleep", "30"], map_root=map_root)
            try:
                pid = sp.pid()
                self.assertEqual(C.id_map(pid), [(inside, uid, 1)])
                self.assertEqual(C.ids(pid)["uid"], uid)
                self.assertEqual(C.to_ns_id(pid, uid), inside)
                self.assertNotEqual(C.ns_inodes(pid)["user"], host_ns()["user"])
                self.assertEqual(C.ns_inodes(pid)["pid"], host_ns()["pid"])
                self.assertEqual(len(C.nspid(pid)), 1)
            finally:
                sp.kill()

    def test_cgroup_made_by_hand(self):
        with C.HandCgroup() as cg:
            p = cg.spawn(["sleep", "30"])
            try:
                self.assertEqual(C.cgroup_path(p.pid), cg.path)
                self.assertEqual(C.cgroup_id(cg.path), cg.id)
                self.assertNotEqual(cg.id, C.cgroup_id(C.cgroup_path(os.getpid())))
            finally:
                p.kill()
                p.wait()
            d = cg.dir
        self.assertFalse(os.path.exists(d))

    def test_overlay_mounted_by_hand(self):
        with C.hand_overlay(WORKLOAD, name="prog") as o:
            self.assertEqual(subprocess.run([o["path"], "exit", "4"]).returncode, 4)
            seen, upper = os.stat(o["path"]), os.stat(o["upper_path"])
            self.assertNotEqual(seen.st_dev, upper.st_dev)
            with open(o["path"], "rb") as a, open(WORKLOAD, "rb") as b:
                self.assertEqual(a.read(), b.read())
            fstype = {line.split()[4]: line.split(" - ")[1].split()[0]
                      for line in open("/proc/self/mountinfo")}
            self.assertEqual(fstype[o["merged"]], "overlay")
            merged = o["merged"]
        self.assertFalse(os.path.exists(merged))


if __name__ == "__main__":
    unittest.main()
