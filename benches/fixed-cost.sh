#!/usr/bin/env bash
# Fixed cost of one sbuild call (issue 16), side by side in one run.
#
# amd64: the demo stack's smallest package (demo-cmake, arch:all, nothing to
# compile) built by `cascade build` three ways, alternately: the plain
# sbuild call (`--clean-chroot`), the faster path in sbuild's unshare mode
# (`--unshare`: the warm tarball unpacked per build on tmpfs, shared .deb
# pool, dpkg unsafe I/O, no man-db index, ccache: the default before the
# schroot chroots), and the demo's default (the same in the run's schroot
# overlay on the warm tarball unpacked once; as root).
#
# riscv64: the smallest arch:any package (demo-runtime: one C file), against
# demo-cmake's .deb built above, four ways: the plain call under qemu
# (`--clean-chroot --mode riscv64=qemu`: the riscv64 builds before issue
# 16), the faster path under qemu (`--mode riscv64=qemu`, in riscv64's
# schroot chroot), cross-built in unshare mode (`--unshare`) and the demo's
# default (cross-built, `foreign_mode: cross`, in amd64's schroot chroot).
#
# Per variant: sbuild's phases (from each build's report.json `stats`),
# "fixed" = sbuild's Package-Time minus Build-Time (what is not
# compiling), the wall time and the ratios to the plain call; then whether
# the .debs are the same (same-debs.sh; the cross build's against the qemu
# one: same-elf.py, ELF files section by section).
#
#   CASCADE=target/debug/cascade benches/fixed-cost.sh        (ROUNDS=N, default 1)
#
# One sbuild at a time (-j1). The pool is warmed by one untimed build of
# each package first: a run's steady state is a warm pool. Needs `cascade
# setup --arch amd64,riscv64`.
set -euo pipefail
cd "$(dirname "$0")/.."

same_debs=$(realpath benches/same-debs.sh)
same_elf=$(realpath benches/same-elf.py)
rounds=${ROUNDS:-1}
. benches/common.sh
amd64=(--arch amd64 --only demo-cmake --workdir work --allow-expired -j1)
riscv64=(--arch riscv64 --only demo-runtime --workdir work --allow-expired -j1 --from-artifacts "$work/cmake")

"$cascade" demo init demo > /dev/null
"$cascade" bump --recipes demo/recipes --workdir work > bump.log
grep -q '^chroot_tmpfs: true' demo/recipes/stack.yaml
grep -q '^foreign_mode: cross' demo/recipes/stack.yaml
"$cascade" build --recipes demo/recipes "${amd64[@]}" --run-dir seed --dry-run > /dev/null

# build NAME SEED RECIPES ARGS [cascade args…]: one timed build in run dir
# NAME (ARGS: the name of the array of common arguments), a line of
# results.jsonl.
build() {
  local name=$1 seed=$2 recipes=$3
  local -n args=$4
  shift 4
  mkdir -p "$name" && cp "$seed/plan-cache.json" "$name/" 2>/dev/null || true
  local t0 t1
  t0=$(date +%s.%N)
  "$cascade" build --recipes "$recipes" "${args[@]}" --run-dir "$name" "$@" > "$name.log" 2>&1 || true
  t1=$(date +%s.%N)
  python3 - "$name" "$t0" "$t1" <<'EOF' >> results.jsonl
import json, sys
name, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
r = json.load(open(f"{name}/report.json"))["results"][0]
print(json.dumps({"variant": name.rsplit("-", 1)[0], "wall": t1 - t0,
                  "outcome": r["outcome"]["class"], "phases": (r.get("stats") or {}).get("phases")}))
EOF
}

