"""The JSON Schema of the events (docs/ksysmon-events.schema.json) checked
against real output: the monitor runs with every option that adds fields
(--events all, --hash sha256, --deny, --deny-sha256, --audit, a
configuration) and with a queue small enough to lose events, real
processes run under it, and every line it prints must validate.  Every
event type must appear, so that the check cannot pass on an empty run, and
broken events must be rejected, so that the schema cannot be too loose.
"""
import copy
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import unittest

from harness import MONITOR, ROOT, WORKLOAD, Monitor, run_workload, unique_copy
from test_deny import exec_dir

try:
    import jsonschema
except ImportError:
    # Debian's python3-jsonschema (scripts/deps.sh) lives in the system
    # interpreter's directory, which another python3 does not search.
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import jsonschema
    except ImportError as e:
        jsonschema = None
        JSONSCHEMA_ERROR = str(e)

SCHEMA_PATH = os.path.join(ROOT, "docs", "ksysmon-events.schema.json")
DRAFT = "https://json-schema.org/draft/2020-12/schema"
EVENT_TYPES = ["process_create", "process_exec", "process_exit", "thread_create",
               "thread_exit", "image_load", "events_lost", "exec_blocked"]
TRUE = os.path.realpath("/bin/true")
SH = os.path.realpath("/bin/sh")
STATIC = os.path.join(os.path.dirname(WORKLOAD), "workload-static")

SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
GUID = "6f68862f-0000-05df-a880-6cc00000270e"

