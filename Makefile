# The two commands: `make run` and `make test`. Both install what is missing first (scripts/bootstrap).
PRESET ?= release
BUILD_DIR := build/$(PRESET)
JOBS ?= $(shell nproc)
# ccache keys on paths relative to the checkout, so a fresh clone elsewhere (CI) reuses the cache.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := true

.PHONY: all bootstrap configure build run test test-unit test-integration bench fuzz clean

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

# Every test suite: unit and conformance tests, then the end-to-end suites with real clients.
test: build
	@ctest --preset $(PRESET) --output-on-failure

test-unit: build
	@ctest --preset $(PRESET) --output-on-failure -L unit

test-integration: build
	@ctest --preset $(PRESET) --output-on-failure -L integration

bench: build
	@bench/embedded.sh

fuzz: bootstrap
	@cmake --preset fuzz && cmake --build --preset fuzz -j $(JOBS)

clean:
	rm -rf build
