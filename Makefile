# Alluvium — the two commands a newcomer needs are `make run` and `make test`.
GO          ?= go
BIN         ?= bin/alluvium
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
PKGS        ?= ./...
BENCHTIME   ?= 3s

.PHONY: build run test test-short bench bench-api bench-idle bench-load bench-read bench-s3 bench-fuse lint fmt vet fuzz linearize chaos clean

build:
	$(GO) build -o $(BIN) ./cmd/alluvium

# A whole local cluster on loopback: coordinators on :19999, :20000, :20001.
# Its banner says how to mount it with FUSE (bin/alluvium fuse MOUNTPOINT).
run: build
	./$(BIN) dev

# Everything, with the race detector: the main module, then the deploy
# module (the Helm chart's tests; its own go.mod keeps Helm and Kubernetes
# out of the main module's graph). The deploy tests render templates and
# run the binary as processes, with no concurrency of their own for the
# race detector to check, and building Helm and Kubernetes with -race costs
# a cold build 8 minutes instead of 4.5 on two cores: they run without it.
test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 20m $(PKGS)
	cd deploy && $(GO) vet ./... && $(GO) test -count=1 -timeout 10m ./...

# Without the race detector, for a quick loop while editing.
test-short:
	$(GO) test -count=1 -short $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -timeout 60m $(PKGS)

# The API benchmark of issue 3 (about 5 minutes): POST /api/v1/quota and GET
# on three coordinators against etcd 3.4's v3 JSON gateway, three processes
# each on loopback, both with fsync. Installs Debian's etcd-server when
# /usr/bin/etcd is missing (and keeps its packaged service from running).
# Flags: make bench-api APIBENCH_FLAGS='-duration 3s -conns 1,64'.
bench-api: build /usr/bin/etcd
	$(GO) run ./bench/apibench -alluvium $(BIN) -etcd /usr/bin/etcd $(APIBENCH_FLAGS)

# The idle benchmark of issue 19 (about 3 minutes): three alluvium
# coordinators and three etcd members at rest, side by side: CPU time per
# wall time of every process over 3 windows of 30 s, then follower
# freshness (isolated writes on each leader, timed until each follower's
# local read shows them; p50/p99).
# Flags: make bench-idle IDLEBENCH_FLAGS='-idle 10s -idle-rounds 5 -fresh-writes 500'.
bench-idle: build /usr/bin/etcd
	$(GO) run ./bench/apibench -alluvium $(BIN) -etcd /usr/bin/etcd -warmup 5s -idle 30s $(IDLEBENCH_FLAGS)

# Debian's etcd-server for bench-api and bench-idle (its packaged service
# kept from running).
/usr/bin/etcd:
	SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	$$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server || exit 1; \
	$$SUDO systemctl disable --now etcd >/dev/null 2>&1 || true

# The read benchmark of issues 5 and 14 (about 4 minutes): reads from one
# worker over HTTP against nginx (sendfile) serving the same files, side by
# side, in one table: 1 MiB files at 16 connections, 4 KiB files at 64 and
# 4 KiB Range reads at random offsets of a 256 MiB file at 16, in three
# tiers: memory (the worker's memory tier), disk (memory tier off, page
# cache warm on both sides) and cold (page cache dropped before each step;
# needs root, skipped otherwise). Installs Debian's nginx-light when
# /usr/sbin/nginx is missing (and keeps its packaged service from running).
# Flags: make bench-read READBENCH_FLAGS='-tiers disk,cold -scenarios range
# -range-file-mb 64 -duration 5s -warmup 1s -rounds 2 -cpuprofile /tmp/read'.
bench-read:
	@if [ ! -x /usr/sbin/nginx ]; then \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y nginx-light || exit 1; \
	  { $$SUDO systemctl disable --now nginx || { $$SUDO service nginx stop; $$SUDO update-rc.d nginx disable; }; } >/dev/null 2>&1 || true; \
	fi
	$(GO) run ./bench/readbench -nginx /usr/sbin/nginx $(READBENCH_FLAGS)

# The S3 benchmark of issue 17 (about 1 minute): GetObject of cached objects
# through a worker's S3 API against its HTTP data API (1 MiB @16, 4 KiB @64,
# owner and non-owner proxy), and ListObjectsV2 of 10,000 keys 1,000 a page.
# Flags: make bench-s3 S3BENCH_FLAGS='-duration 10s'.
bench-s3:
	$(GO) run ./bench/s3bench $(S3BENCH_FLAGS)
# The FUSE benchmark of issue 16 (about 2 minutes): through the mount
# against the worker's HTTP data API for the same cached file: sequential
# read of 1 GiB (curl), 4 KiB random reads at 16 threads (16 connections),
# and stat of 10,000 entries with the metadata cache warm (against the UFS
# folder). Installs Debian's fuse3 when fusermount3 is missing; needs
# /dev/fuse. Flags: make bench-fuse FUSEBENCH_FLAGS='-size 256MiB -rounds 1'.
bench-fuse: build
	@if ! command -v fusermount3 >/dev/null 2>&1; then \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y fuse3 || exit 1; \
	fi
	$(GO) run ./bench/fusebench -alluvium $(BIN) $(FUSEBENCH_FLAGS)

# Load jobs against cp -r: 8 x 256 MiB and 100,000 x 4 KiB into 3 workers.
bench-load:
	$(GO) run ./bench/loadbench $(LOADBENCH_FLAGS)

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) run $(STATICCHECK) $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

# Each fuzz target for FUZZTIME (default 60s).
FUZZTIME ?= 60s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Linearizability under faults (issue 7), longer than make test runs it:
# 100 seeds of 10 s with 6 clients (about 20 minutes). A failing history is
# written as HTML to $(LINEARIZE_OUT); replay it with ALLUVIUM_LINEARIZE_SEED=<n>.
LINEARIZE_SEEDS    ?= 1-100
LINEARIZE_DURATION ?= 10s
LINEARIZE_OUT      ?= /tmp/alluvium-linearize
linearize:
	ALLUVIUM_LINEARIZE_SEEDS=$(LINEARIZE_SEEDS) ALLUVIUM_LINEARIZE_DURATION=$(LINEARIZE_DURATION) \
	ALLUVIUM_LINEARIZE_CLIENTS=6 ALLUVIUM_LINEARIZE_OUT=$(LINEARIZE_OUT) \
	$(GO) test -race -count=1 -timeout 0 -v -run TestLinearizableUnderFaults ./internal/linearize/

# Process-level chaos (issue 7), longer than make test runs it: kill -9 of the
# leader and of a worker per round during a load job and API writes.
# Replay a failure with ALLUVIUM_CHAOS_SEED=<seed from the log>.
CHAOS_ROUNDS ?= 20
chaos:
	ALLUVIUM_CHAOS_ROUNDS=$(CHAOS_ROUNDS) ALLUVIUM_CHAOS_LOGDIR=$${ALLUVIUM_CHAOS_LOGDIR:-/tmp/alluvium-chaos} \
	$(GO) test -race -count=1 -timeout 30m -v -run '^TestChaos$$' ./cmd/alluvium/

clean:
	rm -rf bin
