# Sourced by the build benchmarks (fixed-cost.sh, run.sh, ccache.sh,
# readme-run.sh): sets $cascade (CASCADE, else a release build of this
# checkout), makes a fresh work directory $work and enters it (removed on
# exit unless BENCH_KEEP is set), and exports the demo's identity and date.
# Run from the repository root.

cascade=${CASCADE:-}
if [ -z "$cascade" ]; then
  cargo build --release --quiet
  target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  cascade="$target/release/cascade"
fi
cascade=$(realpath "$cascade")

work=$(mktemp -d)
[ -n "${BENCH_KEEP:-}" ] && echo "work dir: $work (kept)" || trap 'rm -rf "$work"' EXIT
cd "$work"
export SOURCE_DATE_EPOCH=1764590400 DEBFULLNAME="Cascade Bench" DEBEMAIL=cascade-bench@example.org
