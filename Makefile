# Ferry — build, lint, test, benchmark.
#
#   make build        bin/ferry and bin/ferry-kernel
#   make run          build what is missing (binary, JupyterLab app, kernelspec) and start `ferry lab`
#   make test         lint + go test -race + short fuzz runs + Python protocol/notebook tests
#                     (py-test includes the Go conformance suite, test/conformance)
#   make conformance  only the conformance suite: Go programs in Ferry vs `go build`
#                     (PYTEST_ARGS=--conformance-update rewrites its limitations.txt)
#   make bench        Ferry kernel vs ipykernel, Go loops in cells vs go build (Markdown tables)
#   make bench-write  ... and writes docs/benchmarks.md
#
# Python tests use Debian's Jupyter packages through /usr/bin/python3 (not a
# pyenv/venv python3 on PATH); `bash .ci/run` installs them and runs `make test`.

GO       ?= go
# DuckDB's Arrow interface (storage/data, %%sql) is behind this build tag;
# every go command of the Makefile (build, vet, test, staticcheck) gets it.
# DuckDB's Go bindings link with -rdynamic, which puts DuckDB's ~60,000 C++
# symbols into the kernel's dynamic symbol table (6.4 MB); the dynamic loader
# reads through all of it at every start, as every symbol of libstdc++, libm
# and libc is looked up there first: 6.5 MB of each kernel's RSS. Ferry loads
# no DuckDB extension at run time (the ones it uses are linked in), so
# --exclude-libs keeps the archives' symbols out of that table.
export GOFLAGS += -tags=duckdb_arrow -ldflags=-extldflags=-Wl,--exclude-libs,ALL
PYTHON   ?= /usr/bin/python3
BIN      := bin/ferry

STATICCHECK_VERSION := v0.8.2
TOOLS_DIR   ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/ferry/tools
STATICCHECK := $(TOOLS_DIR)/staticcheck-$(STATICCHECK_VERSION)/staticcheck
# The S3 server the storage tests start (built from the Go module proxy, ~4.5 min cold).
VERSITYGW_VERSION := v1.8.0
VERSITYGW   := $(TOOLS_DIR)/versitygw-$(VERSITYGW_VERSION)/versitygw
export FERRY_VERSITYGW ?= $(VERSITYGW)
PROTOC_GEN_GO_GRPC_VERSION := v1.5.1
PROTOC_GEN_GO_GRPC := $(TOOLS_DIR)/protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION)/protoc-gen-go-grpc
export FERRY_PROTOC_GEN_GO_GRPC ?= $(PROTOC_GEN_GO_GRPC)

# The Debian python must not see a pyenv/venv's packages.
PYENV := env -u PYTHONPATH -u PYTHONHOME PYTHONNOUSERSITE=1 PYTHONDONTWRITEBYTECODE=1

.PHONY: all build run lab-assets test lint gofmt vet staticcheck tools go-test fuzz py-test conformance node-test browser-test bench bench-notebookd bench-write clean

all: build

# bin/ferry (server, CLI) and bin/ferry-kernel (the Go kernel, which
# `ferry kernel` runs).
build:
	$(GO) build -o $(dir $(BIN)) ./cmd/ferry ./cmd/ferry-kernel

# The JupyterLab app (labextension/build.sh caches it by lockfile hash).
lab-assets:
	bash labextension/build.sh >/dev/null

# LAB_ARGS passes flags to ferry lab, e.g. LAB_ARGS="--port 9999 --root ~/notebooks".
run: build
	$(BIN) kernelspec install --user
	$(BIN) lab --lab-assets "$$(bash labextension/build.sh)" $(LAB_ARGS)

test: lint go-test fuzz py-test node-test browser-test

lint: gofmt vet staticcheck

gofmt:
	@files="$$(find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*' -not -path './bin/*')"; \
	out="$$(if [ -n "$$files" ]; then gofmt -l $$files; fi)"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi; \
	echo "gofmt: ok"

vet:
	$(GO) vet ./...

staticcheck: $(STATICCHECK)
	$(STATICCHECK) ./...

tools: $(STATICCHECK) $(VERSITYGW) $(PROTOC_GEN_GO_GRPC)
	bash internal/testsrv/build-kube.sh

