#!/usr/bin/env bash
# bench/load.sh: callwatch's ingest throughput against two reference servers,
# measured in one go, on this machine, with the same client:
#
#   nginx      one worker, `return 200` (the ceiling: what HTTP alone costs)
#   webhook    adnanh/webhook (Go) with one hook whose trigger-rule never
#              matches, so it parses the JSON body and answers 200 without
#              executing anything
#   callwatch  `callwatch serve` with the repo's rules.yaml and a fresh store
#
# Client: wrk -t1 -c32 -d${DURATION}s --latency -s bench/unique.lua, a ~1 KB
# 8x8 Call Status event whose eventId is unique per request. Targets run one
# at a time in interleaved rounds (nginx, webhook, callwatch, nginx, ...),
# each with a warm-up before its measurement; the table shows the medians.
#
# Usage: bench/load.sh [--only LIST] [--rounds N] [--duration SECONDS]
# Environment (defaults):
#   TARGETS="nginx webhook callwatch"   subset to run (same as --only)
#   ROUNDS=2  DURATION=6  WARMUP=2      rounds, seconds per measurement/warm-up
#   THREADS=1  CONNECTIONS=32           wrk -t / -c
#   CALLWATCH_BIN=.build/release/callwatch   RULES=rules.yaml
#   CALLWATCH_PATH                      ingest path (default: server.path in
#                                       RULES, else /v1/call-status)
#   AUTH                                sent as the Authorization header; also
#                                       exported as CALLWATCH_AUTH to callwatch
#                                       when that is unset
#   RESULTS_DIR                         keep raw wrk outputs and summary.tsv here
#   KEEP_TMP=1                          keep the temporary directory
#   NO_INSTALL=1                        do not apt-get install missing packages
# Exit status: 0 every run clean and every evaluated goal met; 1 a goal
# failed or a run had non-2xx responses or socket errors; 2 usage or setup
# error.
set -euo pipefail

PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
export LC_ALL=C

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd -- "$SCRIPT_DIR/.." && pwd)
cd -- "$REPO_DIR"

BENCH_NAME=load.sh
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-6}
WARMUP=${WARMUP:-2}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-32}
TARGETS=${TARGETS:-nginx webhook callwatch}
CALLWATCH_BIN=${CALLWATCH_BIN:-.build/release/callwatch}
RULES=${RULES:-rules.yaml}
READY_TIMEOUT=${READY_TIMEOUT:-30}
LUA_SCRIPT=bench/unique.lua

# Goals, measured in one run: durable callwatch ingest >= 1.0 x webhook's
# req/s (webhook stores nothing), and callwatch p99 <= 0.7 x webhook's.
# nginx is the ceiling of the HTTP stack here: its ratio is shown, not judged.
GOAL_VS_WEBHOOK=1.0
GOAL_P99_VS_WEBHOOK=0.7

# ---------------------------------------------------------------- arguments
parse_options --duration DURATION -- "$@"

for v in ROUNDS DURATION WARMUP THREADS CONNECTIONS READY_TIMEOUT; do
  is_uint "${!v}" || die "$v must be a whole number, not '${!v}'"
done
((ROUNDS >= 1)) || die "ROUNDS must be at least 1"
((DURATION >= 1)) || die "DURATION must be at least 1 second"
((THREADS >= 1 && CONNECTIONS >= THREADS)) ||
  die "need THREADS >= 1 and CONNECTIONS >= THREADS"

ALL_TARGETS=(nginx webhook callwatch)
select_targets
make_workdir

