"""Containers, namespaces and cgroups for the tests, and their truth read
independently of the monitor.

Podman here: Debian 12's podman 4.3 with runc 1.1 (crun refuses the
cgroup v1/v2 hybrid of the machines the tests run on).  Every container is
started with RUN_FLAGS; the engine is configured by a containers.conf of
our own (CONTAINERS_CONF, written next to the image cache) so that pods'
infra containers get the same runtime and limits: the default nofile limit
is above what these machines allow and runc then fails with "error setting
rlimit type 7".  The image is built offline from busybox-static and the
workload (with its ld.so and libraries) and imported with `podman import`;
no registry is needed.

Cgroup paths seen on this kind of machine (no systemd as PID 1, cgroup v1
controllers under /sys/fs/cgroup/<ctrl>, cgroup2 mounted at
/sys/fs/cgroup/unified), as the unified ("0::") line of /proc/PID/cgroup:

  rootful, cgroupfs manager (the default here, and the only one that works:
  `--cgroup-manager systemd` fails with "systemd not running on this host,
  cannot use systemd cgroups manager"):
      container           /libpod_parent/libpod-<64 hex id>
      in a pod            /libpod_parent/<64 hex pod id>/libpod-<64 hex id>
      --cgroup-parent /a/b  /a/b/libpod-<64 hex id>
      conmon              /  (v1 controllers: /libpod_parent/conmon, or
                          /libpod_parent/<pod id>/conmon in a pod)
  rootless (cgroup v1: podman creates no cgroup at all): the container stays
  in the caller's cgroup (here "/"), so only namespaces tell it apart.
  With systemd (other machines): /machine.slice/libpod-<id>.scope, conmon in
  /machine.slice/libpod-conmon-<id>.scope, crun adds a "container" child.
  tests/unit/data/cgroup_paths.txt holds these and the other runtimes'
  patterns as a parser corpus.

cgroup id = the inode number of the cgroup's directory on the cgroup2 mount
(what bpf_get_current_cgroup_id() returns for the default hierarchy).
"""
import contextlib
import fcntl
import hashlib
import io
import itertools
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from datetime import datetime, timezone

from harness import WORKLOAD, Mounts

IMAGE = "localhost/ksysmon-test:latest"
RUN_FLAGS = ["--runtime", "runc", "--network", "none",
             "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=1000:1000"]
# the image's own users: names differ from any host's, so a user name shown
# for a process proves it was resolved in the process's root
CTR_USER = "ctruser"
CTR_UID = 1000
CTR_GROUP = "ctrgroup"
CTR_HOME = "/home/u"
WORKLOAD_IN_IMAGE = "/usr/local/bin/workload"
NAMESPACES = ("pid", "mnt", "net", "user", "uts", "ipc", "cgroup")

CACHE = "/var/tmp/ksysmon-test-containers"
LABEL = "org.ksysmon.content"
ENGINE_CONF = """[containers]
default_ulimits = ["nofile=20000:20000", "nproc=1000:1000"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""
_names = itertools.count()


# ---- podman -----------------------------------------------------------------

def _engine_env():
    os.makedirs(CACHE, exist_ok=True)
    conf = os.path.join(CACHE, "containers.conf")
    if not os.path.exists(conf) or open(conf).read() != ENGINE_CONF:
        tmp = conf + ".%d" % os.getpid()
        with open(tmp, "w") as f:
            f.write(ENGINE_CONF)
        os.chmod(tmp, 0o644)
        os.replace(tmp, conf)
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = conf
    return env


def _run(argv, what, check, timeout, input=None, **popen):
    """argv run to completion; stdout and stderr decoded (input: bytes)."""
    r = subprocess.run([str(a) for a in argv], capture_output=True, timeout=timeout,
                       input=input, **popen)
    r.stdout = r.stdout.decode("utf-8", "replace")
    r.stderr = r.stderr.decode("utf-8", "replace")
    if check and r.returncode != 0:
        raise RuntimeError("%s %s: exit %d: %s" % (what, " ".join(map(str, argv)),
                                                   r.returncode, r.stderr.strip()))
    return r


def podman(*args, check=True, timeout=60, input=None):
    """Runs `podman ARGS` with the tests' engine configuration; returns the
    CompletedProcess (stdout, stderr as text; input: bytes).  check: raise
    RuntimeError with podman's stderr when it fails."""
    return _run(["podman"] + list(args), "podman", check, timeout, input, env=_engine_env())


