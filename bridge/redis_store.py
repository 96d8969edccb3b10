"""The job record in Redis, for web and worker processes on several machines.

Same behaviour as ``bridge.jobs.JobStore`` (SQLite); every write that must be atomic is one
Lua script, which Redis runs alone. Timestamps (``created_at``, ``updated_at``, lease times)
come from the Redis server's clock, so machines whose clocks differ still agree on them.

Keys (``prefix`` defaults to ``fib:``; one Redis or a primary with replicas, not a Cluster:
the scripts reach job keys found at run time):

- ``{prefix}job:{id}``: hash of the ``Job`` fields (a field that is None is absent), plus the
  lease fields ``lease_owner`` and ``lease_until`` (``bridge.redis_leases``).
- ``{prefix}webhook:{webhook_id}``: the job id a webhook made (idempotency).
- ``{prefix}post:{post_id}:{site_url}``: set of the ids of every job of the post.
- ``{prefix}active``: sorted set of active jobs (queued, generating, uploading) by
  ``created_at``; the sweep looks for stalled jobs among them.
- ``{prefix}finished:{provider}``: sorted set of the provider's done and failed jobs by
  ``updated_at``.
- ``{prefix}leases``: hash of lease owner → job id (``bridge.redis_leases``).
- ``{prefix}updated``: sorted set of every job by ``updated_at`` (``bridge jobs``).
- ``{prefix}counts``, ``{prefix}failed``: hashes of job counts by site and state, and of
  failed jobs by site and error kind (each field: the two joined by the unit separator,
  0x1F); ``{prefix}webhook_jobs``: jobs made by webhooks, by
  site; ``{prefix}last_error``: error kind → the latest job that failed with it. Kept by the
  scripts with every change, so ``/metrics`` reads them without a scan.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any, cast

import redis

from bridge.job_stats import LastError
from bridge.jobs import ACTIVE_STATES, Job, JobState, NewJob

DEFAULT_PREFIX = "fib:"
UNIT_SEPARATOR = "\x1f"
_COLUMNS = frozenset(f.name for f in fields(Job))
_INTS = frozenset({"post_id", "attempts", "attachment_id", "start_media"})
_FLOATS = frozenset({"created_at", "updated_at", "submitted_at", "provider_done_at"})
_BOOLS = frozenset({"replace_image", "start_media_generated"})

# Shared by the scripts: the server's clock, and the indexes that follow a job's state.
LUA_COMMON = """
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function stamp(value)
  return string.format('%.6f', value)
end
local ACTIVE = {queued = true, generating = true, uploading = true}
local FINISHED = {done = true, failed = true}
local SEP = string.char(31)
-- After a change of the job ``id`` (``old_state`` and ``old_kind``: before it; nil for a new
-- job): its place in the indexes and the counts by site, state and error kind.
local function reindex(prefix, id, old_state, old_kind)
  local job = prefix .. 'job:' .. id
  local f = redis.call('HMGET', job, 'state', 'created_at', 'provider', 'updated_at',
    'site_url', 'error_kind')
  redis.call('ZADD', prefix .. 'updated', f[4], id)
  if old_state ~= f[1] then
    if old_state then redis.call('HINCRBY', prefix .. 'counts', f[5] .. SEP .. old_state, -1) end
    redis.call('HINCRBY', prefix .. 'counts', f[5] .. SEP .. f[1], 1)
  end
  local before, after = old_kind or 'unknown', f[6] or 'unknown'
  if old_state == 'failed' and (f[1] ~= 'failed' or before ~= after) then
    redis.call('HINCRBY', prefix .. 'failed', f[5] .. SEP .. before, -1)
  end
  if f[1] == 'failed' and (old_state ~= 'failed' or before ~= after) then
    redis.call('HINCRBY', prefix .. 'failed', f[5] .. SEP .. after, 1)
    redis.call('HSET', prefix .. 'last_error', after, id)
  end
  if ACTIVE[f[1]] then
    redis.call('ZADD', prefix .. 'active', f[2], id)
  else
    redis.call('ZREM', prefix .. 'active', id)
  end
  if f[3] then
    if FINISHED[f[1]] then
      redis.call('ZADD', prefix .. 'finished:' .. f[3], f[4], id)
    else
      redis.call('ZREM', prefix .. 'finished:' .. f[3], id)
    end
  end
end
"""

_CREATE = (
    LUA_COMMON
    + """
-- KEYS: webhook key, post set. ARGV: prefix, new id, under-way states (space-separated),
-- replace_image, request, options, then the new job's field/value pairs.
local prefix, new_id = ARGV[1], ARGV[2]
local under = {}
for state in string.gmatch(ARGV[3], '%S+') do under[state] = true end
local best, best_at = nil, nil
local function consider(id)
  local f = redis.call('HMGET', prefix .. 'job:' .. id, 'created_at', 'state')
  if f[1] then
    local at = tonumber(f[1])
    if best == nil or at < best_at then best, best_at = id, at end
  end
