"""Backfill runs kept in Redis, beside the job record of ``bridge.redis_store``.

The same behaviour as :class:`bridge.backfill.RunStore` (:class:`bridge.backfill.Runs`): the
feeder's ``take``, ``pause``, ``resume`` and ``cancel`` are each one Lua script that reads and
changes the runs and their jobs' records together, so two feeders never hand out more than
the window and a cancel never races a take. Keys, after the job record's prefix (``fib:``):

``run:ID``            HASH the run: site_url, state, post_types, post_limit, options, listed,
                      request_id, skipped, created_at, updated_at
``run:ID:jobs``       LIST the run's jobs, in the order they were listed
``run:ID:waiting``    LIST its jobs not handed to the queue yet, in order
``runs:open``         ZSET running and paused runs → created_at (oldest is fed first)
``run_request:RID``   STRING the run a start request (its ``webhook-id``) made
``backfill:active``   SET backfill jobs handed to the queue and not seen to end

The scripts read and write job records (``job:ID``) by the layout of ``bridge.redis_store``
and keep its indexes with its ``reindex``; like it, one Redis, not a Cluster.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, cast

from bridge.backfill import (
    BATCH,
    MissingPost,
    RunConflict,
    RunProgress,
    Runs,
    RunState,
    backfill_job,
)
from bridge.jobs import ACTIVE_STATES, JobState, NewJob
from bridge.options import GenerationOptions
from bridge.redis_store import LUA_COMMON, RedisJobStore

_RUNS = (
    LUA_COMMON
    + """
local P = ARGV[1]
local function run_key(id) return P .. 'run:' .. id end
local function job_state(id) return redis.call('HGET', P .. 'job:' .. id, 'state') end
local ACTIVE_JOB = {queued = true, generating = true, uploading = true}

-- The run and how many of its jobs are in each state: {run fields, states and counts, the
-- latest change}.
local function progress(id)
  local run = redis.call('HGETALL', run_key(id))
  if #run == 0 then return false end
  local counts, latest = {}, tonumber(redis.call('HGET', run_key(id), 'updated_at'))
  for _, job in ipairs(redis.call('LRANGE', run_key(id) .. ':jobs', 0, -1)) do
    local f = redis.call('HMGET', P .. 'job:' .. job, 'state', 'updated_at')
    if f[1] then
      counts[f[1]] = (counts[f[1]] or 0) + 1
      local at = tonumber(f[2])
      if at > latest then latest = at end
    end
  end
  local flat = {}
  for state, n in pairs(counts) do
    table.insert(flat, state)
    table.insert(flat, n)
  end
  return {run, flat, stamp(latest)}
end

-- The backfill jobs under way, run by run; forgets those that ended.
local function under_way()
  local by_run, total = {}, 0
  for _, job in ipairs(redis.call('SMEMBERS', P .. 'backfill:active')) do
    local f = redis.call('HMGET', P .. 'job:' .. job, 'state', 'run_id')
    if f[1] and ACTIVE_JOB[f[1]] then
      total = total + 1
      if f[2] then by_run[f[2]] = (by_run[f[2]] or 0) + 1 end
    else
      redis.call('SREM', P .. 'backfill:active', job)
    end
  end
  return by_run, total
end

-- Marks as done the listed runs that have no job waiting or under way.
local function close_finished()
  local by_run = under_way()
  for _, id in ipairs(redis.call('ZRANGE', P .. 'runs:open', 0, -1)) do
    local key = run_key(id)
    if redis.call('HGET', key, 'listed') == '1' and redis.call('LLEN', key .. ':waiting') == 0
        and not by_run[id] then
      redis.call('HSET', key, 'state', 'done', 'updated_at', stamp(now()))
      redis.call('ZREM', P .. 'runs:open', id)
    end
  end
end
"""
)

_CREATE = (
    _RUNS
    + """
-- ARGV: prefix, run id, request id ('' for none), then the run's field/value pairs.
-- Returns the run id: a new one, or the one this start request made before.
local id, request = ARGV[2], ARGV[3]
if request ~= '' then
  local earlier = redis.call('GET', P .. 'run_request:' .. request)
  if earlier then return earlier end
  redis.call('SET', P .. 'run_request:' .. request, id)
end
local at = now()
redis.call('HSET', run_key(id), 'id', id, 'state', 'running', 'listed', '0', 'skipped', '0',
  'created_at', stamp(at), 'updated_at', stamp(at))
if request ~= '' then redis.call('HSET', run_key(id), 'request_id', request) end
for i = 4, #ARGV, 2 do redis.call('HSET', run_key(id), ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', P .. 'runs:open', stamp(at), id)
return id
"""
)

_RECORD = (
    _RUNS
    + """
