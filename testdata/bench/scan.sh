#!/usr/bin/env bash
# Scan cost of generated YARA rules in the yara CLI, as ratios against a baseline of one rare
# string measured in the same
# run on the same corpus, in pairs (rules, empty, rules, empty, ...) so that drift cancels.
# Prints, per ruleset, its rule count, compile time, compiled size and, per corpus, the ratio of
# the fastest wall time and of the least CPU time of each side: a neighbour on a shared machine
# only ever adds time, and medians of pairs swing between runs (docs/scan-cost.md).
#
#   testdata/bench/scan.sh [PAIRS]       (make bench-scan)
#
# CORPORA (default: the Go toolchain and /usr/lib/x86_64-linux-gnu) and RULESETS (default: all)
# narrow the run; THREADS (default: one per CPU) is yara's -p. On a shared machine THREADS=1
# gives the steadier CPU ratio; the wall ratio with every CPU busy is what an endpoint sees. Needs bin/rulegen, bin/synthfeed and the yara CLI (yara, yarac).
set -euo pipefail
pairs=${1:-5}
threads=${THREADS:-$(nproc)}
corpora=${CORPORA:-"$(go env GOROOT) /usr/lib/x86_64-linux-gnu"}
rulesets=${RULESETS:-"seed hashes-1k hashes-10k hashes-100k nosize-10k domains-10k feed-hashes-10k feed-hashes-100k"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ruleset NAME: the YARA source of one ruleset in $work/NAME.yar.
ruleset() {
	split=1
	case $1 in
	seed) cat rules/yara/remcos_rat_02_28_20.yar >"$work/$1.yar"; return ;;
	hashes-1k) kind=hashes n=1000 ;;
	hashes-10k) kind=hashes n=10000 ;;
	hashes-100k) kind=hashes n=100000 ;;
	nosize-10k) kind=hashes-nosize n=10000 ;;
	domains-10k) kind=domains n=10000 ;;
	feed-hashes-10k) kind=hashes n=10000 split=1000 ;;   # a feed of many small reports
	feed-hashes-100k) kind=hashes n=100000 split=10000 ;;
	*) echo "unknown ruleset $1" >&2; exit 2 ;;
	esac
	bin/synthfeed -event "$kind" -count "$n" -split "$split" "$work/$1.json"
	bin/rulegen generate --out "$work/$1.out" "$work/$1.json" >/dev/null
	cat "$work/$1.out"/yara/*.yar >"$work/$1.yar"
}

# scan RULES CORPUS: prints "wall_ms cpu_ms" of one scan.
scan() {
	local s e
	s=$(date +%s%N)
	/usr/bin/time -f "%U %S" -o "$work/cpu" yara -C -r -p "$threads" "$1" "$2" >/dev/null 2>&1 || true
	e=$(date +%s%N)
	awk -v w=$(((e - s) / 1000000)) '{printf "%d %d\n", w, ($1 + $2) * 1000}' "$work/cpu"
}

# ratio COLUMN: the least value of that column (1 wall, 2 CPU) with the rules over without.
ratio() {
	least() { sort -n -k"$1" "$2" | head -1 | awk -v k="$1" '{print $k}'; }
	awk -v a="$(least "$1" "$work/rules.times")" -v b="$(least "$1" "$work/empty.times")" \
		'BEGIN {printf "%.3f", a / (b ? b : 1)}'
}

# The baseline is one string that is in no file, as in BenchmarkScanCost.
printf 'rule baseline_rare_string { strings: $rare = "q7Zx!rulegen-baseline!Vw3K" condition: $rare }\n' >"$work/empty.yar"
yarac "$work/empty.yar" "$work/empty.yarc"
printf '%-12s %7s %9s %10s  %-34s %6s %6s\n' ruleset rules compile_s compiled_kb corpus wall cpu
for r in $rulesets; do
	ruleset "$r"
	start=$(date +%s%N)
	yarac "$work/$r.yar" "$work/$r.yarc"
	compile=$(awk -v n=$(($(date +%s%N) - start)) 'BEGIN {printf "%.2f", n / 1e9}')
	rules=$(grep -c '^rule ' "$work/$r.yar")
	size=$(($(stat -c %s "$work/$r.yarc") / 1024))
	for c in $corpora; do
		scan "$work/empty.yarc" "$c" >/dev/null # warm the page cache
		: >"$work/rules.times"
		: >"$work/empty.times"
		for _ in $(seq "$pairs"); do
			scan "$work/$r.yarc" "$c" >>"$work/rules.times"
			scan "$work/empty.yarc" "$c" >>"$work/empty.times"
		done
		printf '%-12s %7d %9s %10d  %-34s %6s %6s\n' "$r" "$rules" "$compile" "$size" "$c" \
			"$(ratio 1)x" "$(ratio 2)x"
	done
done
