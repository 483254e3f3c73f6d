"""A FUSE filesystem that holds up chosen requests forever.

Speaks the kernel's FUSE protocol directly on /dev/fuse (no library): one
directory holding one regular file, `prog`, with the bytes given.  Requests
of the listed opcodes coming from the threads of one process (`victim`, by
thread-group id) are never answered, as a hostile or hung server would do;
everyone else is served.  The server is a forked child that never execs;
killing it (or unmounting) fails every request it held.
"""
import ctypes
import errno
import os
import signal
import struct
import time

LOOKUP, FORGET, GETATTR, OPEN, READ, STATFS, RELEASE = 1, 2, 3, 14, 15, 17, 18
GETXATTR, FLUSH, INIT, OPENDIR, READDIR, RELEASEDIR = 22, 25, 26, 27, 28, 29
ACCESS, INTERRUPT, DESTROY, BATCH_FORGET = 34, 36, 38, 42

IN_HDR = struct.Struct("=IIQQIIIHH")  # len opcode unique nodeid uid gid pid extlen pad
OUT_HDR = struct.Struct("=IiQ")
ROOT, PROG = 1, 2

_libc = ctypes.CDLL(None, use_errno=True)


def _attr(ino, mode, size, nlink):
    # ino size blocks atime mtime ctime (ns x3) mode nlink uid gid rdev blksize flags
    return struct.pack("=QQQQQQIIIIIIIIII", ino, size, (size + 511) // 512, 0, 0, 0, 0, 0, 0,
                       mode, nlink, 0, 0, 0, 4096, 0)


def _tgid(tid):
    try:
        with open("/proc/%d/status" % tid) as f:
            for line in f:
                if line.startswith("Tgid:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


class Watchdog:
    """Resumes and kills the given processes after `seconds`, from a
    forked child that only sleeps and signals: the safety net of anything
    that may leave a --deny monitor unable to answer."""

    def __init__(self, seconds, pids):
        self.pid = os.fork()
        if self.pid == 0:
            try:
                time.sleep(seconds)
                for p in pids:
                    for sig in (signal.SIGCONT, signal.SIGKILL):
                        try:
                            os.kill(p, sig)
                        except OSError:
                            pass
            finally:
                os._exit(0)

    def disarm(self):
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)


def hold_exec(path, seconds):
    """A child that execs path (held up for as long as the server holds
    the monitor's open of it); killed by an alarm after `seconds`."""
    pid = os.fork()
    if pid == 0:
        signal.alarm(seconds)
        try:
            os.execv(path, [path])
        finally:
            os._exit(127)
    return pid


class StallFS:
    def __init__(self, mountpoint, content, stall_ops=(), victim=None):
        self.mountpoint = mountpoint
        self.content = content
        self.stall_ops = set(stall_ops)
        self.victim = victim
        self.pid = None

    def start(self):
        fd = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
        opts = "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other" % fd
        if _libc.mount(b"stallfs", self.mountpoint.encode(), b"fuse.stallfs", ctypes.c_ulong(0),
                       opts.encode()) != 0:
            e = ctypes.get_errno()
            os.close(fd)
            raise OSError(e, "mount fuse: " + os.strerror(e))
        self.pid = os.fork()
        if self.pid == 0:
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                self._serve(fd)
            finally:
                os._exit(0)
        os.close(fd)
        # the mount answers once the server replied to INIT
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.stat(os.path.join(self.mountpoint, "prog"))
                return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError("stallfs did not come up")

    def stop(self):
        """Kills the server (every held request fails) and unmounts."""
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = None
        _libc.umount2(self.mountpoint.encode(), 2)  # MNT_DETACH

    # ---- the server ----

    def _reply(self, fd, unique, error=0, body=b""):
        try:
            os.write(fd, OUT_HDR.pack(OUT_HDR.size + len(body), -error, unique) + body)
        except OSError:
            pass  # the request was interrupted meanwhile

    def _serve(self, fd):
        held = []  # requests never answered (kept so that nothing answers them)
        while True:
            try:
                req = os.read(fd, 1 << 20)
            except OSError as e:
                if e.errno in (errno.EINTR, errno.EAGAIN, errno.ENOENT):
                    continue
                return  # ENODEV: unmounted
            length, op, unique, node, _uid, _gid, pid, _ext, _pad = IN_HDR.unpack_from(req)
            body = req[IN_HDR.size:length]
            if op in self.stall_ops and self.victim and _tgid(pid) == self.victim:
                held.append(unique)
                continue
            self._answer(fd, op, unique, node, body)

    def _answer(self, fd, op, unique, node, body):
        size = len(self.content)
        if op == INIT:
            major, minor, readahead, _flags = struct.unpack_from("=IIII", body)
            out = struct.pack("=IIIIHHIIHHII", 7, 31, readahead, 0, 16, 12, 65536, 1, 0, 0, 0, 0)
            self._reply(fd, unique, 0, out + bytes(64 - len(out)))
        elif op == LOOKUP:
            name = body.split(b"\0", 1)[0]
            if node == ROOT and name == b"prog":
                entry = struct.pack("=QQQQII", PROG, 0, 3600, 3600, 0, 0) + _attr(PROG, 0o100755, size, 1)
                self._reply(fd, unique, 0, entry)
            else:
                self._reply(fd, unique, errno.ENOENT)
        elif op == GETATTR:
            attr = _attr(ROOT, 0o40755, 0, 2) if node == ROOT else _attr(PROG, 0o100755, size, 1)
            self._reply(fd, unique, 0, struct.pack("=QII", 3600, 0, 0) + attr)
        elif op in (OPEN, OPENDIR):
            self._reply(fd, unique, 0, struct.pack("=QIi", 1, 0, 0))
        elif op == READ:
            _fh, off, n = struct.unpack_from("=QQI", body)
            self._reply(fd, unique, 0, self.content[off:off + n])
        elif op == STATFS:
            self._reply(fd, unique, 0, struct.pack("=QQQQQIIII", 0, 0, 0, 0, 0, 4096, 255, 4096, 0) + bytes(24))
        elif op in (RELEASE, RELEASEDIR, FLUSH):
            self._reply(fd, unique)
        elif op in (FORGET, BATCH_FORGET, INTERRUPT):
            pass  # no reply expected (an interrupted request stays held)
        elif op == DESTROY:
            self._reply(fd, unique)
        else:
            self._reply(fd, unique, errno.ENOSYS)
