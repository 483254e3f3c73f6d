#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Checks that a kernel driver image is one Windows 10 x64 will load.

Parses the PE file itself (no third-party modules) and verifies:
  * DOS and PE headers, AMD64 machine, PE32+ optional header;
  * native subsystem;
  * DllCharacteristics FORCE_INTEGRITY, NX_COMPAT and DYNAMIC_BASE, with a
    base relocation directory for the latter to mean anything;
  * the entry point lies in an executable section and is the address of
    the entry symbol (DriverEntry) from the COFF symbol table;
  * the optional header's CheckSum is non-zero and equals the recomputed
    checksum (the kernel loader verifies it for drivers);
  * no section is both writable and executable;
  * imports come only from ntoskrnl.exe / hal.dll, by name, and each is on
    the allow-list;
  * each import named with --require is there (for ksysmon.sys: the
    routines that restrict its device to SYSTEM and Administrators, which
    no other check would miss).
Exit status 0 when every file passes, 1 otherwise.
"""
import argparse
import struct
import sys

IMAGE_FILE_MACHINE_AMD64 = 0x8664
PE32PLUS = 0x20B
SUBSYSTEM_NATIVE = 1
IMAGE_FILE_RELOCS_STRIPPED = 0x0001
DLLCHAR = {
    "DYNAMIC_BASE": 0x0040,
    "FORCE_INTEGRITY": 0x0080,
    "NX_COMPAT": 0x0100,
}
SCN_MEM_EXECUTE = 0x20000000
SCN_MEM_WRITE = 0x80000000
SCN_CNT_CODE = 0x00000020
DIR_IMPORT = 1
DIR_EXCEPTION = 3
DIR_BASERELOC = 5
ALLOWED_DLLS = {"ntoskrnl.exe", "hal.dll"}


class PEError(Exception):
    pass


class PE:
    def __init__(self, data):
        self.data = data
        if len(data) < 0x40 or data[:2] != b"MZ":
            raise PEError("no MZ header")
        self.pe_off = struct.unpack_from("<I", data, 0x3C)[0]
        if data[self.pe_off:self.pe_off + 4] != b"PE\0\0":
            raise PEError("no PE signature")
        coff = self.pe_off + 4
        (self.machine, self.nsections, _, self.symtab, self.nsyms, self.opt_size,
         self.characteristics) = struct.unpack_from("<HHIIIHH", data, coff)
        self.opt_off = coff + 20
        self.magic = struct.unpack_from("<H", data, self.opt_off)[0]
        if self.magic != PE32PLUS:
            raise PEError("optional header magic 0x%x, not PE32+" % self.magic)
        o = self.opt_off
        self.entry = struct.unpack_from("<I", data, o + 16)[0]
        self.image_base = struct.unpack_from("<Q", data, o + 24)[0]
        self.checksum_off = o + 64
        self.checksum = struct.unpack_from("<I", data, self.checksum_off)[0]
        self.subsystem, self.dllchar = struct.unpack_from("<HH", data, o + 68)
        self.ndirs = struct.unpack_from("<I", data, o + 108)[0]
        self.dirs = [struct.unpack_from("<II", data, o + 112 + 8 * i)
                     for i in range(min(self.ndirs, 16))]
        self.sections = []
        s = self.opt_off + self.opt_size
        for i in range(self.nsections):
            name, vsize, va, rsize, rptr = struct.unpack_from("<8sIIII", data, s + 40 * i)
            chars = struct.unpack_from("<I", data, s + 40 * i + 36)[0]
            self.sections.append({
                "name": self.section_name(name), "vsize": vsize, "va": va,
                "rsize": rsize, "rptr": rptr, "chars": chars})

    def section_name(self, raw):
        name = raw.rstrip(b"\0").decode("latin-1")
        if name.startswith("/") and self.symtab:
            # long name in the COFF string table
            strtab = self.symtab + 18 * self.nsyms
            return self.cstr(strtab + int(name[1:]))
        return name

    def cstr(self, off):
        end = self.data.index(b"\0", off)
        return self.data[off:end].decode("latin-1")

    def section_of(self, rva):
        for s in self.sections:
            if s["va"] <= rva < s["va"] + max(s["vsize"], s["rsize"]):
                return s
        return None

    def rva_to_off(self, rva):
        s = self.section_of(rva)
        if s is None or rva - s["va"] >= s["rsize"]:
            raise PEError("RVA 0x%x is not backed by file data" % rva)
        return s["rptr"] + rva - s["va"]

    def rva_cstr(self, rva):
        return self.cstr(self.rva_to_off(rva))

    def symbol_rva(self, wanted):
        """RVA of a symbol from the COFF symbol table, or None."""
        if not self.symtab or not self.nsyms:
            return None
        strtab = self.symtab + 18 * self.nsyms
        i = 0
        while i < self.nsyms:
            off = self.symtab + 18 * i
            raw = self.data[off:off + 8]
            value, secnum, _, _, naux = struct.unpack_from("<IhHBB", self.data, off + 8)
            if raw[:4] == b"\0\0\0\0":
                name = self.cstr(strtab + struct.unpack_from("<I", raw, 4)[0])
            else:
                name = raw.rstrip(b"\0").decode("latin-1")
            if name == wanted and 0 < secnum <= len(self.sections):
                return self.sections[secnum - 1]["va"] + value
            i += 1 + naux
        return None

    def check_relocs(self):
        rva, size = self.dirs[DIR_BASERELOC]
        errors = []
        try:
            off, end = self.rva_to_off(rva), self.rva_to_off(rva) + size
            while off < end:
                page, block = struct.unpack_from("<II", self.data, off)
                if block < 8 or block % 2:
                    return ["malformed base relocation block at 0x%x" % off]
                for i in range(8, block, 2):
                    kind = struct.unpack_from("<H", self.data, off + i)[0] >> 12
                    if kind not in (0, 10):  # ABSOLUTE padding, DIR64
                        errors.append("relocation type %d in page 0x%x" % (kind, page))
                off += block
        except (PEError, struct.error) as e:
            errors.append("bad base relocations: %s" % e)
        return errors

    def imports(self):
        """[(dll, function-or-None-for-ordinal, ordinal)]"""
        rva, size = self.dirs[DIR_IMPORT] if len(self.dirs) > DIR_IMPORT else (0, 0)
        out = []
        if not rva:
            return out
        off = self.rva_to_off(rva)
        while True:
            ilt, _, _, name_rva, iat = struct.unpack_from("<IIIII", self.data, off)
            if not (ilt or name_rva or iat):
                break
            dll = self.rva_cstr(name_rva)
            t = self.rva_to_off(ilt or iat)
            while True:
                entry = struct.unpack_from("<Q", self.data, t)[0]
                if entry == 0:
                    break
                if entry & (1 << 63):
                    out.append((dll, None, entry & 0xFFFF))
                else:
                    out.append((dll, self.rva_cstr((entry & 0x7FFFFFFF) + 2), None))
                t += 8
            off += 20
        return out


def pe_checksum(data, checksum_off):
    """The checksum as imagehlp's CheckSumMappedFile computes it."""
    buf = bytearray(data)
    buf[checksum_off:checksum_off + 4] = b"\0\0\0\0"
    if len(buf) % 2:
        buf.append(0)
    total = 0
    for (word,) in struct.iter_unpack("<H", bytes(buf)):
        total += word
        total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return (total + len(data)) & 0xFFFFFFFF


