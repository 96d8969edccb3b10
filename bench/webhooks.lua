-- wrk script: POSTs pre-signed webhooks from the pool file named by BENCH_POOL, one line per
-- request ("id<TAB>timestamp<TAB>signature<TAB>body"). Each wrk thread takes every n-th line,
-- so no two requests share a webhook id until a thread has used all of its own.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(os.getenv("BENCH_THREADS"))
  pool = {}
  sent = 0
  local i = 0
  for line in io.lines(os.getenv("BENCH_POOL")) do
    if i % nthreads == tid then
      local id, ts, sig, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      pool[#pool + 1] = wrk.format("POST", "/webhook", {
        ["Content-Type"] = "application/json",
        ["webhook-id"] = id,
        ["webhook-timestamp"] = ts,
        ["webhook-signature"] = sig,
      }, body)
    end
    i = i + 1
  end
  pool_size = #pool
end

function request()
  sent = sent + 1
  return pool[((sent - 1) % #pool) + 1]
end

function done(summary, latency, requests)
  local reused = 0
  for _, thread in ipairs(threads) do
    local used, size = thread:get("sent"), thread:get("pool_size")
    if used > size then reused = reused + used - size end
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "max_us": %d, "reused_ids": %d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, reused))
end
