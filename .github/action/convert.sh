#!/usr/bin/env bash
# Converts a directory of Sigma rules into queries for a SIEM with sigma-cli: the action's
# optional last step. sigma-cli, pySigma and the Splunk, Elasticsearch, Kusto and SQLite
# backends are the versions rulegen's tests convert with, pinned with hashes in
# testdata/pysigma/requirements.txt. A rule the target has no table or field for is left out
# and listed (sigma convert --skip-unsupported); any other error fails the step.
#
#   SIGMA_TARGET=splunk SIGMA_PIPELINE=splunk_windows convert.sh rules/sigma sigma-queries
#
# SIGMA_TARGET     a sigma-cli target: splunk, lucene, eql, esql, kusto, sqlite (required)
# SIGMA_PIPELINE   its processing pipeline (splunk_windows, ecs_windows, sentinel_asim,
#                  microsoft_xdr...); none: converted without one
# SIGMA_VENV       where sigma-cli is installed (default: $RUNNER_TEMP or /tmp); one that holds
#                  it already is used as it is
set -euo pipefail

die() {
	echo "rulegen action: $*" >&2
	exit 1
}

[ $# -eq 2 ] || die "usage: convert.sh RULES_DIR OUTPUT_DIR"
rules=$1 out=$2
[ -n "${SIGMA_TARGET:-}" ] || die "no target: set the sigma-target input (splunk, lucene, eql, esql, kusto, sqlite)"
[ -d "$rules" ] || die "no Sigma rules directory $rules"
here=$(cd "$(dirname "$0")" && pwd)
venv=${SIGMA_VENV:-${RUNNER_TEMP:-/tmp}/rulegen-sigma}
if [ ! -x "$venv/bin/sigma" ]; then
	python3 -m venv "$venv" || die "python3 -m venv failed: the step needs Python 3 with venv"
	"$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes --no-deps \
		-r "$here/../../testdata/pysigma/requirements.txt" || die "could not install sigma-cli"
fi
args=(convert --target "$SIGMA_TARGET" --skip-unsupported --output-dir "$out")
if [ -n "${SIGMA_PIPELINE:-}" ]; then
	args+=(--pipeline "$SIGMA_PIPELINE")
else
	args+=(--without-pipeline)
fi
"$venv/bin/sigma" "${args[@]}" "$rules"