# Valid events of every type and form, as the monitor prints them.
GOOD = {
    "process_create": {
        "type": "process_create", "time": "2026-11-25T09:13:44.701362738Z", "pid": 9998,
        "ppid": 9992, "parent_tid": 9992, "comm": "bash", "process_guid": GUID,
        "parent_guid": "6f68862f-0000-05df-3087-018000002708"},
    "process_exec": {
        "type": "process_exec", "time": "2026-11-25T09:13:44.701637127Z", "pid": 9998,
        "tid": 9998, "image": "/usr/bin/dash", "filename": "/bin/sh",
        "argv": ["/bin/sh", "-c", "exit 3", "", "\udcff"], "cmdline": "/bin/sh -c exit 3  \udcff",
        "argv_truncated": False, "uid": 0, "gid": 0, "comm": "sh", "cwd": "/tmp", "euid": 0,
        "ppid": 9992, "process_guid": GUID,
        "parent_guid": "6f68862f-0000-05df-3087-018000002708", "user": "root",
        "parent_image": "/usr/bin/bash", "parent_cmdline": "bash", "sha256": SHA},
    "process_exec_deleted": {
        "type": "process_exec", "time": "2026-11-25T09:13:44.701637127Z", "pid": 9998,
        "tid": 9999, "image": "/memfd:x (deleted)", "image_deleted": True,
        "image_truncated": True, "filename": "/dev/fd/4", "argv": [], "cmdline": "",
        "argv_truncated": True, "argv_unreadable": True, "uid": 1000, "gid": 1000,
        "comm": "memfd:x", "euid": 0, "ppid": 1, "sha256_error": "unreadable"},
    "process_exec_unreachable": {
        "type": "process_exec", "time": "2026-11-25T09:13:44.701637127Z", "pid": 9998,
        "tid": 9998, "image": "(unreachable)/", "image_unreachable": True, "filename": "/dev/fd/6",
        "argv": ["/usr/bin/runc", "init"], "cmdline": "/usr/bin/runc init",
        "argv_truncated": False, "uid": 0, "gid": 0, "comm": "runc:[0:PARENT]",
        "cwd": "(unreachable)/sub (deleted)", "cwd_deleted": True, "cwd_unreachable": True,
        "euid": 0, "ppid": 9992, "parent_image": "(unreachable)/sub/p",
        "parent_image_unreachable": True},
    "process_exit": {
        "type": "process_exit", "time": "2026-11-25T09:13:44.702509559Z", "pid": 9998,
        "tid": 9998, "exit_code": 3, "comm": "sh", "process_guid": GUID, "image": "/usr/bin/dash",
        "start_time": "2026-11-25T09:13:44.701362738Z", "duration_ms": 1},
    "process_exit_signal": {
        "type": "process_exit", "time": "2026-11-25T09:13:44.702509559Z", "pid": 9998,
        "tid": 9998, "signal": 9, "core_dumped": False, "comm": "sleep"},
    "thread_create": {
        "type": "thread_create", "time": "2026-11-25T09:13:44.702509559Z", "pid": 70,
        "tid": 77, "process_guid": GUID},
    "thread_exit": {"type": "thread_exit", "time": "2026-11-25T09:13:44.702509559Z",
                    "pid": 70, "tid": 77},
    "image_load": {
        "type": "image_load", "time": "2026-11-25T09:13:44.702509559Z", "pid": 9901,
        "tid": 9901, "path": "/usr/lib/x86_64-linux-gnu/libc.so.6", "base": "0x7f4c156ce000",
        "size": 1974272, "inode": 1234, "dev": 2049, "process_guid": GUID, "sha256": SHA},
    "image_load_memfd": {
        "type": "image_load", "time": "2026-11-25T09:13:44.702509559Z", "pid": 9901,
        "tid": 9901, "path": "/memfd:x (deleted)", "base": "0x0", "size": 4096, "inode": 7,
        "dev": 1, "deleted": True, "memfd": True, "path_truncated": True,
        "sha256_error": "unreadable"},
    "events_lost": {"type": "events_lost", "time": "2026-11-25T09:13:44.702509559Z",
                    "lost": {"thread_create": 1204, "image_load": 1}, "total": 1205},
    "events_lost_write": {"type": "events_lost", "time": "2026-11-25T09:13:44.702509559Z",
                          "lost": {"process_exec": 812, "events_lost": 1}, "total": 813,
                          "file": "/var/log/ksysmon.json", "error": "No space left on device"},
    "exec_blocked": {"type": "exec_blocked", "time": "2026-11-25T09:13:44.702509559Z",
                     "pid": 4242, "path": "/tmp/x/evil", "rule": "/tmp/x/*", "audit": False},
    "exec_blocked_unreachable": {
        "type": "exec_blocked", "time": "2026-11-25T09:13:44.702509559Z", "pid": 4242,
        "path": "(unreachable)/sub/w", "path_unreachable": True, "rule": "sha256:" + SHA,
        "sha256": SHA, "audit": False},
    "exec_blocked_sha256": {
        "type": "exec_blocked", "time": "2026-11-25T09:13:44.702509559Z", "pid": 4242,
        "path": "/tmp/x/copy", "rule": "sha256:" + SHA, "sha256": SHA, "audit": True},
}


def changed(name, drop=(), **set_):
    ev = copy.deepcopy(GOOD[name])
    for k in drop:
        del ev[k]
    ev.update(set_)
    return ev


