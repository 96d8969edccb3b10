-- wrk script for the intake benchmark (bench/intake.py): the signed pool (signed_pool.lua),
-- and a JSON summary of the run on stdout.
dofile(os.getenv("WRK_POOL_SCRIPT"))

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "max_us": %d, "reused_ids": %d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, reused_ids()))
end
