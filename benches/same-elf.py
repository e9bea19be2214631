#!/usr/bin/env python3
"""Are the .debs in two directories the same packages, ELF files section by
section? For .debs built by two different compilers of the same release
(a cross build against one under qemu): `same-debs.sh` compares whole
files, so a library whose code is the same but whose build ID differs
counts as different. Here each ELF file is described by the checksum of
each of its sections, and the sections that differ are named; every other
file and the control files are compared as same-debs.sh does. A -dbgsym
package is named by build ID inside (/usr/lib/debug/.build-id/XX/….debug)
and its control file lists the IDs: it is listed, not compared.

    benches/same-elf.py DIR_A DIR_B     (exit 1 when a non-ELF file, a file
                                         list or an ELF section other than
                                         the ones named below differs)

Only ELF64 little-endian (amd64, arm64, ppc64el, riscv64) is read: Python's
standard library has no ELF reader, and the section table is all it needs.
"""
import hashlib
import io
import os
import struct
import subprocess
import sys
import tarfile

# Sections that name the build rather than hold what it built: the build ID
# (a hash over the debug information, which comes from the compiler binary)
# and the debug link's CRC of the separate debug file.
EXPECTED = {".note.gnu.build-id", ".gnu_debuglink"}


def sections(data):
    """{name: sha256} of an ELF64 LE file's sections, or None if not one."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    heads = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    _, _, _, _, stroff, strsize = heads[shstrndx]
    names = data[stroff:stroff + strsize]
    out = {}
    for name_off, kind, _, _, off, size in heads[1:]:
        name = names[name_off:names.index(b"\0", name_off)].decode()
        body = b"" if kind == 8 else data[off:off + size]  # SHT_NOBITS: no bytes
        out[name] = hashlib.sha256(body).hexdigest()[:16]
    return out


def members(deb, part):
    """{path: bytes} of a .deb's data or control tarball (dpkg-deb --fsys-tarfile / --ctrl-tarfile)."""
    flag = "--fsys-tarfile" if part == "data" else "--ctrl-tarfile"
    raw = subprocess.run(["dpkg-deb", flag, deb], check=True, capture_output=True).stdout
    out = {}
    with tarfile.open(fileobj=io.BytesIO(raw)) as t:
        for m in t.getmembers():
            body = t.extractfile(m).read() if m.isfile() else m.linkname.encode()
            out[m.name] = (m.mode, m.type, body)
    return out


def compare(a, b):
    """(unexpected differences, ELF sections that differ as EXPECTED) of two .debs."""
    bad, named = [], set()
    for part in ["data", "control"]:
        ma, mb = members(a, part), members(b, part)
        if sorted(ma) != sorted(mb):
            bad.append(f"{part}: file lists differ: {sorted(set(ma) ^ set(mb))}")
            continue
        for path in sorted(ma):
            (mode_a, kind_a, body_a), (mode_b, kind_b, body_b) = ma[path], mb[path]
            if (mode_a, kind_a) != (mode_b, kind_b):
                bad.append(f"{path}: mode or type differs")
                continue
            if body_a == body_b or (part == "control" and path.endswith("md5sums")):
                continue  # md5sums follows the files, compared one by one
            sa, sb = sections(body_a), sections(body_b)
            if sa is None or sb is None or sorted(sa) != sorted(sb):
                bad.append(f"{path}: differs")
                continue
            differ = {s for s in sa if sa[s] != sb[s]}
            named |= differ & EXPECTED
            if differ - EXPECTED:
                bad.append(f"{path}: sections differ: {' '.join(sorted(differ - EXPECTED))}")
    return bad, named


def main():
    dir_a, dir_b = sys.argv[1:3]
    n = bad_debs = 0
    for name in sorted(os.listdir(dir_a)):
        if not name.endswith(".deb"):
            continue
        n += 1
        other = os.path.join(dir_b, name)
        if not os.path.isfile(other):
            print(f"{name}: missing in {dir_b}")
            bad_debs += 1
            continue
        if "-dbgsym_" in name:
            print(f"{name}: debug symbols, named by build ID: not compared")
            continue
        bad, named = compare(os.path.join(dir_a, name), other)
        if bad:
            bad_debs += 1
            print(f"{name}: differs")
            for line in bad[:20]:
                print(f"    {line}")
        elif named:
            print(f"{name}: same but {', '.join(sorted(named))}")
        else:
            print(f"{name}: same")
    if n == 0:
        print(f"no .debs in {dir_a}")
        return 1
    print(f"{n - bad_debs} of {n} .debs the same, ELF files section by section"
          f" (only {', '.join(sorted(EXPECTED))} may differ)")
    return 1 if bad_debs else 0


if __name__ == "__main__":
    sys.exit(main())
