"""The Segmind provider: submit, then check once per step, resumable from the job's checkpoint.

A generation is a series of short steps, none of which waits: the first submits the request
(and records it before anything else), each later one asks Segmind once how it is going. A
request still running raises :class:`~bridge.providers.base.PollLater` with the schedule's
delay, so the worker thread is free until then. Everything a step needs (the request, when it
was submitted, how the polls went) lives in the checkpoint, so any worker can take the next
step.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import NoReturn

from bridge import recorders
from bridge.providers.base import Checkpoint, ErrorKind, PollLater, Prompt, ProviderError
from bridge.providers.segmind.client import SegmindClient
from bridge.providers.segmind.responses import PollResult
from bridge.providers.segmind.schedule import FixedSchedule, PollSchedule, Started

QUEUED = "QUEUED"


@dataclass(frozen=True)
class Progress:
    """How a submitted request is going; times are seconds on the provider's clock.

    ``started_after``/``started_by`` bracket the moment it left ``QUEUED`` (seconds after
    submission), once a poll saw it running. ``resumed``: the notes were lost (the worker
    died between recording the request and its notes), so when it was submitted is unknown.
    """

    submitted_at: float
    polls: int = 0
    errors: int = 0
    status: str = QUEUED
    not_done_at: float = 0.0
    queued_at: float = 0.0
    started_after: float | None = None
    started_by: float | None = None
    resumed: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> Progress | None:
        """The notes, or None when there are none or they cannot be read."""
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(**data) if isinstance(data, dict) else None
        except (TypeError, ValueError):
            return None

    @property
    def started(self) -> Started | None:
        if self.started_by is None:
            return None
        return (self.started_after or 0.0, self.started_by)


class SegmindProvider:
    """The Provider for a Segmind workflow; ``generate`` takes one step of one image.

    ``schedule`` decides when to poll (default: every ``poll_interval`` seconds). One
    provider serves all of a worker's threads, so a learning schedule learns from all of
    them. A request whose notes were lost is polled at once, then every ``poll_interval``
    seconds (when it was submitted is not known). ``clock`` is wall-clock time, so another
    worker process can take the next step.
    """

    name = "segmind"

    def __init__(
        self,
        client: SegmindClient,
        *,
        poll_interval: float = 7.0,
        deadline: float = 600.0,
        max_poll_errors: int = 3,
        schedule: PollSchedule | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.max_poll_errors = max_poll_errors
        self.schedule = schedule or FixedSchedule(poll_interval)
        self._clock = clock

    def generate(self, prompt: Prompt, checkpoint: Checkpoint) -> bytes:
        """Submits, or checks the submitted request once.

        Raises PollLater while the request runs, ProviderError when it cannot finish.
        """
        reference = checkpoint.load()
        if not reference:
            submission = self.client.submit(prompt.text)
            checkpoint.save(submission.poll_url)  # first: a job run again never pays twice
            progress = Progress(submitted_at=self._clock())
            checkpoint.save_progress(progress.to_json())
            raise PollLater(self.schedule.next_delay(0.0))
        progress = Progress.from_json(checkpoint.load_progress()) or Progress(
            submitted_at=self._clock(), resumed=True
        )
        result = self._check(reference, progress, checkpoint)
        if result.image_url is None:  # poll() never returns COMPLETED without one
            raise ProviderError(ErrorKind.BAD_OUTPUT, "Segmind finished without an image URL.")
        return self.client.download(result.image_url)

    def _check(self, reference: str, progress: Progress, checkpoint: Checkpoint) -> PollResult:
        """Polls once: the result when COMPLETED; otherwise records the poll and raises."""
        schedule = FixedSchedule(self.poll_interval) if progress.resumed else self.schedule
        asked_at = self._clock() - progress.submitted_at
        try:
            result = self.client.poll(reference)
        except ProviderError as exc:
            if exc.kind is ErrorKind.EXPIRED:
                raise ProviderError(
                    ErrorKind.EXPIRED,
                    "Segmind no longer knows the generation request this job submitted "
                    "(HTTP 404); it may have expired. A new image needs a new request.",
                ) from None
            errors = progress.errors + 1
            if not exc.retryable or errors > self.max_poll_errors:
                raise
            progress = replace(progress, polls=progress.polls + 1, errors=errors)
            delay = schedule.next_delay(asked_at, progress.started)
            delay = max(delay, exc.retry_after or 0.0)
            self._later(progress, asked_at, delay, checkpoint)
        answered_at = self._clock() - progress.submitted_at
        if result.done or result.failed:
            checkpoint.finished()
        if result.done:
            if not progress.resumed:
                schedule.finished(
                    progress.not_done_at, answered_at, progress.started, progress.polls + 1
                )
                recorders.provider_run(self.name, answered_at)
                recorders.detection_delay(answered_at - progress.not_done_at)
            return result
        if result.failed:
            raise ProviderError(
                ErrorKind.FAILED,
                f"Segmind could not generate the image: {result.error or 'no reason given'}",
            )
        progress = _seen_running(progress, result.status, asked_at)
        delay = schedule.next_delay(answered_at, progress.started)
        self._later(progress, answered_at, delay, checkpoint)

    def _later(
        self, progress: Progress, elapsed: float, delay: float, checkpoint: Checkpoint
    ) -> NoReturn:
        """Records the notes and asks to be called again in ``delay`` seconds, within the
        deadline; a request past its deadline fails instead."""
        remaining = self.deadline - elapsed
        if remaining <= 0:
            raise ProviderError(
                ErrorKind.TIMEOUT,
                f"Segmind gave no result after {self.deadline:g} s "
                f"(last status: {progress.status}).",
            )
        checkpoint.save_progress(progress.to_json())
        raise PollLater(min(delay, remaining))


def _seen_running(progress: Progress, status: str, asked_at: float) -> Progress:
    """The notes after a poll that found the request not finished, in ``status``."""
    progress = replace(progress, polls=progress.polls + 1, errors=0, not_done_at=asked_at)
    if status == QUEUED:
        return replace(progress, status=status, queued_at=asked_at)
    if progress.started_by is None and not progress.resumed:
        # It left QUEUED between the last poll that saw it queued and this one.
        progress = replace(progress, started_after=progress.queued_at, started_by=asked_at)
    return replace(progress, status=status)
