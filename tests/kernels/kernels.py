"""Debian kernels for the kernel matrix: fetched with apt, booted under QEMU.

Each row of the matrix is a Debian kernel package picked from the archive by
suite; its vmlinuz, config and the few modules a guest needs are kept under
build/kernels/<label>/ so that a second run downloads nothing.  apt runs with
its own sources.list, state and cache under build/kernels/apt: the machine's
own apt setup is never read or written.
"""
import base64
import functools
import glob
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build", "kernels")
MIRROR = "http://deb.debian.org/debian"

# label -> suites searched for the metapackage linux-image-amd64 (the
# highest version among them is taken)
KERNELS = {
    "5.10": ["bullseye"],
    "6.1": ["bookworm"],
    "6.12": ["bookworm-backports"],
    "7.x": ["trixie-backports", "sid", "experimental"],
}
SUITES = ["bullseye", "bookworm", "bookworm-backports", "trixie-backports", "sid", "experimental"]

# modules copied into the guest, found by file name under lib/modules
GUEST_MODULES = ["dummy"]


class FetchError(Exception):
    pass


def kernel_dir(label):
    return os.path.join(BUILD, label)


def is_fetched(label):
    return os.path.exists(os.path.join(kernel_dir(label), "ready"))


class Apt:
    """apt-get/apt-cache on build/kernels/apt only."""

    def __init__(self):
        self.dir = os.path.join(BUILD, "apt")
        self.updated = False

    def opts(self):
        d = self.dir
        return ["-o", "Dir::Etc::sourcelist=%s/sources.list" % d,
                "-o", "Dir::Etc::sourceparts=-",
                "-o", "Dir::Etc::preferences=%s/preferences" % d,
                "-o", "Dir::Etc::preferencesparts=-",
                "-o", "Dir::State=%s/state" % d,
                "-o", "Dir::State::status=%s/state/status" % d,
                "-o", "Dir::Cache=%s/cache" % d,
                "-o", "APT::Architecture=amd64",
                "-o", "APT::Architectures::=amd64",
                "-o", "Debug::NoLocking=1",
                "-o", "Acquire::Languages=none"]

    def run(self, tool, *args, cwd=None):
        r = subprocess.run([tool] + self.opts() + list(args), capture_output=True, text=True,
                           cwd=cwd)
        if r.returncode:
            raise FetchError("%s %s failed: %s" % (tool, " ".join(args), r.stderr.strip()[-2000:]))
        return r.stdout

    def update(self):
        if self.updated:
            return
        for sub in ("state/lists/partial", "cache/archives/partial", "debs"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        with open(os.path.join(self.dir, "sources.list"), "w") as f:
            for s in SUITES:
                f.write("deb %s %s main\n" % (MIRROR, s))
        open(os.path.join(self.dir, "preferences"), "a").close()
        open(os.path.join(self.dir, "state", "status"), "a").close()
        print("kernels: apt-get update (build/kernels/apt)", flush=True)
        self.run("apt-get", "-q", "update")
        self.updated = True

    def versions(self, pkg, suites):
        """Versions of pkg offered by the given suites, highest first."""
        found = []
        for line in self.run("apt-cache", "madison", pkg).splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2].split()[1].split("/")[0] in suites:
                found.append(parts[1])
        return sorted(set(found), key=functools.cmp_to_key(compare_versions), reverse=True)

    def depends(self, pkg, version):
        """[(name, version)] of the exact-version dependencies of pkg=version."""
        out = self.run("apt-cache", "show", "%s=%s" % (pkg, version))
        deps = []
        for line in out.splitlines():
            if line.startswith("Depends:"):
                for alt in line[len("Depends:"):].split(","):
                    alt = alt.split("|")[0].strip()
                    if "(=" in alt:
                        name, ver = alt.split("(=")
                        deps.append((name.strip(), ver.strip(" )")))
                break
        return deps

    def download(self, pkg, version):
        """The .deb of pkg=version, from build/kernels/apt/debs or the archive."""
        debs = os.path.join(self.dir, "debs")
        have = glob.glob(os.path.join(debs, "%s_*.deb" % pkg))
        for d in have:
            if deb_field(d, "Version") == version:
                return d
        print("kernels: downloading %s %s" % (pkg, version), flush=True)
        self.run("apt-get", "-q", "download", "%s=%s" % (pkg, version), cwd=debs)
        for d in glob.glob(os.path.join(debs, "%s_*.deb" % pkg)):
            if deb_field(d, "Version") == version:
                return d
        raise FetchError("apt-get download %s=%s left no .deb" % (pkg, version))


def compare_versions(a, b):
    if a == b:
        return 0
    r = subprocess.run(["dpkg", "--compare-versions", a, "lt", b])
    return -1 if r.returncode == 0 else 1


def deb_field(path, field):
    return subprocess.run(["dpkg-deb", "-f", path, field], capture_output=True,
                          text=True).stdout.strip()