# summary TITLE VARIANT…: the phase table of these variants (medians over
# the rounds) and their ratios to the first, the plain call.
summary() {
  python3 - "$@" <<'EOF'
import json, statistics, sys
title, variants = sys.argv[1], sys.argv[2:]
rows = [json.loads(l) for l in open("results.jsonl")]
keys = ["setup", "apt_update", "fetch", "install_deps", "build", "package", "cleanup", "total"]
med = {}
for v in variants:
    rs = [r for r in rows if r["variant"] == v]
    if not rs:
        continue
    bad = [r["outcome"] for r in rs if r["outcome"] != "ok"]
    if bad:
        print(f"{v}: builds not ok: {bad}")
    med[v] = {"wall": statistics.median(r["wall"] for r in rs), "n": len(rs)}
    for k in keys:
        med[v][k] = statistics.median((r["phases"] or {}).get(k, 0) for r in rs)
    # sbuild's Package-Time minus Build-Time: what is not compiling.
    med[v]["fixed"] = statistics.median(
        ((r["phases"] or {}).get("sbuild_package_time") or 0) - ((r["phases"] or {}).get("sbuild_build_time") or 0)
        for r in rs)
cols = [v for v in variants if v in med]
print(f"fixed cost of one sbuild call, {title}, median of {med[cols[0]]['n']} round(s), seconds")
print(f"{'phase':<14}" + "".join(f"{c:>15}" for c in cols))
for k in keys + ["fixed", "wall"]:
    print(f"{k:<14}" + "".join(f"{med[c][k]:>15.0f}" for c in cols))
for c in cols[1:]:
    print(f"{c}/{cols[0]}: wall {med[c]['wall'] / med[cols[0]]['wall']:.2f}, "
          f"fixed {med[c]['fixed'] / max(med[cols[0]]['fixed'], 1):.2f}")
EOF
}

build warmup seed demo/recipes amd64 > /dev/null
# demo-runtime's build-dependency demo-cmake, as a CI job's artifacts.
mkdir -p cmake/all cmake/results
cp warmup/debs/all/*.deb cmake/all/ && cp warmup/results/*.json cmake/results/
"$cascade" build --recipes demo/recipes "${riscv64[@]}" --run-dir seed-rv --dry-run > /dev/null
build warmup_cross seed-rv demo/recipes riscv64 > /dev/null
build warmup_qemu seed-rv demo/recipes riscv64 --mode riscv64=qemu > /dev/null
for i in $(seq "$rounds"); do
  build "plain-$i" seed demo/recipes amd64 --clean-chroot
  build "unshare-$i" seed demo/recipes amd64 --unshare
  build "schroot-$i" seed demo/recipes amd64
  build "plain_qemu-$i" seed-rv demo/recipes riscv64 --clean-chroot --mode riscv64=qemu
  build "qemu-$i" seed-rv demo/recipes riscv64 --mode riscv64=qemu
  build "unshare_cross-$i" seed-rv demo/recipes riscv64 --unshare
  build "cross-$i" seed-rv demo/recipes riscv64
done

summary "amd64: demo-cmake (arch:all)" plain unshare schroot
echo "(target: fixed <= 8 s on amd64)"
# The faster path must not change what is built.
for v in unshare schroot; do
  [ -d "$v-1/debs/all" ] || continue
  echo "$v against plain: $("$same_debs" plain-1/debs/all "$v-1/debs/all" | tail -1)"
done
echo
summary "riscv64: demo-runtime (one C file)" plain_qemu qemu unshare_cross cross
echo "(target: fixed <= 25 s on riscv64)"
if [ -d qemu-1/debs/riscv64 ]; then
  echo "qemu against plain_qemu: $("$same_debs" plain_qemu-1/debs/riscv64 qemu-1/debs/riscv64 | tail -1)"
fi
if [ -d cross-1/debs/riscv64 ] && [ -d unshare_cross-1/debs/riscv64 ]; then
  echo "cross against unshare_cross: $("$same_debs" unshare_cross-1/debs/riscv64 cross-1/debs/riscv64 | tail -1)"
fi
if [ -d cross-1/debs/riscv64 ]; then
  echo "cross against plain_qemu:"
  "$same_elf" plain_qemu-1/debs/riscv64 cross-1/debs/riscv64 | sed 's/^/    /' || true
fi
echo "host load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