# Each must be rejected: (what is wrong, event).
BAD = [
    ("process_exec without pid", changed("process_exec", drop=["pid"])),
    ("events_lost without total", changed("events_lost", drop=["total"])),
    ("process_exit without comm", changed("process_exit", drop=["comm"])),
    ("unknown field", changed("process_exec", extra_field=1)),
    ("unknown field on a thread", changed("thread_exit", image="/bin/true")),
    ("pid on events_lost", changed("events_lost", pid=1)),
    ("events_lost file without error", changed("events_lost_write", drop=["error"])),
    ("events_lost error without file", changed("events_lost_write", drop=["file"])),
    ("time without nanoseconds", changed("process_exec", time="2026-11-25T09:13:44Z")),
    ("time in microseconds", changed("process_exec", time="2026-11-25T09:13:44.701637Z")),
    ("time with an offset", changed("process_exec", time="2026-11-25T09:13:44.701637127+00:00")),
    ("time not a date", changed("thread_create", time="yesterday")),
    ("time as a number", changed("thread_create", time=1764061224701637127)),
    ("bad start_time", changed("process_exit", start_time="2026-13-25T09:13:44.701362738Z")),
    ("unknown type", changed("thread_exit", type="thread_spawn")),
    ("no type", changed("thread_exit", drop=["type"])),
    ("null optional field", changed("process_exec", cwd=None)),
    ("pid as a string", changed("process_create", pid="9998")),
    ("negative uid", changed("process_exec", uid=-1)),
    ("uid beyond 32 bits", changed("process_exec", uid=1 << 32)),
    ("exit_code and signal", changed("process_exit", signal=9, core_dumped=False)),
    ("neither exit_code nor signal", changed("process_exit", drop=["exit_code"])),
    ("signal without core_dumped", changed("process_exit_signal", drop=["core_dumped"])),
    ("exit_code out of range", changed("process_exit", exit_code=256)),
    ("start_time without duration_ms", changed("process_exit", drop=["duration_ms"])),
    ("upper-case guid", changed("process_create", process_guid=GUID.upper())),
    ("guid without dashes", changed("process_create", parent_guid=GUID.replace("-", ""))),
    ("argv a string", changed("process_exec", argv="/bin/sh -c exit 3")),
    ("argv with a number", changed("process_exec", argv=["/bin/sh", 3])),
    ("argv_truncated a string", changed("process_exec", argv_truncated="false")),
    ("image_deleted false", changed("process_exec", image_deleted=False)),
    ("image_deleted, image without suffix", changed("process_exec_deleted", image="/memfd:x")),
    ("base without 0x", changed("image_load", base="7f4c156ce000")),
    ("base with leading zeros", changed("image_load", base="0x00007f4c156ce000")),
    ("base upper-case", changed("image_load", base="0x7F4C156CE000")),
    ("base a number", changed("image_load", base=139965358891008)),
    ("memfd false", changed("image_load_memfd", memfd=False)),
    ("deleted, path without suffix", changed("image_load_memfd", path="/memfd:x")),
    ("upper-case sha256", changed("image_load", sha256=SHA.upper())),
    ("short sha256", changed("image_load", sha256=SHA[:-1])),
    ("sha256 and sha256_error", changed("process_exec", sha256_error="timeout")),
    ("unknown sha256_error", changed("image_load_memfd", sha256_error="too big")),
    ("empty lost", changed("events_lost", lost={}, total=0)),
    ("lost of an unknown type", changed("events_lost", lost={"bogus": 3})),
    ("lost count of zero", changed("events_lost", lost={"thread_create": 0})),
    ("lost not an object", changed("events_lost", lost=1205)),
    ("exec_blocked without audit", changed("exec_blocked", drop=["audit"])),
    ("exec_blocked relative path", changed("exec_blocked", path="evil")),
    ("exec_blocked unknown rule", changed("exec_blocked", rule="because")),
    ("exec_blocked sha256 with a glob rule", changed("exec_blocked_sha256", rule="/tmp/x/*")),
    ("image_unreachable, image without the mark", changed("process_exec_unreachable", image="/")),
    ("image_unreachable false", changed("process_exec_unreachable", image_unreachable=False)),
    ("a marked image without image_unreachable", changed("process_exec", image="(unreachable)/x")),
    ("cwd_unreachable, cwd without the mark", changed("process_exec_unreachable", cwd="/sub")),
    ("a marked parent_image without its flag",
     changed("process_exec_unreachable", drop=["parent_image_unreachable"])),
    ("a marked image_load path without its flag", changed("image_load", path="(unreachable)/x")),
    ("exec_blocked path_unreachable, a root's path", changed("exec_blocked_unreachable", path="/x")),
    ("exec_blocked marked path without its flag",
     changed("exec_blocked_unreachable", drop=["path_unreachable"])),
]

