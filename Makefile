# Targets: build test test-race lint bench fuzz e2e ui ui-check compliance.
GO       ?= go
PKGS     := ./...
FUZZTIME ?= 30s
# The branch goes into --version, /metrics and the build-info endpoint; the
# revision and build date come from the Go build info, REVISION standing in
# for the revision when the build records none (GOFLAGS=-buildvcs=false).
BRANCH   ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)

.PHONY: build test test-race lint bench fuzz e2e e2e-deps bench-peers bench-peers-latest peers-latest bench-cluster ui ui-check compliance

build:
	$(GO) build -ldflags "-X main.branch=$(BRANCH) -X main.revision=$(REVISION)" -o bin/gorilla-remote ./cmd/gorilla-remote

# The unit and in-process tests, with the race detector. Tests that need an
# external binary skip locally when it is missing (and fail when CI=true).
test:
	$(GO) vet -stdmethods=false $(PKGS)
	$(GO) test -race -count=1 $(PKGS)

test-race: test

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet -stdmethods=false $(PKGS)

bench:
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDense -fuzztime=$(FUZZTIME) ./chunkenc/
	$(GO) test -run='^$$' -fuzz=FuzzDenseChunk -fuzztime=$(FUZZTIME) ./block/
	$(GO) test -run='^$$' -fuzz=FuzzIterator -fuzztime=$(FUZZTIME) ./chunkenc/
	$(GO) test -run='^$$' -fuzz=FuzzRoundTrip -fuzztime=$(FUZZTIME) ./chunkenc/
	$(GO) test -run='^$$' -fuzz=FuzzReader -fuzztime=$(FUZZTIME) ./wal/
	$(GO) test -run='^$$' -fuzz=FuzzResync -fuzztime=$(FUZZTIME) ./wal/
	$(GO) test -run='^$$' -fuzz=FuzzCodecFrames -fuzztime=$(FUZZTIME) ./wal/
	$(GO) test -run='^$$' -fuzz=FuzzRecords -fuzztime=$(FUZZTIME) ./head/
	$(GO) test -run='^$$' -fuzz=FuzzHistogramRecords -fuzztime=$(FUZZTIME) ./head/
	$(GO) test -run='^$$' -fuzz=FuzzPackedSamples -fuzztime=$(FUZZTIME) ./head/
	$(GO) test -run='^$$' -fuzz=FuzzPackedSeries -fuzztime=$(FUZZTIME) ./head/
	$(GO) test -run='^$$' -fuzz=FuzzWALCodecs -fuzztime=$(FUZZTIME) ./head/
	$(GO) test -run='^$$' -fuzz=FuzzSymRefs -fuzztime=$(FUZZTIME) ./head/
	$(GO) test -run='^$$' -fuzz=FuzzValidate -fuzztime=$(FUZZTIME) ./tenant/
	$(GO) test -run='^$$' -fuzz=FuzzTombstones -fuzztime=$(FUZZTIME) ./query/
	$(GO) test -run='^$$' -fuzz=FuzzMergeReplicas -fuzztime=$(FUZZTIME) ./block/
	$(GO) test -run='^$$' -fuzz=FuzzWriteDecode -fuzztime=$(FUZZTIME) ./remote/
	$(GO) test -run='^$$' -fuzz=FuzzReadRequestDecode -fuzztime=$(FUZZTIME) ./remote/
	$(GO) test -run='^$$' -fuzz=FuzzOTLPDecode -fuzztime=$(FUZZTIME) ./remote/
	$(GO) test -run='^$$' -fuzz=FuzzDepthBound -fuzztime=$(FUZZTIME) ./promql/
	$(GO) test -run='^$$' -fuzz=FuzzTimestamps -fuzztime=$(FUZZTIME) ./query/
	$(GO) test -run='^$$' -fuzz=FuzzCheckChunk -fuzztime=$(FUZZTIME) ./query/
	$(GO) test -run='^$$' -fuzz=FuzzConfigFile -fuzztime=$(FUZZTIME) ./cmd/gorilla-remote/
	$(GO) test -run='^$$' -fuzz=FuzzOverridesFile -fuzztime=$(FUZZTIME) ./limits/
	$(GO) test -run='^$$' -fuzz=FuzzQueueRecord -fuzztime=$(FUZZTIME) ./replication/
	$(GO) test -run='^$$' -fuzz=FuzzCountSamples -fuzztime=$(FUZZTIME) ./replication/
	$(GO) test -run='^$$' -fuzz=FuzzRegionsConfig -fuzztime=$(FUZZTIME) ./cmd/gorilla-remote/
	$(GO) test -run='^$$' -fuzz=FuzzChunkedStream -fuzztime=$(FUZZTIME) ./replication/

