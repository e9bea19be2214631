#!/usr/bin/env bash
# The test stage's overhead (issue 14): `cascade test RUN --no-lintian -j1`
# against the same autopkgtest calls run bare, one after another (each
# cell's tests/PKG_ARCH/autopkgtest.sh, which cascade writes as it runs it:
# the same .dsc, .debs, tarball and options), alternately in the same run,
# on the same builds. lintian is left out: bare autopkgtest has none.
#
#   CASCADE=target/debug/cascade benches/test-overhead.sh   (ROUNDS=N, default 3; ARCH=amd64)
#   FROM=DIR ...   a directory holding demo/, work/ and run/ of a finished
#                  demo run (tests/common's shared run has that shape);
#                  without it the demo's ARCH run is built first (minutes)
#
# Prints each round's two wall times and the ratio cascade/bare, then the
# median ratio over the rounds (the network the testbeds' apt reaches
# moves single rounds by more than the target); the target is at most
# 1.05. Needs `cascade setup --arch ARCH` and autopkgtest.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
arch=${ARCH:-amd64}
from=${FROM:+$(realpath "$FROM")}
. benches/common.sh

if [ -n "$from" ]; then
  cp -a --reflink=auto "$from/." .
else
  "$cascade" demo init demo > /dev/null
  "$cascade" run --recipes demo/recipes --arch "$arch" --workdir work --run-dir run \
    -j2 --allow-expired > build.log || true
fi
chmod 755 . # the testbed's unshared user reads the .dsc and .debs
test_args=(test run --recipes demo/recipes --workdir work --arch "$arch" --no-lintian -j1 --format json)

now() { date +%s.%N; }
calc() { python3 -c "print($1)"; }
cascade_round() {
  rm -rf run/tests
  local t0; t0=$(now)
  "$cascade" "${test_args[@]}" > cells.json || true
  calc "$(now) - $t0"
}
bare_round() {
  local t0 total=0 script dir
  for script in run/tests/*/autopkgtest.sh; do
    dir=$(dirname "$script")
    rm -rf "$dir/artifacts" "$dir/summary"
    t0=$(now)
    sh "$script" > "$dir/bare.log" 2>&1 || true
    total=$(calc "$total + $(now) - $t0")
  done
  echo "$total"
}

# A first cascade round writes the scripts (and warms the page cache).
cascade_round > /dev/null
cells=$(ls run/tests/*/autopkgtest.sh | wc -l)
echo "test overhead on $arch: $cells autopkgtest calls (cells with tests), $rounds rounds"
printf '%-6s %12s %12s %8s\n' round cascade_s bare_s ratio
ratios=()
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then b=$(bare_round); c=$(cascade_round); else c=$(cascade_round); b=$(bare_round); fi
  ratio=$(calc "$c / $b")
  ratios+=("$ratio")
  printf '%-6s %12.1f %12.1f %8.3f\n' "$r" "$c" "$b" "$ratio"
done
printf 'median ratio over %s rounds: %.3f\n' "$rounds" \
  "$(printf '%s\n' "${ratios[@]}" | sort -g | python3 -c 'import sys, statistics; print(statistics.median(float(l) for l in sys.stdin))')"
python3 - <<'PY'
import json
cells = json.load(open("cells.json"))
print("cells:", ", ".join(f"{c['source']}/{c['arch']}={c['status']} {c['duration_secs']:.0f}s" for c in cells))
PY
