"""The Segmind provider: one generation, resumable from the job's checkpoint."""

from __future__ import annotations

import time
from collections.abc import Callable

from bridge import recorders
from bridge.providers.base import Checkpoint, ErrorKind, Prompt, ProviderError
from bridge.providers.segmind.client import SegmindClient
from bridge.providers.segmind.responses import PollResult
from bridge.providers.segmind.schedule import FixedSchedule, PollSchedule


class SegmindProvider:
    """The Provider for a Segmind workflow; one ``generate`` call is one image.

    ``schedule`` decides when to poll (default: every ``poll_interval`` seconds). One
    provider serves all of a worker's threads, so a learning schedule learns from all of
    them. A request resumed from a checkpoint is polled at once, then every
    ``poll_interval`` seconds (when it was submitted is not known).
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
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.max_poll_errors = max_poll_errors
        self.schedule = schedule or FixedSchedule(poll_interval)
        self._sleep = sleep
        self._clock = clock

    def generate(self, prompt: Prompt, checkpoint: Checkpoint) -> bytes:
        started = self._clock()
        reference = checkpoint.load()
        resumed = bool(reference)
        if not reference:
            submission = self.client.submit(prompt.text)
            reference = submission.poll_url
            checkpoint.save(reference)  # before waiting: a retry never pays twice
        schedule = FixedSchedule(self.poll_interval) if resumed else self.schedule
        result = self._wait(reference, started, schedule, poll_first=resumed)
        if result.image_url is None:  # poll() never returns COMPLETED without one
            raise ProviderError(ErrorKind.BAD_OUTPUT, "Segmind finished without an image URL.")
        return self.client.download(result.image_url)

    def _wait(
        self, reference: str, started: float, schedule: PollSchedule, *, poll_first: bool
    ) -> PollResult:
        deadline_at = started + self.deadline
        submitted = self._clock()
        not_done_at = 0.0  # seconds after submission when a poll last found it running
        errors = 0
        status = "QUEUED"
        delay = 0.0 if poll_first else schedule.next_delay(0.0)
        while True:
            remaining = deadline_at - self._clock()
            if remaining <= 0:
                raise ProviderError(
                    ErrorKind.TIMEOUT,
                    f"Segmind gave no result after {self.deadline:g} s (last status: {status}).",
                )
            if delay > 0:
                self._sleep(min(delay, remaining))
            asked_at = self._clock() - submitted
            try:
                result = self.client.poll(reference)
            except ProviderError as exc:
                if exc.kind is ErrorKind.EXPIRED:
                    raise ProviderError(
                        ErrorKind.EXPIRED,
                        "Segmind no longer knows the generation request this job submitted "
                        "(HTTP 404); it may have expired. A new image needs a new request.",
                    ) from None
                errors += 1
                if not exc.retryable or errors > self.max_poll_errors:
                    raise
                delay = max(schedule.next_delay(asked_at), exc.retry_after or 0.0)
                continue
            errors = 0
            status = result.status
            answered_at = self._clock() - submitted
            if result.done:
                schedule.finished(not_done_at, answered_at)
                recorders.detection_delay(answered_at - not_done_at)
                return result
            if result.failed:
                raise ProviderError(
                    ErrorKind.FAILED,
                    f"Segmind could not generate the image: {result.error or 'no reason given'}",
                )
            not_done_at = asked_at
            delay = schedule.next_delay(answered_at)
