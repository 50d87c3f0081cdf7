# idplug — every job CI and people run. `make help` lists them.

GO          ?= go
BIN         := bin
PROVIDERS   := $(patsubst plugins/%/cmd/main.go,%,$(wildcard plugins/*/cmd/main.go))
WASM        := $(PROVIDERS:%=$(BIN)/plugins/%.wasm)
EXES        := $(PROVIDERS:%=$(BIN)/plugins/idplug-plugin-%)
GO_SOURCES  := $(shell find . -name '*.go' -not -path './node_modules/*') go.mod go.sum
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
PROTOC_GEN  := google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.6 google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.3.0
DEMO_ADDR   ?= 127.0.0.1:8765

.PHONY: help build plugins examples proto test demo bench lint clean

help: ## list the jobs
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

build: $(BIN)/idplug $(BIN)/demoidp ## bin/idplug (every built-in provider in-process) and the demo IdP

plugins: $(WASM) $(EXES) ## every provider of plugins/ as bin/plugins/<name>.wasm and bin/plugins/idplug-plugin-<name>

# Each provider's ./cmd, the same source the host links in-process, as a
# WebAssembly module for [plugins.X] wasm = "…".
$(BIN)/plugins/%.wasm: $(GO_SOURCES)
	@mkdir -p $(@D)
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -ldflags='-s -w' -o $@ ./plugins/$*/cmd

# The same source as a go-plugin executable, for [plugins.X] command = "…".
$(BIN)/plugins/idplug-plugin-%: $(GO_SOURCES)
	@mkdir -p $(@D)
	$(GO) build -trimpath -ldflags='-s -w' -o $@ ./plugins/$*/cmd

# The plugins of examples/ in C and Rust, each built from its own language's
# toolchain (skipped, with a line saying what to install, where it is missing).
examples: ## examples/oidc-c and examples/northwind-rust as bin/examples/*.wasm (clang + wasi-libc, rustc + wasm32-wasi std)
	sh examples/build $(BIN)/examples

# The gRPC service of subprocess plugins; the generated code is committed.
proto: ## regenerate internal/wire from wit/idplug.proto (needs protoc: apt-get install protobuf-compiler)
	for gen in $(PROTOC_GEN); do GOBIN=$(abspath $(BIN)/tools) $(GO) install $$gen || exit 1; done
	PATH="$(abspath $(BIN)/tools):$$PATH" protoc -I wit \
		--go_out=. --go_opt=module=github.com/idplug/idplug \
		--go-grpc_out=. --go-grpc_opt=module=github.com/idplug/idplug wit/idplug.proto
	# WebAssembly plugins import internal/wire too: keep gRPC out of them.
	for f in internal/wire/idplug.pb.go internal/wire/idplug_grpc.pb.go; do \
		printf '//go:build !wasip1\n\n' | cat - $$f > $$f.tmp && mv $$f.tmp $$f || exit 1; done

$(BIN)/idplug: $(GO_SOURCES)
	$(GO) build -trimpath -o $@ ./cmd/idplug

$(BIN)/demoidp: $(GO_SOURCES)
	$(GO) build -o $@ ./cmd/demoidp

# .ci/test-env runs npm ci for the conformance peer and gives the tests a
# private gnome-keyring; what this machine lacks, it skips with a line saying
# what to install.
test: build plugins examples ## unit and integration tests (race detector on), conformance peer, OS keyring and the C and Rust examples included
	IDPLUG_BIN=$(abspath $(BIN)/idplug) IDPLUG_PLUGINS=$(abspath $(BIN)/plugins) IDPLUG_EXAMPLES=$(abspath $(BIN)/examples) \
		sh .ci/test-env $(GO) test -race -timeout 15m -count=1 ./...

demo: build ## start the demo IdP on $(DEMO_ADDR) and sign in to it
	./cmd/demoidp/demo.sh $(DEMO_ADDR)

bench: build plugins examples ## print the performance figures of DESIGN.md §6 (BENCH_JSON=file also writes them, BENCH_ONLY=wasm,flows picks groups)
	$(GO) run ./cmd/bench -idplug $(BIN)/idplug -plugins $(BIN)/plugins -examples $(BIN)/examples $(if $(BENCH_JSON),-json $(abspath $(BENCH_JSON))) $(if $(BENCH_ONLY),-only $(BENCH_ONLY))

lint: ## gofmt, go vet, staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'run gofmt -w on the files above'; exit 1; }
	$(GO) vet ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./sdk/... ./plugins/...
	$(GO) run $(STATICCHECK) ./...

clean: ## remove build outputs
	rm -rf $(BIN)
