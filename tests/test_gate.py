"""The provider-key gate, SQLite's and Redis's alike (each test runs on both, on a real job
record and a real redis-server): threads and processes racing for slots and tokens, the
credits pause and its probe, the daily cap, and crash safety."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import pytest
import redis

from bridge.gate import (
    Gate,
    Hold,
    Limits,
    RateLimit,
    SqliteGate,
    Ticket,
    key_id,
    next_utc_midnight,
)
from bridge.jobs import JobState, JobStore, NewJob
from bridge.redis_gate import RedisGate, redis_gate
from bridge.redis_store import RedisJobStore
from devenv.chaos import most_at_once
from devenv.redis_server import LocalRedis
from tests.gate_racer import KEY, race

REPO = Path(__file__).resolve().parents[1]
SITE = "http://127.0.0.1:9"


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class GateMaker(Protocol):
    """Makes the gate under test on the job store (the Redis one asks it which jobs ended)."""

    backend: str

    def __call__(
        self,
        store: JobStore,
        *,
        clock: Callable[[], float] | None = None,
        on_slot_free: Callable[[str], None] | None = None,
    ) -> Gate: ...

    def racer_args(self, store: JobStore) -> list[str]:
        """The ``tests.gate_racer`` options that reach the same gate from another process."""
        ...


class _SqliteGates:
    backend = "sqlite"

    def __call__(
        self,
        store: JobStore,
        *,
        clock: Callable[[], float] | None = None,
        on_slot_free: Callable[[str], None] | None = None,
    ) -> Gate:
        return SqliteGate(store.path, on_slot_free=on_slot_free, clock=clock or time.time)

    def racer_args(self, store: JobStore) -> list[str]:
        return ["--db", str(store.path)]


class _RedisGates:
    backend = "redis"

    def __init__(self, client: redis.Redis, url: str, prefix: str) -> None:
        self.client = client
        self.url = url
        self.prefix = prefix

    def __call__(
        self,
        store: JobStore,
        *,
        clock: Callable[[], float] | None = None,
        on_slot_free: Callable[[str], None] | None = None,
    ) -> Gate:
        return redis_gate(
            self.client, store=store, on_slot_free=on_slot_free, prefix=self.prefix, clock=clock
        )

    def racer_args(self, store: JobStore) -> list[str]:
        return ["--redis", self.url, "--prefix", self.prefix]


@pytest.fixture(params=["sqlite", "redis"])
def make_gate(request: pytest.FixtureRequest) -> GateMaker:
    if request.param == "sqlite":
        return _SqliteGates()
    client: redis.Redis = request.getfixturevalue("redis_client")
    server: LocalRedis = request.getfixturevalue("redis_server")
    return _RedisGates(client, server.url, _prefix())


def _prefix() -> str:
    """A key prefix of the test's own: tests share the session's Redis."""
    return f"test-{uuid.uuid4().hex[:8]}:"


def _jobs(store: JobStore, count: int, site: str = SITE) -> list[str]:
    return [
        store.create(NewJob(f"msg_{site}_{i}", site, i, "post", "T", "E", "t"))[0].id
        for i in range(count)
    ]


def _most_in_window(arrivals: list[float], window: float) -> int:
    """The most arrivals in any half-open window (t − window, t], as the provider counts."""
    times = sorted(arrivals)
    return max(
        sum(1 for other in times[: i + 1] if other > t - window) for i, t in enumerate(times)
    )


@pytest.mark.parametrize(
    ("text", "count", "window"),
    [
        ("6/1s", 6, 1.0),
        ("6/s", 6, 1.0),
        ("60/min", 60, 60.0),
        ("1000/h", 1000, 3600.0),
        ("10/2.5s", 10, 2.5),
        (" 3 / 2 minutes ", 3, 120.0),
    ],
)
def test_rate_limits_read_as_count_per_window(text: str, count: int, window: float) -> None:
    assert RateLimit.parse(text) == RateLimit(count, window)


@pytest.mark.parametrize("text", ["", "6", "0/s", "6/0s", "six/s", "6/fortnight", "-1/s"])
def test_bad_rate_limits_are_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match="COUNT/WINDOW|longer than 0"):
        RateLimit.parse(text)


def test_a_key_is_known_by_a_hash_never_by_itself() -> None:
    name = key_id("segmind", "sg_secret_key_123")
    assert "sg_secret_key_123" not in name and name.startswith("segmind:")
    assert name == key_id("segmind", "sg_secret_key_123") != key_id("segmind", "other")
    assert key_id("local", None) == "local"


def test_threads_racing_never_exceed_the_concurrency_cap(
    tmp_path: Path, make_gate: GateMaker
) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    ids = _jobs(store, 40)
    lines = race(lambda: make_gate(store), ids, Limits(max_concurrency=3), threads=8, run_s=0.03)
    intervals = [tuple(json.loads(line)) for line in lines]
    assert len(intervals) == 40
    assert most_at_once(intervals) == 3  # reached, never exceeded


def test_threads_racing_never_exceed_the_rate_limit(tmp_path: Path, make_gate: GateMaker) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    ids = _jobs(store, 16)
    limits = Limits(rate=RateLimit(4, 0.5))
    lines = race(lambda: make_gate(store), ids, limits, threads=8, run_s=0.0)
    arrivals = [json.loads(line)[0] for line in lines]
    assert len(arrivals) == 16
    assert _most_in_window(arrivals, 0.5) == 4


def test_processes_racing_respect_both_limits(tmp_path: Path, make_gate: GateMaker) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    ids = _jobs(store, 36)
    racers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.gate_racer",
                *make_gate.racer_args(store),
                "--jobs",
                ",".join(ids[i::3]),
                "--concurrency",
                "4",
                "--rate",
                "6/0.5s",
                "--threads",
                "3",
                "--run-s",
                "0.1",
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    outputs = [racer.communicate(timeout=120)[0] for racer in racers]
    assert all(racer.returncode == 0 for racer in racers)
    intervals = [tuple(json.loads(line)) for out in outputs for line in out.splitlines()]
    assert len(intervals) == 36
    assert most_at_once(intervals) <= 4
    assert _most_in_window([a for a, _ in intervals], 0.5) <= 6


def test_a_held_job_learns_when_the_next_token_frees(tmp_path: Path, make_gate: GateMaker) -> None:
    clock = Clock()
    store = JobStore(tmp_path / "jobs.sqlite3")
    gate = make_gate(store, clock=clock)
    first, second, third = _jobs(store, 3)
    limits = Limits(rate=RateLimit(2, 10.0))
    for job in (first, second):
        assert gate.admit(Ticket(job, KEY, SITE), limits).admitted
        store.update(job, provider_ref=f"https://provider/poll/{job}")
        gate.accepted(job)
        clock.now += 4
    held = gate.admit(Ticket(third, KEY, SITE), limits)
    assert (held.admitted, held.hold) == (False, Hold.RATE)
    assert held.delay == pytest.approx(2.0, abs=0.01)  # the first submission ages out
    clock.now += held.delay
    assert gate.admit(Ticket(third, KEY, SITE), limits).admitted


def test_a_submission_still_on_its_way_counts_as_arriving_now(
    tmp_path: Path, make_gate: GateMaker
) -> None:
    clock = Clock()
    store = JobStore(tmp_path / "jobs.sqlite3")
    gate = make_gate(store, clock=clock)
    slow, other = _jobs(store, 2)
    limits = Limits(rate=RateLimit(1, 1.0))
    assert gate.admit(Ticket(slow, KEY, SITE), limits).admitted
    clock.now += 5  # its request has not reached the provider yet
    held = gate.admit(Ticket(other, KEY, SITE), limits)
    assert (held.hold, held.delay) == (Hold.RATE, pytest.approx(1.0, abs=0.01))
    store.update(slow, provider_ref="https://provider/poll/slow")
    gate.accepted(slow)
    clock.now += 1
    assert gate.admit(Ticket(other, KEY, SITE), limits).admitted


def test_a_slot_frees_when_the_provider_is_done_or_never_got_the_submission(
    tmp_path: Path, make_gate: GateMaker
) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    freed: list[str] = []
    gate = make_gate(store, on_slot_free=freed.append)
    first, second, third = _jobs(store, 3)
    limits = Limits(max_concurrency=1)
    assert gate.admit(Ticket(first, KEY, SITE), limits).admitted
    assert gate.admit(Ticket(second, KEY, SITE), limits).hold == Hold.CONCURRENCY
    gate.released(first, submitted=False)  # refused: nothing runs at the provider
    assert gate.admit(Ticket(second, KEY, SITE), limits).admitted
    gate.accepted(second)
    assert gate.admit(Ticket(third, KEY, SITE), limits).hold == Hold.CONCURRENCY
    gate.released(second, submitted=True)
    assert gate.admit(Ticket(third, KEY, SITE), limits).admitted
    assert freed == [KEY, KEY]


def test_a_dead_workers_claim_expires_but_an_accepted_run_counts_until_it_ends(
    tmp_path: Path, make_gate: GateMaker
) -> None:
    clock = Clock()
    store = JobStore(tmp_path / "jobs.sqlite3")
    gate = make_gate(store, clock=clock)
    claimed, running, other = _jobs(store, 3)
    limits = Limits(max_concurrency=1, claim_seconds=90)
    assert gate.admit(Ticket(claimed, KEY, SITE), limits).admitted  # its worker dies here
    assert not gate.admit(Ticket(other, KEY, SITE), limits).admitted
    clock.now += 91
    assert gate.admit(Ticket(running, KEY, SITE), limits).admitted
    store.update(running, provider_ref="https://provider/poll/1")
    gate.accepted(running)  # its worker dies while the provider runs it
    clock.now += 1000
    assert gate.admit(Ticket(other, KEY, SITE), limits).hold == Hold.CONCURRENCY
    store.update(running, state=JobState.FAILED)  # the resumed job ended (here: deadline)
    assert gate.admit(Ticket(other, KEY, SITE), limits).admitted


def test_no_credits_pauses_the_key_at_once_and_one_probe_resumes_it(
    tmp_path: Path, make_gate: GateMaker
) -> None:
    clock = Clock()
    store = JobStore(tmp_path / "jobs.sqlite3")
    gate = make_gate(store, clock=clock)
    refused, a, b = _jobs(store, 3)
    limits = Limits(credits_recheck=60)
    assert gate.admit(Ticket(refused, KEY, SITE), limits).admitted
    wait = gate.out_of_credits(Ticket(refused, KEY, SITE), limits)
    assert (wait.hold, wait.resume_at) == (Hold.CREDITS, clock.now + 60)
    held = gate.admit(Ticket(a, KEY, SITE), limits)
    assert (held.hold, held.resume_at) == (Hold.CREDITS, clock.now + 60)
    assert gate.admit(Ticket(a, "segmind:another-key", SITE), limits).admitted

    clock.now += 60  # the pause is over: one probe, the others wait for its answer
    assert gate.admit(Ticket(refused, KEY, SITE), limits).admitted
    assert gate.admit(Ticket(b, KEY, SITE), limits).hold == Hold.CREDITS
    again = gate.out_of_credits(Ticket(refused, KEY, SITE), limits)
    assert again.resume_at == clock.now + 120  # still none: twice as long

    clock.now += 120
    assert gate.admit(Ticket(b, KEY, SITE), limits).admitted  # b probes this time
    assert gate.admit(Ticket(refused, KEY, SITE), limits).hold == Hold.CREDITS
    gate.accepted(b)  # credits are back
    assert gate.admit(Ticket(refused, KEY, SITE), limits).admitted


def test_the_wait_between_probes_doubles_up_to_half_an_hour(
    tmp_path: Path, make_gate: GateMaker
) -> None:
    clock = Clock()
    store = JobStore(tmp_path / "jobs.sqlite3")
    gate = make_gate(store, clock=clock)
    (job,) = _jobs(store, 1)
    limits = Limits(credits_recheck=60)
    ticket = Ticket(job, KEY, SITE)
    steps = []
    for _ in range(8):
        assert gate.admit(ticket, limits).admitted
        wait = gate.out_of_credits(ticket, limits)
        steps.append(wait.resume_at - clock.now)
        clock.now = wait.resume_at
    assert steps == [60, 120, 240, 480, 960, 1800, 1800, 1800]


def test_the_daily_cap_counts_a_sites_submissions_per_utc_day(
    tmp_path: Path, make_gate: GateMaker
) -> None:
    clock = Clock(next_utc_midnight(1_700_000_000.0) - 3600)  # 23:00 UTC
    store = JobStore(tmp_path / "jobs.sqlite3")
    gate = make_gate(store, clock=clock)
    ours = _jobs(store, 4)
    theirs = _jobs(store, 1, site="http://other.example")
    refused = ours[1]
    for job in ours[:3]:
        assert gate.admit(Ticket(job, KEY, SITE, daily_cap=2), Limits()).admitted
        if job == refused:
            gate.released(job, submitted=False)  # a refused submission is not counted
    held = gate.admit(Ticket(ours[3], KEY, SITE, daily_cap=2), Limits())
    assert (held.hold, held.resume_at) == (Hold.DAILY_CAP, clock.now + 3600)
    assert 3600 <= held.delay <= 3660
    assert gate.admit(
        Ticket(theirs[0], KEY, "http://other.example", daily_cap=2), Limits()
    ).admitted
    assert gate.admit(Ticket(ours[3], KEY, SITE, daily_cap=0), Limits()).admitted  # no cap
    clock.now += 3600
    assert gate.admit(Ticket(refused, KEY, SITE, daily_cap=2), Limits()).admitted


def test_the_gate_keeps_no_key_in_the_database(tmp_path: Path, make_gate: GateMaker) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    gate = make_gate(store)
    (job,) = _jobs(store, 1)
    ticket = Ticket(job, key_id("segmind", "sg_very_secret"), SITE)
    gate.admit(ticket, Limits(max_concurrency=1, rate=RateLimit(1, 1.0)))
    gate.accepted(job)
    gate.released(job, submitted=True)
    gate.out_of_credits(ticket, Limits())
    if isinstance(make_gate, _RedisGates):
        dump = _redis_dump(make_gate.client, make_gate.prefix)
    else:
        dump = "\n".join(sqlite3.connect(store.path).iterdump())
    assert "sg_very_secret" not in dump and ticket.key in dump


def _redis_dump(client: redis.Redis, prefix: str) -> str:
    """Every key under ``prefix`` with its content, as text."""
    lines = []
    for name in client.scan_iter(f"{prefix}*"):
        kind = client.type(name)
        content: object = {
            "string": client.get,
            "hash": client.hgetall,
            "list": lambda n: client.lrange(n, 0, -1),
            "set": client.smembers,
            "zset": lambda n: client.zrange(n, 0, -1, withscores=True),
        }[kind](name)
        lines.append(f"{name!r} {content!r}")
    return "\n".join(lines)


def test_a_job_held_for_a_slot_learns_when_the_oldest_run_should_end(
    tmp_path: Path, make_gate: GateMaker
) -> None:
    clock = Clock()
    store = JobStore(tmp_path / "jobs.sqlite3")
    gate = make_gate(store, clock=clock)
    done, running, next_one, after_it = _jobs(store, 4)
    limits = Limits(max_concurrency=1)
    assert gate.admit(Ticket(done, KEY, SITE), limits).admitted
    gate.accepted(done)
    clock.now += 10  # the key's runs take 10 s
    gate.released(done, submitted=True)
    assert gate.admit(Ticket(running, KEY, SITE), limits).admitted
    gate.accepted(running)
    clock.now += 2
    held = gate.admit(Ticket(next_one, KEY, SITE), limits)
    assert (held.hold, held.delay) == (Hold.CONCURRENCY, pytest.approx(8.0))
    assert (job := store.get(next_one)) is not None and job.held == "concurrency"  # GET /jobs
    behind = gate.admit(Ticket(after_it, KEY, SITE), limits)  # one run later than the first
    assert (behind.hold, behind.delay) == (Hold.CONCURRENCY, pytest.approx(18.0))


def test_a_job_admitted_twice_counts_once_for_the_daily_cap(
    tmp_path: Path, make_gate: GateMaker
) -> None:
    clock = Clock()
    store = JobStore(tmp_path / "jobs.sqlite3")
    gate = make_gate(store, clock=clock)
    again, other, third = _jobs(store, 3)
    assert gate.admit(Ticket(again, KEY, SITE, daily_cap=2), Limits()).admitted
    clock.now += 100  # its worker died before the provider answered; the job runs again
    assert gate.admit(Ticket(again, KEY, SITE, daily_cap=2), Limits()).admitted
    assert gate.admit(Ticket(other, KEY, SITE, daily_cap=2), Limits()).admitted
    assert gate.admit(Ticket(third, KEY, SITE, daily_cap=2), Limits()).hold == Hold.DAILY_CAP


def test_every_process_shares_the_credits_pause_and_its_probe(
    tmp_path: Path, make_gate: GateMaker
) -> None:
    clock = Clock()
    store = JobStore(tmp_path / "jobs.sqlite3")
    one, other = make_gate(store, clock=clock), make_gate(store, clock=clock)
    refused, probe = _jobs(store, 2)
    limits = Limits(credits_recheck=60)
    assert one.admit(Ticket(refused, KEY, SITE), limits).admitted
    one.out_of_credits(Ticket(refused, KEY, SITE), limits)
    assert other.admit(Ticket(probe, KEY, SITE), limits).hold == Hold.CREDITS
    clock.now += 60
    assert other.admit(Ticket(probe, KEY, SITE), limits).admitted
    assert one.admit(Ticket(refused, KEY, SITE), limits).hold == Hold.CREDITS
    other.accepted(probe)
    assert one.admit(Ticket(refused, KEY, SITE), limits).admitted


def test_redis_frees_an_accepted_runs_slot_after_the_ceiling_when_nobody_can_tell(
    redis_client: redis.Redis,
) -> None:
    clock = Clock()
    gate = RedisGate(redis_client, prefix=_prefix(), clock=clock, run_ceiling=600)
    limits = Limits(max_concurrency=1)
    assert gate.admit(Ticket("lost", KEY, SITE), limits).admitted
    gate.accepted("lost")  # its end is never reported, and no job store can say it ended
    clock.now += 599
    assert gate.admit(Ticket("next", KEY, SITE), limits).hold == Hold.CONCURRENCY
    clock.now += 2
    assert gate.admit(Ticket("next", KEY, SITE), limits).admitted


def test_redis_gates_with_other_prefixes_share_nothing(redis_client: redis.Redis) -> None:
    clock = Clock()
    ours = RedisGate(redis_client, prefix=_prefix(), clock=clock)
    theirs = RedisGate(redis_client, prefix=_prefix(), clock=clock)
    limits = Limits(max_concurrency=1)
    assert ours.admit(Ticket("a", KEY, SITE), limits).admitted
    assert ours.admit(Ticket("b", KEY, SITE), limits).hold == Hold.CONCURRENCY
    assert theirs.admit(Ticket("b", KEY, SITE), limits).admitted
    assert _redis_dump(redis_client, ours.prefix) and _redis_dump(redis_client, theirs.prefix)


def test_redis_keeps_the_slots_and_the_credits_pause_across_a_crash(tmp_path: Path) -> None:
    clock = Clock()
    server = LocalRedis(tmp_path / "redis")
    server.start()
    try:
        gate = RedisGate(server.url, clock=clock)
        limits = Limits(max_concurrency=1)
        assert gate.admit(Ticket("running", KEY, SITE), limits).admitted
        gate.accepted("running")
        assert gate.admit(Ticket("refused", "segmind:other", SITE), limits).admitted
        gate.out_of_credits(Ticket("refused", "segmind:other", SITE), limits)
        server.kill()  # SIGKILL: what Redis wrote before answering is all there is
        server.start()
        gate = RedisGate(server.url, clock=clock)
        assert gate.admit(Ticket("next", KEY, SITE), limits).hold == Hold.CONCURRENCY
        assert gate.admit(Ticket("next", "segmind:other", SITE), limits).hold == Hold.CREDITS
    finally:
        server.stop()


def test_the_redis_gate_works_with_the_job_record_in_redis(
    tmp_path: Path, redis_client: redis.Redis
) -> None:
    store = RedisJobStore(redis_client, prefix=_prefix())
    gate = redis_gate(redis_client, store=store, prefix=store.prefix)
    running, waiting = (
        store.create(NewJob(f"msg_{i}", SITE, i, "post", "T", "E", "t"))[0].id for i in (1, 2)
    )
    limits = Limits(max_concurrency=1)
    assert gate.admit(Ticket(running, KEY, SITE), limits).admitted
    gate.accepted(running)
    assert gate.admit(Ticket(waiting, KEY, SITE), limits).hold == Hold.CONCURRENCY
    assert (job := store.get(waiting)) is not None and job.held == "concurrency"
    store.update(running, state=JobState.FAILED)  # the provider failed it; nobody released it
    assert gate.admit(Ticket(waiting, KEY, SITE), limits).admitted
