# Soot: `make run` builds and serves on the embedded PostgreSQL; `make test` runs every test.
SWIFT ?= swift
FUZZ_RUNS ?= 400000
# Examples per operation for schemathesis against both OpenAPI documents (fixed seed).
SCHEMATHESIS_EXAMPLES ?= 20
# The real codecarbon client from PyPI, for the compatibility tests.
CODECARBON_VENV := .build/codecarbon-venv

.PHONY: deps build run test fuzz schemathesis clean

deps:
	@./.ci/install-deps.sh

build: deps
	$(SWIFT) build -c release --product soot

run: build
	./.build/release/soot serve

$(CODECARBON_VENV)/bin/codecarbon:
	python3 -m venv $(CODECARBON_VENV)
	$(CODECARBON_VENV)/bin/pip install --quiet --disable-pip-version-check codecarbon==3.3.2

test: deps $(CODECARBON_VENV)/bin/codecarbon
	./Tests/Fuzz/run.sh $(FUZZ_RUNS)
	$(SWIFT) build --build-tests
	./Tests/Schemathesis/run.sh $(SCHEMATHESIS_EXAMPLES)
	$(SWIFT) test --disable-xctest

fuzz:
	./Tests/Fuzz/run.sh $(FUZZ_RUNS)

schemathesis:
	$(SWIFT) build --product soot
	./Tests/Schemathesis/run.sh $(SCHEMATHESIS_EXAMPLES)

clean:
	rm -rf .build