def _ldd_files(path):
    """The absolute paths of the program's ELF interpreter and libraries."""
    out = subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout
    files = []
    for line in out.splitlines():
        m = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if m:
            files.append(m.group(1))
    if not files:
        raise RuntimeError("%s: not a dynamically linked program" % path)
    return files


def rootfs_tar(workload=None, all_root=False):
    """The test image's root file system as tar bytes, built the same way
    every time (sorted, fixed times and owners) so its sha256 names it.

    Holds busybox-static with its applets in /bin, the dynamically linked
    workload at WORKLOAD_IN_IMAGE with its ld.so and libraries at their
    host paths, /etc/passwd and /etc/group with root and CTR_USER (uid
    CTR_UID, home CTR_HOME owned by it).  all_root: every file owned by
    root, for a user namespace that maps a single uid (rootless podman
    without /etc/subuid ranges refuses to unpack any other owner)."""
    workload = workload or WORKLOAD
    buf = io.BytesIO()
    entries = {}

    def add_dir(name, mode=0o755, owner=0):
        entries[name] = ("dir", mode, owner, None)

    def add_file(name, data, mode=0o755):
        entries[name] = ("file", mode, 0, data)

    for d in ("bin", "dev", "etc", "home", "lib", "lib64", "proc", "root", "run", "sys",
              "usr", "usr/bin", "usr/local", "usr/local/bin", "var"):
        add_dir(d)
    add_dir("tmp", 0o1777)
    add_dir(CTR_HOME.lstrip("/"), 0o755, CTR_UID)
    with open("/bin/busybox", "rb") as f:
        add_file("bin/busybox", f.read())
    applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            entries["bin/" + a] = ("link", 0o777, 0, "busybox")
    with open(workload, "rb") as f:
        add_file(WORKLOAD_IN_IMAGE.lstrip("/"), f.read())
    for lib in _ldd_files(workload):
        parts = lib.lstrip("/").split("/")
        for i in range(1, len(parts)):
            entries.setdefault("/".join(parts[:i]), ("dir", 0o755, 0, None))
        with open(os.path.realpath(lib), "rb") as f:
            add_file(lib.lstrip("/"), f.read())
    add_file("etc/passwd", ("root:x:0:0:root:/root:/bin/sh\n"
                            "%s:x:%d:%d::%s:/bin/sh\n"
                            "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
                            % (CTR_USER, CTR_UID, CTR_UID, CTR_HOME)).encode(), 0o644)
    add_file("etc/group", ("root:x:0:\n%s:x:%d:\nnogroup:x:65534:\n"
                           % (CTR_GROUP, CTR_UID)).encode(), 0o644)
    add_file("etc/hostname", b"ksysmon-test\n", 0o644)

    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(entries):
            kind, mode, owner, data = entries[name]
            ti = tarfile.TarInfo(name)
            owner = 0 if all_root else owner
            ti.mode, ti.uid, ti.gid, ti.mtime = mode, owner, owner, 0
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
                tar.addfile(ti)
            elif kind == "link":
                ti.type, ti.linkname = tarfile.SYMTYPE, data
                tar.addfile(ti)
            else:
                ti.size = len(data)
                tar.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


