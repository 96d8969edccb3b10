# make bench: every benchmark (12–15 min here), figures printed and written to bench/RESULTS.md.
# make bench-quick: a few seconds of each (smoke test).
# make plugin-zip: dist/featured-image-bridge-<version>.zip, installable from wp-admin.
# make load: the 60 s saturation load test of the webhook intake (accepted, rejected, lost).
.PHONY: bench bench-quick plugin-zip load

bench:
	bash scripts/bench.sh

bench-quick:
	bash scripts/bench.sh --quick

plugin-zip:
	python3 -m devenv.plugin_zip

load:
	bash scripts/bootstrap.sh
	.venv/bin/python -m bench.load --seconds 60
