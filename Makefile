# Soot: `make run` builds and serves on the embedded PostgreSQL; `make test` runs every test.
SWIFT ?= swift
FUZZ_SECONDS ?= 30

.PHONY: deps build run test fuzz clean

deps:
	@./.ci/install-deps.sh

build: deps
	$(SWIFT) build -c release --product soot

run: build
	./.build/release/soot serve

test: deps
	./Tests/Fuzz/run.sh $(FUZZ_SECONDS)
	$(SWIFT) build --build-tests
	$(SWIFT) test --disable-xctest

fuzz:
	./Tests/Fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf .build