def load_allow(path):
    allowed = set()
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                allowed.add(parse_import(line))
    return allowed


def parse_import(text):
    dll, _, fn = text.partition("!")
    return (dll.lower(), fn)


def check(path, allowed, entry_symbol, required=()):
    errors = []
    with open(path, "rb") as f:
        data = f.read()
    try:
        pe = PE(data)
    except (PEError, struct.error, ValueError) as e:
        return ["not a valid PE32+ image: %s" % e]

    if pe.machine != IMAGE_FILE_MACHINE_AMD64:
        errors.append("machine 0x%x is not AMD64" % pe.machine)
    if pe.subsystem != SUBSYSTEM_NATIVE:
        errors.append("subsystem %d is not native (1)" % pe.subsystem)
    for name, bit in DLLCHAR.items():
        if not pe.dllchar & bit:
            errors.append("DllCharacteristics 0x%04x lacks %s" % (pe.dllchar, name))
    if pe.characteristics & IMAGE_FILE_RELOCS_STRIPPED:
        errors.append("relocations stripped: the kernel cannot relocate the image")
    # Without a relocation directory an image that is not marked
    # RELOCS_STRIPPED is position independent: it holds no absolute
    # address to fix (RIP-relative code only), and the loader moves it as
    # it is.  A directory, when present, must be well formed.
    if len(pe.dirs) > DIR_BASERELOC and pe.dirs[DIR_BASERELOC][0]:
        errors.extend(pe.check_relocs())
    # x64 kernel stack walks and exception dispatch need unwind data.
    if len(pe.dirs) <= DIR_EXCEPTION or not pe.dirs[DIR_EXCEPTION][1]:
        errors.append("no exception directory (.pdata): frames cannot be unwound")

    sec = pe.section_of(pe.entry)
    if pe.entry == 0 or sec is None:
        errors.append("entry point 0x%x is outside every section" % pe.entry)
    elif not sec["chars"] & SCN_MEM_EXECUTE:
        errors.append("entry point 0x%x is in non-executable section %s" % (pe.entry, sec["name"]))
    sym = pe.symbol_rva(entry_symbol)
    if sym is None:
        errors.append("no symbol %s in the COFF symbol table" % entry_symbol)
    elif sym != pe.entry:
        errors.append("entry point 0x%x is not %s (0x%x)" % (pe.entry, entry_symbol, sym))

    want = pe_checksum(data, pe.checksum_off)
    if pe.checksum == 0:
        errors.append("CheckSum is 0 (the kernel loader requires it for drivers)")
    elif pe.checksum != want:
        errors.append("CheckSum 0x%08x, computed 0x%08x" % (pe.checksum, want))

    for s in pe.sections:
        if s["chars"] & SCN_MEM_EXECUTE and s["chars"] & SCN_MEM_WRITE:
            errors.append("section %s is writable and executable" % s["name"])

    try:
        imports = pe.imports()
    except (PEError, struct.error, ValueError) as e:
        errors.append("bad import directory: %s" % e)
        imports = []
    if not imports:
        errors.append("no imports (a driver needs ntoskrnl.exe)")
    for dll, fn, ordinal in imports:
        if dll.lower() not in ALLOWED_DLLS:
            errors.append("import from %s (only ntoskrnl.exe and hal.dll)" % dll)
        elif fn is None:
            errors.append("import by ordinal %d from %s" % (ordinal, dll))
        elif (dll.lower(), fn) not in allowed:
            errors.append("import %s!%s is not on the allow-list" % (dll, fn))
    present = {(dll.lower(), fn) for dll, fn, _ in imports}
    for dll, fn in required:
        if (dll, fn) not in present:
            errors.append("does not import %s!%s (required)" % (dll, fn))
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--allow", required=True, help="allow-list file (DLL!Function lines)")
    ap.add_argument("--entry-symbol", default="DriverEntry")
    ap.add_argument("--require", action="append", default=[], metavar="DLL!Function",
                    help="an import the image must have (repeatable)")
    ap.add_argument("images", nargs="+")
    args = ap.parse_args()
    allowed = load_allow(args.allow)
    failed = 0
    for path in args.images:
        errors = check(path, allowed, args.entry_symbol,
                       [parse_import(r) for r in args.require])
        for e in errors:
            print("%s: %s" % (path, e))
        print("%s: %s" % (path, "FAIL" if errors else "ok"))
        failed += bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
