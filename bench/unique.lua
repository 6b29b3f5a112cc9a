-- wrk script for callwatch's ingest benchmark (see bench/README.md).
--
-- POSTs a realistic ~1 KB 8x8 Number Masking Call Status envelope (VCS) as
-- application/json.  Its payload.eventId is unique per request, so a server
-- that deduplicates on eventId takes its "accepted" path, never "duplicate".
-- The event is a normal hang-up (CALL_DISCONNECTED, sipCode 200,
-- callDuration 37), which the shipped rules mostly do not fire on.
--
-- eventId = NONCE-TTTT-4c57-8a01-CCCCCCCCCCCC (UUID-shaped, fixed width):
--   NONCE  8 hex: $BENCH_NONCE (load.sh sets a new one for every wrk run,
--          warm-ups included), else derived from the clock;
--   TTTT   wrk thread number;  CCCCCCCCCCCC  per-thread request counter.
-- The id has a fixed width, so Content-Length is constant and the whole raw
-- request is prebuilt once per thread as two halves; request() only formats
-- the counter and concatenates.
--
-- Environment:  AUTH             if set, sent as the Authorization header
--               BENCH_NONCE      run nonce (hex or decimal), see above
--               BENCH_DUMP_BODY  if set, init() writes one such event there
--
-- done() prints one machine-readable line (load.sh parses it):
--   CWBENCH rps=… p50_ms=… p99_ms=… requests=… duration_s=… non2xx=…
--           err_connect=… err_read=… err_write=… err_timeout=… body_bytes=…

local PLACEHOLDER = "@@@@@@@@-@@@@-4c57-8a01-@@@@@@@@@@@@"

local body = '{"namespace":"VOICE","eventType":"CALL_STATUS",'
  .. '"description":"Status update of a call","payload":{'
  .. '"eventId":"' .. PLACEHOLDER .. '",'
  .. '"callId":"a1d6a5e3-efec-11e9-b999-7d370b5f90d1",'
  .. '"sessionId":"a1d6a5e2-efec-11e9-b999-efc71013a78f",'
  .. '"subAccountId":"acme_ops_sg",'
  .. '"callStatus":"CALL_DISCONNECTED",'
  .. '"callDirection":"OUTBOUND",'
  .. '"callType":"PSTN",'
  .. '"source":"+6531580001",'
  .. '"destination":"+6591234567",'
  .. '"sourceFormat":"MSISDN",'
  .. '"destinationFormat":"MSISDN",'
  .. '"sourceCountryCode":"SG",'
  .. '"destinationCountryCode":"SG",'
  .. '"sourceRefId":null,'
  .. '"destinationRefId":"vn-ref-1",'
  .. '"callDuration":37,'
  .. '"eventData":" ",'
  .. '"sipCode":200,'
  .. '"timestamp":"2026-01-06T10:18:47.600Z",'
  .. '"extraParam":{"region":"ap-southeast-1",'
  .. '"trunkId":"sg-trunk-02","mediaRegion":"sg-1",'
  .. '"hangupSource":"CALLEE","hangupCause":"NORMAL_CLEARING",'
  .. '"recording":false,"maskedNumber":"+6531580001",'
  .. '"traceId":"5f1c7a2e9b3d4c6a8e0f1a2b3c4d5e6f",'
  .. '"routeId":"route-sg-standard-outbound-01","codec":"PCMA",'
  .. '"answeredAt":"2026-01-06T10:18:10.412Z"}}}'

local function parse_nonce(s)
  if s == nil or s == "" then return nil end
  return tonumber(s, 16) or tonumber(s)
end

-- Main Lua state: give every thread its number before it starts.
local threads_started = 0
function setup(thread)
  thread:set("tid", threads_started)
  threads_started = threads_started + 1
end

-- Per-thread state (each wrk thread has its own Lua state).
local prefix, suffix, tag
local counter = 0

function init(args)
  local nonce = parse_nonce(os.getenv("BENCH_NONCE"))
  if nonce == nil then
    math.randomseed(os.time() + math.floor(os.clock() * 1e6))
    nonce = (os.time() * 4096 + math.random(0, 4095))
  end
  nonce = nonce % 4294967296
  local t = (tid or 0) % 65536

  local headers = { ["Content-Type"] = "application/json" }
  local auth = os.getenv("AUTH")
  if auth ~= nil and auth ~= "" then
    headers["Authorization"] = auth
  end
  local raw = wrk.format("POST", wrk.path, headers, body)
  local i, j = string.find(raw, PLACEHOLDER, 1, true)
  -- "NONCE-TTTT-4c57-8a01-" + counter(12 hex) replaces the placeholder.
  prefix = string.sub(raw, 1, i - 1)
    .. string.format("%08x-%04x-4c57-8a01-", nonce, t)
  suffix = string.sub(raw, j + 1)

  -- load.sh probes the endpoint once by hand with the same event: write it
  -- (counter 0, which request() never sends) where it asks.
  local dump = os.getenv("BENCH_DUMP_BODY")
  if dump ~= nil and dump ~= "" then
    local id = string.format("%08x-%04x-4c57-8a01-%012x", nonce, t, 0)
    local f = io.open(dump, "w")
    if f then
      local a, b = string.find(body, PLACEHOLDER, 1, true)
      f:write(string.sub(body, 1, a - 1) .. id .. string.sub(body, b + 1))
      f:close()
    end
  end
end

function request()
  counter = counter + 1
  return prefix .. string.format("%012x", counter) .. suffix
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local rps = 0
  if secs > 0 then rps = summary.requests / secs end
  local e = summary.errors
  io.write(string.format(
    "CWBENCH rps=%.2f p50_ms=%.3f p99_ms=%.3f requests=%d duration_s=%.3f "
      .. "non2xx=%d err_connect=%d err_read=%d err_write=%d err_timeout=%d "
      .. "body_bytes=%d\n",
    rps, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, secs, e.status, e.connect, e.read, e.write, e.timeout,
    string.len(body)))
end
