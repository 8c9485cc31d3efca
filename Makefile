# Mamori — the two commands: `make demo` and `make test`.
SWIFT ?= swift
PYTHON ?= /usr/bin/python3
BUILD_DIR := build

.PHONY: all deps build pam release bench-tools deb test terminal-test demo bench clean

all: build

deps:
	bash scripts/install-deps.sh

build: deps
	$(SWIFT) build

# The PAM module: the Swift standard library linked in statically (the terminal has no Swift
# runtime) and a version script exporting only pam_sm_*. Checked by PamModuleArtifactTests.
# -z nodelete: the static Swift runtime allocates global state when loaded that it never frees,
# so a process calling pam_start/pam_end again and again (a screen locker, gdm) would lose about
# 1.7 KB per unload; loaded once, it loses nothing (scripts/pam-valgrind.sh checks this).
# No $$ORIGIN run path (a PAM module must not look for libraries beside itself) and full RELRO.
pam: deps
	$(SWIFT) build -c release --product pam_mamori --disable-local-rpath -Xswiftc -static-stdlib -Xswiftc -use-ld=lld \
		-Xlinker --version-script=$(CURDIR)/Sources/PamMamori/exports.map -Xlinker -z -Xlinker nodelete \
		-Xlinker -z -Xlinker now
	mkdir -p $(BUILD_DIR)
	install -m 0644 .build/release/libpam_mamori.so $(BUILD_DIR)/pam_mamori.so

# Builds once, then runs every suite (unit, store, CLI, crash, PAM stack, the media guard's
# umockdev stage, the collector's storage and HTTPS API on SQLite and on a throwaway PostgreSQL server
# that scripts/pg-test-server.sh starts and always stops) in one process, then the independent
# Python check of the journal test vectors, then the PAM module's load/unload cycle under valgrind,
# then the media guard's kernel stage (root: loop devices, its own systemd-udevd), then the Debian
# packages (release builds, lintian) installed, upgraded and purged in a fresh debootstrap root,
# then the real-terminal stage: the same packages on a booted Debian 12 guest with systemd (QEMU).
test: deps
	mkdir -p $(BUILD_DIR)/terminal
	# The real-terminal stage's guest image (debootstrap: network, little CPU) is made in the
	# background while the builds run; the stage waits for it (a lock) and fails if it failed.
	bash scripts/terminal/build-image.sh >$(BUILD_DIR)/terminal/build-image.log 2>&1 &
	$(MAKE) pam
	$(SWIFT) build --build-tests
	MAMORI_BIN_DIR=$(CURDIR)/.build/debug MAMORI_PAM_MODULE=$(CURDIR)/$(BUILD_DIR)/pam_mamori.so \
		bash scripts/pg-test-server.sh run -- $(SWIFT) test --skip-build
	$(PYTHON) scripts/journal_vectors.py docs/journal-vectors.json
	MAMORI_BIN_DIR=$(CURDIR)/.build/debug MAMORI_PAM_MODULE=$(CURDIR)/$(BUILD_DIR)/pam_mamori.so bash scripts/pam-valgrind.sh
	MAMORI_BIN_DIR=$(CURDIR)/.build/debug bash scripts/media-kernel-stage.sh
	$(MAKE) deb
	bash scripts/deb-install-test.sh
	bash scripts/terminal-test.sh

# The real-terminal stage alone (make test runs it after the packages' install test): the packages
# installed and exercised on a booted Debian 12 guest with systemd under QEMU
# (scripts/terminal-test.sh; docs/terminal-test.md). SCENARIOS= runs some only.
terminal-test: deps deb
	bash scripts/terminal-test.sh $(SCENARIOS)

# The packaged executables: release, the Swift runtime linked statically (they depend on nothing
# from the toolchain), no $$ORIGIN run path, full RELRO; in their own build folder, so these flags
# never force a rebuild of the benchmarks' release builds. One product per call (SwiftPM builds
# only the last of several --product options).
RELEASE_FLAGS := -c release --scratch-path .build-deb --static-swift-stdlib --disable-local-rpath -Xlinker -z -Xlinker now
release: deps
	for product in mamori-collector mamorictl mamori-agent; do $(SWIFT) build $(RELEASE_FLAGS) --product $$product || exit 1; done

# The benchmarks' own tools, built like the packaged executables (scripts/bench.sh).
bench-tools: deps
	for product in mamori-bench mamori-loadgen mamori-fleet-seed; do $(SWIFT) build $(RELEASE_FLAGS) --product $$product || exit 1; done

# The three Debian packages into dist/, checked by lintian (scripts/build-deb.sh).
deb: release pam
	bash scripts/build-deb.sh

demo: build pam
	bash scripts/demo.sh

bench: deps
	bash scripts/bench.sh

clean:
	rm -rf .build .build-deb $(BUILD_DIR) dist
