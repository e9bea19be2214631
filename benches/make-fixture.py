#!/usr/bin/env python3
"""Trim the frozen archive snapshot into tests/fixtures/archive.

Usage: benches/make-fixture.py [MIRROR] [OUT]
  MIRROR defaults to ../shared/debian-archive/mirror (or ../../shared/…, for a worktree),
  OUT to tests/fixtures/archive.

Kept, per suite (sid, experimental):
  Sources  - every source whose Maintainer is "Debian ROCm Team", plus (sid) the
             non-ROCm sources that build-depend on libamdhip64-dev/hipcc
             (EXTRA below, the dose-ceve answer on the full snapshot);
             Files/Checksums fields are dropped.
  Packages - per arch (amd64 arm64 ppc64el riscv64): the binaries those sources
             build; every binary named by their build-dependencies (all
             alternatives, any restriction) and the providers of those names;
             the reverse Depends/Pre-Depends/Provides closure of
             libamdhip64-dev and hipcc (so rdeps has transitive paths to find);
             one level of Depends of all of these. Only the fields cascade
             reads are kept.
  Release  - the snapshot's header fields with Valid-Until set to 2020 (in
             the past on any clock) and SHA256 lines for the trimmed indices,
             which cascade checks every index against.
"""
import lzma
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIRROR = sys.argv[1] if len(sys.argv) > 1 else next(
    (p for p in (os.path.join(ROOT, up, "shared", "debian-archive", "mirror") for up in ("..", "../.."))
     if os.path.isdir(p)), "../shared/debian-archive/mirror")
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "tests", "fixtures", "archive")
ARCHES = ["amd64", "arm64", "ppc64el", "riscv64"]
SUITES = ["sid", "experimental"]
TARGETS = {"libamdhip64-dev", "hipcc"}
EXTRA = {"atlas-ecmwf", "ectrans", "eztrace", "ggml", "gloo-rocm", "hipfort", "magma-rocm", "papi",
         "spfft", "starpu", "stdgpu", "ucc", "ucx", "xrt"}
SOURCE_DROP = {"Files", "Checksums-Sha1", "Checksums-Sha256", "Checksums-Md5"}
BINARY_KEEP = ["Package", "Source", "Version", "Architecture", "Maintainer", "Multi-Arch",
               "Pre-Depends", "Depends", "Provides", "Section", "Priority", "Essential"]


def paragraphs(text):
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields, order = {}, []
        for line in block.split("\n"):
            if line[:1] in (" ", "\t"):
                fields[order[-1]] += "\n" + line
            elif line:
                k, _, v = line.partition(":")
                fields[k] = v.strip()
                order.append(k)
        yield fields, order


def names(rel):
    for group in rel.split(","):
        for alt in group.split("|"):
            alt = alt.strip()
            if alt and not alt.startswith("${"):
                yield re.split(r"[\s:(\[<]", alt, maxsplit=1)[0]


def render(fields, order, keep=None, drop=()):
    out = []
    for k in (keep or order):
        if k in fields and k not in drop:
            out.append(f"{k}: {fields[k]}")
    return "\n".join(out) + "\n"


def read_xz(path):
    with lzma.open(path, "rt", encoding="utf-8") as f:
        return f.read()


def write_xz(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with lzma.open(path, "wt", encoding="utf-8", preset=9 | lzma.PRESET_EXTREME) as f:
        f.write(text)


def main():
    # experimental builds on unstable: both suites' Packages must answer the
    # build-dependencies of both suites' sources.
    kept_by_suite = {}
    kept_names, wanted = set(), set()
    for suite in SUITES:
        base = os.path.join(MIRROR, "dists", suite)
        sources = list(paragraphs(read_xz(os.path.join(base, "main/source/Sources.xz"))))
        kept = [(f, o) for f, o in sources
                if "Debian ROCm Team" in f.get("Maintainer", "")
                or (suite == "sid" and f["Package"] in EXTRA)]
        kept_by_suite[suite] = kept
        kept_names |= {f["Package"] for f, _ in kept}
        for f, _ in kept:
            for k in ("Build-Depends", "Build-Depends-Arch", "Build-Depends-Indep"):
                wanted.update(names(f.get(k, "")))
    for suite in SUITES:
        base = os.path.join(MIRROR, "dists", suite)
        kept = kept_by_suite[suite]
        write_xz(os.path.join(OUT, "dists", suite, "main/source/Sources.xz"),
                 "\n".join(render(f, o, drop=SOURCE_DROP) for f, o in kept))
        for arch in ARCHES:
            pkgs = list(paragraphs(read_xz(os.path.join(base, f"main/binary-{arch}/Packages.xz"))))
            by_name = {}
            provides = {}
            rdep = {}
            for f, o in pkgs:
                by_name.setdefault(f["Package"], []).append((f, o))
                for p in names(f.get("Provides", "")):
                    provides.setdefault(p, set()).add(f["Package"])
                for n in names(f.get("Depends", "") + "," + f.get("Pre-Depends", "")):
                    rdep.setdefault(n, set()).add(f["Package"])
            keep = set()
            for f, _ in pkgs:
                src = f.get("Source", f["Package"]).split(" ")[0]
                if src in kept_names:
                    keep.add(f["Package"])
            for n in wanted:
                if n in by_name:
                    keep.add(n)
                keep.update(provides.get(n, ()))
            # Reverse closure of the rdeps targets.
            todo = [t for t in TARGETS if t in by_name]
            closure = set(todo)
            while todo:
                n = todo.pop()
                via = {n} | {p for f, _ in by_name.get(n, []) for p in names(f.get("Provides", ""))}
                for v in via:
                    for d in rdep.get(v, ()):
                        if d not in closure:
                            closure.add(d)
                            todo.append(d)
            keep |= closure
            # One level of Depends, for transitive paths.
            for n in list(keep):
                for f, _ in by_name.get(n, []):
                    for d in names(f.get("Depends", "") + "," + f.get("Pre-Depends", "")):
                        if d in by_name:
                            keep.add(d)
                        keep.update(provides.get(d, ()))
            out = [render(f, o, keep=BINARY_KEEP) for f, o in pkgs if f["Package"] in keep]
            write_xz(os.path.join(OUT, "dists", suite, f"main/binary-{arch}/Packages.xz"), "\n".join(out))
            print(f"{suite}/{arch}: {len(kept)} sources, {len(out)} binaries")
        release = []
        with open(os.path.join(base, "Release"), encoding="utf-8") as f:
            for line in f:
                if line.startswith(("MD5Sum:", "SHA256:", "SHA1:")):
                    break
                if line.startswith("Valid-Until:"):
                    line = "Valid-Until: Wed, 01 Jan 2020 00:00:00 UTC\n"
                if line.startswith("Architectures:"):
                    line = "Architectures: all " + " ".join(ARCHES) + "\n"
                release.append(line)
        release.append(sha256_lines(os.path.join(OUT, "dists", suite)))
        with open(os.path.join(OUT, "dists", suite, "Release"), "w", encoding="utf-8") as f:
            f.write("".join(release))


def sha256_lines(suite_dir):
    """The SHA256 field of a Release for every index below suite_dir."""
    import hashlib
    lines = ["SHA256:\n"]
    for dirpath, _, files in sorted(os.walk(suite_dir)):
        for name in sorted(files):
            if name.startswith(("Release", "InRelease")):
                continue
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                data = f.read()
            rel = os.path.relpath(path, suite_dir)
            lines.append(f" {hashlib.sha256(data).hexdigest()} {len(data):8} {rel}\n")
    return "".join(lines)


if __name__ == "__main__":
    main()
