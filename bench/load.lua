-- wrk script for the saturation load test (bench/load.py): the signed pool (signed_pool.lua).
-- It keeps every answer: the job id of each 202, and the
-- status and error code of everything else, and writes them to LOAD_ANSWERS when done.
dofile(os.getenv("WRK_POOL_SCRIPT"))
accepted = {}
answers = {}

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
  for _, thread in ipairs(threads) do
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
    latency:percentile(99), latency.max, reused_ids()))
  out:close()
end