-- ARGV: prefix, run id, posts skipped in this batch, the job ids made for it.
local key = run_key(ARGV[2])
for i = 4, #ARGV do
  redis.call('RPUSH', key .. ':jobs', ARGV[i])
  redis.call('RPUSH', key .. ':waiting', ARGV[i])
end
redis.call('HINCRBY', key, 'skipped', tonumber(ARGV[3]))
return 0
"""
)

_LISTED = (
    _RUNS
    + """
-- ARGV: prefix, run id. Every post is recorded: the run can end.
redis.call('HSET', run_key(ARGV[2]), 'listed', '1', 'updated_at', stamp(now()))
return progress(ARGV[2])
"""
)

_GET = (
    _RUNS
    + """
-- ARGV: prefix, run id.
return progress(ARGV[2])
"""
)

_MOVE = (
    _RUNS
    + """
-- ARGV: prefix, run id, new state, the cancelled jobs' error.
-- Returns {'none'}, {'conflict', progress} or {'moved', progress}.
local id, state = ARGV[2], ARGV[3]
local key = run_key(id)
local current = redis.call('HGET', key, 'state')
if not current then return {'none'} end
if current == 'cancelled' or current == 'done' then return {'conflict', progress(id)} end
redis.call('HSET', key, 'state', state, 'updated_at', stamp(now()))
if state == 'cancelled' then
  for _, job in ipairs(redis.call('LRANGE', key .. ':waiting', 0, -1)) do
    if job_state(job) == 'waiting' then
      redis.call('HSET', P .. 'job:' .. job, 'state', 'cancelled', 'error', ARGV[4],
        'updated_at', stamp(now()))
      reindex(P, job)
    end
  end
  redis.call('DEL', key .. ':waiting')
  redis.call('ZREM', P .. 'runs:open', id)
end
close_finished()
return {'moved', progress(id)}
"""
)

_TAKE = (
    _RUNS
    + """
-- ARGV: prefix, window. Returns the ids of the jobs it marked queued.
local _, active = under_way()
local free, taken = tonumber(ARGV[2]) - active, {}
if free > 0 then
  for _, id in ipairs(redis.call('ZRANGE', P .. 'runs:open', 0, -1)) do
    if redis.call('HGET', run_key(id), 'state') == 'running' then
      while free > 0 do
        local job = redis.call('LPOP', run_key(id) .. ':waiting')
        if not job then break end
        if job_state(job) == 'waiting' then
          redis.call('HSET', P .. 'job:' .. job, 'state', 'queued', 'updated_at', stamp(now()))
          reindex(P, job)
          redis.call('SADD', P .. 'backfill:active', job)
          table.insert(taken, job)
          free = free - 1
        end
      end
    end
    if free <= 0 then break end
  end
end
close_finished()
return taken
"""
)

_ACTIVE = (
    _RUNS
    + """
-- ARGV: prefix. Returns the backfill jobs under way, with when each was created.
under_way()
local found = {}
for _, job in ipairs(redis.call('SMEMBERS', P .. 'backfill:active')) do
  table.insert(found, job)
  table.insert(found, redis.call('HGET', P .. 'job:' .. job, 'created_at'))
end
return found
"""
)

_UNDER_WAY = (
    _RUNS
    + """
-- ARGV: prefix, site, then post ids. Returns those with a job waiting or under way.
local found = {}
for i = 3, #ARGV do
  for _, job in ipairs(redis.call('SMEMBERS', P .. 'post:' .. ARGV[i] .. ':' .. ARGV[2])) do
    local state = job_state(job)
    if state == 'waiting' or ACTIVE_JOB[state] then
      table.insert(found, ARGV[i])
      break
    end
  end
