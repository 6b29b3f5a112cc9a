#!/usr/bin/env bash
# Recovery time for a journal of N events (default 1,000,000), all inside the replay horizon of the shipped rules.
#
#   bench/recovery.sh                       # uses .build/release/callwatch (or CALLWATCH_BIN)
#   EVENTS=200000 bench/recovery.sh
#
# 1. starts `callwatch serve` once so it creates and migrates the store, stops it;
# 2. fills the journal directly with python3's sqlite3: N realistic 8x8 events (distinct eventIds, 500
#    destinations, a mix of statuses and SIP codes) received over the last 20 minutes;
# 3. starts `callwatch serve` again and reads the recovery report it logs ("recovered from the journal").
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CALLWATCH_BIN:-.build/release/callwatch}
events=${EVENTS:-1000000}
[ -x "$bin" ] || { echo "no $bin: build with 'swift build -c release' or set CALLWATCH_BIN" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/callwatch-recovery.XXXXXX")
pid=
cleanup() { [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start() {
    "$bin" serve -c rules.yaml --listen "127.0.0.1:$port" --state "$tmp/cw.db" --log-level info 2>"$tmp/serve.log" &
    pid=$!
    for _ in $(seq 1 600); do
        curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || { cat "$tmp/serve.log" >&2; exit 1; }
        sleep 0.1
    done
    echo "callwatch did not become healthy" >&2
    exit 1
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=; }

start
stop
python3 - "$tmp/cw.db" "$events" <<'PY'
import json, random, sqlite3, sys, time
path, count = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path)
now = time.time()
random.seed(7)
statuses = ["CALL_INITIATED", "CALL_RECEIVED", "CALL_CONNECTED", "CALL_DISCONNECTED", "DTMF_RECEIVED"]
def rows():
    for i in range(count):
        status = statuses[i % len(statuses)]
        payload = {
            "eventId": f"rec-{i:08d}", "callId": f"call-{i // 5}", "sessionId": f"session-{i // 10}",
            "subAccountId": "acme_ops", "callStatus": status, "callDirection": "OUTBOUND", "callType": "PSTN",
            "source": "+6531580001", "destination": f"+659{random.randrange(500):07d}",
            "sourceFormat": "MSISDN", "destinationFormat": "MSISDN", "sourceCountryCode": "SG",
            "destinationCountryCode": "SG", "sourceRefId": None, "destinationRefId": "vn-ref-1",
            "callDuration": 37 if status == "CALL_DISCONNECTED" else 0,
            "eventData": {"dtmf": "1"} if status == "DTMF_RECEIVED" else " ",
            "sipCode": random.choice([200, 200, 200, 486]), "timestamp": "2026-01-06T10:17:19.375Z",
        }
        body = json.dumps({"namespace": "VOICE", "eventType": "CALL_STATUS",
                           "description": "Status update of a call", "payload": payload}).encode()
        yield (payload["eventId"], now - 1200 + 1200 * i / count, body)
db.executemany("INSERT INTO events (identity, received_at, body) VALUES (?, ?, ?)", rows())
db.commit()
print(f"journal: {count} events, {sum(1 for _ in db.execute('SELECT 1 FROM events'))} rows")
PY
t0=$(date +%s.%N)
start
t1=$(date +%s.%N)
grep -o 'events=[0-9]* seconds=[0-9.]*' "$tmp/serve.log" | sed 's/^/recovered: /'
python3 -c "print(f'start to healthy: {$t1 - $t0:.2f} s')"
grep -o 'VmHWM:.*' "/proc/$pid/status" | sed 's/^/peak RSS /' || true
stop
