# Mamori — the two commands: `make demo` and `make test`.
SWIFT ?= swift
PYTHON ?= /usr/bin/python3
BUILD_DIR := build

.PHONY: all deps build test demo bench clean

all: build

deps:
	bash scripts/install-deps.sh

build: deps
	$(SWIFT) build

# Builds once, then runs every suite (unit, store, CLI, crash, the media guard's umockdev stage)
# in one process, then the independent Python check of the journal test vectors, then the media
# guard's kernel stage (root: loop devices, its own systemd-udevd).
test: deps
	$(SWIFT) build --build-tests
	MAMORI_BIN_DIR=$(CURDIR)/.build/debug $(SWIFT) test --skip-build
	$(PYTHON) scripts/journal_vectors.py docs/journal-vectors.json
	MAMORI_BIN_DIR=$(CURDIR)/.build/debug bash scripts/media-kernel-stage.sh

demo: build
	bash scripts/demo.sh

bench: deps
	bash scripts/bench.sh

clean:
	rm -rf .build $(BUILD_DIR) dist
