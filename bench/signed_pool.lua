-- Shared by the wrk scripts (webhooks.lua, load.lua): POSTs the pre-signed webhooks of the pool
-- file named by WRK_POOL ("id<TAB>timestamp<TAB>signature<TAB>body" per line). Each of the
-- WRK_THREADS wrk threads takes every n-th line, so no two requests share a webhook id until a
-- thread has used all of its own. Loaded with dofile from the path in WRK_POOL_SCRIPT.
local counter = 0
threads = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(os.getenv("WRK_THREADS"))
  pool = {}
  sent = 0
  local i = 0
  for line in io.lines(os.getenv("WRK_POOL")) do
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

-- Requests that reused a webhook id (a thread sent more than its share of the pool).
function reused_ids()
  local reused = 0
  for _, thread in ipairs(threads) do
    local used, size = thread:get("sent"), thread:get("pool_size")
    if used > size then reused = reused + used - size end
  end
  return reused
end
