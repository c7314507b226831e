#!/usr/bin/env bash
# Measures `rulegen generate` on one publication that is a bulk hash list (samples.sha256,
# "hash  name" a line, as malware databases publish them) of growing sizes, with the time and
# the peak RSS of each, and the time per 100,000 lines: flat per-line times mean linear time.
#
#   testdata/bench/bulk.sh [LINES...]     (make bench-bulk; default 250000 500000 1000000)
#
# BENCH_DIR picks where the lists and the rules go (default: a new directory under TMPDIR).
set -euo pipefail
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(250000 500000 1000000)
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
trap 'rm -rf "$work/list" "$work/out"' EXIT

for n in "${sizes[@]}"; do
	rm -rf "$work/list" "$work/out"
	bin/synthfeed -hashlist "$n" "$work/list" >/dev/null
	/usr/bin/time -f "%e %M" -o "$work/time" bin/rulegen generate --cache off --as-of 2026-12-01 --out "$work/out" "$work/list" >"$work/summary"
	read -r secs rss <"$work/time"
	per=$(awk -v s="$secs" -v n="$n" 'BEGIN {printf "%.2f", s * 100000 / n}')
	echo "$n lines ($(du -h "$work/list/samples.sha256" | cut -f1)): ${secs}s, ${per}s per 100,000 lines, peak RSS $((rss / 1024)) MiB, rules $(du -sh "$work/out" | cut -f1)"
done
tail -1 "$work/summary"