@contextlib.contextmanager
def _lock(name):
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, name + ".lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def build_image(workload=None, image=IMAGE):
    """Imports the rootfs_tar() image under `image` unless the image there
    already has this content (label LABEL = the tar's sha256); safe when
    several test runs build at once.  Returns the content sha256."""
    data = rootfs_tar(workload)
    digest = hashlib.sha256(data).hexdigest()
    with _lock("image"):
        r = podman("image", "inspect", "--format", '{{index .Labels "%s"}}' % LABEL, image,
                   check=False)
        if r.returncode == 0 and r.stdout.strip() == digest:
            return digest
        podman("import", "--change", "LABEL %s=%s" % (LABEL, digest), "-", image, input=data)
    return digest


def unpack_rootfs(dest, workload=None):
    """The test image's files unpacked into dest (a directory made here),
    owners as in the image; for chroot-based tests.  Returns dest."""
    os.makedirs(dest, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(rootfs_tar(workload))) as tar:
        tar.extractall(dest, numeric_owner=True)
    return dest


def _opts(user=None, workdir=None, uidmap=None, name=None):
    o = []
    if user is not None:
        o += ["--user", str(user)]
    if workdir is not None:
        o += ["--workdir", workdir]
    if uidmap is not None:
        o += ["--uidmap", uidmap, "--gidmap", uidmap]
    if name is not None:
        o += ["--name", name]
    return o


def unique_name(tag="c"):
    """A container name no other test run on the machine uses."""
    return "ksysmon-%s-%d-%d" % (tag, os.getpid(), next(_names))


def run(cmd, user=None, workdir=None, uidmap=None, extra=(), check=True, timeout=60):
    """`podman run --rm` of cmd (a list) in IMAGE with RUN_FLAGS; waits;
    returns the CompletedProcess.  user: --user; workdir: --workdir;
    uidmap: "0:100000:65536" style map for both uids and gids."""
    return podman("run", "--rm", *RUN_FLAGS, *_opts(user, workdir, uidmap, unique_name()),
                  *extra, IMAGE, *cmd, check=check, timeout=timeout)


class Container:
    """One detached container: id (64 hex), name, and inspect() truth."""

    def __init__(self, cid, name):
        self.id, self.name = cid, name

    def inspect(self):
        """podman inspect facts: id, pid (host pid of its init), conmon_pid,
        started_at (as podman prints it), started_ns (ns since the epoch),
        upper_dir, merged_dir, cgroup_path (podman's view), running, exit_code;
        raw: the whole inspect document."""
        doc = json.loads(podman("container", "inspect", self.id).stdout)[0]
        st, gd = doc["State"], doc["GraphDriver"]["Data"] or {}
        return {"id": doc["Id"], "pid": st["Pid"], "conmon_pid": st.get("ConmonPid"),
                "started_at": st["StartedAt"], "started_ns": parse_time_ns(st["StartedAt"]),
                "upper_dir": gd.get("UpperDir"), "merged_dir": gd.get("MergedDir"),
                "cgroup_path": st.get("CgroupPath"), "running": st["Running"],
                "exit_code": st["ExitCode"], "raw": doc}

    def pid(self):
        return self.inspect()["pid"]

    def exec(self, cmd, user=None, workdir=None, detach=False, check=True, timeout=60):
        """`podman exec` of cmd; returns the CompletedProcess (detach: at once)."""
        return podman("exec", *(["--detach"] if detach else []), *_opts(user, workdir),
                      self.id, *cmd, check=check, timeout=timeout)

    def stop(self, timeout=2):
        """`podman stop -t timeout`: SIGTERM, then SIGKILL after timeout s."""
        podman("stop", "-t", timeout, self.id, timeout=timeout + 30)

    def wait(self, timeout=60):
        """Waits for the container to exit; returns its exit code."""
        return int(podman("wait", self.id, timeout=timeout).stdout.split()[0])