ensure_packages() {
  local missing=()
  have wrk || missing+=(wrk)
  have curl || missing+=(curl)
  if wants webhook && ! have webhook; then missing+=(webhook); fi
  if ((${#missing[@]} > 0)); then
    [[ ${NO_INSTALL:-0} == 1 ]] && die "missing packages: ${missing[*]}"
    apt_install "${missing[@]}" || die "could not install ${missing[*]}"
  fi
  if wants nginx && ! have nginx; then
    [[ ${NO_INSTALL:-0} == 1 ]] && die "missing package: nginx-light (or nginx)"
    apt_install nginx-light || apt_install nginx ||
      die "could not install nginx-light or nginx"
  fi
  have wrk || die "wrk not found after installing it"
  if wants nginx && ! have nginx; then die "nginx not found after installing it"; fi
  if wants webhook && ! have webhook; then die "webhook not found after installing it"; fi
}

# ---------------------------------------------------------------- helpers

# server.path from the rules file (block or flow style); empty if absent.
rules_server_path() {
  awk '
    function clean(v) {
      sub(/[[:space:]]+#.*$/, "", v); sub(/[[:space:]]+$/, "", v)
      gsub(/^["\047]|["\047]$/, "", v); return v
    }
    /^server:[[:space:]]*\{/ {
      if (match($0, /[{,][[:space:]]*path:[[:space:]]*[^,}[:space:]]+/)) {
        v = substr($0, RSTART, RLENGTH); sub(/^[{,][[:space:]]*path:[[:space:]]*/, "", v)
        print clean(v); exit
      }
    }
    /^[^[:space:]#]/ { inserver = ($0 ~ /^server:[[:space:]]*(#.*)?$/); indent = ""; next }
    inserver && /^[[:space:]]+[^[:space:]#]/ {
      match($0, /^[[:space:]]+/); ind = substr($0, 1, RLENGTH)
      if (indent == "") indent = ind
      if (ind == indent && $0 ~ /^[[:space:]]+path:/) {
        v = $0; sub(/^[[:space:]]+path:[[:space:]]*/, "", v); print clean(v); exit
      }
    }
  ' "$1"
}

# Sets NONCE to a new eventId nonce for one wrk run (warm-ups included), so
# no two runs against one store send the same eventId.
NONCE_SEQ=0
NONCE=""
next_nonce() {
  NONCE_SEQ=$((NONCE_SEQ + 1))
  printf -v NONCE '%08x' $((($(date +%s) * 256 + NONCE_SEQ) % 4294967296))
}



# ---------------------------------------------------------------- servers
# Each start_* sets SERVER_PID, SERVER_NAME and URL (the URL wrk posts to).
start_nginx() { # PORT LOG
  local port=$1 log=$2 dir="$WORK/nginx"
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        location / { return 200; }
    }
}
EOF
  SERVER_NAME=nginx
  nginx -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" >"$log" 2>&1 &
  SERVER_PID=$!
  URL="http://127.0.0.1:$port/v1/call-status"
  wait_ready "http://127.0.0.1:$port/" "$dir/error.log"
}

start_webhook() { # PORT LOG
  local port=$1 log=$2 dir="$WORK/webhook"
  mkdir -p "$dir"
  # The rule compares payload.eventId with a value no event carries: webhook
  # parses the JSON body, evaluates the rule, executes nothing, answers 200.
  cat >"$dir/hooks.json" <<'EOF'
[
  {
    "id": "call-status",
    "execute-command": "/bin/true",
    "http-methods": ["POST"],
    "trigger-rule-mismatch-http-response-code": 200,
    "trigger-rule": {
      "match": {
        "type": "value",
        "value": "never-an-event-id",
        "parameter": { "source": "payload", "name": "payload.eventId" }
      }
    }
  }
]
EOF
  SERVER_NAME=webhook
  webhook -hooks "$dir/hooks.json" -ip 127.0.0.1 -port "$port" >"$log" 2>&1 &
  SERVER_PID=$!
  URL="http://127.0.0.1:$port/hooks/call-status"
  wait_ready "http://127.0.0.1:$port/" "$log"
}

start_callwatch() { # PORT LOG
  local port=$1 log=$2 dir="$WORK/callwatch"
  mkdir -p "$dir"
  # A fresh store for every run, so the rounds are alike.
  rm -f -- "$dir/cw.db" "$dir/cw.db-wal" "$dir/cw.db-shm" "$dir/cw.db-journal"
  SERVER_NAME=callwatch
  if [[ -n ${AUTH:-} && -z ${CALLWATCH_AUTH:-} ]]; then
    CALLWATCH_AUTH=$AUTH "$CALLWATCH_BIN" serve -c "$RULES" \
      --listen "127.0.0.1:$port" --state "$dir/cw.db" --log-level error \
      >"$log" 2>&1 &
  else
    "$CALLWATCH_BIN" serve -c "$RULES" \
      --listen "127.0.0.1:$port" --state "$dir/cw.db" --log-level error \
      >"$log" 2>&1 &
  fi
  SERVER_PID=$!
  URL="http://127.0.0.1:$port$CW_PATH"
  wait_ready "http://127.0.0.1:$port/readyz" "$log"
}

# ---------------------------------------------------------------- measuring
# Parses a wrk output file into: rps p50_ms p99_ms non2xx socket_errors.
# Prefers unique.lua's CWBENCH line; falls back to wrk's own text.
parse_wrk() {
  awk '
    function ms(v,  n) {
      n = v + 0
      if (v ~ /us$/) return n / 1000
      if (v ~ /ms$/) return n
      if (v ~ /m$/) return n * 60000
      if (v ~ /s$/) return n * 1000
      return n
    }
    /^CWBENCH / {
      for (i = 2; i <= NF; i++) { split($i, kv, "="); c[kv[1]] = kv[2] }
      have = 1
    }
    /^Requests\/sec:/ { t_rps = $2 }
    /^[[:space:]]+50%/ { t_p50 = ms($2) }
    /^[[:space:]]+99%/ { t_p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { t_non = $NF }
    /Socket errors:/ {
      line = $0; gsub(/[^0-9 ]/, " ", line); n = split(line, a, " ")
      for (i = 1; i <= n; i++) t_sock += a[i]
    }
    END {
      if (have) {
        sock = c["err_connect"] + c["err_read"] + c["err_write"] + c["err_timeout"]
        printf "%s %s %s %d %d\n", c["rps"], c["p50_ms"], c["p99_ms"], c["non2xx"], sock
      } else if (t_rps != "") {
        printf "%s %.3f %.3f %d %d\n", t_rps, t_p50, t_p99, t_non, t_sock
      } else {
        exit 1
      }
    }
  ' "$1"
}

WRK_ARGS=(-t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$LUA_SCRIPT")

# One measurement of target $1 in round $2: start, warm up, probe, measure,
# stop. Appends to the result arrays.
declare -A R_RPS R_P50 R_P99 R_NON2XX R_SOCK
measure() {
  local target=$1 round=$2 port log out warm body code parsed
  local rps p50 p99 non2xx sock flag=""
  free_port
  port=$PORT
  log="$WORK/logs/$target-r$round.log"
  out="$WORK/out/$target-r$round.txt"
  warm="$WORK/out/$target-r$round-warmup.txt"
  body="$WORK/out/body.json"
  case "$target" in
    nginx) start_nginx "$port" "$log" ;;
    webhook) start_webhook "$port" "$log" ;;
    callwatch) start_callwatch "$port" "$log" ;;
  esac

  next_nonce
  if ((WARMUP > 0)); then
    BENCH_NONCE=$NONCE BENCH_DUMP_BODY="$body" \
      wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$LUA_SCRIPT" "$URL" \
      >"$warm" 2>&1 || warn "$target warm-up: wrk exited non-zero"
  else
    BENCH_NONCE=$NONCE BENCH_DUMP_BODY="$body" \
      wrk -t1 -c1 -d1s -s "$LUA_SCRIPT" "$URL" >"$warm" 2>&1 || true
  fi
  # One request by hand, to show what a failing endpoint answers.
  if [[ -s $body ]]; then
    local curl_args=(-s -o "$WORK/out/probe.txt" -w '%{http_code}' --max-time 5
      -H 'Content-Type: application/json' --data-binary "@$body")
    [[ -n ${AUTH:-} ]] && curl_args+=(-H "Authorization: $AUTH")
    code=$(curl "${curl_args[@]}" "$URL" 2>/dev/null) || code=000
    if [[ $code != 2?? ]]; then
      warn "$target answered HTTP $code to the benchmark event: $(head -c 300 "$WORK/out/probe.txt" 2>/dev/null)"
    fi
  fi

  next_nonce
  if ! BENCH_NONCE=$NONCE wrk "${WRK_ARGS[@]}" "$URL" >"$out" 2>&1; then
    warn "$target round $round: wrk failed:"
    log_tail "$out"
  fi
  stop_server
  if ! parsed=$(parse_wrk "$out"); then
    warn "$target round $round: no result in wrk output:"
    log_tail "$out"
    die "could not measure $target"
  fi
  read -r rps p50 p99 non2xx sock <<<"$parsed"
  R_RPS[$target]+="$rps "
  R_P50[$target]+="$p50 "
  R_P99[$target]+="$p99 "
  R_NON2XX[$target]=$((${R_NON2XX[$target]:-0} + non2xx))
  R_SOCK[$target]=$((${R_SOCK[$target]:-0} + sock))
  ((non2xx + sock > 0)) && flag="  <-- ERRORS"
  printf '  round %d/%d  %-9s %10.0f req/s   p50 %7.3f ms   p99 %7.3f ms   non-2xx %d   socket errors %d%s\n' \
    "$round" "$ROUNDS" "$target" "$rps" "$p50" "$p99" "$non2xx" "$sock" "$flag"
  if [[ -n ${RESULTS_DIR:-} ]]; then
    cp -- "$out" "$RESULTS_DIR/$target-r$round.txt"
    printf '%s\t%d\t%s\t%s\t%s\t%d\t%d\n' "$target" "$round" "$rps" "$p50" "$p99" \
      "$non2xx" "$sock" >>"$RESULTS_DIR/summary.tsv"
  fi
}


# ---------------------------------------------------------------- main
ensure_packages
[[ -f $LUA_SCRIPT ]] || die "$LUA_SCRIPT not found"

CW_PATH=""
if wants callwatch; then
  [[ -x $CALLWATCH_BIN ]] ||
    die "callwatch binary '$CALLWATCH_BIN' not found or not executable (build it with 'swift build -c release', set CALLWATCH_BIN, or leave callwatch out: TARGETS=\"nginx webhook\")"
  [[ -f $RULES ]] || die "rules file '$RULES' not found (set RULES)"
  CW_PATH=${CALLWATCH_PATH:-$(rules_server_path "$RULES")}
  CW_PATH=${CW_PATH:-/v1/call-status}
  [[ $CW_PATH == /* ]] || die "callwatch ingest path '$CW_PATH' does not start with /"
fi

mkdir -p "$WORK/out" "$WORK/logs"
if [[ -n ${RESULTS_DIR:-} ]]; then
  mkdir -p -- "$RESULTS_DIR"
  printf 'target\tround\trps\tp50_ms\tp99_ms\tnon2xx\tsocket_errors\n' >"$RESULTS_DIR/summary.tsv"
fi

say "callwatch ingest benchmark: ${SELECTED[*]}; $ROUNDS round(s); $(nproc 2>/dev/null || echo '?') CPU(s)"
say "client: wrk ${WRK_ARGS[*]} URL   (warm-up ${WARMUP}s before each run)"
wants callwatch && say "callwatch: $CALLWATCH_BIN serve -c $RULES (POST $CW_PATH)"
[[ -n ${AUTH:-} ]] && say "sending an Authorization header (AUTH is set)"

for ((round = 1; round <= ROUNDS; round++)); do
  for t in "${SELECTED[@]}"; do
    measure "$t" "$round"
  done
done

# ---------------------------------------------------------------- report
declare -A M_RPS M_P50 M_P99
for t in "${SELECTED[@]}"; do
  M_RPS[$t]=$(median "${R_RPS[$t]}")
  M_P50[$t]=$(median "${R_P50[$t]}")
  M_P99[$t]=$(median "${R_P99[$t]}")
done

say ""
say "medians of $ROUNDS round(s), ${DURATION}s each:"
printf '%-10s %10s %9s %9s %8s %8s %9s %10s\n' endpoint 'req/s' 'p50 ms' 'p99 ms' non-2xx sockerr 'vs nginx' 'vs webhook'
for t in "${SELECTED[@]}"; do
  vn=-
  vw=-
  wants nginx && vn=$(ratio "${M_RPS[$t]}" "${M_RPS[nginx]}")
  wants webhook && vw=$(ratio "${M_RPS[$t]}" "${M_RPS[webhook]}")
  printf '%-10s %10.0f %9.3f %9.3f %8d %8d %9s %10s\n' "$t" "${M_RPS[$t]}" \
    "${M_P50[$t]}" "${M_P99[$t]}" "${R_NON2XX[$t]}" "${R_SOCK[$t]}" "$vn" "$vw"
done

status=0
ref_errors=0
for t in "${SELECTED[@]}"; do
  if ((R_NON2XX[$t] + R_SOCK[$t] > 0)); then
    status=1
    [[ $t == callwatch ]] || ref_errors=1
    warn "$t had ${R_NON2XX[$t]} non-2xx responses and ${R_SOCK[$t]} socket errors: its numbers are not valid"
  fi
done

verdict() { # LABEL PASSED(0/1) DETAIL
  local v=PASS
  [[ $2 == 1 ]] || v=FAIL
  [[ $v == FAIL ]] && status=1
  printf '%-38s %-34s %s\n' "$1" "$3" "$v"
}

if wants callwatch && wants webhook; then
  say ""
  say "goals:"
  cw_errors=$((R_NON2XX[callwatch] + R_SOCK[callwatch]))
  ok() { # AWK-CONDITION -> 1/0, and callwatch must have answered without errors
    awk -v e="$cw_errors" "BEGIN { print (e == 0 && ($1)) ? 1 : 0 }"
  }
  r=$(ratio "${M_RPS[callwatch]}" "${M_RPS[webhook]}")
  verdict "callwatch req/s >= $GOAL_VS_WEBHOOK x webhook" \
    "$(ok "${M_RPS[callwatch]} >= $GOAL_VS_WEBHOOK * ${M_RPS[webhook]}")" "ratio $r"
  verdict "callwatch p99 <= $GOAL_P99_VS_WEBHOOK x webhook p99" \
    "$(ok "${M_P99[callwatch]} <= $GOAL_P99_VS_WEBHOOK * ${M_P99[webhook]}")" \
    "$(printf '%.3f ms vs %.3f ms' "${M_P99[callwatch]}" "${M_P99[webhook]}")"
  ((cw_errors == 0)) || say "(callwatch answered with errors: every goal counts as failed)"
  if ((ref_errors)); then
    say "(a reference server had errors: ratios against it are not meaningful)"
  fi
fi
[[ -n ${RESULTS_DIR:-} ]] && say "raw wrk outputs and summary.tsv in $RESULTS_DIR"
exit "$status"
