"""The Lua scripts of the Redis gate (``bridge.redis_gate``): each decision is one script, so
Redis runs it alone and two processes never take the last slot or token together.

Every script gets the key prefix (``fib:``) as ``ARGV[1]`` and the time as ``ARGV[2]`` (empty:
Redis's own clock, the one clock that every machine sharing the server agrees on). Keys, after
the prefix (``K`` is a provider key's :func:`bridge.gate.key_id`, never the key itself):

``gate:key:K:claims``    ZSET job → when the gate let it through; the provider has not answered
``gate:key:K:running``   ZSET job → when the provider accepted it; it runs there until released
``gate:key:K:arrivals``  ZSET job → when the submission reached the provider (the rate window)
``gate:key:K:held``      ZSET job → when it was last held for a free slot (the queue ahead)
``gate:key:K:runs``      LIST of the last 20 run times, newest first (the typical run)
``gate:key:K:pause``     HASH until, step, probe_job, probe_until: the key has no credits
``gate:site:SITE``       ZSET job → when its submission was let through (the daily cap)
``gate:job:ID``          HASH key, site, at (as in the sets above), done: the job's own record

The scripts name keys they find at run time (a job's key), so this needs one Redis or a primary
with replicas, not a Cluster, like the job record (``bridge.redis_store``).
"""

from __future__ import annotations

_PRELUDE = """
local P = ARGV[1]
local function kkey(key, part) return P .. 'gate:key:' .. key .. ':' .. part end
local function jkey(job) return P .. 'gate:job:' .. job end
local function skey(site) return P .. 'gate:site:' .. site end
local function num(x) return string.format('%.17g', x) end
local KEEP = 604800     -- a provider key nobody has used for a week leaves no trace
local JOB_KEEP = 172800 -- a job's record and a site's submissions: today's and yesterday's
local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function forget(key, job)
  for _, part in ipairs({'claims', 'running', 'arrivals', 'held'}) do
    redis.call('ZREM', kkey(key, part), job)
  end
end
"""

