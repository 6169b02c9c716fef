# Thin wrapper: scripts/deps installs what is missing, CMake/CTest do the rest.
#   make build   release build in build/
#   make test    every test: release + ASan/UBSan builds, conformance, fuzzing
#   make bench   side-by-side benchmarks against the named peers
#   make demo    start a bus, watch it, publish through the CLI, stop
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 40

.PHONY: all build build-asan build-fuzz deps test test-release test-asan fuzz bench demo clean format install

all: build

deps:
	@scripts/deps

build: deps
	@cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build -j $(JOBS)

build-asan: deps
	@cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DKEEL_SANITIZE=ON -DKEEL_BENCH=OFF >/dev/null
	@cmake --build build-asan -j $(JOBS)

build-fuzz: deps
	@CXX=clang++ CC=clang cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEEL_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzz_targets

# make test ends with one line of what was skipped and why (scripts/test-summary;
# with CI=true only tests/support/allowed-skips may skip) and its total time.
test:
	@start=$$(date +%s); status=0; \
	rm -f build/Testing/skips.log build-asan/Testing/skips.log; \
	$(MAKE) --no-print-directory test-release test-asan fuzz || status=$$?; \
	scripts/test-summary build build-asan || status=1; \
	t=$$(( $$(date +%s) - start )); \
	echo "make test: $$([ $$status -eq 0 ] && echo passed || echo FAILED) in $$((t / 60))m$$((t % 60))s"; \
	exit $$status

# The npm test clients (nats.js), installed before ctest as the Debian packages are.
.PHONY: test-clients
test-clients:
	@scripts/test-clients

test-release: build test-clients
	@scripts/test-ctest build --output-on-failure -j $(JOBS) --timeout 600

test-asan: build-asan test-clients
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		scripts/test-ctest build-asan --output-on-failure -j $(JOBS) --timeout 600

fuzz: build-fuzz
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz build-fuzz

bench: build
	@bench/bus/run build/keel
	@bench/lua/run build
	@bench/net/run build/keel
	@bench/init/run build/keel
	@bench/dev/run build/keel
	@bench/boot/run build

# make install [PREFIX=/usr/local] [DESTDIR=...]: keel, keel-lua, keel-run into bin/,
# keel.so into lib/lua/5.4 (on stock lua5.4's package.cpath for /usr/local).
PREFIX ?= /usr/local
install: build
	@cmake --install build --prefix $(PREFIX)

demo: build
	@scripts/demo build/keel

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf build build-asan build-fuzz
