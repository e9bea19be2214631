#!/usr/bin/env bash
# Cold `frontier --arch riscv64 --all --format json` side by side: one loop
# alternating two cascade binaries, a fresh cache dir for every run; prints
# wall, cpu (user+sys), sys, peak RSS and the load average per run.
# Usage: benches/cold-frontier-ab.sh BASE_BINARY NEW_BINARY [ROUNDS]
#   (env: CASCADE_BENCH_MIRROR, else the snapshot ./bench finds)
set -euo pipefail
base=$1 new=$2 rounds=${3:-6}
cd "$(dirname "$0")/.."
mirror=${CASCADE_BENCH_MIRROR:-}
if [ -z "$mirror" ]; then
  for m in ../shared/debian-archive/mirror ../../shared/debian-archive/mirror /work/shared/debian-archive/mirror; do
    if [ -d "$m/dists/sid" ]; then mirror=$m; break; fi
  done
fi
[ -d "$mirror/dists/sid" ] || { echo "no snapshot found (set CASCADE_BENCH_MIRROR)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for r in $(seq 1 "$rounds"); do
  for which in base new; do
    bin=$base
    [ "$which" = new ] && bin=$new
    rm -rf "$work/cache"
    load=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/time -f '%e %M %U %S' -o "$work/t" "$bin" frontier --arch riscv64 --all --format json \
      --mirror "$mirror" --allow-expired --cache-dir "$work/cache" > /dev/null 2>&1 || true
    read -r secs kib user sys < <(tail -n 1 "$work/t")
    cpu=$(python3 -c "print(f'{$user + $sys:.2f}')")
    printf 'round %d %-4s wall %5.2f s  cpu %5s s  sys %4.2f s  %4d MiB  load %s\n' \
      "$r" "$which" "$secs" "$cpu" "$sys" $((kib / 1024)) "$load"
  done
done
