#!/usr/bin/env bash
# Downloads the rulegen release binary for this machine, verifies it against the release's
# SHA256SUMS, and runs it with the arguments given; with GITHUB_STEP_SUMMARY set, what it
# printed goes into the job summary. The composite action in action.yml calls it; it runs
# anywhere with bash, curl and sha256sum.
#
#   RULEGEN_VERSION=v1.2.0 run.sh generate --check --out rules reports
#
# RULEGEN_VERSION        the release tag (required)
# RULEGEN_DOWNLOAD_URL   where releases are: <url>/<tag>/<asset> (default: the GitHub
#                        releases of RULEGEN_REPOSITORY, default rulegen/rulegen)
# RULEGEN_INSTALL_DIR    where the binary is kept (default: $RUNNER_TEMP or /tmp)
set -euo pipefail

die() {
	echo "rulegen action: $*" >&2
	exit 1
}

version=${RULEGEN_VERSION:-}
[ -n "$version" ] || die "no version: set RULEGEN_VERSION (the action's version input) to a release tag"
base=${RULEGEN_DOWNLOAD_URL:-https://github.com/${RULEGEN_REPOSITORY:-rulegen/rulegen}/releases/download}
os=$(uname -s | tr '[:upper:]' '[:lower:]')
case $(uname -m) in
x86_64 | amd64) arch=amd64 ;;
*) die "no release binary for $(uname -s) $(uname -m): releases are built for linux amd64" ;;
esac
asset="rulegen-$os-$arch"
dir=${RULEGEN_INSTALL_DIR:-${RUNNER_TEMP:-/tmp}}/rulegen-$version
mkdir -p "$dir"

fetch() { # URL FILE
	curl --fail --silent --show-error --location --retry 3 --max-time 300 --output "$2" "$1" ||
		die "could not download $1"
}

if [ ! -x "$dir/$asset" ]; then
	fetch "$base/$version/SHA256SUMS" "$dir/SHA256SUMS"
	fetch "$base/$version/$asset" "$dir/$asset.download"
	want=$(awk -v a="$asset" '$2 == a || $2 == "*" a { print $1 }' "$dir/SHA256SUMS")
	[ -n "$want" ] || die "$base/$version/SHA256SUMS lists no $asset"
	got=$(sha256sum "$dir/$asset.download" | cut -d' ' -f1)
	if [ "$got" != "$want" ]; then
		rm -f "$dir/$asset.download"
		die "checksum mismatch for $asset $version: the download has sha256 $got, SHA256SUMS says $want"
	fi
	chmod +x "$dir/$asset.download"
	mv "$dir/$asset.download" "$dir/$asset"
fi

# A change summary the run writes (generate --changes FILE) goes to the job summary too.
changes=
prev=
for arg in "$@"; do
	case $prev in --changes) changes=$arg ;; esac
	case $arg in --changes=*) changes=${arg#--changes=} ;; esac
	prev=$arg
done

status=0
"$dir/$asset" "$@" >"$dir/output.txt" 2>&1 || status=$?
cat "$dir/output.txt"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
	{
		if [ -n "$changes" ] && [ -f "$changes" ]; then
			cat "$changes"
			echo
		fi
		echo "### rulegen $1"
		echo
		echo '```'
		head -c 500000 "$dir/output.txt"
		echo '```'
	} >>"$GITHUB_STEP_SUMMARY"
fi
exit "$status"
