#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Proves that pecheck.py rejects what it must: takes a good driver image,
breaks one property at a time (fixing the checksum afterwards so that only
that property is wrong) and expects the matching complaint.
  pecheck_selftest.py IMAGE [DLL!Function ...]   (the imports IMAGE must have)"""
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pecheck  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ALLOW = pecheck.load_allow(os.path.join(HERE, "ntoskrnl_allow.txt"))


REQUIRED = [pecheck.parse_import(r) for r in sys.argv[2:]]


def run(data):
    with tempfile.NamedTemporaryFile(suffix=".sys", delete=False) as f:
        f.write(data)
        path = f.name
    try:
        return pecheck.check(path, ALLOW, "DriverEntry", REQUIRED)
    finally:
        os.unlink(path)


def fix_checksum(data, pe):
    buf = bytearray(data)
    struct.pack_into("<I", buf, pe.checksum_off, pecheck.pe_checksum(bytes(buf), pe.checksum_off))
    return bytes(buf)


def mutate_u16(off, fn):
    def m(data, pe):
        buf = bytearray(data)
        struct.pack_into("<H", buf, off(pe), fn(struct.unpack_from("<H", buf, off(pe))[0]))
        return fix_checksum(bytes(buf), pe)
    return m


def mutate_u32(off, fn, fix=True):
    def m(data, pe):
        buf = bytearray(data)
        struct.pack_into("<I", buf, off(pe), fn(struct.unpack_from("<I", buf, off(pe))[0]))
        return fix_checksum(bytes(buf), pe) if fix else bytes(buf)
    return m


def replace(old, new):
    def m(data, pe):
        assert old in data, old
        return fix_checksum(data.replace(old, new, 1), pe)
    return m


def dllchar(pe):
    return pe.opt_off + 70


CASES = [
    ("no FORCE_INTEGRITY", mutate_u16(dllchar, lambda v: v & ~0x80), "lacks FORCE_INTEGRITY"),
    ("no NX_COMPAT", mutate_u16(dllchar, lambda v: v & ~0x100), "lacks NX_COMPAT"),
    ("no DYNAMIC_BASE", mutate_u16(dllchar, lambda v: v & ~0x40), "lacks DYNAMIC_BASE"),
    ("GUI subsystem", mutate_u16(lambda pe: pe.opt_off + 68, lambda v: 2), "not native"),
    ("relocs stripped", mutate_u16(lambda pe: pe.pe_off + 22, lambda v: v | 1),
     "relocations stripped"),
    ("wrong checksum", mutate_u32(lambda pe: pe.checksum_off, lambda v: v ^ 0x10, False),
     "CheckSum 0x"),
    ("zero checksum", mutate_u32(lambda pe: pe.checksum_off, lambda v: 0, False), "CheckSum is 0"),
    ("entry moved", mutate_u32(lambda pe: pe.opt_off + 16, lambda v: v + 16),
     "is not DriverEntry"),
    ("import off the list", replace(b"PsSetLoadImageNotifyRoutine\0", b"PsSetLoadImageNotifyRoutinX\0"),
     "not on the allow-list"),
    ("import from another DLL", replace(b"ntoskrnl.exe\0", b"ntoskrnx.exe\0"),
     "only ntoskrnl.exe and hal.dll"),
    ("not a PE", lambda data, pe: b"XY" + data[2:], "not a valid PE32+"),
]
# Each required import, renamed away, must be missed.
CASES += [("no %s" % fn, replace(fn.encode() + b"\0", fn[:-1].encode() + b"X\0"),
           "does not import %s!%s" % (dll, fn)) for dll, fn in REQUIRED]


def main():
    with open(sys.argv[1], "rb") as f:
        good = f.read()
    pe = pecheck.PE(good)
    passed = failed = 0
    errs = run(good)
    if errs:
        print("FAIL good image rejected: %s" % errs)
        failed += 1
    else:
        passed += 1
    for name, mutate, expect in CASES:
        errs = run(mutate(good, pe))
        if any(expect in e for e in errs):
            passed += 1
        else:
            print("FAIL %s: expected '%s', got %s" % (name, expect, errs))
            failed += 1
    print("pecheck selftest: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
