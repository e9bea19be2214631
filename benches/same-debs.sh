#!/usr/bin/env bash
# Are the .debs in two directories the same packages? For each .deb of DIR_A
# the same-named .deb of DIR_B must have the same file list (with modes,
# owners and symlink targets), the same checksum of every file and the same
# control files. Archive timestamps are not compared: both builds use
# SOURCE_DATE_EPOCH from the changelog, but the check should not depend on it.
#
#   benches/same-debs.sh DIR_A DIR_B      (exit 1 and the differences when not)
set -euo pipefail
a=$1 b=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# describe DEB OUT: a text that two same packages share.
describe() {
  local deb=$1 out=$2 x="$work/x"
  rm -rf "$x" && mkdir -p "$x/data" "$x/control"
  dpkg-deb -x "$deb" "$x/data"
  dpkg-deb -e "$deb" "$x/control"
  {
    dpkg-deb -c "$deb" | awk '{ $4 = $5 = ""; print }'
    (cd "$x/data" && find . -type f -print0 | sort -z | xargs -0r sha256sum)
    (cd "$x/control" && find . -type f -print0 | sort -z | xargs -0r sha256sum)
  } > "$out"
}

n=0 bad=0
for deb in "$a"/*.deb; do
  name=$(basename "$deb")
  other="$b/$name"
  n=$((n + 1))
  if [ ! -f "$other" ]; then
    echo "$name: missing in $b"; bad=$((bad + 1)); continue
  fi
  describe "$deb" "$work/a.txt"
  describe "$other" "$work/b.txt"
  if ! diff -u "$work/a.txt" "$work/b.txt" > "$work/diff"; then
    echo "$name: differs"; sed 's/^/    /' "$work/diff" | head -20; bad=$((bad + 1))
  fi
done
[ "$n" -gt 0 ] || { echo "no .debs in $a"; exit 1; }
if [ "$bad" -eq 0 ]; then
  echo "same: $n .debs (file lists, file checksums, control files)"
else
  echo "$bad of $n .debs differ"; exit 1
fi