# Optional fields and values the runs below must produce: (type, field, value
# or None for any value).
EXERCISED = [
    ("process_create", "process_guid", None), ("process_create", "parent_guid", None),
    ("process_exec", "cwd", None), ("process_exec", "user", None),
    ("process_exec", "parent_image", None), ("process_exec", "parent_cmdline", None),
    ("process_exec", "sha256", None), ("process_exec", "image_deleted", True),
    ("process_exec", "cwd_deleted", True), ("process_exec", "cwd_truncated", True),
    ("process_create", "creator_pid", None),
    ("process_exit", "exit_code", None), ("process_exit", "signal", None),
    ("process_exit", "core_dumped", False), ("process_exit", "image", None),
    ("process_exit", "start_time", None), ("thread_create", "process_guid", None),
    ("image_load", "sha256", None), ("image_load", "sha256_error", "gone"),
    ("image_load", "memfd", True), ("image_load", "deleted", True),
    ("exec_blocked", "audit", False), ("exec_blocked", "audit", True),
    ("exec_blocked", "sha256", None),
    ("process_exec", "image_unreachable", True), ("process_exec", "cwd_unreachable", True),
    ("process_exec", "parent_image_unreachable", True), ("image_load", "path_unreachable", True),
    ("process_exit", "image_unreachable", True), ("exec_blocked", "path_unreachable", True),
]


def require_jsonschema():
    if jsonschema is None:
        raise AssertionError(
            "python3-jsonschema is not installed (scripts/deps.sh installs it; looked in "
            "this interpreter's path and /usr/lib/python3/dist-packages): " + JSONSCHEMA_ERROR)


def load_schema():
    with open(SCHEMA_PATH) as f:
        return json.load(f)


class Checker:
    """The schema's validator, and one per event type for precise errors."""

    def __init__(self, schema):
        cls = jsonschema.Draft202012Validator
        cls.check_schema(schema)
        self.validator = cls(schema, format_checker=jsonschema.FormatChecker())
        self.by_type = {}
        for name in schema["$defs"]:
            sub = {"$schema": DRAFT, "$defs": schema["$defs"], "$ref": "#/$defs/" + name}
            self.by_type[name] = cls(sub, format_checker=jsonschema.FormatChecker())

    def errors(self, ev):
        """[] when ev is valid, else readable reasons."""
        if self.validator.is_valid(ev):
            return []
        typed = self.by_type.get(ev.get("type")) if isinstance(ev, dict) else None
        if typed is None or typed.is_valid(ev):
            typed = self.validator
        return ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(event)", e.message)
                for e in typed.iter_errors(ev)]