ADMIT = (
    _PRELUDE
    + """
-- ARGV: prefix, now, job, key, site, daily cap, max concurrency, rate count, rate window,
-- claim seconds, run ceiling. Returns {reason, wait, resume_at, job ids in flight}.
local job, key, site = ARGV[3], ARGV[4], ARGV[5]
local cap, most = tonumber(ARGV[6]), tonumber(ARGV[7])
local count, window = tonumber(ARGV[8]), tonumber(ARGV[9])
local claim, ceiling = tonumber(ARGV[10]), tonumber(ARGV[11])
local claims, running, arrivals = kkey(key, 'claims'), kkey(key, 'running'), kkey(key, 'arrivals')
local held, pause, day, record = kkey(key, 'held'), kkey(key, 'pause'), skey(site), jkey(job)
local HELD_FOR = 900  -- a held job asks again within 600 s (+ jitter); older entries are gone

local function hold(reason, wait, resume, ids)
  local old = redis.call('HGET', record, 'key')
  if old and old ~= key then forget(old, job) end
  redis.call('HSET', record, 'key', key)
  redis.call('EXPIRE', record, JOB_KEEP)
  if reason == 'concurrency' then
    redis.call('ZADD', held, num(now), job)
    redis.call('EXPIRE', held, KEEP)
  else
    redis.call('ZREM', held, job)
  end
  return {reason, num(wait), num(resume), ids or {}}
end

-- A claim the provider never answered within claim seconds: its worker is gone. A run
-- accepted longer ago than the ceiling: its end was never reported.
redis.call('ZREMRANGEBYSCORE', claims, '-inf', num(now - claim))
redis.call('ZREMRANGEBYSCORE', running, '-inf', num(now - ceiling))
local midnight = (math.floor(now / 86400) + 1) * 86400
redis.call('ZREMRANGEBYSCORE', day, '-inf', '(' .. num(midnight - 2 * 86400))

if cap > 0 then
  local today = redis.call('ZCOUNT', day, num(midnight - 86400), '+inf')
  local mine = tonumber(redis.call('ZSCORE', day, job))
  if mine and mine >= midnight - 86400 then today = today - 1 end
  if today >= cap then return hold('daily_cap', midnight - now, midnight) end
end

local paused = redis.call('HMGET', pause, 'until', 'step', 'probe_job', 'probe_until')
if paused[1] then
  local untl = tonumber(paused[1])
  if now < untl then return hold('credits', untl - now, untl) end
  local probe_until = tonumber(paused[4])
  if paused[3] and paused[3] ~= job and probe_until and now < probe_until then
    -- Another job is finding out whether the credits are back; ask again shortly.
    local wait = math.min(probe_until - now, math.max(tonumber(paused[2]) / 6, 1))
    return hold('credits', wait, now + wait)
  end
end

if most > 0 then
  local ids, oldest = {}, nil
  for _, set in ipairs({claims, running}) do
    local members = redis.call('ZRANGE', set, 0, -1, 'WITHSCORES')
    for i = 1, #members, 2 do
      if members[i] ~= job then
        table.insert(ids, members[i])
        local at = tonumber(members[i + 1])
        if oldest == nil or at < oldest then oldest = at end
      end
    end
  end
  if #ids >= most then
    -- When the oldest run should end, from how long the key's recent runs took, and one more
    -- run's time for every C jobs held before this one: the held jobs ask in turn.
    local runs, typical = redis.call('LRANGE', kkey(key, 'runs'), 0, 19), 5.0
    if #runs > 0 then
      local total = 0
      for _, run in ipairs(runs) do total = total + tonumber(run) end
      typical = total / #runs
    end
    redis.call('ZREMRANGEBYSCORE', held, '-inf', num(now - HELD_FOR))
    local ahead = redis.call('ZCARD', held)
    if redis.call('ZSCORE', held, job) then ahead = ahead - 1 end
    local first = math.min(math.max(oldest + typical - now, 0.25), 30.0)
    local wait = math.min(first + typical * math.floor(ahead / most), 600.0)
    return hold('concurrency', wait, now + wait, ids)
  end
end

-- A submission still on its way counts as arriving now, however long ago it was let
-- through: a slow request can reach the provider after later ones.
local function rate_wait()
  redis.call('ZREMRANGEBYSCORE', arrivals, '-inf', num(now - window))
  local live = redis.call('ZRANGEBYSCORE', claims, '(' .. num(now - claim), '+inf')
  if redis.call('ZCARD', arrivals) + #live < count then return nil end  -- tokens left
  local ats, on_way = {}, {}
  for _, other in ipairs(live) do
    if other ~= job then
      on_way[other] = true
      table.insert(ats, now)
    end
  end
  local recent = redis.call('ZRANGE', arrivals, 0, -1, 'WITHSCORES')
  for i = 1, #recent, 2 do
    if recent[i] ~= job and not on_way[recent[i]] then
      table.insert(ats, tonumber(recent[i + 1]))
    end
  end
  if #ats < count then return nil end
  -- The window frees a token when its oldest entries age out: enough of them to leave
  -- count - 1 behind.
  table.sort(ats)
  return math.max(ats[#ats - count + 1] + window - now, 0) + 0.001
end
if count > 0 then
  local wait = rate_wait()
  if wait then return hold('rate', wait, now + wait) end
end

if paused[1] then
  -- The pause is over: this job is the one that finds out whether the credits are back.
  redis.call('HSET', pause, 'probe_job', job, 'probe_until', num(now + claim))
end
local old = redis.call('HGET', record, 'key')
if old and old ~= key then forget(old, job) end
redis.call('ZREM', held, job)
redis.call('ZREM', running, job)
redis.call('ZADD', claims, num(now), job)
redis.call('ZADD', arrivals, num(now), job)
redis.call('ZADD', day, num(now), job)
redis.call('DEL', record)
redis.call('HSET', record, 'key', key, 'site', site, 'at', num(now))
redis.call('EXPIRE', record, JOB_KEEP)
redis.call('EXPIRE', claims, KEEP)
redis.call('EXPIRE', arrivals, KEEP)
redis.call('EXPIRE', day, JOB_KEEP)
return {'admitted', '0', num(now), {}}
"""
)