end
local by_webhook = redis.call('GET', KEYS[1])
if by_webhook then consider(by_webhook) end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local state = redis.call('HGET', prefix .. 'job:' .. id, 'state')
  if state and under[state] then consider(id) end
end
if best then
  local job = prefix .. 'job:' .. best
  if ARGV[4] == '1' and redis.call('HGET', job, 'replace_image') ~= '1' then
    redis.call('HSET', job, 'replace_image', '1', 'request', ARGV[5], 'options', ARGV[6],
      'updated_at', stamp(now()))
  end
  return {0, redis.call('HGETALL', job)}
end
local job = prefix .. 'job:' .. new_id
local at = stamp(now())
redis.call('HSET', job, 'id', new_id, 'created_at', at, 'updated_at', at, 'attempts', '0',
  'start_media_generated', '0')
for i = 7, #ARGV, 2 do redis.call('HSET', job, ARGV[i], ARGV[i + 1]) end
redis.call('SET', KEYS[1], new_id)
redis.call('SADD', KEYS[2], new_id)
reindex(prefix, new_id, nil, nil)
local hook = redis.call('HGET', job, 'webhook_id')
if hook and hook:sub(1, 10) ~= 'reconcile:' and hook:sub(1, 9) ~= 'backfill:' then
  redis.call('HINCRBY', prefix .. 'webhook_jobs', redis.call('HGET', job, 'site_url'), 1)
end
return {1, redis.call('HGETALL', job)}
"""
)

_UPDATE = (
    LUA_COMMON
    + """
