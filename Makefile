# make bench: every benchmark (~10 min), figures printed and written to bench/RESULTS.md.
# make bench-quick: a few seconds of each (smoke test).
# make plugin-zip: dist/featured-image-bridge-<version>.zip, installable from wp-admin.
.PHONY: bench bench-quick plugin-zip

bench:
	bash scripts/bench.sh

bench-quick:
	bash scripts/bench.sh --quick

plugin-zip:
	python3 -m devenv.plugin_zip
