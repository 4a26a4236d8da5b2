# fencekit: build, test and demo entry points. CI runs `make test` (.ci/run).
#
#   make test     dependencies, guest, build, host tests, package test, guest
#                 test suites
#   make testbed  build (or reuse) the guest kernel and initramfs only
#   make demo     walk through persistent reservations in the guest, then
#                 vmguest-attach with libvirt (plan, attach, verify, check)
#   make lint     cargo fmt --check, cargo clippy -D warnings
#   make bench    run the benchmarks in scripts/bench/
#   make fuzz     the parsers' never-panic property tests, then cargo-fuzz
#   make install  programs, fence_fencekit link, man pages, completions,
#                 examples, systemd unit (PREFIX, DESTDIR); make uninstall
#   make deb      a Debian package in target/deb/
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

.PHONY: test deps testbed build host-test guest-test package-test demo lint bench fuzz \
	release completions install uninstall deb

test:
	@start=$$SECONDS; \
	$(MAKE) --no-print-directory deps; \
	$(MAKE) --no-print-directory testbed; \
	$(MAKE) --no-print-directory build; \
	$(MAKE) --no-print-directory host-test; \
	$(MAKE) --no-print-directory package-test; \
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

# The package installed for real (dpkg -i, -r, --purge; root and dpkg
# needed: without root it is skipped, or fails under CI=true), and make
# install/uninstall into a scratch DESTDIR.
package-test:
	tests/package/install-uninstall.sh
	tests/package/dpkg-roundtrip.sh

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

