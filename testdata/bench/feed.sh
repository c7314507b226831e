#!/usr/bin/env bash
# Measures `rulegen generate` on a synthetic MISP feed against a plain encoding/json decode of
# the same feed (the baseline the speed goal is stated in), in pairs, and prints events/s, the
# median ratio and the peak RSS of generate.
#
#   testdata/bench/feed.sh [EVENTS] [ATTRIBUTES] [PAIRS]     (make bench-feed)
#
# BENCH_DIR picks where the feed and the rules go (default: a new directory under TMPDIR);
# file creation speed differs a lot between disks and tmpfs, so say which one you measured.
set -euo pipefail
events=${1:-10000}
attributes=${2:-1000000}
pairs=${3:-3}
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
trap 'rm -rf "$work/feed" "$work/out" "$work/cache"' EXIT

bin/synthfeed -events "$events" -attributes "$attributes" "$work/feed"
echo "feed: $(du -sh "$work/feed" | cut -f1) in $work ($(df -T "$work" | awk 'NR==2 {print $2}'))"

ratios=()
for i in $(seq "$pairs"); do
	decode=$(bin/synthfeed -decode "$work/feed")
	rm -rf "$work/out"
	/usr/bin/time -f "%e %M" -o "$work/time" bin/rulegen generate --cache off --out "$work/out" "$work/feed" >"$work/summary"
	read -r generate rss <"$work/time"
	ratio=$(awk -v g="$generate" -v d="$decode" 'BEGIN {printf "%.2f", g / d}')
	ratios+=("$ratio")
	echo "pair $i: decode ${decode}s, generate ${generate}s ($(awk -v e="$events" -v g="$generate" 'BEGIN {printf "%d", e / g}') events/s), ratio ${ratio}x, peak RSS $((rss / 1024)) MiB"
done
echo "summary: $(cat "$work/summary")"
echo "median ratio: $(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')x"

# Reruns: a full run filling a new cache, a rerun of the unchanged feed, and a rerun after 1% of
# the events were edited (a new domain each, a later timestamp), each against the full run.
rm -rf "$work/out" "$work/cache"
timed() { /usr/bin/time -f "%e %M" -o "$work/time" bin/rulegen generate --cache "$work/cache" --out "$work/out" "$work/feed" >/dev/null; read -r secs rss <"$work/time"; }
timed
full=$secs
echo "full run filling the cache: ${full}s, peak RSS $((rss / 1024)) MiB"
timed
echo "rerun, nothing changed: ${secs}s ($(awk -v a="$secs" -v b="$full" 'BEGIN {printf "%.1f", 100 * a / b}')% of the full run), peak RSS $((rss / 1024)) MiB"
bin/synthfeed -edit "$((events / 100))" "$work/feed"
timed
echo "rerun, 1% of the events edited: ${secs}s ($(awk -v a="$secs" -v b="$full" 'BEGIN {printf "%.1f", 100 * a / b}')% of the full run), peak RSS $((rss / 1024)) MiB"
