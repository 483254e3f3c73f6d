"""Captures (-w/-r) and rotation (issue "Record, replay and ship"): a replay
prints byte for byte what the live run printed, through the same filters;
rotation splits nothing and loses nothing; damaged captures are replayed up
to the damage, which is named by its byte offset."""
import glob
import json
import os
import socket
import struct
import subprocess
import tempfile
import time
import unittest

from harness import MONITOR, Monitor, run_workload
from test_config import config

TRUE = os.path.realpath("/bin/true")
HEADER = struct.Struct("<8sIIQQ16sHHI")


def replay(*args, check_rc=0):
    """Runs ksysmon -r ...; returns (stdout bytes, stderr text, rc)."""
    p = subprocess.run([MONITOR] + [str(a) for a in args], capture_output=True, timeout=120)
    err = p.stderr.decode("utf-8", "replace")
    assert "Sanitizer" not in err and "runtime error" not in err, err
    if check_rc is not None and p.returncode != check_rc:
        raise AssertionError("rc %d: %s" % (p.returncode, err))
    return p.stdout, err, p.returncode


def records(path):
    """(offset, type, size) of each record of a capture, and the header."""
    with open(path, "rb") as f:
        data = f.read()
    h = HEADER.unpack_from(data)
    out, off = [], h[2]
    while off < len(data):
        typ, _, size = struct.unpack_from("<HHI", data, off)
        out.append((off, typ, size))
        off += size
    return h, data, out


def lines(data):
    return data.decode("utf-8", "surrogateescape").splitlines(keepends=True)