ACCEPTED = (
    _PRELUDE
    + """
-- ARGV: prefix, now, job. Returns 1 if the job's key was paused for credits (now resumed).
local job = ARGV[3]
local record = jkey(job)
local fields = redis.call('HMGET', record, 'key', 'site', 'at', 'done')
local key = fields[1]
if not key then return 0 end
-- The rate window counts from the provider's answer: later than the gate's own clock
-- started, so the window never closes early.
local at = math.max(tonumber(fields[3]) or 0, now)
redis.call('HSET', record, 'at', num(at))
redis.call('ZREM', kkey(key, 'claims'), job)
if not fields[4] then
  redis.call('ZADD', kkey(key, 'running'), num(at), job)
  redis.call('EXPIRE', kkey(key, 'running'), KEEP)
end
redis.call('ZADD', kkey(key, 'arrivals'), num(at), job)
if fields[2] then redis.call('ZADD', skey(fields[2]), num(at), job) end
return redis.call('DEL', kkey(key, 'pause'))
"""
)

RELEASED = (
    _PRELUDE
    + """
-- ARGV: prefix, now, job, '1' if the provider got the submission. Returns the job's key.
local job, submitted = ARGV[3], ARGV[4] == '1'
local record = jkey(job)
local fields = redis.call('HMGET', record, 'key', 'site', 'at')
local key = fields[1]
if not key then return false end
local flying = redis.call('ZSCORE', kkey(key, 'claims'), job)
  or redis.call('ZSCORE', kkey(key, 'running'), job)
redis.call('ZREM', kkey(key, 'claims'), job)
redis.call('ZREM', kkey(key, 'running'), job)
redis.call('ZREM', kkey(key, 'held'), job)
if submitted then
  redis.call('HSET', record, 'done', '1')
  if flying and fields[3] then
    local runs = kkey(key, 'runs')
    redis.call('LPUSH', runs, num(now - tonumber(fields[3])))
    redis.call('LTRIM', runs, 0, 19)
    redis.call('EXPIRE', runs, KEEP)
  end
else
  -- Never submitted: it counts neither for the rate nor for the site's day.
  redis.call('ZREM', kkey(key, 'arrivals'), job)
  if fields[2] then redis.call('ZREM', skey(fields[2]), job) end
  redis.call('HDEL', record, 'at')
end
-- A probe that ended without an answer about credits lets the next job probe.
local pause = kkey(key, 'pause')
if redis.call('HGET', pause, 'probe_job') == job then
  redis.call('HDEL', pause, 'probe_job', 'probe_until')
end
return key
"""
)

OUT_OF_CREDITS = (
    _PRELUDE
    + """
-- ARGV: prefix, now, job, key, site, first wait, longest wait.
-- Returns {what happened: 'paused', 'still' or 'waits', until, now, step}.
local job, key, site = ARGV[3], ARGV[4], ARGV[5]
local first, longest = tonumber(ARGV[6]), tonumber(ARGV[7])
local record, pause = jkey(job), kkey(key, 'pause')
forget(key, job)
redis.call('ZREM', skey(site), job)
redis.call('HDEL', record, 'at')
redis.call('HSET', record, 'key', key)
redis.call('EXPIRE', record, JOB_KEEP)
local paused = redis.call('HMGET', pause, 'until', 'step', 'probe_job')
if not paused[1] then
  redis.call('HSET', pause, 'until', num(now + first), 'step', num(first))
  return {'paused', num(now + first), num(now), num(first)}
end
if paused[3] == job then
  local step = math.min(tonumber(paused[2]) * 2, longest)
  redis.call('HSET', pause, 'until', num(now + step), 'step', num(step))
  redis.call('HDEL', pause, 'probe_job', 'probe_until')
  return {'still', num(now + step), num(now), num(step)}
end
-- Submitted before the pause began: it waits like the others.
return {'waits', num(math.max(tonumber(paused[1]), now)), num(now), paused[2]}
"""
)

FORGET = (
    _PRELUDE
    + """
-- ARGV: prefix, now, key, job ids that are no longer in flight (their jobs ended).
local key = ARGV[3]
for i = 4, #ARGV do
  redis.call('ZREM', kkey(key, 'claims'), ARGV[i])
  redis.call('ZREM', kkey(key, 'running'), ARGV[i])
  if redis.call('EXISTS', jkey(ARGV[i])) == 1 then
    redis.call('HSET', jkey(ARGV[i]), 'done', '1')
  end
end
return 0
"""
)
