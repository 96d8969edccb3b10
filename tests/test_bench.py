"""The benchmarks' quick mode: each one runs against the real parts and produces its figures.

No figure is checked against a goal here (speed belongs to ``bench/``); a benchmark that
stops producing its figures fails.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.cli import BENCHMARKS, main
from bench.report import Result
from bench.stack import Stack

pytestmark = pytest.mark.wordpress

EXPECTED = {
    "publish": "ratio of medians active/inactive",
    "detection": "bridge p50 delay / seed p50 delay",
    "overhead": "local: overhead p50 / p90 (s)",
    "backfill": "cap-bound: achieved / best",
    "intake": "bridge / bare throughput",
    "memory": "BRIDGE_WORKERS=8 (default): peak RSS (MB)",
    "scaling": "4 processes: achieved / best",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    shared = Stack(tmp_path_factory.mktemp("bench"))
    yield shared
    shared.close()


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_quick_mode_produces_its_figures(name: str, stack: Stack) -> None:
    result: Result = importlib.import_module(BENCHMARKS[name]).run(stack, quick=True)
    figures = dict(result.rows)
    assert EXPECTED[name] in figures, result.text()
    value = figures[EXPECTED[name]].split()[0]
    assert float(value) > 0, result.text()


def test_the_command_writes_a_results_page_with_the_machine(tmp_path: Path) -> None:
    page = tmp_path / "RESULTS.md"
    assert main(["--quick", "--only", "detection", "--output", str(page)]) == 0
    text = page.read_text()
    for heading in ("| CPU |", "| Cores |", "| RAM |", "| Python |", "| PHP |", "| WordPress |"):
        assert heading in text
    assert "## 2. Detection delay" in text and "bridge p50 delay / seed p50 delay" in text
