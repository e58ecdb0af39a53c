-- wrk script for bench/ingest.py: of the pre-signed requests in REQUESTS_FILE, thread t (0-based) sends
-- t+1, t+1+T, t+1+2T, ... (T = WRK_THREADS) once each, counts 2xx and other answers, and prints one JSON
-- line with per-thread counts. Running out of requests is reported ("exhausted") rather than repeated.
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local requests, tid, step, issued, ok, bad

local function load(path)
  -- One request per line: path, content type, signature header, signature, body (tab separated).
  local list = {}
  for line in io.lines(path) do
    local fields = {}
    for field in string.gmatch(line, "([^\t]*)\t?") do table.insert(fields, field) end
    table.insert(list, fields)
  end
  return list
end

function init(args)
  requests = load(os.getenv("REQUESTS_FILE"))
  step = tonumber(os.getenv("WRK_THREADS"))
  tid = wrk.thread:get("tid")
  issued, ok, bad = 0, 0, 0
end

function request()
  local index = tid + 1 + issued * step
  if index > #requests then
    wrk.thread:set("exhausted", 1)
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  issued = issued + 1
  wrk.thread:set("issued", issued)
  local r = requests[index]
  return wrk.format("POST", r[1], {["Content-Type"] = r[2], [r[3]] = r[4]}, r[5])
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
  wrk.thread:set("ok", ok)
  wrk.thread:set("bad", bad)
end

function done(summary, latency, requests_)
  local per_thread, total_ok, total_bad, exhausted = {}, 0, 0, 0
  for _, t in ipairs(threads) do
    table.insert(per_thread, tostring(t:get("issued") or 0))
    total_ok = total_ok + (t:get("ok") or 0)
    total_bad = total_bad + (t:get("bad") or 0)
    exhausted = exhausted + (t:get("exhausted") or 0)
  end
  local errors = summary.errors
  io.write(string.format(
    '{"issued_per_thread": [%s], "ok": %d, "non_2xx": %d, "socket_errors": %d, "exhausted": %d, ' ..
    '"duration_s": %.3f, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f}\n',
    table.concat(per_thread, ","), total_ok, total_bad,
    errors.connect + errors.read + errors.write + errors.timeout, exhausted,
    summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