# The gRPC plugin of protoc that tuning/katibgrpc's generated code comes
# from (its test regenerates the code and compares; protoc is Debian's).
$(PROTOC_GEN_GO_GRPC):
	mkdir -p $(dir $@)
	GOBIN=$(abspath $(dir $@)) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)

$(VERSITYGW):
	mkdir -p $(dir $@)
	GOBIN=$(abspath $(dir $@)) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

$(STATICCHECK):
	mkdir -p $(dir $@)
	GOBIN=$(abspath $(dir $@)) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

go-test:
	$(GO) test -race ./...
	# The layering test reads the imports through a go list subprocess,
	# which the test cache does not see: never take its result from the cache.
	$(GO) test -count=1 -run='^TestDeps' .
	# Tests that -race skips (interpreted goroutines outliving their Eval: a
	# data race inside yaegi), run without the race detector.
	$(GO) test -count=1 ./kernel/goeval

# A short run of each fuzzer (the seed corpus already runs in go-test),
# counted in executions: a wall-clock -fuzztime on a loaded machine can end
# in "context deadline exceeded" from the fuzzing coordinator. FUZZTIME=5m
# (or 10000000x) for a longer hunt.
FUZZTIME ?= 300000x
# FuzzContentsPaths builds a root of files and links for each execution:
# fewer of them (FUZZTIME_FS) take about as long.
FUZZTIME_FS ?= 3000x
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./kernel
	$(GO) test -run='^$$' -fuzz='^FuzzIsComplete$$' -fuzztime=$(FUZZTIME) ./kernel/gosrc
	$(GO) test -run='^$$' -fuzz='^FuzzExprAt$$' -fuzztime=$(FUZZTIME) ./kernel/gosrc
	$(GO) test -run='^$$' -fuzz='^FuzzParseFilter$$' -fuzztime=$(FUZZTIME) ./storage
	$(GO) test -run='^$$' -fuzz='^FuzzContentsPaths$$' -fuzztime=$(FUZZTIME_FS) ./notebookd/contents
	$(GO) test -run='^$$' -fuzz='^FuzzDecodePoints$$' -fuzztime=$(FUZZTIME) ./storage/sqldb
	$(GO) test -run='^$$' -fuzz='^FuzzMetricParser$$' -fuzztime=$(FUZZTIME) ./jobs
	$(GO) test -run='^$$' -fuzz='^FuzzAppendString$$' -fuzztime=$(FUZZTIME) ./internal/jsonenc
	$(GO) test -run='^$$' -fuzz='^FuzzParseParam$$' -fuzztime=$(FUZZTIME) ./tuning

# Collects test/kernel and test/conformance (test/pytest.ini's testpaths).
py-test: build
	cd test && FERRY_BIN=$(abspath $(BIN)) $(PYENV) $(PYTHON) -m pytest -v -p no:cacheprovider $(PYTEST_ARGS)

# Each program of test/conformance/programs in a fresh kernel, two ways (whole
# file then main(); declarations then main's body as cells), against `go build`.
conformance: build
	cd test && FERRY_BIN=$(abspath $(BIN)) $(PYENV) $(PYTHON) -m pytest -p no:cacheprovider conformance $(PYTEST_ARGS)

# @jupyterlab/services (npm, Node) as a real client of notebookd.
node-test: build
	FERRY_BIN=$(abspath $(BIN)) PYTHON=$(PYTHON) bash test/services/run.sh

# JupyterLab in headless Debian Chromium, driven by playwright-core.
browser-test: build
	FERRY_BIN=$(abspath $(BIN)) FERRY_LAB_ASSETS="$$(bash labextension/build.sh)" bash test/browser/run.sh

# notebookd vs Debian's jupyter-server 1.23, same Node client.
bench-notebookd: build
	FERRY_BIN=$(abspath $(BIN)) PYTHON=$(PYTHON) bash bench/notebookd/run.sh $(BENCH_ARGS)

bench: build
	$(PYENV) $(PYTHON) bench/kernel_bench.py --ferry-bin $(BIN) $(BENCH_ARGS)

bench-write: build
	$(PYENV) $(PYTHON) bench/kernel_bench.py --ferry-bin $(BIN) --write docs/benchmarks.md $(BENCH_ARGS)

clean:
	rm -rf bin
