"""A provider wrapper that records one-shot run times and the credits the provider says
are left.

Wrapping keeps the figures out of the providers' code. A call that returns an image without a
request submitted before (the local title card) is timed here; an asynchronous provider's run
spans many short steps, so Segmind's provider records its run time and detection delay itself,
at the poll that finds the run done. The remaining credits come from a client that exposes
``remaining_credits`` (Segmind's parses ``x-remaining-credits``), read after every step,
failed ones included.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from bridge import recorders
from bridge.providers.base import Checkpoint, Prompt, Provider


class _CreditsClient(Protocol):
    remaining_credits: int | None


class ObservedProvider:
    """A :class:`~bridge.providers.base.Provider` that records figures about ``inner``."""

    def __init__(self, inner: Provider, clock: Callable[[], float] = time.monotonic) -> None:
        self.inner = inner
        self.name = inner.name
        self._clock = clock

    def generate(self, prompt: Prompt, checkpoint: Checkpoint) -> bytes:
        resumed = bool(checkpoint.load())
        started = self._clock()
        try:
            image = self.inner.generate(prompt, checkpoint)
        finally:
            recorders.credits(self.name, self._credits())
        if not resumed:
            recorders.provider_run(self.name, self._clock() - started)
        return image

    def _credits(self) -> int | None:
        client: _CreditsClient | None = getattr(self.inner, "client", None)
        return None if client is None else getattr(client, "remaining_credits", None)

    def __getattr__(self, name: str) -> object:
        """Everything else (the schedule, the client) is the inner provider's."""
        return getattr(self.inner, name)
