"""The provider-key gate kept in Redis, for web and worker processes on several machines.

It behaves as :class:`bridge.gate.SqliteGate` does (same holds, same waits), but cannot derive
what is in flight from the job records: it keeps its own record of each job's submission
(``bridge.redis_gate_scripts`` lists the keys). Every decision is one Lua script, so Redis runs
it alone. Times come from Redis's clock, the one every machine agrees on.

What SqliteGate read from and wrote to the job records, this gate learns and tells otherwise:

- a claim the provider never answered stops counting after ``claim_seconds``, as there;
- a job that ended without telling the gate (a provider failure after it accepted the job,
  a cancellation) is found by ``in_flight``: when a key is at its cap, the gate asks it about
  each job holding a slot and frees the slots of jobs that ended; ``run_ceiling`` bounds an
  accepted run's slot when nobody can tell;
- why a job is held (the job's ``held``, shown by ``GET /jobs/<id>``) is written by
  ``on_hold``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import redis

from bridge import redis_gate_scripts as scripts
from bridge.gate import CREDITS_RECHECK_MAX, Admission, Gate, Hold, Limits, Ticket, _spread
from bridge.jobs import Job, JobState

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "fib:"
_IN_FLIGHT_STATES = (JobState.QUEUED, JobState.GENERATING)


class GateJobs(Protocol):
    """What :func:`redis_gate` needs of a job store (``JobStore`` has it)."""

    def get(self, job_id: str) -> Job | None: ...

    def update(self, job_id: str, **changes: Any) -> Job: ...


def job_in_flight(store: GateJobs) -> Callable[[str], bool]:
    """Whether a job can still hold a provider slot (queued or generating), from the store."""

    def in_flight(job_id: str) -> bool:
        job = store.get(job_id)
        return job is not None and job.state in _IN_FLIGHT_STATES

    return in_flight


class RedisGate:
    """The gate in Redis (see the module docstring); implements :class:`bridge.gate.Gate`.

    ``client``: a ``redis.Redis`` or a ``redis://`` URL. ``prefix`` starts every key (``fib:``
    as the job record's; tests give each their own). ``on_slot_free`` is called with the key
    when a job of this process frees a slot. ``in_flight`` says whether a job can still hold a
    slot (see :func:`job_in_flight`). ``on_hold`` is called with a job held back and why.
    ``clock``: for tests; by default Redis's own.
    """

    def __init__(
        self,
        client: redis.Redis | str,
        *,
        prefix: str = DEFAULT_PREFIX,
        on_slot_free: Callable[[str], None] | None = None,
        in_flight: Callable[[str], bool] | None = None,
        on_hold: Callable[[str, Hold], None] | None = None,
        on_admitted: Callable[[Ticket], None] | None = None,
        run_ceiling: float = 86400.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.client = redis.Redis.from_url(client) if isinstance(client, str) else client
        self.prefix = prefix
        self._on_slot_free = on_slot_free
        self._in_flight = in_flight
        self._on_hold = on_hold
        self._on_admitted = on_admitted
        self._run_ceiling = run_ceiling
        self._clock = clock
        self._admit = self.client.register_script(scripts.ADMIT)
        self._accepted = self.client.register_script(scripts.ACCEPTED)
        self._released = self.client.register_script(scripts.RELEASED)
        self._out_of_credits = self.client.register_script(scripts.OUT_OF_CREDITS)
        self._forget = self.client.register_script(scripts.FORGET)

    def _args(self, *rest: object) -> list[str]:
        now = repr(float(self._clock())) if self._clock is not None else ""
        return [self.prefix, now, *(str(arg) for arg in rest)]

    def admit(self, ticket: Ticket, limits: Limits) -> Admission:
        rate = limits.rate
        args = self._args(
            ticket.job_id,
            ticket.key,
            ticket.site_url,
            ticket.daily_cap,
            limits.max_concurrency,
            rate.count if rate else 0,
            repr(rate.window) if rate else 0,
            repr(float(limits.claim_seconds)),
            repr(float(self._run_ceiling)),
        )
        reason, wait, resume_at, others = _decode(self._admit(args=args))
        if reason == Hold.CONCURRENCY and self._in_flight is not None:
            ended = [job_id for job_id in others if not self._in_flight(job_id)]
            if ended:
                # Their jobs ended without telling the gate: their slots are free.
                self._forget(args=self._args(ticket.key, *ended))
                reason, wait, resume_at, others = _decode(self._admit(args=args))
        if reason == "admitted":
            if self._on_admitted is not None:
                self._on_admitted(ticket)
            return Admission.yes()
        hold = Hold(reason)
        if self._on_hold is not None:
            self._on_hold(ticket.job_id, hold)
        delay = float(wait)
        if hold is Hold.DAILY_CAP:
            delay = _spread(delay, 60.0)
        elif hold is Hold.CREDITS:
            delay = _spread(delay)
        return Admission(False, hold, delay, float(resume_at))

    def accepted(self, job_id: str) -> None:
        if self._accepted(args=self._args(job_id)):
            log.info("provider key has credits again (job %s was accepted); resuming", job_id)

    def released(self, job_id: str, *, submitted: bool) -> None:
        key = self._released(args=self._args(job_id, "1" if submitted else "0"))
        if key and self._on_slot_free is not None:
            self._on_slot_free(_text(key))

    def out_of_credits(self, ticket: Ticket, limits: Limits) -> Admission:
        longest = max(CREDITS_RECHECK_MAX, limits.credits_recheck)
        args = self._args(
            ticket.job_id,
            ticket.key,
            ticket.site_url,
            repr(float(limits.credits_recheck)),
            repr(float(longest)),
        )
        what, until, now, step = (_text(part) for part in self._out_of_credits(args=args))
        if what == "paused":
            log.warning("provider key has no credits; paused for %.0f s", float(step))
        elif what == "still":
            log.warning("provider key still has no credits; next check in %.0f s", float(step))
        wait = float(until) - float(now)
        return Admission(False, Hold.CREDITS, _spread(wait), float(until))


def redis_gate(
    client: redis.Redis,
    *,
    store: GateJobs,
    on_slot_free: Callable[[str], None] | None = None,
    prefix: str = DEFAULT_PREFIX,
    clock: Callable[[], float] | None = None,
) -> Gate:
    """The gate of every process sharing ``client``'s Redis. ``store``: the job store, which
    says which jobs ended and keeps why a job is held (see :class:`RedisGate`); ``clock``: for
    tests, by default Redis's own."""

    def note_hold(job_id: str, hold: Hold) -> None:
        store.update(job_id, held=hold.value)

    def note_key(ticket: Ticket) -> None:
        # As SqliteGate does: the connection test asks about the last job of each key.
        store.update(ticket.job_id, provider_key=ticket.key)

    return RedisGate(
        client,
        prefix=prefix,
        on_slot_free=on_slot_free,
        in_flight=job_in_flight(store),
        on_hold=note_hold,
        on_admitted=note_key,
        clock=clock,
    )


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _decode(answer: object) -> tuple[str, str, str, list[str]]:
    """The admit script's answer: reason, wait, resume time and the job ids in flight."""
    if not isinstance(answer, list) or len(answer) != 4:
        raise TypeError(f"unexpected answer from the gate's admit script: {answer!r}")
    reason, wait, resume_at, others = answer
    ids: Iterable[object] = others if isinstance(others, list) else []
    return _text(reason), _text(wait), _text(resume_at), [_text(i) for i in ids]
