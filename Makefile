# Shouwang (守望). The two commands a newcomer needs are `make run` and
# `make test`; the rest are for developers and packagers.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/shouwang-iot/shouwang/gateway.Version=$(VERSION)
PKG     := ./gateway/cmd/shouwang
# How long each fuzz target runs in `make fuzz`.
FUZZTIME ?= 30s

CONSOLE := gateway/console/web

.PHONY: build console run test test-deps lint bench fuzz cross clean

build: console
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/shouwang $(PKG)

# The web console: npm installs the locked packages and builds the pages
# into $(CONSOLE)/dist, which the binary embeds. Without npm the binary
# still builds, and its console page says how to get the pages.
console:
	@if command -v npm >/dev/null 2>&1; then \
		cd $(CONSOLE) && npm ci --no-audit --no-fund --loglevel=error && npm run build && npm test; \
	else \
		echo "make console: npm not found; the binary will have no console pages (apt-get install nodejs npm)"; \
	fi

# The sample community with simulated detectors, local history and metrics.
run: build
	./bin/shouwang demo

# Installs the real servers the tests start (Mosquitto, VictoriaMetrics,
# pymodbus, socat) if missing, checks formatting and vet, then runs every
# test with the race detector.
test: test-deps console lint
	$(GO) test -race -count=1 -timeout 14m ./...

test-deps:
	bash scripts/install-test-deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Micro-benchmarks (rule evaluation, outbox, alarm latency through a real
# Mosquitto, ...), then the whole process: readings from the simulator's
# load generator through the outbox into a real VictoriaMetrics, with CPU
# per reading and peak RSS; and QoS 1 JSON messages from Mosquitto into
# VictoriaMetrics, beside Telegraf on the same stream (installed into
# ~/.cache/shouwang-bench the first time, about 30 s).
bench: test-deps
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./rules/ ./gateway/... ./drivers/...
	SHOUWANG_BENCH=1 $(GO) test -run '^$$' -bench 'WholeProcess|MQTTIngest$$' -benchtime 1x -timeout 20m $(PKG)

# Runs each fuzz target for FUZZTIME (go test -fuzz takes one target at a time).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

# Static binaries for the boards communities actually have.
cross: console
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/shouwang-linux-amd64 $(PKG)
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/shouwang-linux-arm64 $(PKG)
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/shouwang-linux-armv7 $(PKG)

clean:
	rm -rf bin $(CONSOLE)/node_modules
	find $(CONSOLE)/dist -type f ! -name .gitkeep -delete