class Capture(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ksysmon-capture.")
        self.cap = os.path.join(self.dir, "cap")

    def record(self, *args, fmt="json", work=None):
        """Live run with -w and --print; returns (monitor, live bytes)."""
        with Monitor("-w", self.cap, "--print", *args, fmt=fmt) as m:
            (work or self.storm)()
        self.assertEqual(m.returncode, 0, m.stderr)
        return m, m.stdout

    def storm(self):
        run_workload("exec-storm", 30, TRUE)
        run_workload("threads", 3)
        subprocess.run(["/bin/sh", "-c", "echo 'a \"quoted\" arg' >/dev/null; /bin/true x y"])

    def test_replay_equals_live_json_with_images_and_hashes(self):
        start = time.time()
        m, live = self.record("--events", "all", "--hash", "sha256")
        evs = [json.loads(x) for x in lines(live)]
        execs = [e for e in evs if e["type"] == "process_exec" and e["image"] == TRUE]
        self.assertGreaterEqual(len(execs), 30)
        self.assertTrue(any(e["type"] == "image_load" for e in evs))
        self.assertTrue(any("sha256" in e for e in execs))
        self.assertTrue(any("user" in e and "parent_image" in e for e in execs))
        out, err, _ = replay("-r", self.cap, "-f", "json", "--hash", "sha256")
        self.assertEqual(out, live)
        self.assertIn("ksysmon: summary:", err)
        # the header describes the machine and the time of the capture
        h, _, _ = records(self.cap)
        magic, version, size, boot, started, _, hlen, klen, _ = h
        self.assertEqual(magic, b"KSMCAP\r\n")
        self.assertEqual(version, 4)
        with open(self.cap, "rb") as f:
            names = f.read(size)[HEADER.size:]
        self.assertEqual(names[:hlen].decode(), socket.gethostname())
        self.assertEqual(names[hlen:hlen + klen].decode(), os.uname().release)
        with open("/proc/uptime") as f:
            booted = time.time() - float(f.read().split()[0])
        self.assertLess(abs(boot / 1e9 - booted), 2)
        self.assertTrue(start - 1 <= started / 1e9 <= time.time())
        # without --hash, the same events without digests
        out, _, _ = replay("-r", self.cap, "-f", "json")
        self.assertEqual(len(lines(out)), len(lines(live)))
        self.assertNotIn(b'"sha256"', out)

    def test_version_2_replays_without_namespace_facts(self):
        """A version 2 capture (records without the namespace block flag)
        replays as before: the same events, the namespace fields absent.
        Containers' processes are left out (--container host): version 2
        knew no names of another mount namespace's users."""
        _, live = self.record("--container", "host")
        h, data, recs = records(self.cap)
        old = bytearray(data[:h[2]])
        struct.pack_into("<I", old, 8, 2)
        flagged = users = 0
        host_mnt_ns = os.stat("/proc/self/ns/mnt").st_ino
        for off, typ, size in recs:
            rec = bytearray(data[off:off + size])
            flags = struct.unpack_from("<H", rec, 2)[0]
            if flags & 4:  # KSM_HF_TASK_NS
                struct.pack_into("<H", rec, 2, flags & ~4)
                flagged += 1
            if typ in (4, 5) and flags & 16:  # a thread record's KSM_HF_CGROUP block
                rec = rec[:32]
                struct.pack_into("<HI", rec, 2, flags & ~16, 32)
                flagged += 1
            if typ == 0x105:  # KSM_CAP_USER_NS, as version 2 wrote it: KSM_CAP_USER
                uid, uflags, mnt_ns, noff, nlen = struct.unpack_from("<IIQII", rec, 16)
                self.assertEqual(mnt_ns, host_mnt_ns)
                name = bytes(rec[noff:noff + nlen])
                body = struct.pack("<IIII", uid, uflags, 32, nlen) + name
                body += b"\0" * (-(16 + len(body)) % 8)
                rec = bytearray(struct.pack("<HHIQ", 0x103, flags, 16 + len(body),
                                            struct.unpack_from("<Q", rec, 8)[0]) + body)
                users += 1
            old += rec
        self.assertGreater(flagged, 90)
        self.assertGreater(users, 0)
        v2 = os.path.join(self.dir, "v2")
        with open(v2, "wb") as f:
            f.write(bytes(old))
        out, _, _ = replay("-r", v2, "-f", "json")
        ns_fields = {"cgroup_id", "cgroup", "pid_ns_level", "vpid", "vppid", "in_init_tree",
                     "container_start", "pid_ns", "mnt_ns", "net_ns", "user_ns", "uts_ns",
                     "ipc_ns", "cgroup_ns", "ns_uid", "ns_gid", "ns_euid", "root",
                     "root_dev", "root_unreachable", "root_unresolved"}
        want = []
        for line in lines(live):
            e = json.loads(line)
            want.append({k: v for k, v in e.items() if k not in ns_fields})
        got = [json.loads(x) for x in lines(out)]
        self.assertEqual(got, want)
        self.assertTrue(any("pid_ns" in json.loads(x) for x in lines(live)))

    def test_replay_equals_live_text(self):
        _, live = self.record(fmt="text")
        self.assertGreater(len(lines(live)), 90)
        out, _, _ = replay("-r", self.cap)
        self.assertEqual(out, live)

    def test_without_print_nothing_is_shown(self):
        with Monitor("-w", self.cap) as m:
            run_workload("exec-storm", 5, TRUE)
        self.assertEqual(m.stdout, b"")
        out, _, _ = replay("-r", self.cap, "-f", "json")
        pids = {e["pid"] for e in map(json.loads, lines(out)) if e["type"] == "process_exec"
                and e["image"] == TRUE}
        self.assertGreaterEqual(len(pids), 5)

    def test_replay_applies_rules_events_and_pid(self):
        cfg = config("""
events:
  process_exec:
    exclude:
      - cmdline: {contains: "skip-me"}
""")
        marker = os.path.join(self.dir, "skip-me")

        def work():
            subprocess.run([TRUE, marker])
            subprocess.run([TRUE, "keep-me"])
            subprocess.run(["/bin/sh", "-c", "/bin/true child-of-sh; /bin/true again"])

        _, live = self.record("-c", cfg, work=work)
        self.assertNotIn(b"skip-me", live)
        self.assertIn(b"keep-me", live)
        out, err, _ = replay("-r", self.cap, "-f", "json", "-c", cfg)
        self.assertEqual(out, live)
        self.assertRegex(err, r"ksysmon: filtered: user=[1-9]")
        # the capture holds what the rules left out: another replay shows it
        everything, _, _ = replay("-r", self.cap, "-f", "json")
        self.assertIn(b"skip-me", everything)
        all_evs = [json.loads(x) for x in lines(everything)]
        execs, _, _ = replay("-r", self.cap, "-f", "json", "--events", "process_exec")
        self.assertEqual([json.loads(x) for x in lines(execs)],
                         [e for e in all_evs if e["type"] == "process_exec"])
        # --pid: the shell and what it started, as the kernel filter would
        sh = [e for e in all_evs if e["type"] == "process_exec" and e["argv"][:2] == ["/bin/sh", "-c"]]
        self.assertEqual(len(sh), 1)
        shpid = sh[0]["pid"]
        mine, _, _ = replay("-r", self.cap, "-f", "json", "--pid", shpid)
        evs = [json.loads(x) for x in lines(mine)]
        children = {e["pid"] for e in all_evs if e["type"] == "process_create" and e["ppid"] == shpid}
        self.assertEqual(len(children), 2)
        self.assertEqual({e["pid"] for e in evs}, {shpid} | children)
        # the shell's own creation too: its pid is selected
        self.assertEqual(evs, [e for e in all_evs if e.get("pid") in {shpid} | children])
        # followed through creations that are not shown
        mine, _, _ = replay("-r", self.cap, "-f", "json", "--pid", shpid, "--events", "process_exec")
        self.assertEqual([json.loads(x) for x in lines(mine)],
                         [e for e in evs if e["type"] == "process_exec"])
        self.assertEqual(len(lines(mine)), 3)

    def test_rotation_under_storm_loses_nothing(self):
        out = os.path.join(self.dir, "out.json")
        ids = os.path.join(self.dir, "ids")
        size = 128 << 10
        with Monitor("-w", self.cap, "--print", "-o", out, "--rotate-size", str(size),
                     "--rotate-keep", "1000") as m:
            env = dict(os.environ, WORKLOAD_IDS=ids)
            run_workload("exec-storm", 2000, TRUE, env=env)
        self.assertEqual(m.returncode, 0, m.stderr)
        s = m.summary()
        self.assertEqual(s["lost"]["total"], 0)
        outs = sorted(glob.glob(out + "*"), key=lambda p: -int(p.rsplit(".", 1)[1])
                      if p[-1].isdigit() else 0)
        caps = sorted(glob.glob(self.cap + "*"), key=lambda p: -int(p.rsplit(".", 1)[1])
                      if p[-1].isdigit() else 0)
        # rotated many times, and every rotated file was filled before it
        # was set aside (the one event that did not fit is at most a few KiB)
        self.assertGreaterEqual(len(outs), 5)
        self.assertGreaterEqual(len(caps), 3)
        for p in outs[:-1] + caps[:-1]:
            self.assertGreater(os.path.getsize(p), size - (16 << 10), p)
        self.assertRegex(m.stderr, r"ksysmon: rotated: output=%d capture=%d" % (len(outs) - 1, len(caps) - 1))
        live = b""
        for p in outs:
            with open(p, "rb") as f:
                data = f.read()
            self.assertLessEqual(len(data), size)
            self.assertTrue(data.endswith(b"\n"))
            for line in lines(data):
                json.loads(line)  # none is split
            live += data
        evs = [json.loads(x) for x in lines(live)]
        self.assertEqual(len(evs), sum(s["summary"].values()))
        with open(ids) as f:
            pids = {int(x) for x in f}
        self.assertEqual(len(pids), 2000)
        seen = {e["pid"] for e in evs if e["type"] == "process_exec" and e["image"] == TRUE}
        self.assertEqual(pids - seen, set())
        # each capture file replays on its own; together they are the output
        replayed = b""
        for p in caps:
            self.assertLessEqual(os.path.getsize(p), size)
            data, _, _ = replay("-r", p, "-f", "json")
            replayed += data
        self.assertEqual(replayed, live)

    def test_rotate_keep_drops_the_oldest(self):
        out = os.path.join(self.dir, "out.json")
        with Monitor("-o", out, "--rotate-size", "64K", "--rotate-keep", "2") as m:
            run_workload("exec-storm", 600, TRUE)
        self.assertEqual(m.returncode, 0, m.stderr)
        self.assertRegex(m.stderr, r"rotated: output=([3-9]|\d\d+)")
        self.assertEqual(sorted(os.listdir(self.dir)), ["out.json", "out.json.1", "out.json.2"])

    def test_damaged_captures(self):
        _, live = self.record()
        full = lines(live)
        h, data, recs = records(self.cap)
        # the last event record of the sensor (types below 0x100)
        events = [r for r in recs if r[1] < 0x100]
        self.assertGreater(len(events), 10)
        damaged = os.path.join(self.dir, "damaged")

        def run_on(blob, rc=1):
            with open(damaged, "wb") as f:
                f.write(blob)
            out, err, _ = replay("-r", damaged, "-f", "json", check_rc=rc)
            return lines(out), err

        # cut inside a record: the records before it are replayed
        off, typ, size = events[len(events) // 2]
        got, err = run_on(data[:off + size - 3])
        self.assertIn("truncated record at byte %d (%d of %d bytes)" % (off, size - 3, size), err)
        self.assertEqual(got, full[:len(got)])
        self.assertGreaterEqual(len(got), len(events) // 2 - 1)
        # a size no record can have: the rest cannot be found
        bad = bytearray(data)
        struct.pack_into("<I", bad, off + 4, 7)
        got, err = run_on(bytes(bad))
        self.assertIn("bad record size 7 at byte %d" % off, err)
        self.assertEqual(got, full[:len(got)])
        # a record of an unknown type, size intact: skipped, the rest replayed
        bad = bytearray(data)
        struct.pack_into("<H", bad, off, 0x77)
        got, err = run_on(bytes(bad))
        self.assertIn("malformed record at byte %d, skipped" % off, err)
        self.assertEqual(len(got), len(full) - 1)
        # a string pointing outside its record
        exe = [r for r in events if r[1] == 2][0]
        bad = bytearray(data)
        struct.pack_into("<I", bad, exe[0] + 56, 0xFFFFFF00)  # image.offset
        got, err = run_on(bytes(bad))
        self.assertIn("malformed record at byte %d, skipped" % exe[0], err)
        self.assertEqual(len(got), len(full) - 1)
        # headers: one clear line, nothing else
        for blob, msg in ((b"", "empty file, not a ksysmon capture"),
                          (b"GIF89a" + data[6:], "not a ksysmon capture (bad magic at byte 0)"),
                          (data[:20], "truncated capture header at byte 20 (20 of 56 bytes)"),
                          (data[:8] + b"\x09" + data[9:], "unsupported capture version 9 at byte 8")):
            got, err = run_on(blob)
            self.assertEqual(got, [])
            self.assertEqual(err.strip().count("\n"), 0, err)
            self.assertIn(msg, err)
        # random bytes after a valid header never crash it
        for seed in range(20):
            blob = data[:h[2]] + os.urandom(2000 + seed)
            with open(damaged, "wb") as f:
                f.write(blob)
            _, _, rc = replay("-r", damaged, "-f", "json", check_rc=None)
            self.assertIn(rc, (0, 1))

    def test_bad_paths(self):
        for args, msg in ((["-r", os.path.join(self.dir, "none")], "cannot read capture"),
                          (["-r", self.dir], "cannot read at byte 0"),
                          (["-w", "/nonexistent-dir/cap"], "cannot write '/nonexistent-dir/cap': its directory: No such file or directory")):
            out, err, _ = replay(*args, check_rc=1)
            self.assertEqual(out, b"")
            self.assertIn(msg, err)
            self.assertEqual(err.strip().count("\n"), 0, err)
        _, err, _ = replay("-r", self.cap, "-w", self.cap, check_rc=2)
        self.assertIn("cannot be combined", err)


if __name__ == "__main__":
    unittest.main()