# The web UI: installs the locked npm packages and bundles web/ui into
# web/dist, which is committed and embedded in the binary (docs/ui.md).
ui:
	cd web/ui && npm ci --no-audit --no-fund --loglevel=error && ./node_modules/.bin/tsc -p . && node build.mjs

# Rebuilds the UI and fails when the result differs from what is committed.
ui-check: ui
	@test -z "$$(git status --porcelain -- web/dist)" || \
	  { echo "web/dist differs from a fresh 'make ui':"; git status --porcelain -- web/dist; exit 1; }

# Debian's Prometheus and node_exporter, the Versity S3 Gateway and the GCS
# emulator, and Chromium with its driver, for the end-to-end tests.
e2e-deps:
	@command -v prometheus >/dev/null && command -v prometheus-node-exporter >/dev/null || \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus prometheus-node-exporter; }
	@command -v versitygw >/dev/null || test -x "$$($(GO) env GOPATH)/bin/versitygw" || \
	  $(GO) install github.com/versity/versitygw/cmd/versitygw@v1.8.0
	@command -v fake-gcs-server >/dev/null || test -x "$$($(GO) env GOPATH)/bin/fake-gcs-server" || \
	  $(GO) install github.com/fsouza/fake-gcs-server@v1.56.1
	@# Prometheus 3.16 and its promtool read the xor2 blocks (e2e/encoding_test.go)
	@# and send native histograms (e2e/histograms_test.go); they go to a directory of
	@# their own, apart from Debian's 2.42 on PATH.
	@test -x "$$($(GO) env GOPATH)/prometheus-3.16/bin/prometheus" || \
	  GOBIN="$$($(GO) env GOPATH)/prometheus-3.16/bin" $(GO) install github.com/prometheus/prometheus/cmd/prometheus@v0.316.0
	@test -x "$$($(GO) env GOPATH)/prometheus-3.16/bin/promtool" || \
	  GOBIN="$$($(GO) env GOPATH)/prometheus-3.16/bin" $(GO) install github.com/prometheus/prometheus/cmd/promtool@v0.316.0
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; }

e2e: e2e-deps
	$(GO) test -tags e2e -count=1 -v ./e2e/

# gorilla-remote side by side with Prometheus and VictoriaMetrics under the same
# load (installs the missing peers); see docs/benchmarks.md.
# BENCH_PEERS_FLAGS=--quick for a short smoke run.
BENCH_PEERS_FLAGS ?=
bench-peers:
	$(GO) run ./bench/peers $(BENCH_PEERS_FLAGS)

# The newest peers, built from source with go install into bin/peers/
# (Prometheus takes about 6 minutes on 2 cores, VictoriaMetrics about 1).
PEERS_DIR          ?= bin/peers
PROMETHEUS_VERSION ?= v0.316.0
VM_VERSION         ?= v1.151.0
peers-latest:
	@test -x $(PEERS_DIR)/victoria-metrics || \
	  GOBIN=$(abspath $(PEERS_DIR)) $(GO) install github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@$(VM_VERSION)
	@test -x $(PEERS_DIR)/prometheus || \
	  GOBIN=$(abspath $(PEERS_DIR)) $(GO) install github.com/prometheus/prometheus/cmd/prometheus@$(PROMETHEUS_VERSION)

# bench-peers against the newest peers of peers-latest.
bench-peers-latest: peers-latest
	$(GO) run ./bench/peers --prometheus-bin=$(PEERS_DIR)/prometheus --vm-bin=$(PEERS_DIR)/victoria-metrics $(BENCH_PEERS_FLAGS)

# One node against a 3-node cluster with RF=3 under the same load: CPU per
# acknowledged sample, write latency, query latency; see docs/benchmarks.md.
BENCH_CLUSTER_FLAGS ?=
bench-cluster:
	$(GO) build -o bin/gorilla-remote ./cmd/gorilla-remote
	$(GO) run ./bench/cluster --binary bin/gorilla-remote $(BENCH_CLUSTER_FLAGS)

# The prometheus/compliance suites against a Prometheus 3.16 reference
# (docs/compliance.md): the PromQL tester after DATA_WAIT of data (15m by
# default), the remote-write receiver suite and the comparison of every one
# of its answers with Prometheus's. Needs COMPLIANCE_DIR and DEMO_DIR,
# checkouts of prometheus/compliance and juliusv/prometheus_demo_service.
compliance:
	bash scripts/compliance/run.sh all