-- KEYS: the job. ARGV: prefix, id, number of pairs to set, the pairs, then fields to clear.
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local old = redis.call('HMGET', KEYS[1], 'state', 'error_kind')
local count = tonumber(ARGV[3])
for i = 4, 3 + 2 * count, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
for i = 4 + 2 * count, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
redis.call('HSET', KEYS[1], 'updated_at', stamp(now()))
reindex(ARGV[1], ARGV[2], old[1] or nil, old[2] or nil)
return redis.call('HGETALL', KEYS[1])
"""
)


def connect(url: str) -> redis.Redis:
    """A client for ``url`` (a pool of connections, safe across threads and forks), with
    explicit timeouts so no call waits forever on a server that went away."""
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=10,
        socket_connect_timeout=5,
        health_check_interval=30,
        retry_on_timeout=True,
    )


class RedisJobStore:
    """Job records in Redis (see the module docstring); safe to share between threads."""

    def __init__(self, client: redis.Redis, prefix: str = DEFAULT_PREFIX):
        self.client = client
        self.prefix = prefix
        self._create = client.register_script(_CREATE)
        self._update = client.register_script(_UPDATE)

    def create(self, new: NewJob, *, run_id: str | None = None) -> tuple[Job, bool]:
        """See ``JobStore.create``: a repeated ``webhook_id`` or a post with a job under way
        returns that job with ``False``; the check and the insert are one script."""
        keys, args = self._create_call(new, run_id)
        created, flat = self._create(keys=keys, args=args)
        return _job(_pairs(flat)), bool(created)

    def create_many(
        self, news: Iterable[NewJob], *, run_id: str | None = None
    ) -> list[tuple[Job, bool]]:
        """``create`` for each job, all in one MULTI/EXEC transaction."""
        pipe = self.client.pipeline(transaction=True)
        for new in news:
            keys, args = self._create_call(new, run_id)
            self._create(keys=keys, args=args, client=pipe)
        return [(_job(_pairs(flat)), bool(created)) for created, flat in pipe.execute()]

    def _create_call(self, new: NewJob, run_id: str | None) -> tuple[list[str], list[Any]]:
        """The keys and arguments of the create script for ``new``."""
        under_way = (*ACTIVE_STATES, JobState.WAITING) if run_id else ACTIVE_STATES
        values: dict[str, Any] = {
            "webhook_id": new.webhook_id,
            "site_url": new.site_url,
            "post_id": new.post_id,
            "post_type": new.post_type,
            "title": new.title,
            "excerpt": new.excerpt,
            "slug": new.slug,
            "state": JobState.WAITING if run_id else JobState.QUEUED,
            "request": new.request,
            "replace_image": new.replace_image,
            "context": new.context,
            "options": new.options,
            "run_id": run_id,
        }
        pairs = [
            item
            for name, value in values.items()
            if value is not None
            for item in (name, _encode(value))
        ]
        keys = [self._key("webhook", new.webhook_id), self._post_key(new.site_url, new.post_id)]
        args = [
            self.prefix,
            uuid.uuid4().hex,
            " ".join(under_way),
            _encode(new.replace_image),
            new.request,
            new.options,
            *pairs,
        ]
        return keys, args

    def get(self, job_id: str) -> Job | None:
        values = cast(Mapping[str, str], self.client.hgetall(self._key("job", job_id)))
        return _job(values) if values else None

    def update(self, job_id: str, **changes: Any) -> Job:
        """Sets the given fields (and ``updated_at``); returns the job as stored."""
        unknown = set(changes) - _COLUMNS
        if unknown:
            raise ValueError(f"unknown job fields: {sorted(unknown)}")
        changes.pop("updated_at", None)
        setting = {name: value for name, value in changes.items() if value is not None}
        clearing = [name for name, value in changes.items() if value is None]
        pairs = [item for name, value in setting.items() for item in (name, _encode(value))]
        flat = self._update(
            keys=[self._key("job", job_id)],
            args=[self.prefix, job_id, len(setting), *pairs, *clearing],
        )
        if not flat:
            raise KeyError(job_id)
        return _job(_pairs(flat))

    def note(self, job_id: str, **changes: Any) -> None:
        """As :meth:`update`: Redis's ``appendfsync`` says when any write is on disk."""
        self.update(job_id, **changes)

    def last_finished(self, *, provider: str, provider_key: str | None = None) -> Job | None:
        """The most recent job of ``provider`` that ended (done or failed), if any; with
        ``provider_key``, only among the last 200 that ended, those the gate let through
        with that key."""
        finished = self._key("finished", provider)
        ids = cast(list[str], self.client.zrevrange(finished, 0, 0 if provider_key else 199))
        for job_id in ids:
            job = self.get(job_id)
            if job is not None and (provider_key is None or job.provider_key == provider_key):
                return job
        return None

    def has_job(self, site_url: str, post_id: int) -> bool:
        """Whether the post ever had a job (any state)."""
        return bool(self.client.exists(self._post_key(site_url, post_id)))

    def ping(self) -> None:
        """Raises ``redis.RedisError`` if the server cannot be reached."""
        self.client.ping()

    def counts_by_site_state(self) -> dict[str, dict[str, int]]:
        """``{site_url: {state: jobs}}`` for every site that has jobs."""
        counts: dict[str, dict[str, int]] = {}
        for (site, state), n in self._counts("counts").items():
            if n:
                counts.setdefault(site, {})[state] = n
        return counts

    def failed_by_site_kind(self) -> dict[tuple[str, str], int]:
        """``{(site_url, error kind): failed jobs}`` (kind ``unknown`` when none was recorded)."""
        return {key: n for key, n in self._counts("failed").items() if n}

    def webhook_jobs_by_site(self) -> dict[str, int]:
        """``{site_url: jobs}`` made by a webhook (not by a backfill run or the reconciliation)."""
        raw = cast(dict[str, str], self.client.hgetall(f"{self.prefix}webhook_jobs"))
        return {site: int(n) for site, n in raw.items()}

    def last_errors(self) -> list[LastError]:
        """For each error kind, the latest failed job (newest kind first)."""
        latest = cast(dict[str, str], self.client.hgetall(f"{self.prefix}last_error"))
        errors = []
        for kind, job_id in latest.items():
            job = self.get(job_id)
            if job is not None and job.state == JobState.FAILED:
                errors.append(
                    LastError(
                        kind, job.id, job.site_url, job.post_id, job.error or "", job.updated_at
                    )
                )
        return sorted(errors, key=lambda error: error.at, reverse=True)

    def recent_jobs(
        self,
        *,
        state: str | None = None,
        site: str | None = None,
        post_id: int | None = None,
        limit: int = 20,
    ) -> list[Job]:
        """The most recently changed jobs, newest first, with the given state, site and post."""
        found: list[Job] = []
        start, page = 0, 200
        while len(found) < limit:
            ids = cast(
                list[str], self.client.zrevrange(f"{self.prefix}updated", start, start + page - 1)
            )
            if not ids:
                break
            for job_id in ids:
                job = self.get(job_id)
                if job is None or (state is not None and job.state != state):
                    continue
                if (site is not None and job.site_url != site) or (
                    post_id is not None and job.post_id != post_id
                ):
                    continue
                found.append(job)
                if len(found) == limit:
                    break
            start += page
        return found

    def _counts(self, name: str) -> dict[tuple[str, str], int]:
        raw = cast(dict[str, str], self.client.hgetall(f"{self.prefix}{name}"))
        counts = {}
        for key, n in raw.items():
            site, _, label = key.rpartition(UNIT_SEPARATOR)
            counts[(site, label)] = int(n)
        return counts

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}{kind}:{name}"

    def _post_key(self, site_url: str, post_id: int) -> str:
        return f"{self.prefix}post:{post_id}:{site_url}"


def _encode(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _pairs(flat: list[str]) -> dict[str, str]:
    """``HGETALL`` as a Lua script returns it (a flat list) as a mapping."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _job(values: Mapping[str, str]) -> Job:
    decoded: dict[str, Any] = {}
    for name in _COLUMNS:
        raw = values.get(name)
        if raw is None:
            continue
        if name in _INTS:
            decoded[name] = int(raw)
        elif name in _FLOATS:
            decoded[name] = float(raw)
        elif name in _BOOLS:
            decoded[name] = raw == "1"
        elif name == "state":
            decoded[name] = JobState(raw)
        else:
            decoded[name] = raw
    for name in ("webhook_id", "provider", "provider_ref", "image_path", "attachment_id",
                 "error", "start_media", "error_kind"):  # fmt: skip
        decoded.setdefault(name, None)
    return Job(**decoded)
