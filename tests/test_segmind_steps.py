"""The Segmind provider one step at a time, as the worker runs it: a step never waits, and the
next step may be taken by another worker process from what the checkpoint recorded."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bridge.providers.base import ErrorKind, PollLater, Prompt, ProviderError
from bridge.providers.segmind import LearnedSchedule, RunTimeModel, SegmindClient, SegmindProvider
from bridge.providers.segmind.provider import Progress
from bridge.providers.segmind.schedule import Started
from devenv.segmind_fake import FakeSegmind, JobScript
from tests.providers import MemoryCheckpoint
from tests.test_segmind_client import loopback_downloader

PROMPT = Prompt("A post", "", "Title: A post\n\nDescription: \n")


class Recording(LearnedSchedule):
    def __init__(self) -> None:
        super().__init__(RunTimeModel(min_samples=1), dense_interval=0.05, sparse_interval=0.05)
        self.seen: list[tuple[float, float, Started | None]] = []

    def finished(
        self, after: float, by: float, started: Started | None = None, polls: int = 0
    ) -> None:
        self.seen.append((after, by, started))
        super().finished(after, by, started, polls)


@pytest.fixture
def fake() -> Iterator[FakeSegmind]:
    with FakeSegmind(default_job=JobScript(queued_s=0.0, processing_s=0.3)) as segmind:
        yield segmind


@pytest.fixture
def client(fake: FakeSegmind) -> Iterator[SegmindClient]:
    with SegmindClient(
        fake.api_key, fake.workflow_url, timeout=5.0, downloader=loopback_downloader()
    ) as segmind:
        yield segmind


def _step(provider: SegmindProvider, checkpoint: MemoryCheckpoint) -> float:
    """One step that must leave the request running; returns the delay it asked for."""
    with pytest.raises(PollLater) as later:
        provider.generate(PROMPT, checkpoint)
    return later.value.delay


def test_the_first_step_submits_and_returns_without_polling(
    fake: FakeSegmind, client: SegmindClient
) -> None:
    checkpoint = MemoryCheckpoint()
    assert _step(SegmindProvider(client, poll_interval=7.0), checkpoint) == 7.0
    assert (len(fake.submissions), fake.polls) == (1, 0)
    assert checkpoint.reference is not None and checkpoint.progress is not None


def test_another_worker_continues_the_schedule_and_the_deadline(
    fake: FakeSegmind, client: SegmindClient
) -> None:
    fake.queue_jobs(JobScript(queued_s=60.0, processing_s=0.0))
    now = [1000.0]
    checkpoint = MemoryCheckpoint()
    first = SegmindProvider(client, poll_interval=7.0, deadline=20.0, clock=lambda: now[0])
    assert _step(first, checkpoint) == 7.0
    now[0] += 7.0
    assert _step(first, checkpoint) == 7.0
    now[0] += 7.0
    other = SegmindProvider(client, poll_interval=7.0, deadline=20.0, clock=lambda: now[0])
    assert _step(other, checkpoint) == 6.0, "the deadline counts from the submission"
    now[0] += 6.0
    with pytest.raises(ProviderError) as caught:
        other.generate(PROMPT, checkpoint)
    assert caught.value.kind is ErrorKind.TIMEOUT
    assert caught.value.message == "Segmind gave no result after 20 s (last status: QUEUED)."
    assert (len(fake.submissions), fake.polls) == (1, 3)


def test_a_resumed_job_learns_its_run_time_from_its_submission(
    fake: FakeSegmind, client: SegmindClient
) -> None:
    checkpoint = MemoryCheckpoint()
    _step(SegmindProvider(client, poll_interval=0.05), checkpoint)
    time.sleep(0.4)  # the run (0.3 s) ends while no worker looks at it
    schedule = Recording()
    other = SegmindProvider(client, poll_interval=0.05, schedule=schedule)
    assert other.generate(PROMPT, checkpoint).startswith(b"\xff\xd8")
    ((after, by, _),) = schedule.seen
    assert after == 0.0 and by >= 0.4
    assert len(fake.submissions) == 1


def test_the_moment_a_request_leaves_the_queue_is_noted(
    fake: FakeSegmind, client: SegmindClient
) -> None:
    fake.queue_jobs(JobScript(queued_s=0.2, processing_s=30.0))
    checkpoint = MemoryCheckpoint()
    provider = SegmindProvider(client, poll_interval=0.05)
    _step(provider, checkpoint)
    _step(provider, checkpoint)
    queued = Progress.from_json(checkpoint.progress)
    assert queued is not None and queued.status == "QUEUED" and queued.started is None
    time.sleep(0.3)
    _step(provider, checkpoint)
    running = Progress.from_json(checkpoint.progress)
    assert running is not None and running.status == "PROCESSING"
    assert running.started is not None
    after, by = running.started
    assert after < 0.2 <= by


def test_unreadable_notes_are_polled_on_the_fixed_interval_without_learning(
    fake: FakeSegmind, client: SegmindClient
) -> None:
    fake.queue_jobs(JobScript(queued_s=0.0, processing_s=30.0))
    checkpoint = MemoryCheckpoint(client.submit(PROMPT.text).poll_url)
    checkpoint.progress = "not json"
    schedule = Recording()
    provider = SegmindProvider(client, poll_interval=0.5, schedule=schedule)
    assert _step(provider, checkpoint) == 0.5
    notes = Progress.from_json(checkpoint.progress)
    assert notes is not None and notes.resumed and notes.polls == 1
