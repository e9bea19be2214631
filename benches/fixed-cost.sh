#!/usr/bin/env bash
# Fixed cost of one sbuild call (issue 16): the demo stack's smallest
# package (demo-cmake, arch:all, nothing to compile) built by `cascade build`
# three ways, alternately in the same run: the plain sbuild call
# (`--clean-chroot`), the faster path with the chroot on disk (shared .deb
# pool, dpkg unsafe I/O, no man-db index, ccache; the demo's stack.yaml
# without `chroot_tmpfs`), and the demo's default (the same, with the chroot
# unpacked on tmpfs). Per variant: wall time, sbuild's phases (from each
# build's report.json `stats`), and the ratio to the plain call.
#
#   CASCADE=target/debug/cascade benches/fixed-cost.sh        (ROUNDS=N, default 1)
#
# One sbuild at a time (-j1). The pool is warmed by one untimed build first:
# a run's steady state is a warm pool. Needs `cascade setup --arch amd64`.
set -euo pipefail
cd "$(dirname "$0")/.."

same_debs=$(realpath benches/same-debs.sh)
rounds=${ROUNDS:-1}
. benches/common.sh
common=(--arch amd64 --only demo-cmake --workdir work --allow-expired -j1)

"$cascade" demo init demo > /dev/null
"$cascade" bump --recipes demo/recipes --workdir work > bump.log
grep -q '^chroot_tmpfs: true' demo/recipes/stack.yaml
cp -r demo/recipes disk-recipes
sed -i '/^chroot_tmpfs:/d' disk-recipes/stack.yaml
"$cascade" build --recipes demo/recipes "${common[@]}" --run-dir seed --dry-run > /dev/null
"$cascade" build --recipes disk-recipes "${common[@]}" --run-dir seed-disk --dry-run > /dev/null

# build NAME SEED RECIPES [cascade args…]: one timed build in run dir NAME.
build() {
  local name=$1 seed=$2 recipes=$3; shift 3
  mkdir -p "$name" && cp "$seed/plan-cache.json" "$name/" 2>/dev/null || true
  local t0 t1
  t0=$(date +%s.%N)
  "$cascade" build --recipes "$recipes" "${common[@]}" --run-dir "$name" "$@" > "$name.log" 2>&1 || true
  t1=$(date +%s.%N)
  python3 - "$name" "$t0" "$t1" <<'EOF' >> results.jsonl
import json, sys
name, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
r = json.load(open(f"{name}/report.json"))["results"][0]
print(json.dumps({"variant": name.rsplit("-", 1)[0], "wall": t1 - t0,
                  "outcome": r["outcome"]["class"], "phases": (r.get("stats") or {}).get("phases")}))
EOF
}

build warmup seed demo/recipes > /dev/null
for i in $(seq "$rounds"); do
  build "plain-$i" seed demo/recipes --clean-chroot
  build "disk-$i" seed-disk disk-recipes
  build "tmpfs-$i" seed demo/recipes
done

python3 - <<'EOF'
import json, statistics
rows = [json.loads(l) for l in open("results.jsonl")]
variants = ["plain", "disk", "tmpfs"]
keys = ["setup", "apt_update", "fetch", "install_deps", "build", "package", "cleanup", "total"]
med = {}
for v in variants:
    rs = [r for r in rows if r["variant"] == v]
    if not rs:
        continue
    bad = [r["outcome"] for r in rs if r["outcome"] != "ok"]
    if bad:
        print(f"{v}: builds not ok: {bad}")
    med[v] = {"wall": statistics.median(r["wall"] for r in rs)}
    for k in keys:
        med[v][k] = statistics.median((r["phases"] or {}).get(k, 0) for r in rs)
    # sbuild's Package-Time minus Build-Time: what is not compiling.
    med[v]["fixed"] = statistics.median(
        ((r["phases"] or {}).get("sbuild_package_time") or 0) - ((r["phases"] or {}).get("sbuild_build_time") or 0)
        for r in rs)
cols = [v for v in variants if v in med]
print(f"fixed cost of one sbuild call, demo-cmake (arch:all), median of {len(rows) // max(len(cols), 1)} round(s), seconds")
print(f"{'phase':<14}" + "".join(f"{c:>10}" for c in cols))
for k in keys + ["fixed", "wall"]:
    print(f"{k:<14}" + "".join(f"{med[c][k]:>10.0f}" for c in cols))
for c in cols[1:]:
    print(f"{c}/plain: wall {med[c]['wall'] / med['plain']['wall']:.2f}, "
          f"fixed {med[c]['fixed'] / max(med['plain']['fixed'], 1):.2f}   (target: fixed <= 8 s on amd64)")
EOF
# The faster path must not change what is built.
for v in disk tmpfs; do
  [ -d "$v-1/debs/all" ] || continue
  echo "$v against plain: $("$same_debs" plain-1/debs/all "$v-1/debs/all" | tail -1)"
done
echo "host load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
