-- wrk script for the saturation load test (bench/load.py). POSTs the pre-signed requests of
-- the pool file named by LOAD_POOL ("id<TAB>timestamp<TAB>signature<TAB>body" per line); each
-- wrk thread takes every n-th line. It keeps every answer: the job id of each 202, and the
-- status and error code of everything else, and writes them to LOAD_ANSWERS when done.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(os.getenv("LOAD_THREADS"))
  pool = {}
  sent = 0
  accepted = {}
  answers = {}
  local i = 0
  for line in io.lines(os.getenv("LOAD_POOL")) do
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

function response(status, headers, body)
  if status == 202 then
    accepted[#accepted + 1] = body:match('"job_id":%s*"(%x+)"') or "?"
  else
    local key = status .. "\t" .. (body:match('"error":%s*"([%w_]+)"') or
      (body:match('"duplicate":%s*true') and "duplicate") or "-")
    answers[key] = (answers[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  local out = io.open(os.getenv("LOAD_ANSWERS"), "w")
  local reused = 0
  for _, thread in ipairs(threads) do
    local used, size = thread:get("sent"), thread:get("pool_size")
    if used > size then reused = reused + used - size end
    for _, job_id in ipairs(thread:get("accepted")) do
      out:write("accepted\t", job_id, "\n")
    end
    for key, count in pairs(thread:get("answers")) do
      out:write("answer\t", key, "\t", count, "\n")
    end
  end
  out:write(string.format(
    "summary\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n",
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50),
    latency:percentile(99), latency.max, reused))
  out:close()
end
