"""Driving a provider the way the worker does, in one test thread."""

from __future__ import annotations

import time
from collections.abc import Callable

from bridge.providers.base import PollLater, Prompt, Provider


class MemoryCheckpoint:
    """A checkpoint kept in memory; ``saves`` lists every reference saved, ``finishes``
    counts the steps that found the request done."""

    def __init__(self, reference: str | None = None) -> None:
        self.reference = reference
        self.progress: str | None = None
        self.saves: list[str] = []
        self.finishes = 0

    def load(self) -> str | None:
        return self.reference

    def save(self, reference: str) -> None:
        self.saves.append(reference)
        self.reference = reference
        self.progress = None

    def load_progress(self) -> str | None:
        return self.progress

    def save_progress(self, progress: str) -> None:
        self.progress = progress

    def finished(self) -> None:
        self.finishes += 1


def finish(
    provider: Provider,
    prompt: Prompt,
    checkpoint: MemoryCheckpoint,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes:
    """Takes steps until the provider returns the image, waiting as each PollLater asks."""
    while True:
        try:
            return provider.generate(prompt, checkpoint)
        except PollLater as later:
            sleep(later.delay)
