#!/usr/bin/env bash
# Build benchmarks of issue 5 on the bundled demo stack, under real sbuild
# (amd64 native + riscv64 under qemu). Slow (about half an hour): `./bench`
# runs it only with BENCH_BUILD=1; or run it alone:
#
#   CASCADE=target/release/cascade benches/run.sh
#
# (a) orchestration overhead: `cascade build -j1` wall time against the sum
#     of the same sbuild calls run bare (cascade records their exact command
#     lines with --print-sbuild-commands), and the -j2 speed-up;
# (b) a no-op rerun (`cascade run`, every input unchanged): wall time.
#
# Both builds start from a warm plan cache (`cascade build --dry-run` plans
# once) so that (a) compares building with building; the planning time is
# reported on its own. Both use the plain sbuild call (--clean-chroot): a
# bare replay has no per-build package cache directories (fixed-cost.sh
# measures the faster path). Needs the chroots of `cascade setup --arch amd64,riscv64`.
set -euo pipefail
cd "$(dirname "$0")/.."

. benches/common.sh
common=(--recipes demo/recipes --arch amd64,riscv64 --workdir work --allow-expired)

now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$(now)"; }
pct() { python3 -c "import sys; a,b=map(float,sys.argv[1:]); print(f'{100*(a-b)/b:+.1f}%')" "$1" "$2"; }
ratio() { python3 -c "import sys; a,b=map(float,sys.argv[1:]); print(f'{a/b:.2f}')" "$1" "$2"; }

"$cascade" demo init demo > /dev/null
"$cascade" bump --recipes demo/recipes --workdir work > bump.log

t=$(now)
"$cascade" build "${common[@]}" --run-dir seed --dry-run > dry-run.txt
plan_secs=$(since "$t")
builds=$(grep -c '^build ' dry-run.txt)
echo "demo stack: $builds builds; planning (sid indices from the cache dir): ${plan_secs} s"

# (a) -j1, recording the sbuild command lines.
mkdir -p run1 && cp seed/plan-cache.json run1/
t=$(now)
"$cascade" build "${common[@]}" --run-dir run1 -j1 --clean-chroot --print-sbuild-commands "$work/sbuild-commands.txt" > run1.log || true
j1=$(since "$t")
# The same sbuild calls, bare and one after another.
bare=0 bare_failed=0 n=0
while IFS= read -r line; do
  n=$((n + 1))
  t=$(now)
  bash -c "$line" > "bare-$n.log" 2>&1 || bare_failed=$((bare_failed + 1))
  bare=$(python3 -c "print($bare + $(since "$t"))")
done < sbuild-commands.txt
# Failures must match: a bare call that fails early would flatter cascade.
j1_failed=$(python3 -c "import json; r=json.load(open('run1/report.json'))['results']; print(sum(1 for x in r if x['log'] and x['outcome']['class'] != 'ok'))")
echo
echo "(a) cascade build -j1: ${j1} s; the same $n sbuild calls bare: $(printf '%.2f' "$bare") s"
echo "    failed builds: $j1_failed under cascade, $bare_failed bare"
echo "    orchestration overhead: $(pct "$j1" "$bare")   (target <= +5%)"

mkdir -p run2 && cp seed/plan-cache.json run2/
t=$(now)
"$cascade" build "${common[@]}" --run-dir run2 -j2 --clean-chroot > run2.log || true
j2=$(since "$t")
echo "    cascade build -j2: ${j2} s; speed-up over -j1: $(ratio "$j1" "$j2")x   ($(nproc) cores)"

# (b) no-op rerun: the bump finds every package at its target, the plan
# comes from the cache, every build is reused.
"$cascade" run "${common[@]}" --run-dir run2 > /dev/null || true
best=""
for i in 1 2 3; do
  t=$(now)
  "$cascade" run "${common[@]}" --run-dir run2 > noop.log || true
  s=$(since "$t")
  best=$(python3 -c "import sys; print(min(float(x) for x in sys.argv[1:] if x))" "$s" ${best:+"$best"})
done
reused=$(python3 -c "import json; r=json.load(open('run2/report.json'))['results']; print(sum(1 for x in r if x['reused']), 'of', sum(1 for x in r if x['log']))")
echo
echo "(b) no-op cascade run: ${best} s (best of 3; builds reused: $reused)   (target < 1 s)"
echo "    host load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
