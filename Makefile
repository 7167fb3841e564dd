# The two commands: `make run` and `make test`. Both install what is missing first (scripts/bootstrap).
PRESET ?= release
BUILD_DIR := build/$(PRESET)
JOBS ?= $(shell nproc)
# ccache keys on paths relative to the checkout, so a fresh clone elsewhere (CI) reuses the cache.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := true

.PHONY: all bootstrap configure build run run-distributed stop-distributed test test-unit test-integration test-asan bench fuzz format clean

all: build

bootstrap:
	@scripts/bootstrap

configure: bootstrap
	@test -f $(BUILD_DIR)/build.ninja || cmake --preset $(PRESET)

build: configure
	@cmake --build --preset $(PRESET) -j $(JOBS)

# Embedded all-in-one server: OTLP on 4317 (gRPC) and 4318 (HTTP), REST and OTLP/HTTP on 6006,
# SQLite in ./data.
run: build
	$(BUILD_DIR)/apps/osprey/osprey --data-dir=$(CURDIR)/data

# The distributed topology on this machine, in the background: Kafka, Postgres, osprey-writer, osprey-ingest,
# osprey-query on the same ports as `make run` (state and logs in ./data/local; see deploy/local/README.md).
run-distributed: build
	@OSPREY_BUILD_DIR=$(BUILD_DIR) deploy/local/start

stop-distributed:
	@deploy/local/stop

# Every test suite: unit and conformance tests, then the end-to-end suites with real clients.
test: build
	@ctest --preset $(PRESET) --output-on-failure

test-unit: build
	@ctest --preset $(PRESET) --output-on-failure -L unit

test-integration: build
	@ctest --preset $(PRESET) --output-on-failure -L integration

# Every suite again against an AddressSanitizer + UndefinedBehaviorSanitizer build (not part of CI's `make test`).
test-asan: bootstrap
	@test -f build/asan-ubsan/build.ninja || cmake --preset asan-ubsan
	@cmake --build --preset asan-ubsan -j $(JOBS)
	@ctest --preset asan-ubsan --output-on-failure

# Osprey side by side with Phoenix and a raw COPY, the short run (< 10 min; the full one: bench/run-all).
# run-all builds only the binaries it runs.
bench: configure
	@OSPREY_BENCH_BUILD_DIR=$(BUILD_DIR) OSPREY_BENCH_COMMAND="make bench" bench/run-all --short

# libFuzzer targets (clang-14, ASan + UBSan), each run for FUZZ_SECONDS over its seed corpus.
FUZZ_SECONDS ?= 60
FUZZERS := otlp_decode_json_fuzzer otlp_decode_protobuf_fuzzer spanquery_fuzzer
fuzz: bootstrap
	@test -f build/fuzz/build.ninja || cmake --preset fuzz
	@cmake --build --preset fuzz -j $(JOBS) --target $(FUZZERS)
	@for f in decode_json decode_protobuf; do \
	  mkdir -p build/fuzz/corpus/$$f && \
	  build/fuzz/libs/otlp/otlp_$${f}_fuzzer -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	    build/fuzz/corpus/$$f libs/otlp/fuzz/corpus/$$f || exit 1; \
	done
	@mkdir -p build/fuzz/corpus/spanquery
	@build/fuzz/libs/spanquery/spanquery_fuzzer -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	  -dict=libs/spanquery/fuzz/span_query.dict build/fuzz/corpus/spanquery libs/spanquery/fuzz/corpus

# clang-format (Google base, 120 columns; .clang-format) over every C++ file in the repository.
format: bootstrap
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format-14 -i

clean:
	rm -rf build

# The web UI alone: `ui` builds it (scripts/build_ui; also part of `build`, since osprey embeds it),
# `test-ui` runs its Vitest and headless-Chromium suites (label ui).
.PHONY: ui test-ui
ui: bootstrap
	@scripts/build_ui $(CURDIR)/$(BUILD_DIR)/services/query/ui_dist

test-ui: build
	@ctest --preset $(PRESET) --output-on-failure -L ui
