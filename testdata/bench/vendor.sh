#!/usr/bin/env bash
# Measures `rulegen generate` on a repository of synthetic vendors' publications (a folder each:
# README.adoc with tables, iocs.csv, samples.sha256) against `rulegen generate` on the same
# values as MISP events, in pairs, and prints the ratio of each pair and their median: what
# reading vendors' formats costs over reading an export.
#
#   testdata/bench/vendor.sh [PUBLICATIONS] [PAIRS]     (make bench-vendor)
#
# BENCH_DIR picks where the inputs and the rules go (default: a new directory under TMPDIR).
set -euo pipefail
publications=${1:-500}
pairs=${2:-3}
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
trap 'rm -rf "$work/publications" "$work/misp" "$work/out"' EXIT

bin/synthfeed -publications "$publications" "$work"
echo "inputs: publications $(du -sh "$work/publications" | cut -f1), MISP events $(du -sh "$work/misp" | cut -f1) in $work ($(df -T "$work" | awk 'NR==2 {print $2}'))"

timed() { rm -rf "$work/out"; /usr/bin/time -f "%e %M" -o "$work/time" bin/rulegen generate --cache off --out "$work/out" "$1" >"$work/summary"; read -r secs rss <"$work/time"; }
ratios=()
for i in $(seq "$pairs"); do
	timed "$work/misp"
	misp=$secs misp_summary=$(cat "$work/summary")
	timed "$work/publications"
	ratio=$(awk -v p="$secs" -v m="$misp" 'BEGIN {printf "%.2f", p / m}')
	ratios+=("$ratio")
	echo "pair $i: MISP events ${misp}s, publications ${secs}s, ratio ${ratio}x, peak RSS $((rss / 1024)) MiB"
done
echo "MISP events:  $misp_summary"
echo "publications: $(cat "$work/summary")"
echo "median ratio: $(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')x"
