# make bench: every benchmark (~10 min), figures printed and written to bench/RESULTS.md.
# make bench-quick: a few seconds of each (smoke test).
.PHONY: bench bench-quick

bench:
	bash scripts/bench.sh

bench-quick:
	bash scripts/bench.sh --quick
