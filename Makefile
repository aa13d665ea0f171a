# BorderWatch. `make demo` runs the demo; `make test` runs every test (installing what they need);
# `make package` builds the .deb and .rpm packages under dist/.
GO ?= go
BIN := bin/borderwatch

# What `borderwatch version` prints, set at link time. The build date is the commit's time
# (SOURCE_DATE_EPOCH, as reproducible builds define it): one commit builds to the same bytes.
VERSION ?= $(shell scripts/version.sh)
COMMIT ?= $(shell git rev-parse HEAD)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct)
LDFLAGS = -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ)
# The architectures packaged: x86-64 servers, ARM64 (Kunpeng, Phytium), LoongArch64 (Loongson).
ARCHS ?= amd64 arm64 loong64
# Static binaries, as packaged: nothing needs cgo (SQLite is modernc's Go). The tests build with
# the same setting, so that they share one compilation of every package with `build`.
export CGO_ENABLED := 0

.PHONY: all build web demo package test test-go test-web shots bench bench-web fuzz clean

all: build

web: mapui/web/node_modules/.package-lock.json
	cd mapui/web && npm run build

mapui/web/node_modules/.package-lock.json: mapui/web/package.json mapui/web/package-lock.json
	cd mapui/web && npm ci --no-audit --no-fund

build: web
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/borderwatch

# For each of ARCHS, dist/borderwatch_<version>_<arch>.deb and .rpm: the static binary (web app,
# base map and default district embedded; no symbol table or DWARF, -s -w, which stack traces do
# not need), the systemd unit and the environment file.
package: web
	rm -rf dist
	for arch in $(ARCHS); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags '-s -w $(LDFLAGS)' \
			-o dist/linux_$$arch/borderwatch ./cmd/borderwatch || exit 1; \
	done
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(GO) run ./deploy/package -version '$(VERSION)' -dist dist $(ARCHS)

demo: build
	./$(BIN) demo

# The whole suite: services and packages first, then the Go tests (stores, gateways, geofence,
# rules, simulator, end-to-end) and the browser tests against the real server, side by side: the
# browser tests are CPU-bound (software GL) and the Go tests leave most of a core idle while they
# wait on processes, timers and PostgreSQL. The browser tests, the longest half, start first, as
# soon as the binary is built, and `go vet` runs beside them. The browser tests' report follows
# the Go tests'. Three Go packages run at a time, not GOMAXPROCS's two: the packages mostly wait
# (451 CPU-s over 943 s with two), and cmd/borderwatch alone takes ~600 s, so with two slots
# cluster, mapui and pgstore queued behind each other past it.
WEB_TEST_LOG := bin/web-test.log
test:
	bash scripts/test-setup.sh
	$(MAKE) build
	(cd mapui/web && BW_WEB_TEST_REAL=1 BW_BINARY=$(abspath $(BIN)) npm test) > $(WEB_TEST_LOG) 2>&1 & web=$$!; \
	$(GO) vet ./... && $(GO) test -count=1 -p 3 -timeout 30m ./...; go_status=$$?; \
	wait $$web; web_status=$$?; \
	echo "--- browser tests (mapui/web)"; cat $(WEB_TEST_LOG); \
	echo "--- go test: exit $$go_status; browser tests: exit $$web_status"; \
	[ $$go_status -eq 0 ] && [ $$web_status -eq 0 ]

test-go:
	$(GO) test ./...

# The test files share the binary `build` made rather than linking one each (29 files).
test-web: build
	cd mapui/web && BW_BINARY=$(abspath $(BIN)) npm test

# The browser tests with the screenshots in screenshots/ at full size, as an officer's screen
# shows them (the suite draws at half the device pixels and without animations, to save CPU).
shots: build
	cd mapui/web && BW_WEB_TEST_REAL=1 BW_WEB_SHOTS=1 BW_BINARY=$(abspath $(BIN)) npm test

# With TILE38_ADDR set (a tile38-server on loopback), bare Tile38 is measured in the same run;
# BENCH_FLAGS are passed on, e.g. BENCH_FLAGS='--store postgres://…' or '--geofence tile38://…'.
bench: build
	./$(BIN) bench $(if $(TILE38_ADDR),--tile38-reference $(TILE38_ADDR)) $(BENCH_FLAGS)

# Browser measurements: a 30-day replay (259,200 fixes) loaded, drawn and scrubbed, and the wall's frame
# rate with 5,000 vehicles; figures in screenshots/.
bench-web: build
	cd mapui/web && BW_WEB_TEST_REAL=1 BW_WEB_BENCH=1 BW_BINARY=$(abspath $(BIN)) node --test --test-concurrency=1 tests/replay30.test.mjs tests/wall.test.mjs

# A short fuzzing pass over every decoder (go test -fuzz takes one package at a time).
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./ingest/jt808
	$(GO) test -run '^$$' -fuzz FuzzBody -fuzztime $(FUZZTIME) ./ingest/jt808
	$(GO) test -run '^$$' -fuzz FuzzDecodeSeal -fuzztime $(FUZZTIME) ./ingest/jt808
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./ingest/gt06
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./ingest/jt600
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./ingest/osmand
	$(GO) test -run '^$$' -fuzz FuzzParseFeatureCollection -fuzztime $(FUZZTIME) ./geofence
	$(GO) test -run '^$$' -fuzz FuzzRead -fuzztime $(FUZZTIME) ./tracker/sqlitestore/internal/segment

clean:
	rm -rf bin dist mapui/web/node_modules
	find mapui/web/dist -mindepth 1 ! -name README.md -delete
