#!/usr/bin/env bash
# Measures `rulegen pull --feed` on a synthetic MISP feed served on 127.0.0.1 against a plain
# download of the same files with one HTTP client (the baseline the speed goal is stated in):
# requests, seconds and peak RSS of a first pull and of a pull of the unchanged feed.
#
#   testdata/bench/pull.sh [EVENTS] [ATTRIBUTES] [PAIRS]     (make bench-pull)
#
# BENCH_DIR picks where the feed and the copies go (default: a new directory under TMPDIR).
set -euo pipefail
events=${1:-10000}
attributes=${2:-1000000}
pairs=${3:-3}
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
server=
trap 'kill $server 2>/dev/null || true; rm -rf "$work/feed" "$work/plain" "$work/pulled"' EXIT

bin/synthfeed -events "$events" -attributes "$attributes" "$work/feed" >/dev/null
bin/synthfeed -serve 127.0.0.1:0 "$work/feed" >"$work/addr" &
server=$!
for _ in $(seq 100); do [ -s "$work/addr" ] && break; sleep 0.1; done
url=$(head -1 "$work/addr")
requests() { curl -s "$url/_requests"; }
echo "feed: $events events, $(du -sh "$work/feed" | cut -f1), served at $url ($(df -T "$work" | awk 'NR==2 {print $2}'))"

for i in $(seq "$pairs"); do
	rm -rf "$work/plain" "$work/pulled"
	r0=$(requests)
	/usr/bin/time -f "%e %M" -o "$work/time" bin/synthfeed -download "$url" "$work/plain" >/dev/null
	read -r plain plain_rss <"$work/time"
	r1=$(requests)
	/usr/bin/time -f "%e %M" -o "$work/time" bin/rulegen pull --feed "$url" --out "$work/pulled" >"$work/summary"
	read -r first first_rss <"$work/time"
	r2=$(requests)
	/usr/bin/time -f "%e %M" -o "$work/time" bin/rulegen pull --feed "$url" --out "$work/pulled" >/dev/null
	read -r again again_rss <"$work/time"
	r3=$(requests)
	echo "pair $i: plain download $((r1 - r0)) requests ${plain}s ($((plain_rss / 1024)) MiB);" \
		"first pull $((r2 - r1)) requests ${first}s ($((first_rss / 1024)) MiB), ratio $(awk -v a="$first" -v b="$plain" 'BEGIN {printf "%.2f", a / b}')x;" \
		"no-change pull $((r3 - r2)) requests ${again}s ($((again_rss / 1024)) MiB)"
done
echo "last pull: $(cat "$work/summary")"
