# Keyhold: `make run` serves the console, `make test` runs every test. Both install what is missing.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/.tools/venv/bin:$(HOME)/.cargo/bin:$(PATH)

# `--split`: every page but the Credentials page is a WASM chunk of its own, fetched when first shown.
LEPTOS_BUILD := cargo leptos build --split

.PHONY: run test build unit e2e tools test-tools bench bench-browser bench-scale bench-clusters

## Build (debug) and serve Keyhold at http://127.0.0.1:3000 (KEYHOLD_LISTEN, KEYHOLD_DATA_DIR override).
run: tools
	$(LEPTOS_BUILD)
	./target/debug/keyhold serve

## Every test: unit, integration, browser end-to-end. The browser tests run the server that
## cargo-leptos builds (it links the binary with the settings the WASM bundle was built with), so it
## is built after `cargo test`, which links its own.
test: test-tools
	$(MAKE) --no-print-directory unit
	$(LEPTOS_BUILD)
	$(MAKE) --no-print-directory e2e

## Optimised build: target/release/keyhold and target/site (static files also brotli- and
## gzip-compressed ahead, served as such to browsers that ask).
build: tools
	$(LEPTOS_BUILD) --release --precompress
	@# cargo-leptos's gzip is weaker than `gzip -9` (the WASM: 500 KB against 424 KB): redone.
	gzip -9 -k -f target/site/pkg/*.wasm target/site/pkg/*.js target/site/pkg/*.css

## Rust unit and integration tests (`make unit ARGS=name` runs the tests whose name contains it).
unit:
	cargo test --features ssr -- $(ARGS)

## Browser tests against the built server (`make e2e ARGS=-g\ "404"` runs one).
e2e:
	cd end2end && playwright test $(ARGS)

tools:
	@scripts/tools.sh build

test-tools:
	@scripts/tools.sh test

## Benchmarks: the embedded API, the credentials service, the Credentials page and the input checks (figures go into the README).
bench:
	cargo bench --features ssr --bench list_secrets --bench credentials --bench page --bench inputs --bench query

## Ten times the scale (issue 21): 2,000 projects, 100,000 credentials, through the release binary.
bench-scale:
	cargo bench --features ssr --bench scale

## Account scope across three clusters of 500 projects (issue 20), through the release binary.
bench-clusters:
	cargo bench --features ssr --bench clusters

## Browser benchmark on the release build (run `make build` first): /credentials time to interactive,
## unthrottled and on a slow network, and bytes per route (figures go into the README).
bench-browser: test-tools
	node end2end/bench/interactive.mjs
