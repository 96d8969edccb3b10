"""Job leases in Redis: the same rules as ``bridge.leases.Leases``, one Lua script per step.

The lease is two fields of the job's hash (``lease_owner``, ``lease_until``, in the Redis
server's clock), and ``{prefix}leases`` maps each owner to its job so a heartbeat renews by
owner. Workers run on several machines, so a dead worker is never recognised by its process
id: its leases stop being renewed, run out, and the sweep takes its jobs.
"""

from __future__ import annotations

import redis

from bridge.redis_store import DEFAULT_PREFIX, LUA_COMMON

_CLAIM = (
    LUA_COMMON
    + """
-- KEYS: job, leases. ARGV: job id, owner, seconds.
local f = redis.call('HMGET', KEYS[1], 'state', 'lease_owner', 'lease_until')
if not ACTIVE[f[1]] then return 0 end
local t = now()
if f[2] and f[2] ~= ARGV[2] and f[3] and tonumber(f[3]) >= t then return 0 end
if f[2] and f[2] ~= ARGV[2] then redis.call('HDEL', KEYS[2], f[2]) end
redis.call('HSET', KEYS[1], 'lease_owner', ARGV[2], 'lease_until', stamp(t + tonumber(ARGV[3])))
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
return 1
"""
)

_RENEW = (
    LUA_COMMON
    + """
-- KEYS: leases. ARGV: prefix, seconds, owners...
local deadline = stamp(now() + tonumber(ARGV[2]))
for i = 3, #ARGV do
  local id = redis.call('HGET', KEYS[1], ARGV[i])
  if id then
    local job = ARGV[1] .. 'job:' .. id
    if redis.call('HGET', job, 'lease_owner') == ARGV[i] then
      redis.call('HSET', job, 'lease_until', deadline)
    else
      redis.call('HDEL', KEYS[1], ARGV[i])
    end
  end
end
return 0
"""
)

_RELEASE = (
    LUA_COMMON
    + """
-- KEYS: job, leases. ARGV: owner, wait.
if redis.call('HGET', KEYS[1], 'lease_owner') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'lease_owner')
  redis.call('HSET', KEYS[1], 'lease_until', stamp(now() + tonumber(ARGV[2])))
end
redis.call('HDEL', KEYS[2], ARGV[1])
return 0
"""
)

_TAKE_STALLED = (
    LUA_COMMON
    + """
-- KEYS: active, leases. ARGV: prefix, grace, limit.
local t, grace, limit = now(), tonumber(ARGV[2]), tonumber(ARGV[3])
local taken = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if #taken >= limit then break end
  local job = ARGV[1] .. 'job:' .. id
  local f = redis.call('HMGET', job, 'state', 'lease_until', 'updated_at', 'lease_owner')
  local deadline = tonumber(f[2])
  local stalled = (deadline and deadline < t) or (deadline == nil and tonumber(f[3]) < t - grace)
  if ACTIVE[f[1]] and stalled then
    if f[4] then redis.call('HDEL', KEYS[2], f[4]) end
    redis.call('HDEL', job, 'lease_owner')
    redis.call('HSET', job, 'lease_until', stamp(t + grace))
    taken[#taken + 1] = id
  end
end
return taken
"""
)


class RedisLeases:
    """Job leases in Redis (see the module docstring); safe to share between threads."""

    def __init__(self, client: redis.Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self.client = client
        self.prefix = prefix
        self._claim = client.register_script(_CLAIM)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._take_stalled = client.register_script(_TAKE_STALLED)

    def claim(self, job_id: str, owner: str, seconds: float) -> bool:
        """Takes the lease of an active job for ``owner``; False when another live worker holds
        it or the job has ended. A queued lease (no owner) or an expired one can be taken."""
        taken = self._claim(keys=[self._job(job_id), self._leases], args=[job_id, owner, seconds])
        return bool(taken)

    def renew(self, owners: list[str], seconds: float) -> None:
        """Extends the leases these owners hold (the worker's heartbeat)."""
        if owners:
            self._renew(keys=[self._leases], args=[self.prefix, seconds, *owners])

    def release(self, job_id: str, owner: str, *, wait: float) -> None:
        """Gives the lease back: the job waits in the queue, expected to start within
        ``wait`` seconds."""
        self._release(keys=[self._job(job_id), self._leases], args=[owner, wait])

    def take_stalled(self, grace: float, limit: int = 100) -> list[str]:
        """Claims, atomically, active jobs whose lease ran out and marks them queued again
        for ``grace`` seconds; a job with no lease is stalled once ``grace`` seconds old.
        Redis runs one script at a time, so each stalled job goes to exactly one sweeper."""
        taken = self._take_stalled(
            keys=[f"{self.prefix}active", self._leases], args=[self.prefix, grace, limit]
        )
        return [str(job_id) for job_id in taken]

    def end_dead_owners(self) -> None:
        """Nothing: across machines a process id says nothing; dead workers' leases expire."""

    @property
    def _leases(self) -> str:
        return f"{self.prefix}leases"

    def _job(self, job_id: str) -> str:
        return f"{self.prefix}job:{job_id}"
