-- wrk script: POST unique event-hook deliveries built from templates (bench/payloads.py).
--
-- Usage: BENCH_AUTH_SECRET=... wrk -t2 -c32 -d20s --latency -s bench/hookload.lua URL \
--          -- TEMPLATES_FILE AUTH_HEADER_NAME
-- Each template line holds byte \1 where an id ends (filled with "TTT-CCCCCCCCCCCC": this
-- thread's number and request counter, so ids differ per request and threads never overlap) and
-- byte \2 where a `published` timestamp goes (this second, a random millisecond).
-- done() prints one line "BENCH_RESULT {json}" with exact 2xx / non-2xx / sent counts.
-- BENCH_THREAD_BASE (default 0) offsets the thread numbers, so successive wrk runs against one
-- store send distinct ids; BENCH_DELAY_MS (default 0) paces each connection (a steady load).

local threads = {}
local thread_base = tonumber(os.getenv("BENCH_THREAD_BASE") or "0")
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")

function setup(thread)
  thread:set("thread_id", thread_base + #threads)
  table.insert(threads, thread)
end

if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

local function split_template(line)
  local parts, id_slots, published_slots = {}, {}, {}
  local pos = 1
  while true do
    local at = string.find(line, "[\1\2]", pos)
    if not at then
      table.insert(parts, string.sub(line, pos))
      break
    end
    table.insert(parts, string.sub(line, pos, at - 1))
    table.insert(parts, "")
    if string.byte(line, at) == 1 then
      table.insert(id_slots, #parts)
    else
      table.insert(published_slots, #parts)
    end
    pos = at + 1
  end
  return { parts = parts, id_slots = id_slots, published_slots = published_slots }
end

function init(args)
  local path, auth_header = args[1], args[2]
  local secret = os.getenv("BENCH_AUTH_SECRET")
  assert(path and auth_header and secret, "usage: -- TEMPLATES_FILE AUTH_HEADER (+ BENCH_AUTH_SECRET)")
  templates = {}
  local file = assert(io.open(path, "rb"))
  for line in file:lines() do
    if #line > 0 then
      table.insert(templates, split_template(line))
    end
  end
  file:close()
  assert(#templates > 0, "no templates in " .. path)
  headers = { ["Content-Type"] = "application/json" }
  headers[auth_header] = secret
  millis = {}
  for i = 0, 999 do
    millis[i + 1] = string.format(".%03dZ", i)
  end
  math.randomseed(thread_id + 1)
  sent, ok, non2xx = 0, 0, 0
end

function request()
  local template = templates[(sent % #templates) + 1]
  local parts = template.parts
  local suffix = string.format("%03x-%012x", thread_id, sent)
  for _, i in ipairs(template.id_slots) do
    parts[i] = suffix
  end
  local second = os.date("!%Y-%m-%dT%H:%M:%S", os.time())
  for _, i in ipairs(template.published_slots) do
    parts[i] = second .. millis[math.random(1000)]
  end
  sent = sent + 1
  return wrk.format("POST", wrk.path, headers, table.concat(parts))
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local totals = { sent = 0, ok = 0, non2xx = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + thread:get(name)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"duration_us": %d, "responses": %d, "bytes": %d, "sent": %d, "ok": %d, '
      .. '"non2xx": %d, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, '
      .. '"timeout": %d}, "latency_us": {"p50": %d, "p90": %d, "p99": %d, "p999": %d, '
      .. '"max": %d, "mean": %.1f}}\n',
    summary.duration, summary.requests, summary.bytes, totals.sent, totals.ok, totals.non2xx,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean
  ))
end
