# BorderWatch. `make demo` runs the demo; `make test` runs every test (installing what they need).
GO ?= go
BIN := bin/borderwatch

.PHONY: all build web demo test test-go test-web bench bench-web fuzz clean

all: build

web: mapui/web/node_modules/.package-lock.json
	cd mapui/web && npm run build

mapui/web/node_modules/.package-lock.json: mapui/web/package.json mapui/web/package-lock.json
	cd mapui/web && npm ci --no-audit --no-fund

build: web
	$(GO) build -o $(BIN) ./cmd/borderwatch

demo: build
	./$(BIN) demo

# The whole suite: services and packages first, then Go tests (stores, gateways, geofence,
# rules, simulator, end-to-end), then the browser tests against the real server.
test:
	bash scripts/test-setup.sh
	$(MAKE) web
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	cd mapui/web && BW_WEB_TEST_REAL=1 npm test

test-go:
	$(GO) test ./...

test-web: build
	cd mapui/web && npm test

# With TILE38_ADDR set (a tile38-server on loopback), bare Tile38 is measured in the same run.
bench: build
	./$(BIN) bench $(if $(TILE38_ADDR),--tile38-reference $(TILE38_ADDR))

# Browser measurements: a 30-day replay (259,200 fixes) loaded, drawn and scrubbed; figures in screenshots/.
bench-web: build
	cd mapui/web && BW_WEB_TEST_REAL=1 BW_WEB_BENCH=1 node --test tests/replay30.test.mjs

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
	rm -rf bin mapui/web/node_modules
	find mapui/web/dist -mindepth 1 ! -name README.md -delete
