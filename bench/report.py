"""What a benchmark reports, and the RESULTS.md page that collects every report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Result:
    """One benchmark's figures: ``rows`` of (what, value), the goal, and notes for a reader."""

    key: str
    title: str
    goal: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, label: str, value: float | int | str, fmt: str = "{:.3g}") -> None:
        text = value if isinstance(value, str) else fmt.format(value)
        self.rows.append((label, text))

    def text(self) -> str:
        lines = [f"== {self.title}  (goal: {self.goal}; {self.seconds:.0f} s)"]
        width = max((len(label) for label, _ in self.rows), default=0)
        lines += [f"  {label.ljust(width)}  {value}" for label, value in self.rows]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def markdown(self) -> str:
        lines = [f"## {self.title}", "", f"Goal: {self.goal}. Took {self.seconds:.0f} s.", ""]
        lines += ["| Figure | Value |", "|---|---|"]
        lines += [f"| {label} | {value} |" for label, value in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def results_page(
    results: Sequence[Result], machine: Sequence[tuple[str, str]], command: str
) -> str:
    """The whole RESULTS.md: the machine, each benchmark's wall time, then its figures."""
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{command}`. Figures are ratios or counts measured side by side in one run;",
        "they depend on the machine below and are never a pass/fail check.",
        "",
        "| Machine | |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in machine]
    lines += ["", "| Benchmark | Wall time (s) |", "|---|---|"]
    lines += [f"| {result.title} | {result.seconds:.0f} |" for result in results]
    lines.append(f"| Total | {sum(result.seconds for result in results):.0f} |")
    lines.append("")
    return "\n".join(lines) + "\n" + "\n".join(result.markdown() for result in results)
