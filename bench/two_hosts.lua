-- wrk script for the two-host run (bench/two_hosts.py): POST /api/v1/scans through nginx, a
-- distinct pass per request and a fresh scan_id, like scans.lua; and, while it runs, a new set
-- of passes when the harness says so. args: directory, bearer-token, extra-json-fields.
--
-- <directory>/generation holds a number G; the passes to send are <directory>/passes-G.txt.
-- Each thread looks at the generation every 32 requests and switches its passes when it changed
-- (the harness rotates the signing key and writes passes signed with the new key as G = 1).
-- The scan_id carries G, and the answer echoes the scan_id, so every answer is counted under the
-- generation of the pass it answers and the host that answered (nginx's X-Upstream header).
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local function read_generation()
  local file = io.open(directory .. "/generation")
  if not file then return nil end
  local value = file:read("*l")
  file:close()
  return tonumber(value)
end

local function load_passes(generation)
  local list = {}
  for line in io.lines(directory .. "/passes-" .. generation .. ".txt") do
    if #line > 0 then list[#list + 1] = line end
  end
  return list
end

function init(args)
  directory = args[1]
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[2]
  extra = args[3] or ""
  generation = read_generation()
  passes = load_passes(generation)
  counter = 0
  counts = {}   -- "host|generation|status|result|reason" -> answers
end

function request()
  counter = counter + 1
  if counter % 32 == 0 then
    local now = read_generation()
    if now and now ~= generation then
      generation = now
      passes = load_passes(generation)
    end
  end
  local index = ((id * 7919 + counter - 1) % #passes) + 1
  local body = string.format('{"token":"%s","scan_id":"bench-2h-g%d-%d-%09d"%s}',
                             passes[index], generation, id, counter, extra)
  return wrk.format("POST", "/api/v1/scans", nil, body)
end

function response(status, headers, body)
  local host = headers["X-Upstream"] or headers["x-upstream"] or "-"
  local answered = body:match('"scan_id":%s*"bench%-2h%-g(%d+)%-') or "?"
  local result = body:match('"result":%s*"(%a+)"') or "-"
  local reason = body:match('"reason":%s*"([%w_]+)"') or body:match('"code":%s*"([%w_]+)"') or "-"
  local key = host .. "|" .. answered .. "|" .. status .. "|" .. result .. "|" .. reason
  counts[key] = (counts[key] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for key, count in pairs(thread:get("counts")) do
      total[key] = (total[key] or 0) + count
    end
  end
  local parts = {}
  for key, count in pairs(total) do
    parts[#parts + 1] = string.format('"%s":%d', key, count)
  end
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"socket_errors":%d,"counts":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    table.concat(parts, ",")))
end
