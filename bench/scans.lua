-- wrk script: POST /api/v1/scans with a distinct token (from a file, one per line) and a fresh
-- scan_id per request. args: tokens-file, scan-id-prefix, bearer-token, extra-json-fields,
-- replay-modulus (optional: scan ids repeat every N requests per thread, so after a warm-up every
-- request is an already-answered upload: the idempotent-replay path).
local threads = {}
local counter_start = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  tokens = {}
  for line in io.lines(args[1]) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  prefix = args[2]
  wrk.headers["Content-Type"] = "application/json"
  if args[3] and #args[3] > 0 then wrk.headers["Authorization"] = "Bearer " .. args[3] end
  extra = args[4] or ""
  modulus = tonumber(args[5] or "0")
  counter = 0
  per_thread = math.floor(#tokens / 8)
  status_2xx, status_4xx, status_5xx, accepted, rejected = 0, 0, 0, 0, 0
end

function request()
  counter = counter + 1
  local index = ((id * per_thread + counter - 1) % #tokens) + 1
  local sequence = counter
  if modulus > 0 then
    sequence = ((counter - 1) % modulus) + 1
    index = ((id * per_thread + sequence - 1) % #tokens) + 1
  end
  local body = string.format('{"token":"%s","scan_id":"bench-%s-%d-%08d"%s}', tokens[index], prefix, id, sequence, extra)
  return wrk.format("POST", "/api/v1/scans", nil, body)
end

function response(status, headers, body)
  if status >= 500 then status_5xx = status_5xx + 1
  elseif status >= 400 then status_4xx = status_4xx + 1
  else status_2xx = status_2xx + 1 end
  if body:find('"result":%s*"accepted"') then accepted = accepted + 1 else rejected = rejected + 1 end
end

function done(summary, latency, requests)
  local s2, s4, s5, acc, rej = 0, 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    s2 = s2 + thread:get("status_2xx"); s4 = s4 + thread:get("status_4xx"); s5 = s5 + thread:get("status_5xx")
    acc = acc + thread:get("accepted"); rej = rej + thread:get("rejected")
  end
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"status_2xx":%d,"status_4xx":%d,"status_5xx":%d,"socket_errors":%d,"accepted":%d,"rejected":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, s2, s4, s5,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, acc, rej))
end