# ---------------------------------------------------------------------------
# Installation. The programs are listed here and only here: a new program is
# one more word in PROGRAMS (its binary, completions and, through man/, its
# page follow). fence_fencekit, the name Pacemaker looks for, is a link to
# fencectl, which acts as the fence agent when called by that name.
PROGRAMS := prkeys pathmap qdisk fencectl heartbeatd vmguest-attach
AGENT_LINK := fence_fencekit
MAN_PAGES := $(sort $(wildcard man/*.[1-9]))
EXAMPLES := docs/cluster.toml.example docs/heartbeat.toml.example
UNIT := systemd/heartbeatd.service

PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/fencekit
# The programs read /etc/fencekit whatever the prefix; the examples are
# also put there, as NAME.toml.example, for the administrator to copy.
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
# MAN_GZIP=1 installs the pages gzipped (-9n), as Debian wants them.
MAN_GZIP ?= 0
MANEXT := $(if $(filter 1,$(MAN_GZIP)),.gz,)

TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
RELEASE_DIR := $(TARGET_DIR)/release
COMPLETIONS_DIR := $(TARGET_DIR)/completions

# Everything install puts in place, relative to DESTDIR; uninstall removes
# exactly these, then the directories fencekit owns if they are empty.
man_dest = $(MANDIR)/man$(subst .,,$(suffix $(1)))/$(notdir $(1))$(MANEXT)
INSTALLED := \
	$(addprefix $(SBINDIR)/,$(PROGRAMS) $(AGENT_LINK)) \
	$(foreach m,$(MAN_PAGES),$(call man_dest,$(m))) \
	$(MANDIR)/man8/$(AGENT_LINK).8$(MANEXT) \
	$(addprefix $(DOCDIR)/examples/,$(notdir $(EXAMPLES))) \
	$(addprefix $(SYSCONFDIR)/fencekit/,$(notdir $(EXAMPLES))) \
	$(SYSTEMDUNITDIR)/$(notdir $(UNIT)) \
	$(addprefix $(BASHCOMPDIR)/,$(PROGRAMS)) \
	$(addprefix $(ZSHCOMPDIR)/_,$(PROGRAMS)) \
	$(addsuffix .fish,$(addprefix $(FISHCOMPDIR)/,$(PROGRAMS)))
OWNED_DIRS := $(DOCDIR)/examples $(DOCDIR) $(SYSCONFDIR)/fencekit

release:
	$(CARGO) build --release -p fencekit-tools --bins

# Each program prints its completion script when FENCEKIT_COMPLETION names
# a shell (tools/src/completion.rs), from the clap definition it parses with.
completions: release
	@mkdir -p $(COMPLETIONS_DIR)/bash $(COMPLETIONS_DIR)/zsh $(COMPLETIONS_DIR)/fish
	@for p in $(PROGRAMS); do \
		FENCEKIT_COMPLETION=bash $(RELEASE_DIR)/$$p </dev/null >$(COMPLETIONS_DIR)/bash/$$p; \
		FENCEKIT_COMPLETION=zsh $(RELEASE_DIR)/$$p </dev/null >$(COMPLETIONS_DIR)/zsh/_$$p; \
		FENCEKIT_COMPLETION=fish $(RELEASE_DIR)/$$p </dev/null >$(COMPLETIONS_DIR)/fish/$$p.fish; \
	done
	@echo "completions for $(PROGRAMS) in $(COMPLETIONS_DIR)/"

install: completions
	install -d -m 755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DOCDIR)/examples \
		$(DESTDIR)$(SYSCONFDIR)/fencekit $(DESTDIR)$(SYSTEMDUNITDIR) \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 755 $(addprefix $(RELEASE_DIR)/,$(PROGRAMS)) $(DESTDIR)$(SBINDIR)/
	ln -sfn fencectl $(DESTDIR)$(SBINDIR)/$(AGENT_LINK)
	@for m in $(MAN_PAGES); do \
		sec=$${m##*.}; dir=$(DESTDIR)$(MANDIR)/man$$sec; \
		install -d -m 755 $$dir; \
		if [ "$(MAN_GZIP)" = 1 ]; then \
			gzip -9n <$$m >$$dir/$$(basename $$m).gz; chmod 644 $$dir/$$(basename $$m).gz; \
		else \
			install -m 644 $$m $$dir/; \
		fi; \
	done
	ln -sfn fencectl.8$(MANEXT) $(DESTDIR)$(MANDIR)/man8/$(AGENT_LINK).8$(MANEXT)
	install -m 644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/
	install -m 644 $(EXAMPLES) $(DESTDIR)$(SYSCONFDIR)/fencekit/
	sed 's|/usr/sbin/|$(SBINDIR)/|g' $(UNIT) >$(DESTDIR)$(SYSTEMDUNITDIR)/$(notdir $(UNIT))
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$(notdir $(UNIT))
	@for p in $(PROGRAMS); do \
		install -m 644 $(COMPLETIONS_DIR)/bash/$$p $(DESTDIR)$(BASHCOMPDIR)/$$p; \
		install -m 644 $(COMPLETIONS_DIR)/zsh/_$$p $(DESTDIR)$(ZSHCOMPDIR)/_$$p; \
		install -m 644 $(COMPLETIONS_DIR)/fish/$$p.fish $(DESTDIR)$(FISHCOMPDIR)/$$p.fish; \
	done
	@echo "installed $(words $(INSTALLED)) files under $(or $(DESTDIR),/)"

uninstall:
	@for f in $(INSTALLED); do \
		if [ -e "$(DESTDIR)$$f" ] || [ -L "$(DESTDIR)$$f" ]; then rm -f "$(DESTDIR)$$f"; fi; \
	done
	@for d in $(OWNED_DIRS); do \
		if [ -d "$(DESTDIR)$$d" ]; then rmdir --ignore-fail-on-non-empty "$(DESTDIR)$$d"; fi; \
	done
	@echo "removed fencekit's files under $(or $(DESTDIR),/)"

# The Debian package: make install into a staging tree with PREFIX=/usr,
# then DEBIAN/ (control with Depends from dpkg-shlibdeps, conffiles,
# md5sums), the copyright file and changelog; dpkg-deb --root-owner-group.
# Output: target/deb/fencekit_VERSION_ARCH.deb. See scripts/mkdeb.sh.
deb: completions
	TARGET_DIR=$(TARGET_DIR) scripts/mkdeb.sh