def odd_argv():
    return [TRUE, "a b", "", "ütf-8 ✓", b"\xff\xfe bad utf8", "new\nline", "tab\there",
            "\x01\x7f", 'quote"back\\slash']


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run_everything(tmp):
    """Runs the monitor with every field-adding option while real workloads
    run; returns [(run name, raw stdout bytes)]."""
    outputs = []
    denied = os.path.join(tmp, "denied")
    os.mkdir(denied)
    evil = unique_copy(TRUE, os.path.join(denied, "evil"))
    by_hash = unique_copy(TRUE, os.path.join(tmp, "by-hash"))
    no_core = dict(os.environ, WORKLOAD_NO_CORE="1")
    # Thread events are checked in run 3, restricted to its workload: here
    # they are switched off so that thread storms elsewhere on the machine
    # do not swell the output.
    cfg = os.path.join(tmp, "ksysmon.yaml")
    with open(cfg, "w") as f:
        f.write("events:\n"
                "  thread_create: off\n"
                "  thread_exit: off\n"
                "  process_exec:\n"
                "    exclude:\n"
                "      - image: {begins_with: /usr/lib/systemd/}\n")

    # 1: every other event type and every enrichment, with a policy that denies
    with Monitor("--events", "all", "--hash", "sha256", "--deny", denied + "/*",
                 "--deny-sha256", sha256_of(by_hash), "--config", cfg) as m:
        subprocess.run(odd_argv(), check=True)
        subprocess.run([SH, "-c", "%s; exit 3" % TRUE])
        run_workload("signal", int(signal.SIGKILL), env=no_core)
        run_workload("signal", int(signal.SIGSEGV), env=no_core)
        run_workload("exit", 255)
        run_workload("memfd-exec", WORKLOAD, "exit", "0")
        run_workload("dlopen", "libz.so.1")
        run_workload("thread-exec", TRUE, "from-thread")
        _, vals, _ = run_workload("clone-parent", TRUE, "cloned")  # creator_pid
        os.waitpid(int(vals["child"][0]), 0)
        gone = os.path.join(tmp, "gone")  # cwd_deleted
        subprocess.run([SH, "-c", 'mkdir "$1" && cd "$1" && rmdir "$1" && exec "$2"', SH, gone, TRUE],
                       check=True)
        deep = os.path.join(tmp, *["d"] * 170)  # cwd_truncated
        os.makedirs(deep)
        subprocess.run([TRUE], cwd=deep, check=True)
        subprocess.run([STATIC, "exit", "0"], check=True)
        # paths no root leads to: a program and a parent's (a bind unmounted
        # lazily), a working directory, a denied file's
        run_workload("detached-exec", "bind", WORKLOAD, "w", "vfork", TRUE, "child")
        lazy = os.path.join(tmp, "lazy")
        os.mkdir(lazy)
        subprocess.run(["mount", "--bind", lazy, lazy], check=True)
        subprocess.run([SH, "-c", 'cd "$1" && umount -l "$1" && exec "$2"', SH, lazy, TRUE],
                       check=True)
        _, vals, rc = run_workload("detached-exec", "bind", by_hash, "by-hash")
        if rc != 127:
            raise AssertionError("a bound copy of by-hash was not denied (%s, %r)" % (rc, vals))
        for path in (evil, by_hash):
            try:
                subprocess.run([path])
            except PermissionError:
                pass
            else:
                raise AssertionError("%s was not denied" % path)
    if m.returncode != 0:
        raise AssertionError("monitor failed: %s" % m.stderr)
    outputs.append(("all+hash+deny", m.stdout))

    # 2: the policy in audit mode
    with Monitor("--audit", "--deny", denied + "/*", "--deny-sha256", sha256_of(by_hash),
                 "--config", cfg) as m:
        subprocess.run([evil], check=True)
        subprocess.run([by_hash], check=True)
        run_workload("detached-exec", "bind", by_hash, "by-hash")
    if m.returncode != 0:
        raise AssertionError("monitor failed: %s" % m.stderr)
    outputs.append(("audit", m.stdout))

    # 3: thread events and lost events: a small queue, a thread storm, and
    # an output pipe nobody reads for a while (as in test_core)
    storm = subprocess.Popen([WORKLOAD, "wait-stdin", "thread-storm", "30000"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    pid = int(storm.stdout.readline().decode().split("=")[1])
    mon = subprocess.Popen([MONITOR, "--format", "json", "--pid", str(pid),
                            "--events", "thread_create,thread_exit,process_exit",
                            "--max-args-bytes", "1024", "--ringbuf-size", "64K"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = mon.stderr.readline()
        if b"ready" not in line:
            raise AssertionError("monitor did not become ready: %r" % line)
        storm.communicate(b"go\n")
    finally:
        if storm.poll() is None:
            storm.kill()
            storm.wait()
        mon.send_signal(signal.SIGINT)
        out, err = mon.communicate(timeout=60)
    if mon.returncode != 0:
        raise AssertionError("monitor failed: %s" % err.decode("utf-8", "replace"))
    outputs.append(("lost", out))
    return outputs


def parse(outputs):
    """[(run, line number, text, event)] of every run, and what keeps the
    output from being JSON Lines (UTF-8, one object per line, each line
    ended)."""
    lines, problems = [], []
    for run, raw in outputs:
        if not raw.endswith(b"\n"):
            problems.append("%s: output empty or its last line not ended" % run)
        try:
            text = raw.decode("utf-8", "strict")
        except UnicodeDecodeError as e:
            problems.append("%s: not UTF-8: %s" % (run, e))
            continue
        for n, line in enumerate(text.split("\n")[:-1], 1):
            try:
                ev = json.loads(line)
            except ValueError as e:
                problems.append("%s:%d: not JSON (%s): %r" % (run, n, e, line[:200]))
                continue
            if not isinstance(ev, dict):
                problems.append("%s:%d: not an object: %r" % (run, n, line[:200]))
                continue
            lines.append((run, n, line, ev))
    return lines, problems


class EventSchema(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tmp = os.path.realpath(exec_dir())
        try:
            cls.outputs = run_everything(tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        cls.lines, cls.problems = parse(cls.outputs)

    def setUp(self):
        require_jsonschema()
        self.schema = load_schema()
        self.assertEqual(self.schema.get("$schema"), DRAFT)
        self.checker = Checker(self.schema)

    def events(self):
        return [ev for _, _, _, ev in self.lines]

    def test_output_is_json_lines(self):
        self.assertEqual(self.problems, [])
        self.assertEqual([run for run, _ in self.outputs], ["all+hash+deny", "audit", "lost"])

    def test_every_line_matches_the_schema(self):
        failures = []
        for run, n, line, ev in self.lines:
            errs = self.checker.errors(ev)
            if errs:
                failures.append("%s:%d: %s\n    %s" % (run, n, "; ".join(errs), line[:500]))
        self.assertGreater(len(self.lines), 100)
        if failures:
            self.fail("%d of %d lines do not match %s:\n%s" % (
                len(failures), len(self.lines), SCHEMA_PATH, "\n".join(failures[:10])))

    def test_every_event_type_appeared(self):
        seen = {e["type"] for e in self.events()}
        self.assertEqual(sorted(seen), sorted(EVENT_TYPES))
        self.assertEqual(sorted(self.schema["$defs"][t]["properties"]["type"]["const"]
                                for t in EVENT_TYPES), sorted(EVENT_TYPES))
        self.assertEqual(sorted(self.schema["properties"]["type"]["enum"]), sorted(EVENT_TYPES))

    def test_optional_fields_were_exercised(self):
        evs = self.events()
        for typ, field, value in EXERCISED:
            found = [e for e in evs if e["type"] == typ and field in e and
                     (value is None or e[field] == value)]
            self.assertTrue(found, "no %s with %s=%r in the runs" % (typ, field, value))

    def test_schema_rejects_broken_events(self):
        for name, ev in GOOD.items():
            with self.subTest(good=name):
                self.assertEqual(self.checker.errors(ev), [])
        for what, ev in BAD:
            with self.subTest(bad=what):
                self.assertFalse(self.checker.validator.is_valid(ev), "accepted: %r" % ev)
                self.assertTrue(self.checker.errors(ev))

    def test_schema_documents_every_field_the_formatter_writes(self):
        # every name the JSON view can write (src/core/fields.c is the one walk
        # over an event's fields, format_json.c adds argv's and lost's),
        # and no name it never writes
        written = set()
        for src in ("src/core/fields.c", "src/core/format_json.c"):
            with open(os.path.join(ROOT, src)) as f:
                text = f.read()
            written |= set(re.findall(r'\(\s*(?:w->ctx|ctx|w|j)\s*,\s*"([a-z0-9_]+)"', text))
            # a path's state flags, each under its field's names (state_flags)
            for call in re.findall(r'\bstate_flags\(\s*w\s*,([^;]*)\);', text):
                written |= set(re.findall(r'"([a-z0-9_]+)"', call))
        self.assertIn("process_guid", written)
        documented = set()
        for typ in EVENT_TYPES:
            documented |= set(self.schema["$defs"][typ]["properties"])
        self.assertEqual(sorted(written - documented), [], "fields the schema lacks")
        self.assertEqual(sorted(documented - written), [], "fields never written")
        for typ in EVENT_TYPES:
            d = self.schema["$defs"][typ]
            self.assertIs(d.get("additionalProperties"), False, typ)
            self.assertTrue(set(d["required"]) <= set(d["properties"]), typ)


if __name__ == "__main__":
    unittest.main()