def image_packages(apt, meta_version):
    """The packages that hold the kernel image and its modules: the image
    package linux-image-amd64 depends on, and, where Debian splits it
    (7.x: linux-binary-*, linux-modules-*), its parts."""
    todo = [("linux-image-amd64", meta_version)]
    pkgs = []
    while todo:
        name, ver = todo.pop()
        for dep, dver in apt.depends(name, ver):
            if dep.startswith(("linux-image-", "linux-binary-", "linux-modules-")) and \
                    (dep, dver) not in pkgs:
                pkgs.append((dep, dver))
                todo.append((dep, dver))
    if not pkgs:
        raise FetchError("linux-image-amd64 %s names no image package" % meta_version)
    return pkgs


def fetch(label, apt):
    """Makes build/kernels/<label>/{vmlinuz,config,modules/,version} from the
    Debian archive, unless already there."""
    if is_fetched(label):
        return
    apt.update()
    versions = apt.versions("linux-image-amd64", KERNELS[label])
    if not versions:
        raise FetchError("no linux-image-amd64 in %s" % ", ".join(KERNELS[label]))
    pkgs = image_packages(apt, versions[0])
    debs = [apt.download(name, ver) for name, ver in pkgs]
    out = kernel_dir(label)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    tmp = tempfile.mkdtemp(prefix="extract.", dir=BUILD)
    try:
        for d in debs:
            subprocess.run(["dpkg-deb", "-x", d, tmp], check=True)
        collect(tmp, out)
    finally:
        shutil.rmtree(tmp)
    with open(os.path.join(out, "packages"), "w") as f:
        for name, ver in pkgs:
            f.write("%s %s\n" % (name, ver))
    open(os.path.join(out, "ready"), "w").close()


def collect(tree, out):
    """vmlinuz, config and GUEST_MODULES (decompressed) from an extracted
    package tree: boot/vmlinuz-RELEASE, or (7.x) usr/lib/modules/RELEASE/vmlinuz."""
    boot = glob.glob(os.path.join(tree, "boot", "vmlinuz-*"))
    split = glob.glob(os.path.join(tree, "usr", "lib", "modules", "*", "vmlinuz"))
    if len(boot) + len(split) != 1:
        raise FetchError("expected one vmlinuz in the packages, found %r" % (boot + split))
    if boot:
        vmlinuz = boot[0]
        release = os.path.basename(vmlinuz)[len("vmlinuz-"):]
    else:
        vmlinuz = split[0]
        release = os.path.basename(os.path.dirname(vmlinuz))
    shutil.copy(vmlinuz, os.path.join(out, "vmlinuz"))
    for config in glob.glob(os.path.join(tree, "boot", "config-" + release)):
        shutil.copy(config, os.path.join(out, "config"))
    with open(os.path.join(out, "release"), "w") as f:
        f.write(release + "\n")
    os.makedirs(os.path.join(out, "modules"), exist_ok=True)
    copy_modules([os.path.join(tree, base, release) for base in ("lib/modules", "usr/lib/modules")],
                 os.path.join(out, "modules"), release)


# module file endings and how to decompress them
MODULE_FORMS = ((".ko", ["cat"]), (".ko.xz", ["xz", "-dc"]), (".ko.zst", ["zstd", "-dcq"]))


def copy_modules(trees, out, release):
    """GUEST_MODULES found under trees, decompressed into out/NAME.ko."""
    mods = {}
    for t in trees:
        for dirpath, _, files in os.walk(t):
            for name in files:
                mods.setdefault(name, os.path.join(dirpath, name))
    for m in GUEST_MODULES:
        for ext, cmd in MODULE_FORMS:
            src = mods.get(m + ext)
            if src:
                with open(os.path.join(out, m + ".ko"), "wb") as f:
                    subprocess.run(cmd + [src], stdout=f, check=True)
                break
        else:
            raise FetchError("module %s not found for %s" % (m, release))


def release(label):
    with open(os.path.join(kernel_dir(label), "release")) as f:
        return f.read().strip()


def package_version(label):
    with open(os.path.join(kernel_dir(label), "packages")) as f:
        return f.readline().split()[1]


# ---------------------------------------------------------------- guests

GUEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "guest")


def _run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def _copy_with_links(src, root):
    """Copies src into root at its real path, and makes the name src a
    link to it there (src may be a library's soname link)."""
    real = os.path.realpath(src)
    dst = root + real
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if not os.path.exists(dst):
        shutil.copy2(real, dst)
    link = os.path.join(os.path.realpath(os.path.dirname(src)), os.path.basename(src))
    if link != real and not os.path.lexists(root + link):
        os.makedirs(os.path.dirname(root + link), exist_ok=True)
        same_dir = os.path.dirname(link) == os.path.dirname(real)
        os.symlink(os.path.basename(real) if same_dir else real, root + link)