class Containers:
    """Context manager for the containers a test starts: every one is
    removed (podman rm -f -t 0) on exit, whatever happened."""

    def __init__(self, workload=None):
        build_image(workload)
        self.made = []
        self.pods = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for c in reversed(self.made):
            podman("rm", "-f", "-t", "0", c.id, check=False)
        for p in self.pods:
            podman("pod", "rm", "-f", "-t", "0", p, check=False)
        self.made, self.pods = [], []

    def run_detached(self, cmd, user=None, workdir=None, uidmap=None, extra=(), tag="c"):
        """`podman run -d` of cmd; returns a Container once it is running."""
        name = unique_name(tag)
        cid = podman("run", "-d", *RUN_FLAGS, *_opts(user, workdir, uidmap, name),
                     *extra, IMAGE, *cmd).stdout.strip()
        c = Container(cid, name)
        self.made.append(c)
        return c

    def pod(self):
        """A new pod (with its infra container); returns its id (64 hex).
        Containers join it with extra=("--pod", id)."""
        pid = podman("pod", "create", "--network", "none", "--name", unique_name("pod")
                     ).stdout.strip()
        self.pods.append(pid)
        return pid


def parse_time_ns(text):
    """podman's time ("2026-11-30T22:47:41.233141787Z" or with "+hh:mm" or
    " +0000 UTC") as integer ns since the epoch, all digits kept."""
    m = re.match(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?\s*"
                 r"(Z|[+-]\d\d:?\d\d)?", text)
    if not m:
        raise ValueError("unrecognised time %r" % text)
    tz = m.group(4) or "Z"
    tz = "+00:00" if tz == "Z" else tz[:3] + ":" + tz[-2:]
    secs = datetime.fromisoformat("%sT%s%s" % (m.group(1), m.group(2), tz)).timestamp()
    return int(secs) * 10**9 + int((m.group(3) or "0").ljust(9, "0"))


# ---- rootless podman ----------------------------------------------------------

@contextlib.contextmanager
def rootless(uid=1000):
    """Rootless podman for uid: yields a function like podman() that runs as
    uid with its own store under a private HOME, the test image imported
    there (all files owned by root: without /etc/subuid ranges podman maps
    only uid itself, to root inside).  Everything is deleted on exit."""
    home = tempfile.mkdtemp(prefix="ksysmon-rootless.")
    os.chown(home, uid, uid)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": home, "XDG_RUNTIME_DIR": home,
           "CONTAINERS_CONF": _engine_env()["CONTAINERS_CONF"], "LC_ALL": "C"}

    def as_user(*args, check=True, timeout=60, input=None):
        return _run(["setpriv", "--reuid", uid, "--regid", uid, "--clear-groups", "podman"]
                    + list(args), "rootless", check, timeout, input, env=env, cwd=home)

    try:
        as_user("import", "-", IMAGE, input=rootfs_tar(all_root=True))
        yield as_user
    finally:
        as_user("rm", "-a", "-f", "-t", "0", check=False)
        # the pause process that keeps the user namespace alive outlives podman
        with contextlib.suppress(OSError, ValueError):
            with open(os.path.join(home, "libpod", "tmp", "pause.pid")) as f:
                os.kill(int(f.read().strip()), 9)
        shutil.rmtree(home, ignore_errors=True)


# ---- truth read from /proc and /sys ---------------------------------------------

