#!/usr/bin/env bash
# ccache across runs (issue 16): the demo's compile-heavy package
# (demo-tensile, the opt-in `recipes-heavy/` stack: 96 generated C++
# template kernels) built by `cascade build -j1` on amd64 twice, each into a
# fresh run directory so nothing is reused: first with an empty ccache
# ("cold"), then with the ccache the first build filled ("warm"), its
# inputs otherwise changed: the recipe's version 7.2.4-1~exp2 instead of
# ~exp1, bumped into a second workdir (the same upstream tree, another
# changelog entry and Debian revision: a packaging-only change; the input
# hash differs). Printed: wall times, sbuild's Build-Time and the
# ccache counters (from each build's report.json `stats`), and the ratio
# warm/cold (target <= 15 %), and whether the two builds' files are the same.
#
#   CASCADE=target/debug/cascade benches/ccache.sh
#
# The build cache (ccache and .deb pool) is a fresh directory of this run
# (CASCADE_BUILD_CACHE), never the host's /var/cache/cascade. Both builds
# start from the same warm tarball with the stack's settings (chroot on
# tmpfs); the pool is cold for the first build only, which matters little:
# the package build-depends on debhelper alone, already in the warm
# tarball. Needs `cascade setup --arch amd64`.
set -euo pipefail
cd "$(dirname "$0")/.."

. benches/common.sh
# sbuild's unshared build user mounts the caches from here: it must get in.
chmod 755 "$work"
export CASCADE_BUILD_CACHE="$work/build-cache"
pkg=demo-tensile
common=(--arch amd64 --only "$pkg" --allow-expired -j1)

"$cascade" demo init demo > /dev/null
recipes=demo/recipes-heavy
[ -f "$recipes/$pkg.yaml" ] || { echo "ccache bench: no $recipes/$pkg.yaml" >&2; exit 1; }
# The second build's inputs: the same upstream, another changelog entry.
cp -r "$recipes" recipes-exp2
sed -i 's/^version: "{upstream}-1~exp1"$/version: "{upstream}-1~exp2"/' "recipes-exp2/$pkg.yaml"
grep -q 'exp2' "recipes-exp2/$pkg.yaml"
"$cascade" bump --recipes "$recipes" --workdir work-cold > bump-cold.log
"$cascade" bump --recipes recipes-exp2 --workdir work-warm > bump-warm.log
# Plan once, untimed (sid's indices), for both runs.
"$cascade" build --recipes "$recipes" --workdir work-cold "${common[@]}" --run-dir seed --dry-run > /dev/null

# build NAME RECIPES WORKDIR: one timed build in run dir NAME.
build() {
  local name=$1 recipes=$2 workdir=$3
  mkdir -p "$name" && cp seed/plan-cache.json "$name/" 2>/dev/null || true
  local t0 t1
  t0=$(date +%s.%N)
  "$cascade" build --recipes "$recipes" --workdir "$workdir" "${common[@]}" --run-dir "$name" > "$name.log" 2>&1 || true
  t1=$(date +%s.%N)
  python3 - "$name" "$t0" "$t1" <<'PY' >> results.jsonl
import json, sys
name, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
r = json.load(open(f"{name}/report.json"))["results"][0]
stats = r.get("stats") or {}
print(json.dumps({"variant": name, "wall": t1 - t0, "version": r.get("version"),
                  "outcome": r["outcome"]["class"], "phases": stats.get("phases"),
                  "ccache": stats.get("ccache")}))
PY
}

build cold demo/recipes-heavy work-cold
build warm recipes-exp2 work-warm

python3 - <<'PY'
import json
rows = {r["variant"]: r for r in map(json.loads, open("results.jsonl"))}
print("ccache across runs: demo-tensile on amd64 (-j1), cold ccache, then warm after a new changelog entry")
for v in ["cold", "warm"]:
    r = rows[v]
    ph = r["phases"] or {}
    c = r["ccache"] or {}
    hits, misses = c.get("hits", 0), c.get("misses", 0)
    rate = f"{100 * hits / (hits + misses):.0f} %" if hits + misses else "n/a"
    print(f"  {v}: {r['version']} {r['outcome']}: wall {r['wall']:.0f} s, sbuild Build-Time "
          f"{ph.get('sbuild_build_time')} s, build phase {ph.get('build')} s; "
          f"ccache {hits} hits / {misses} misses / {c.get('uncacheable', 0)} uncacheable: hit rate {rate}")
cold, warm = rows["cold"], rows["warm"]
bt = lambda r: (r["phases"] or {}).get("sbuild_build_time") or 0
print(f"  warm/cold: wall {warm['wall'] / cold['wall']:.2f}, "
      f"Build-Time {bt(warm) / max(bt(cold), 1):.2f}   (target: <= 0.15)")
PY
# A warm ccache must not change what is built: the .debs' files (but
# usr/share/doc, which has the changelog) have the same checksums.
files() {
  local deb dir
  deb=$(ls "$1"/debs/amd64/*.deb) && dir=$(mktemp -d -p .)
  dpkg-deb -x "$deb" "$dir"
  (cd "$dir" && find . -type f ! -path './usr/share/doc/*' -print0 | sort -z | xargs -0 sha256sum)
}
if cmp -s <(files cold) <(files warm); then
  echo "  warm against cold: same files ($(files cold | wc -l), checksums; changelog aside)"
else
  echo "  warm against cold: files DIFFER"
  diff <(files cold) <(files warm) | sed 's/^/    /' || true
fi
echo "host load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
