"""Shared Hypothesis settings for the property and fuzz tests.

Examples per property come from ``BRIDGE_FUZZ_EXAMPLES`` (default: the CI-sized counts below);
``BRIDGE_FUZZ_EXAMPLES=20000 .venv/bin/pytest -m fuzz -q`` is the long run. No deadlines (speed
is for ``bench/``) and no example database in the tree.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings


def fuzz_settings(default_examples: int) -> settings:
    examples = int(os.environ.get("BRIDGE_FUZZ_EXAMPLES", "0")) or default_examples
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