def status_field(pid, field):
    """A /proc/PID/status field's value words (e.g. "NSpid" -> ["1234", "1"])."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k == field:
                return v.split()
    raise KeyError("%s not in /proc/%d/status" % (field, pid))


def nspid(pid):
    """The pid in each pid namespace, outermost first (/proc/PID/status NSpid)."""
    return [int(x) for x in status_field(pid, "NSpid")]


def nsppid(pid):
    """The parent's pid as the process's own pid namespace sees it; 0 when
    the parent is outside that namespace (the process is its init, or was
    forked by a process that setns'd in).  A parent's pid namespace is the
    child's or an ancestor of it, so equal NSpid depth means the same one."""
    ppid = int(status_field(pid, "PPid")[0])
    if ppid == 0:
        return 0
    outer = nspid(ppid)
    return outer[-1] if len(outer) == len(nspid(pid)) else 0


def ids(pid):
    """(real, effective) uid and gid from /proc/PID/status as the host sees them."""
    u, g = status_field(pid, "Uid"), status_field(pid, "Gid")
    return {"uid": int(u[0]), "euid": int(u[1]), "gid": int(g[0]), "egid": int(g[1])}


def id_map(pid, kind="uid"):
    """/proc/PID/{uid,gid}_map as [(inside, outside, count)]."""
    with open("/proc/%d/%s_map" % (pid, kind)) as f:
        return [tuple(int(x) for x in line.split()) for line in f if line.strip()]


def to_ns_id(pid, host_id, kind="uid"):
    """host_id as the process's user namespace sees it, or None if unmapped."""
    for inside, outside, count in id_map(pid, kind):
        if outside <= host_id < outside + count:
            return inside + host_id - outside
    return None


def ns_inodes(pid):
    """{namespace: inode} for NAMESPACES, from stat of /proc/PID/ns/*."""
    return {n: os.stat("/proc/%d/ns/%s" % (pid, n)).st_ino for n in NAMESPACES}


def root_of(pid):
    """The process's root directory as the host names it (/proc/PID/root).
    For a process in another mount namespace that pivot_root'd (podman)
    this reads "/": its root is that namespace's root; the host path of
    its files is then inspect()["merged_dir"]."""
    return os.readlink("/proc/%d/root" % pid)


def start_ns(pid):
    """The process's start, ns since boot (field 22 of /proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    return ticks * 10**9 // os.sysconf("SC_CLK_TCK")


def unified_mount():
    """Where cgroup2 is mounted (/sys/fs/cgroup/unified on the hybrid
    layout, /sys/fs/cgroup on a pure v2 one); first cgroup2 in mountinfo."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[0] == "cgroup2":
                return left.split()[4]
    raise RuntimeError("no cgroup2 mount")


def cgroup_path(pid):
    """The process's cgroup in the unified hierarchy ("0::" line of
    /proc/PID/cgroup), as the host's cgroup namespace names it."""
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            if line.startswith("0::"):
                return line[3:].rstrip("\n")
    raise RuntimeError("pid %d: no unified cgroup line" % pid)


def cgroup_id(path):
    """The id of the unified-hierarchy cgroup at path (inode of its directory)."""
    return os.stat(os.path.join(unified_mount(), path.lstrip("/"))).st_ino


def thread_cgroup(pid, tid):
    """(path, id) of one thread's own cgroup in the unified hierarchy: the
    "0::" line of /proc/PID/task/TID/cgroup (in a threaded subtree a
    thread's may differ from its process's) and its directory's inode."""
    with open("/proc/%d/task/%d/cgroup" % (pid, tid)) as f:
        for line in f:
            if line.startswith("0::"):
                path = line[3:].rstrip("\n")
                return path, cgroup_id(path)
    raise RuntimeError("thread %d/%d: no unified cgroup line" % (pid, tid))


def host_tid(pid, ns_tid):
    """The host id of the thread of process pid whose id in the process's
    own pid namespace is ns_tid (the last NSpid of its task status)."""
    for t in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, t)) as f:
            for line in f:
                if line.startswith("NSpid:") and int(line.split()[-1]) == ns_tid:
                    return int(t)
    raise KeyError("process %d has no thread %d in its namespace" % (pid, ns_tid))


