"""Benchmarks of the bridge and the plugin: ``python -m bench`` (``make bench``).

Each benchmark measures two things side by side in the same run and reports their ratio or
counts; none of them fails on a figure. ``--quick`` runs a few seconds of each, for CI.
"""
