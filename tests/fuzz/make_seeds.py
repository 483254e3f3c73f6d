#!/usr/bin/env python3
"""Writes the seed corpus of the capture fuzzer: small, valid captures that
hold every record type (include/ksysmon_event.h, src/sinks/capture.h), and a few
damaged ones.  Usage: make_seeds.py DIR"""
import os
import struct
import sys

BOOT = 1_700_000_000_000_000_000
# struct ksm_file_id: inode, size, ctime, dev, reserved
FILE_ID = struct.pack("<QQQII", 42, 4096, BOOT, 8, 0)


def header(host=b"host", kernel=b"6.18.0"):
    fixed = struct.pack("<8sIIQQ16sHHI", b"KSMCAP\r\n", 2, 56 + len(host) + len(kernel),
                        BOOT, BOOT + 10**9, bytes(range(16)), len(host), len(kernel), 0)
    return fixed + host + kernel


def record(typ, fixed, strings=(), flags=0, time=5 * 10**9):
    """A record: ksm_header, the fixed part (with a placeholder for each
    string's ksm_str given as None), then the strings."""
    body = b""
    size = 16 + sum(8 if f is None else len(f) for f in fixed)
    offset = size
    it = iter(strings)
    for f in fixed:
        if f is None:
            s = next(it)
            body += struct.pack("<II", offset if s else 0, len(s))
            offset += len(s)
        else:
            body += f
    total = offset
    return struct.pack("<HHIQ", typ, flags, total, time) + body + b"".join(strings)


def comm(name):
    return name.ljust(16, b"\0")[:16]


def seeds():
    exe = b"/usr/bin/t\xffool (x)"
    argv = b"tool\0--a=\"b\"\0\x01\0"
    out = {
        "clock": record(0x101, [struct.pack("<Q", BOOT)]),
        # an epoch: the boot time from 3 s after boot on
        "clock-epoch": record(0x101, [struct.pack("<QQ", BOOT + 5, 3 * 10**9)]),
        "proc": record(0x102, [struct.pack("<IIQQ16sII", 10, 1, 7 * 10**7, 10**7, bytes(16), 7, 0),
                               None, None], [b"/bin/sh", b"sh -c x"]),
        "user": record(0x103, [struct.pack("<II", 1000, 1), None], [b"alice"]),
        "hash": record(0x104, [struct.pack("<II32s", 1, 0, bytes(range(32))), None], [b""]),
        "create": record(1, [struct.pack("<IIII16s", 11, 10, 10, 9, comm(b"sh")), None, None,
                             struct.pack("<QQ", 9 * 10**7, 7 * 10**7)], [b"", b""]),
        # with the creator's start (KSM_HF_CREATOR_START), created by 9 for 10
        "create-creator": record(1, [struct.pack("<IIII16s", 12, 10, 9, 9, comm(b"sh")), None, None,
                                     struct.pack("<QQQ", 9 * 10**7, 7 * 10**7, 8 * 10**7)],
                                 [b"", b""], flags=8),
        "exec": record(2, [struct.pack("<IIIIII16s", 11, 11, 1000, 1000, 1, 0, comm(b"tool")),
                           None, None, None, None,
                           struct.pack("<IIQQ", 1000, 10, 9 * 10**7, 7 * 10**7), FILE_ID],
                       [exe, b"./tool", argv, b"/tmp"]),
        "thread": record(4, [struct.pack("<IIQ", 11, 12, 9 * 10**7)]),
        # with the thread's cgroup block (KSM_HF_CGROUP); a path the kernel never sets
        "thread-cgroup": record(5, [struct.pack("<IIQ", 11, 12, 9 * 10**7), struct.pack("<Q", 77),
                                    None], [b"/libpod_parent/libpod-" + b"ab" * 32], flags=16),
        # what the live monitor found of a cgroup id: with its path, and in
        # the older form without one
        "cgroup": record(0x106, [struct.pack("<QII", 77, 3, 0), None, None, None],
                         [b"podman", b"ab" * 32, b"/libpod_parent/libpod-" + b"ab" * 32]),
        "cgroup-older": record(0x106, [struct.pack("<QII", 78, 1, 0), None, None],
                               [b"lxc", b"web"]),
        "image": record(6, [struct.pack("<IIQQQII", 11, 11, 0x7f0000000000, 0x20000, 42, 8, 3),
                            None, struct.pack("<Q", 9 * 10**7), FILE_ID], [b"/memfd:x (deleted)"]),
        "exit": record(3, [struct.pack("<IIII16s", 11, 11, 0x8b, 0, comm(b"tool")),
                           struct.pack("<Q", 9 * 10**7)]),
        "lost": record(7, [struct.pack("<9Q", 0, 1, 2, 3, 4, 5, 6, 7, 8)], flags=1),
        "blocked": record(8, [struct.pack("<II32s", 11, 3, bytes(32)), None, None],
                          [b"/tmp/evil", b"/tmp/*"], flags=1),
        # the fanotify engine's, with the cgroup block in the namespace block's place
        "blocked-cgroup": record(8, [struct.pack("<II32s", 11, 0, bytes(32)), None, None,
                                     struct.pack("<Q", 77), None],
                                 [b"/tmp/evil", b"/tmp/*", b"/libpod_parent/libpod-" + b"ab" * 32],
                                 flags=1 | 16),
    }
    whole = header() + b"".join(out.values())
    files = {"all": whole, "empty-body": header(), "each-" + "clock": header() + out["clock"]}
    for name, rec in out.items():
        files["each-" + name] = header() + rec
    files["truncated"] = whole[:-7]
    files["bad-size"] = header() + struct.pack("<HHIQ", 1, 0, 4, 0)
    files["bad-magic"] = b"KSMCAP\n\n" + whole[8:]
    files["bad-string"] = header() + out["exec"][:16 + 40] + struct.pack("<II", 9999, 4) + out["exec"][16 + 48:]
    return files


def main():
    os.makedirs(sys.argv[1], exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(sys.argv[1], name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