end
return found
"""
)


class RedisRunStore:
    """Backfill runs in Redis (see the module docstring); safe to share between threads."""

    def __init__(self, jobs: RedisJobStore) -> None:
        self._jobs = jobs
        self.prefix = jobs.prefix
        client = jobs.client
        self._create = client.register_script(_CREATE)
        self._record_batch = client.register_script(_RECORD)
        self._listed = client.register_script(_LISTED)
        self._get = client.register_script(_GET)
        self._move_script = client.register_script(_MOVE)
        self._take = client.register_script(_TAKE)
        self._active = client.register_script(_ACTIVE)
        self._under_way = client.register_script(_UNDER_WAY)

    @property
    def jobs(self) -> RedisJobStore:
        return self._jobs

    def create(
        self,
        site_url: str,
        posts: Iterable[MissingPost],
        *,
        post_types: Sequence[str],
        limit: int | None,
        options: GenerationOptions,
        request_id: str | None = None,
    ) -> RunProgress:
        """See ``RunStore.create``; the jobs are recorded ``BATCH`` at a time."""
        fields = ["site_url", site_url, "post_types", json.dumps(list(post_types))]
        fields += ["options", options.to_json()]
        if limit is not None:
            fields += ["post_limit", str(limit)]
        new_id = uuid.uuid4().hex
        run_id = _text(self._create(args=[self.prefix, new_id, request_id or "", *fields]))
        if run_id != new_id:  # this start request made a run before
            earlier = self.get(run_id)
            assert earlier is not None
            return earlier
        batch: list[NewJob] = []
        for post in posts:
            batch.append(backfill_job(run_id, site_url, post, options))
            if len(batch) == BATCH:
                self._record(batch, run_id)
                batch = []
        self._record(batch, run_id)
        progress = _progress(self._listed(args=[self.prefix, run_id]))
        assert progress is not None
        return progress

    def _record(self, batch: list[NewJob], run_id: str) -> None:
        made = self._jobs.create_many(batch, run_id=run_id)
        created = [job.id for job, new in made if new]
        skipped = len(made) - len(created)
        self._record_batch(args=[self.prefix, run_id, skipped, *created])

    def started_by(self, request_id: str) -> RunProgress | None:
        run_id = self._jobs.client.get(f"{self.prefix}run_request:{request_id}")
        return None if run_id is None else self.get(_text(run_id))

    def under_way(self, site_url: str, post_ids: Iterable[int]) -> set[int]:
        wanted = [str(post_id) for post_id in post_ids]
        found: set[int] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            answer = self._under_way(args=[self.prefix, site_url, *chunk])
            found.update(int(_text(post_id)) for post_id in answer)
        return found

    def get(self, run_id: str) -> RunProgress | None:
        return _progress(self._get(args=[self.prefix, run_id]))

    def pause(self, run_id: str) -> RunProgress | None:
        return self._move(run_id, RunState.PAUSED, "be paused")

    def resume(self, run_id: str) -> RunProgress | None:
        return self._move(run_id, RunState.RUNNING, "be resumed")

    def cancel(self, run_id: str) -> RunProgress | None:
        return self._move(run_id, RunState.CANCELLED, "be cancelled")

    def _move(self, run_id: str, state: RunState, action: str) -> RunProgress | None:
        error = "The backfill run was cancelled."
        outcome, *rest = self._move_script(args=[self.prefix, run_id, state.value, error])
        progress = _progress(rest[0]) if rest else None
        if _text(outcome) == "none" or progress is None:
            return None
        if _text(outcome) == "conflict":
            raise RunConflict(progress, action)
        return progress

    def take(self, window: int) -> list[str]:
        return [_text(job_id) for job_id in self._take(args=[self.prefix, window])]

    def active_job_ids(self) -> list[str]:
        flat = [_text(item) for item in self._active(args=[self.prefix])]
        created = {job_id: float(at or 0) for job_id, at in zip(flat[::2], flat[1::2], strict=True)}
        return sorted(created, key=lambda job_id: created[job_id])


def redis_run_store(jobs: RedisJobStore) -> Runs:
    """The backfill runs beside ``jobs``, the job record in Redis."""
    return RedisRunStore(jobs)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _progress(answer: Any) -> RunProgress | None:
    """A run from the ``progress`` function of the scripts (false: no such run)."""
    if not answer:
        return None
    flat_run, flat_counts, latest = cast(list[Any], answer)
    run = {_text(k): _text(v) for k, v in zip(flat_run[::2], flat_run[1::2], strict=True)}
    counts = {
        JobState(_text(state)): int(n)
        for state, n in zip(flat_counts[::2], flat_counts[1::2], strict=True)
    }
    unfinished = (JobState.WAITING, *ACTIVE_STATES)
    return RunProgress(
        id=run["id"],
        site_url=run["site_url"],
        state=RunState(run["state"]),
        post_types=tuple(json.loads(run["post_types"])),
        limit=int(run["post_limit"]) if "post_limit" in run else None,
        skipped=int(run["skipped"]),
        total=sum(counts.values()),
        done=counts.get(JobState.DONE, 0),
        failed=counts.get(JobState.FAILED, 0),
        cancelled=counts.get(JobState.CANCELLED, 0),
        remaining=sum(counts.get(state, 0) for state in unfinished),
        under_way=sum(counts.get(state, 0) for state in ACTIVE_STATES),
        created_at=float(run["created_at"]),
        updated_at=float(_text(latest)),
    )
