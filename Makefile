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

# Builds once, then runs every suite (unit, store, CLI, crash) in one process, then the
# independent Python check of the journal test vectors.
test: deps
	$(SWIFT) build --build-tests
	MAMORI_BIN_DIR=$(CURDIR)/.build/debug $(SWIFT) test --skip-build
	$(PYTHON) scripts/journal_vectors.py docs/journal-vectors.json

demo: build
	bash scripts/demo.sh

bench: deps
	bash scripts/bench.sh

clean:
	rm -rf .build $(BUILD_DIR) dist
