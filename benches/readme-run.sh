#!/usr/bin/env bash
# The README's demo run (issue 16): `cascade run --recipes demo/recipes
# --arch amd64,riscv64` as README.md shows it (the default -j: one build per
# core), side by side in one run, each from a fresh run directory and
# workdir:
#   plain  `--clean-chroot --mode riscv64=qemu`: the plain buildd tarball
#          on disk, no .deb pool, no ccache, dpkg's safe I/O, riscv64 under
#          qemu — the sbuild calls before issue 16;
#   fast   the default (as root: the run's schroot overlay chroots on the
#          warm tarballs unpacked once, the overlay on tmpfs as the demo's
#          `chroot_tmpfs: true` asks, .deb pool, unsafe I/O, ccache, riscv64
#          cross-built as its `foreign_mode: cross` asks, demo-solver under
#          qemu), with empty caches: a fresh machine's first run;
#   again  the default once more, with the caches `fast` filled (a second
#          run after a packaging change: new run dir, nothing reused).
# Printed: wall time, builds and their outcomes, the sum of sbuild's
# Build-Time and of the phase totals, and the ratios to plain (target:
# fast <= 0.50).
#
#   CASCADE=target/debug/cascade benches/readme-run.sh      (20-30 min)
#
# The build cache (pool and ccache) is a fresh directory of this run
# (CASCADE_BUILD_CACHE), not the host's. Needs `cascade setup --arch
# amd64,riscv64`.
set -euo pipefail
cd "$(dirname "$0")/.."
benches=$PWD/benches

. benches/common.sh
# sbuild's unshared build user mounts the caches from here: it must get in.
chmod 755 "$work"
export CASCADE_BUILD_CACHE="$work/build-cache"
common=(--recipes demo/recipes --arch amd64,riscv64 --allow-expired)

"$cascade" demo init demo > /dev/null
# Sid's indices fetched once, untimed, for all three runs.
"$cascade" run "${common[@]}" --workdir seed-work --run-dir seed --dry-run > /dev/null

# run NAME [cascade args…]: one timed `cascade run` in run dir NAME.
run() {
  local name=$1; shift
  mkdir -p "$name" && cp seed/plan-cache.json "$name/" 2>/dev/null || true
  local t0 t1
  t0=$(date +%s.%N)
  "$cascade" run "${common[@]}" --workdir "$name-work" --run-dir "$name" "$@" > "$name.log" 2>&1 || true
  t1=$(date +%s.%N)
  python3 - "$name" "$t0" "$t1" <<'PY' >> results.jsonl
import json, sys
name, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
rs = json.load(open(f"{name}/report.json"))["results"]
phases = [(r.get("stats") or {}).get("phases") or {} for r in rs]
cc = [(r.get("stats") or {}).get("ccache") or {} for r in rs]
print(json.dumps({"variant": name, "wall": t1 - t0, "builds": len(rs),
                  "outcomes": sorted(f"{r['source']}/{r['arch']}:{r['outcome']['class']}" for r in rs),
                  "build_time": sum(p.get("sbuild_build_time") or 0 for p in phases),
                  "total": sum(p.get("total") or 0 for p in phases),
                  "hits": sum(c.get("hits", 0) for c in cc), "misses": sum(c.get("misses", 0) for c in cc)}))
PY
}

run plain --clean-chroot --mode riscv64=qemu
run fast
run again

python3 - <<'PY'
import json
rows = {r["variant"]: r for r in map(json.loads, open("results.jsonl"))}
print("the README's demo run (cascade run --arch amd64,riscv64, default -j), fresh run dir each")
print(f"{'':<8}{'wall s':>8}{'builds':>8}{'Build-Time':>12}{'sbuild total':>14}{'ccache hit/miss':>17}")
for v in ["plain", "fast", "again"]:
    r = rows[v]
    print(f"{v:<8}{r['wall']:>8.0f}{r['builds']:>8}{r['build_time']:>12}{r['total']:>14}{r['hits']:>10}/{r['misses']}")
for v in ["fast", "again"]:
    print(f"{v}/plain: wall {rows[v]['wall'] / rows['plain']['wall']:.2f}   (target: <= 0.50)")
if len({tuple(r["outcomes"]) for r in rows.values()}) != 1:
    print("outcomes DIFFER:")
    for v, r in rows.items():
        print(f"  {v}: {' '.join(r['outcomes'])}")
else:
    print(f"same outcomes in all three: {' '.join(rows['plain']['outcomes'])}")
PY
# The .debs: amd64's and arch:all's are built the same way on both paths,
# so they must be the same files; riscv64's are cross-built on the faster
# path and under qemu on the plain one: the same files, ELF files section
# by section except the build ID and debug link (same-elf.py).
for arch in all amd64; do
  echo "$arch, fast against plain: $("$benches/same-debs.sh" "plain/debs/$arch" "fast/debs/$arch" | tail -1)"
done
echo "riscv64, fast (cross) against plain (qemu):"
"$benches/same-elf.py" plain/debs/riscv64 fast/debs/riscv64 | sed 's/^/    /' || true
echo "host load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
