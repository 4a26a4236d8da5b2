# fencekit: build, test and demo entry points. CI runs `make test` (.ci/run).
#
#   make test     dependencies, guest, build, host tests, guest test suites
#   make testbed  build (or reuse) the guest kernel and initramfs only
#   make demo     walk through persistent reservations in the guest
#   make lint     cargo fmt --check, cargo clippy -D warnings
#   make bench    run the benchmarks in scripts/bench/
#   make fuzz     the parsers' never-panic property tests, then cargo-fuzz
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test
export PATH := $(HOME)/.cargo/bin:/root/.cargo/bin:$(PATH)

CARGO ?= cargo
# Guest tests are named guest_* and two-guest tests twoguest_*; both live in
# tools/tests/ (package fencekit-tools), beside the host tests of the
# programs, and use the harness in tests/ (fencekit-tests). Each guest is a
# QEMU process: one test at a time.
GUEST_TEST_ARGS := --test-threads=1
TEST_LOG_DIR := .cache/test-logs

.PHONY: test deps testbed build host-test guest-test demo lint bench fuzz

test:
	@start=$$SECONDS; \
	$(MAKE) --no-print-directory deps; \
	$(MAKE) --no-print-directory testbed; \
	$(MAKE) --no-print-directory build; \
	$(MAKE) --no-print-directory host-test; \
	$(MAKE) --no-print-directory guest-test; \
	echo "make test: all passed in $$((SECONDS - start)) s"

deps:
	scripts/setup-deps.sh

testbed:
	scripts/testbed/build-guest

build:
	$(CARGO) build --workspace --all-targets

# Unit and host tests everywhere; the guest tests of fencekit-tools are left
# to guest-test. (Only that package is filtered, so that a host test
# elsewhere whose name happens to contain "guest_" still runs here.)
host-test:
	$(CARGO) test --workspace --exclude fencekit-tools --no-fail-fast
	$(CARGO) test -p fencekit-tools --no-fail-fast -- --skip guest_

# The guest suites. FENCEKIT_TESTBED=require turns a missing test bed into a
# failure instead of a skip. Fails when a suite fails or when no guest test
# ran at all.
guest-test:
	@mkdir -p $(TEST_LOG_DIR); \
	export FENCEKIT_TESTBED=require; \
	rc=0; \
	echo "== guest suite (guest_*)"; \
	$(CARGO) test -p fencekit-tools --no-fail-fast -- $(GUEST_TEST_ARGS) guest_ --skip twoguest_ 2>&1 \
		| tee $(TEST_LOG_DIR)/guest.log || rc=1; \
	echo "== two-guest suite (twoguest_*)"; \
	$(CARGO) test -p fencekit-tools --no-fail-fast -- $(GUEST_TEST_ARGS) twoguest_ 2>&1 \
		| tee $(TEST_LOG_DIR)/twoguest.log || rc=1; \
	count() { { grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$$1" || true; } | awk '{s += $$4} END {print s + 0}'; }; \
	g=$$(count $(TEST_LOG_DIR)/guest.log); t=$$(count $(TEST_LOG_DIR)/twoguest.log); \
	echo "guest tests passed: $$g, two-guest tests passed: $$t, total: $$((g + t))"; \
	if [ "$$rc" -ne 0 ]; then echo "guest-test: a guest suite failed (logs: $(TEST_LOG_DIR)/, .cache/testbed/logs/)"; exit 1; fi; \
	if [ $$((g + t)) -eq 0 ]; then echo "guest-test: no guest test ran"; exit 1; fi

# The demo sets up what it needs: packages, the guest, the programs.
demo:
	scripts/setup-deps.sh
	scripts/testbed/build-guest
	$(CARGO) build -p fencekit-tools
	scripts/demo.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Every executable in scripts/bench/ except the guest-side halves (*-guest.sh),
# which the host-side scripts pass to the test bed, and the tree builders
# (mk-*), which the benchmarks call.
bench:
	@found=0; \
	for b in scripts/bench/*; do \
		[ -f "$$b" ] && [ -x "$$b" ] || continue; \
		case "$$b" in *-guest.sh|*/mk-*) continue ;; esac; \
		found=1; echo "== $$b"; "$$b"; \
	done; \
	[ "$$found" = 1 ] || echo "no benchmarks in scripts/bench/"

# Every decoder of untrusted input (sense, INQUIRY, VPD, PR IN responses,
# TransportIDs, qdisk blocks, multipath -ll text, ...) has a property test
# named *never_panic* that feeds it arbitrary bytes; `make fuzz` runs those
# in release mode with FUZZ_CASES cases each. Then it runs every cargo-fuzz
# target in fuzz/ (libFuzzer, coverage-guided, with AddressSanitizer) for
# FUZZ_TIME seconds each, on a corpus seeded by fuzz/seed.sh, installing
# cargo-fuzz first if it is missing. cargo-fuzz wants a nightly compiler;
# RUSTC_BOOTSTRAP=1 lets the stable one build with its flags. A crash fails
# the run and leaves its input in fuzz/artifacts/TARGET/. See
# docs/FUZZING.md.
FUZZ_CASES ?= 100000
FUZZ_TIME ?= 60
FUZZ_TARGETS ?= $(sort $(basename $(notdir $(wildcard fuzz/fuzz_targets/*.rs))))
fuzz:
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release -p fencekit -- never_panic
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz
	fuzz/seed.sh $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do \
		echo "== cargo fuzz run $$t ($(FUZZ_TIME) s)"; \
		RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t -- -max_total_time=$(FUZZ_TIME) \
			|| { echo "fuzz: $$t failed; the input is in fuzz/artifacts/$$t/"; exit 1; }; \
	done
