"""When the Segmind provider polls: the fixed interval and the learned schedule."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from bridge.providers.base import Prompt
from bridge.providers.segmind import (
    FixedSchedule,
    LearnedSchedule,
    PollBudget,
    RunTimeModel,
    SegmindClient,
    SegmindProvider,
)
from bridge.providers.segmind.schedule import Started
from devenv.segmind_fake import FakeSegmind, JobScript
from tests.providers import MemoryCheckpoint, finish
from tests.test_segmind_client import loopback_downloader

PROMPT = Prompt("A post", "", "Title: A post\n\nDescription: \n")


class Recording(LearnedSchedule):
    """A learned schedule that also keeps what it was told."""

    def __init__(self, model: RunTimeModel, dense_interval: float) -> None:
        super().__init__(model, dense_interval=dense_interval, sparse_interval=1.0)
        self.seen: list[tuple[float, float]] = []

    def finished(
        self, after: float, by: float, started: Started | None = None, polls: int = 0
    ) -> None:
        self.seen.append((after, by))
        super().finished(after, by, started, polls)


@pytest.fixture
def fake() -> Iterator[FakeSegmind]:
    with FakeSegmind(default_job=JobScript(queued_s=0.0, processing_s=0.3)) as segmind:
        yield segmind


def test_fixed_schedule_polls_every_interval() -> None:
    schedule = FixedSchedule(7.0)
    assert [schedule.next_delay(t) for t in (0.0, 7.0, 300.0)] == [7.0, 7.0, 7.0]


def test_model_uses_the_lognormal_prior_until_it_has_seen_enough_runs() -> None:
    model = RunTimeModel(prior_median=35.0, prior_sigma=0.35, min_samples=3)
    assert model.quantile(0.5) == pytest.approx(35.0)
    assert model.quantile(0.1) == pytest.approx(35.0 * math.exp(-0.35 * 1.2816), rel=1e-3)
    for run_time in (10.0, 12.0):
        model.observe(run_time)
    assert model.quantile(0.5) == pytest.approx(35.0)
    model.observe(14.0)
    assert model.quantile(0.5) == pytest.approx(12.0)
    assert model.quantile(0.25) == pytest.approx(11.0)


def test_model_forgets_runs_older_than_its_window() -> None:
    model = RunTimeModel(window=3, min_samples=3)
    for run_time in (100.0, 5.0, 5.0, 5.0):
        model.observe(run_time)
    assert model.quantile(0.99) == pytest.approx(5.0)


def test_learned_schedule_waits_then_polls_densely_then_sparsely() -> None:
    model = RunTimeModel(min_samples=1)
    for run_time in range(20, 61):  # 20 … 60 s
        model.observe(float(run_time))
    schedule = LearnedSchedule(model, dense_interval=1.5, sparse_interval=7.0)
    assert schedule.next_delay(0.0) == pytest.approx(24.0)  # the 10th percentile
    assert schedule.next_delay(24.0) == 1.5
    assert schedule.next_delay(57.0) == 1.5
    assert schedule.next_delay(58.5) == 7.0  # past the 95th percentile


def test_learned_schedule_learns_the_middle_of_the_interval_a_run_ended_in() -> None:
    model = RunTimeModel(min_samples=1)
    LearnedSchedule(model).finished(30.0, 32.0)
    assert model.samples == 1 and model.quantile(0.5) == pytest.approx(31.0, abs=0.1)


def test_a_run_found_finished_at_its_first_poll_is_learned_where_runs_usually_end() -> None:
    model = RunTimeModel(min_samples=1)
    LearnedSchedule(model).finished(0.0, 22.4)  # the prior: median 35 s, 10 % by 22.4 s
    assert 18.0 < model.quantile(0.5) <= 22.4, "not half the first wait (11.2 s)"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_budget_allows_its_polls_per_minute_and_no_more() -> None:
    clock = FakeClock()
    budget = PollBudget(60.0, burst=2.0, clock=clock)
    assert [budget.take() for _ in range(3)] == [True, True, False]
    clock.now = 0.5
    assert budget.take() is False  # half a poll earned
    clock.now = 1.0
    assert [budget.take(), budget.take()] == [True, False]
    clock.now = 100.0  # a long pause refills only up to the burst
    assert [budget.take() for _ in range(3)] == [True, True, False]


def test_learned_schedule_polls_sparsely_when_the_budget_is_spent() -> None:
    clock = FakeClock()
    model = RunTimeModel(min_samples=1)
    model.observe(10.0)
    model.observe(50.0)
    budget = PollBudget(6.0, burst=1.0, clock=clock)
    schedule = LearnedSchedule(model, dense_interval=1.0, sparse_interval=7.0, budget=budget)
    assert schedule.next_delay(20.0) == 1.0
    assert schedule.next_delay(21.0) == 7.0  # the one poll in the bucket is spent
    clock.now = 10.0  # 6 a minute: one more after 10 s
    assert schedule.next_delay(31.0) == 1.0


@pytest.mark.parametrize("bounds", [(-1.0, 2.0), (3.0, 2.0)])
def test_impossible_bounds_teach_nothing(bounds: tuple[float, float]) -> None:
    model = RunTimeModel(min_samples=1)
    LearnedSchedule(model).finished(*bounds)
    assert model.samples == 0


def test_provider_with_learned_schedule_skips_the_polls_before_runs_usually_end(
    fake: FakeSegmind,
) -> None:
    with SegmindClient(
        fake.api_key, fake.workflow_url, timeout=5.0, downloader=loopback_downloader()
    ) as client:
        fixed = SegmindProvider(client, poll_interval=0.02, deadline=10.0)
        finish(fixed, PROMPT, MemoryCheckpoint())
        fixed_polls = fake.polls

        model = RunTimeModel(prior_median=0.3, prior_sigma=0.35)
        schedule = Recording(model, dense_interval=0.02)
        learned = SegmindProvider(client, poll_interval=0.02, deadline=10.0, schedule=schedule)
        assert finish(learned, PROMPT, MemoryCheckpoint()).startswith(b"\xff\xd8")
        learned_polls = fake.polls - fixed_polls

    assert learned_polls < fixed_polls
    ((after, by),) = schedule.seen
    assert after < 0.3 <= by + 0.05  # the run's true 0.3 s lies between the two polls
    assert model.samples == 1


def test_a_resumed_request_is_polled_at_once_without_learning(fake: FakeSegmind) -> None:
    with SegmindClient(
        fake.api_key, fake.workflow_url, timeout=5.0, downloader=loopback_downloader()
    ) as client:
        checkpoint = MemoryCheckpoint()
        checkpoint.save(client.submit(PROMPT.text).poll_url)
        model = RunTimeModel(prior_median=60.0, prior_sigma=0.35)  # would wait ~40 s
        provider = SegmindProvider(
            client,
            poll_interval=0.05,
            deadline=10.0,
            schedule=LearnedSchedule(model, dense_interval=0.05),
        )
        assert finish(provider, PROMPT, checkpoint)
    assert model.samples == 0


def _steady_runs(schedule: LearnedSchedule) -> None:
    """Teaches the schedule runs that queue 10–50 s, then run 12 s."""
    for queued in range(10, 51):
        schedule.finished(queued + 12.0, queued + 12.0, (queued - 0.5, queued + 0.5))


def test_the_time_a_run_takes_after_leaving_the_queue_is_learned() -> None:
    schedule = LearnedSchedule(RunTimeModel(min_samples=1), processing=RunTimeModel(min_samples=1))
    schedule.finished(30.0, 32.0, (18.0, 20.0))
    assert schedule.processing.quantile(0.5) == pytest.approx(12.0)
    assert schedule.model.quantile(0.5) == pytest.approx(31.0, abs=0.1)


def test_a_request_seen_running_is_polled_densely_only_where_its_run_ends() -> None:
    schedule = LearnedSchedule(
        RunTimeModel(min_samples=1),
        processing=RunTimeModel(min_samples=1),
        dense_interval=1.0,
        sparse_interval=7.0,
    )
    _steady_runs(schedule)
    assert schedule.window() == pytest.approx((26.0, 60.0))  # run times alone: 22 … 62 s
    start, end = schedule.window((30.0, 33.0))
    assert (start, end) == pytest.approx((42.0, 45.0))
    assert schedule.next_delay(33.0, (30.0, 33.0)) == pytest.approx(9.0)  # wait until 42 s
    assert schedule.next_delay(43.0, (30.0, 33.0)) == 1.0
    assert schedule.next_delay(46.0, (30.0, 33.0)) == 7.0


def test_a_request_still_queued_is_polled_sparsely_once_runs_are_learned() -> None:
    schedule = LearnedSchedule(
        RunTimeModel(min_samples=1),
        processing=RunTimeModel(min_samples=1),
        dense_interval=1.0,
        sparse_interval=7.0,
    )
    assert schedule.next_delay(30.0) == 1.0  # nothing learned of runs yet: dense
    _steady_runs(schedule)
    assert schedule.next_delay(30.0) == 7.0


@pytest.mark.parametrize(("polls", "wider"), [(12, True), (2, False)])
def test_matching_moves_the_dense_interval_towards_the_fixed_intervals_polls(
    polls: int, wider: bool
) -> None:
    schedule = LearnedSchedule(dense_interval=2.0, sparse_interval=7.0, match_polls=True)
    for _ in range(50):
        schedule.finished(34.0, 36.0, polls=polls)  # polling every 7 s: 5 polls
    assert (schedule.dense_interval > 2.0) is wider
    assert 1.0 <= schedule.dense_interval <= 7.0


def test_without_matching_the_dense_interval_stays() -> None:
    schedule = LearnedSchedule(dense_interval=2.0, sparse_interval=7.0)
    schedule.finished(34.0, 36.0, polls=12)
    assert schedule.dense_interval == 2.0