class ThreadChain:
    """`workload wait-stdin thread-chain N` in a container (podman run -i,
    RUN_FLAGS) or on the host (in_container False), driven one line at a
    time: start() lets thread 1 begin, next() each following one, finish()
    ends them all.  Each thread's truth is read while it waits for its
    line: threads[host tid] = (cgroup path, cgroup id).  pid is the host
    pid; container the Container (None on the host)."""

    def __init__(self, s, n, tag="chain", in_container=True):
        self.n, self.threads, self.container = n, {}, None
        argv = ["wait-stdin", "thread-chain", str(n)]
        if in_container:
            name = unique_name(tag)
            self.cidfile = os.path.join(tempfile.mkdtemp(prefix="ksysmon-cid."), "cid")
            cmd = ["podman", "run", "-i", "--rm", "--cidfile", self.cidfile, *RUN_FLAGS,
                   "--name", name, IMAGE, WORKLOAD_IN_IMAGE] + argv
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         env=_engine_env())
        else:
            self.proc = subprocess.Popen([WORKLOAD] + argv, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE)
        self.line("pid")
        if in_container:
            with open(self.cidfile) as f:
                self.container = Container(f.read().strip(), name)
            s.made.append(self.container)
            self.pid = self.container.pid()
        else:
            self.pid = self.proc.pid

    def line(self, key):
        got = self.proc.stdout.readline().decode()
        k, _, v = got.strip().partition("=")
        if k != key:
            raise RuntimeError("workload said %r, not %s=" % (got, key))
        return int(v)

    def _go(self):
        self.proc.stdin.write(b"\n")
        self.proc.stdin.flush()

    def _thread_started(self):
        self.line("pid")  # thread-chain's own, after the first line
        self._note(self.line("tid"))

    def _note(self, tid):
        if self.container:
            tid = host_tid(self.pid, tid)
        self.threads[tid] = thread_cgroup(self.pid, tid)

    def start(self):
        self._go()
        self._thread_started()

    def next(self):
        self._go()
        self._note(self.line("tid"))

    def finish(self, timeout=30):
        """The last line: every thread ends, then the process."""
        self._go()
        self.proc.stdin.close()
        return self.proc.wait(timeout)


def init_tree(pid):
    """(parents walked, whether they lead to the namespace's init) for a
    process in a non-initial pid namespace, from /proc: its parents are
    followed (PPid) while they are in its namespace (equal NSpid depth, see
    nsppid), until one whose pid there is 1."""
    depth, level = 0, len(nspid(pid))
    while nspid(pid)[-1] != 1:
        ppid = int(status_field(pid, "PPid")[0])
        if ppid == 0 or len(nspid(ppid)) != level:
            return depth, False
        pid, depth = ppid, depth + 1
    return depth, True


def children(pid):
    """The pids of the process's children (all its threads' children)."""
    kids = []
    with contextlib.suppress(OSError):  # it may exit meanwhile
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                kids += [int(x) for x in f.read().split()]
    return kids


def pids_in_pidns(ino):
    """Host pids of the processes whose pid namespace has inode ino."""
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            with contextlib.suppress(OSError):
                if os.stat("/proc/%s/ns/pid" % d).st_ino == ino:
                    found.append(int(d))
    return sorted(found)


