"""``python -m bench [--quick] [--only NAME ...]``: runs the benchmarks, prints each one's
figures as it finishes and writes them, with the machine's details, to bench/RESULTS.md."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from bench import machine
from bench.report import Result, results_page
from bench.stack import Stack

BENCHMARKS = {
    "publish": "bench.publish_cost",
    "detection": "bench.detection",
    "overhead": "bench.overhead",
    "backfill": "bench.backfill",
    "intake": "bench.intake",
    "memory": "bench.worker_memory",
    "scaling": "bench.scaling",
}
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


class _Benchmark(Protocol):
    def run(self, stack: Stack, quick: bool) -> Result: ...


def run_one(name: str, stack: Stack, quick: bool) -> Result:
    """Runs one benchmark; an error becomes a result that says so instead of figures."""
    module: _Benchmark = importlib.import_module(BENCHMARKS[name])
    started = time.monotonic()
    try:
        result = module.run(stack, quick)
    except Exception as exc:
        traceback.print_exc()
        result = Result(name, name, "-", notes=[f"did not finish: {type(exc).__name__}: {exc}"])
    result.seconds = time.monotonic() - started
    return result


def wall_times(results: Sequence[Result]) -> str:
    """Each benchmark's wall time and the total, one line each."""
    width = max((len(result.key) for result in results), default=0)
    lines = [f"  {result.key.ljust(width)}  {result.seconds:5.0f} s" for result in results]
    total = sum(result.seconds for result in results)
    lines.append(f"  {'total'.ljust(width)}  {total:5.0f} s")
    return "\n".join(["== Wall time per benchmark", *lines])


def _load() -> str:
    """The machine's load average: other work on it shows here, not in the ratios."""
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few seconds each (smoke test)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=sorted(BENCHMARKS),
        metavar="NAME",
        help=f"run only these: {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="where to write the results page (default: bench/RESULTS.md; "
        "--quick writes none unless given)",
    )
    args = parser.parse_args(argv)
    names = args.only or list(BENCHMARKS)
    output: Path | None = args.output or (None if args.quick else RESULTS)

    results: list[Result] = []
    load_at_start = _load()
    with tempfile.TemporaryDirectory(prefix="fib-bench-") as root:
        stack = Stack(Path(root))
        try:
            for name in names:
                result = run_one(name, stack, args.quick)
                print(result.text(), flush=True)
                results.append(result)
        finally:
            stack.close()
    print(wall_times(results), flush=True)
    if output is not None:
        command = "python -m bench" + (" --quick" if args.quick else "")
        load = ("Load average (1/5/15 min), start → end", f"{load_at_start} → {_load()}")
        output.write_text(results_page(results, [*machine.describe(), load], command))
        print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