def shared_libraries(binary):
    """Paths of the shared libraries and interpreter of binary (ldd)."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        words = line.split()
        if "=>" in words:
            path = words[words.index("=>") + 1]
        else:
            path = words[0]
        if path.startswith("/"):
            libs.append(path)
    return libs


def _cpio(tree, out, append=False):
    names = subprocess.run("cd %s && find . | LC_ALL=C sort" % tree, shell=True,
                           capture_output=True, check=True).stdout
    with open(out, "ab" if append else "wb") as f:
        _run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"], input=names, stdout=f,
             cwd=tree)


def build_common(binaries, probes):
    """build/kernels/initramfs/common.cpio: busybox, the binaries (path in
    the guest -> path here) with their libraries, the init and the cases."""
    top = os.path.join(BUILD, "initramfs")
    root = os.path.join(top, "root")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    # the same merged-/usr layout as this machine, so library paths agree
    for d in ("bin", "sbin", "lib", "lib64"):
        if os.path.islink("/" + d):
            os.symlink(os.readlink("/" + d), os.path.join(root, d))
    for d in ("usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "proc", "sys", "dev", "tmp",
              "results", "root", "etc", "ksm/probes", "ksm/modules"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    busybox = shutil.which("busybox") or "/bin/busybox"
    bindir = os.path.join(root, "usr/bin")
    shutil.copy2(busybox, os.path.join(bindir, "busybox"))
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        if not os.path.lexists(os.path.join(bindir, a)):
            os.symlink("busybox", os.path.join(bindir, a))
    for guest_path, host_path in binaries.items():
        dst = root + guest_path
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(host_path, dst)
        for lib in shared_libraries(host_path):
            _copy_with_links(lib, root)
    for p in probes:
        shutil.copy2(p, os.path.join(root, "ksm/probes", os.path.basename(p)))
    shutil.copy2(os.path.join(GUEST, "init"), os.path.join(root, "init"))
    shutil.copy2(os.path.join(GUEST, "cases.sh"), os.path.join(root, "ksm/cases.sh"))
    with open(os.path.join(root, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(os.path.join(root, "etc/group"), "w") as f:
        f.write("root:x:0:\n")
    _run(["mknod", "-m", "600", os.path.join(root, "dev/console"), "c", "5", "1"])
    _run(["mknod", "-m", "666", os.path.join(root, "dev/null"), "c", "1", "3"])
    out = os.path.join(top, "common.cpio")
    _cpio(root, out)
    return out


def build_initrd(label, common, adhoc=None):
    """The guest's initramfs: common.cpio, then this kernel's modules, then
    an ad hoc script (concatenated archives, as the kernel allows)."""
    kdir = kernel_dir(label)
    extra = os.path.join(kdir, "extra")
    shutil.rmtree(extra, ignore_errors=True)
    os.makedirs(os.path.join(extra, "ksm"))
    shutil.copytree(os.path.join(kdir, "modules"), os.path.join(extra, "ksm", "modules"))
    if adhoc is not None:
        with open(os.path.join(extra, "ksm", "adhoc.sh"), "w") as f:
            f.write(adhoc + "\n")
    out = os.path.join(kdir, "initrd.cpio")
    shutil.copy(common, out)
    _cpio(extra, out, append=True)
    return out


def boot(label, initrd, cases, log_path, timeout, case_timeout, adhoc=False, echo=False):
    """Boots the kernel of label with initrd under QEMU (TCG: software
    emulation), the serial console to log_path (and to stdout with echo).
    The guest is killed after timeout seconds.  Returns (seconds,
    timed_out, qemu's exit status)."""
    append = ["console=ttyS0", "panic=-1", "loglevel=1", "ksm.case_timeout=%d" % case_timeout]
    if cases:
        append.append("ksm.cases=" + ",".join(cases))
    if adhoc:
        append.append("ksm.adhoc")
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-m", "1024", "-smp", "1",
           "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio",
           "-no-reboot", "-kernel", os.path.join(kernel_dir(label), "vmlinuz"),
           "-initrd", initrd, "-append", " ".join(append)]
    t0 = time.monotonic()
    with open(log_path, "wb") as log:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)

        def copy():
            for line in p.stdout:
                log.write(line)
                log.flush()
                if echo and not line.startswith(b"KSM| "):
                    sys.stdout.buffer.write(line)
                    sys.stdout.flush()

        reader = threading.Thread(target=copy, daemon=True)
        reader.start()
        timed_out = False
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            p.kill()
            rc = p.wait()
        reader.join(10)
    return time.monotonic() - t0, timed_out, rc


def extract_results(log_path, dest):
    """Unpacks every case the guest printed (KSM-BEGIN ... KSM-END) into
    dest/CASE/.  Returns {case: None, or why its results are unusable}."""
    found = {}
    case, chunks = None, []
    with open(log_path, "rb") as f:
        lines = f.read().decode("utf-8", "replace").splitlines()
    for line in lines:
        line = line.rstrip("\r")
        if line.startswith("KSM-BEGIN "):
            case, chunks = line.split()[1], []
        elif line.startswith("KSM| ") and case:
            chunks.append(line[5:].strip())
        elif line.startswith("KSM-END ") and case:
            words = line.split()
            blob = base64.b64decode("".join(chunks) or "")
            if len(words) != 3 or hashlib.sha256(blob).hexdigest() != words[2]:
                found[case] = "results garbled on the serial console (checksum mismatch)"
            else:
                shutil.rmtree(os.path.join(dest, case), ignore_errors=True)
                with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as t:
                    t.extractall(dest)
                found[case] = None
            case = None
    return found