def cmdline(pid):
    """The process's argv as a list, None once it has gone."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().decode("utf-8", "surrogateescape").split("\0")[:-1]
    except OSError:
        return None


def boot_epoch_ns():
    """The wall-clock time of boot, ns since the epoch (to compare start_ns
    with podman's times)."""
    return time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def wait_for(pred, timeout=10, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise TimeoutError("timed out waiting for %s" % what)


# ---- the same facts without podman ------------------------------------------------

class Spawned:
    """A command started under a wrapper (unshare, chroot, setpriv);
    pid(): the host pid of the command itself once the wrappers have
    exec'd or forked into it (identified by its exe)."""

    def __init__(self, argv, exe, depth, **popen):
        self.exe, self.depth, self.cmd_pid = exe, depth, None
        self.proc = subprocess.Popen(argv, **popen)

    def pid(self, timeout=10):
        def find():
            level = [self.proc.pid]
            for _ in range(self.depth):
                level = [k for p in level for k in children(p)]
            for p in level:
                try:
                    if os.path.basename(os.readlink("/proc/%d/exe" % p)) == self.exe:
                        return p
                except OSError:
                    pass
            return None
        self.cmd_pid = wait_for(find, timeout, "%s to start" % self.exe)
        return self.cmd_pid

    def finish(self, timeout=30):
        """Waits for the wrapper to exit (killing it after timeout s);
        returns its exit status."""
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()

    def kill(self):
        """SIGKILL to the wrapper (which takes the command with it); returns
        once the command is gone too."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.cmd_pid:
            wait_for(lambda: not os.path.exists("/proc/%d" % self.cmd_pid), 10,
                     "pid %d to go" % self.cmd_pid)


def chroot_pidns(rootfs, cmd, **popen):
    """cmd run in a new pid and mount namespace, chrooted into rootfs (see
    unpack_rootfs) with a private /proc there: `unshare --pid --mount --fork
    --kill-child --mount-proc=ROOTFS/proc chroot ROOTFS CMD`.  Returns a
    Spawned whose pid() is cmd's host pid (pid 1 in its namespace); killing
    the Spawned kills cmd too."""
    argv = ["unshare", "--pid", "--mount", "--fork", "--kill-child",
            "--mount-proc=%s" % os.path.join(
        rootfs, "proc"), "chroot", rootfs] + list(cmd)
    exe = os.path.basename(os.path.realpath(os.path.join(rootfs, cmd[0].lstrip("/"))))
    return Spawned(argv, exe, 1, **popen)


def userns_as(uid, cmd, map_root=True, **popen):
    """cmd run by unprivileged uid (setpriv, no groups) in a user namespace
    it creates itself: mapped to root inside (map_root) or to itself.
    Returns a Spawned whose pid() is cmd's host pid."""
    mapping = ["--map-root-user"] if map_root else ["--map-current-user"]
    argv = ["setpriv", "--reuid", str(uid), "--regid", str(uid), "--clear-groups",
            "unshare", "--user"] + mapping + list(cmd)
    exe = os.path.basename(os.path.realpath(shutil.which(cmd[0]) or cmd[0]))
    return Spawned(argv, exe, 0, **popen)


class HandCgroup:
    """A cgroup made by hand in the unified hierarchy (no runtime involved):
    path (as /proc/PID/cgroup names it), id; spawn() starts a command inside
    it from its first instruction.  On exit, processes left in it are moved
    to the parent cgroup and it is removed."""

    def __init__(self, name=None):
        name = name or "ksysmon-test-%d-%d" % (os.getpid(), next(_names))
        self.path = "/" + name
        self.dir = os.path.join(unified_mount(), name)

    def __enter__(self):
        os.mkdir(self.dir)
        self.id = os.stat(self.dir).st_ino
        return self

    def spawn(self, argv, **popen):
        procs = os.path.join(self.dir, "cgroup.procs")

        def enter():
            with open(procs, "w") as f:
                f.write("0")
        return subprocess.Popen(argv, preexec_fn=enter, **popen)

    def __exit__(self, *exc):
        parent = os.path.join(os.path.dirname(self.dir), "cgroup.procs")
        with open(os.path.join(self.dir, "cgroup.procs")) as f:
            left = f.read().split()
        for p in left:
            with contextlib.suppress(OSError), open(parent, "w") as f:
                f.write(p)
        os.rmdir(self.dir)


@contextlib.contextmanager
def hand_overlay(program, name="prog", lower_files=None):
    """An overlay mounted by hand (lower + upper + work, no runtime) with
    `program` copied into the upper layer as `name`.  lower_files: {name:
    source path} copied into the lower layer.  Yields a dict: merged (mount
    point), upper, lower, path (the program seen through the overlay),
    upper_path (its file in the upper layer).  Unmounted and removed on exit."""
    base = tempfile.mkdtemp(prefix="ksysmon-ovl.")
    mounts = Mounts()
    try:
        for sub in ("lower", "upper", "work"):
            os.makedirs(os.path.join(base, sub))
        for n, src in (lower_files or {}).items():
            shutil.copy2(src, os.path.join(base, "lower", n))
        shutil.copy2(program, os.path.join(base, "upper", name))
        merged = mounts.overlay(base)
        yield {"merged": merged, "upper": os.path.join(base, "upper"),
               "lower": os.path.join(base, "lower"), "path": os.path.join(merged, name),
               "upper_path": os.path.join(base, "upper", name)}
    finally:
        mounts.undo()
        shutil.rmtree(base, ignore_errors=True)
