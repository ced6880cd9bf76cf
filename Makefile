# Soot: `make run` builds and serves on the embedded PostgreSQL; `make test` runs every test.
SWIFT ?= swift
FUZZ_RUNS ?= 400000
# Examples per operation for schemathesis against both OpenAPI documents (fixed seed).
SCHEMATHESIS_EXAMPLES ?= 20
# The real codecarbon client from PyPI, for the compatibility tests.
CODECARBON_VENV := .build/codecarbon-venv

.PHONY: deps test-deps build run test fuzz schemathesis browser screenshots clean

deps:
	@./.ci/install-deps.sh

test-deps:
	@./.ci/install-deps.sh --test

build: deps
	$(SWIFT) build -c release --product soot

run: build
	./.build/release/soot serve

$(CODECARBON_VENV)/bin/codecarbon: | test-deps
	python3 -m venv $(CODECARBON_VENV)
	$(CODECARBON_VENV)/bin/pip install --quiet --disable-pip-version-check codecarbon==3.3.2

test: test-deps $(CODECARBON_VENV)/bin/codecarbon
	./Tests/Fuzz/run.sh $(FUZZ_RUNS)
	$(SWIFT) build --build-tests
	./Tests/Schemathesis/run.sh $(SCHEMATHESIS_EXAMPLES)
	./Tests/Browser/run.sh
	$(SWIFT) test --disable-xctest

fuzz:
	./Tests/Fuzz/run.sh $(FUZZ_RUNS)

schemathesis:
	$(SWIFT) build --product soot
	./Tests/Schemathesis/run.sh $(SCHEMATHESIS_EXAMPLES)

browser:
	$(SWIFT) build --product soot
	./Tests/Browser/run.sh

# The README's screenshots: every page type at 1280 and 390 px, from the browser test's walk.
screenshots:
	$(SWIFT) build --product soot
	./Tests/Browser/run.sh Public/screenshots

clean:
	rm -rf .build
