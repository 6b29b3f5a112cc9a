#!/usr/bin/env bash
# bench/exec-rate.sh: how fast three things run the command /bin/true as a
# "hook", measured in one go, on this machine:
#
#   ceiling    a tiny C program (compiled here with gcc -O2) that
#              posix_spawns /bin/true COUNT times, keeping at most PARALLEL
#              children alive and reaping each with waitpid: the machine's
#              ceiling for *completed* runs
#   webhook    adnanh/webhook (Go), -verbose, with one hook
#              {"id":"true","execute-command":"/bin/true"}; it answers at
#              once and runs the command in the background, without a limit
#              on how many run at a time. Driven by wrk -t1 -c$CONNECTIONS
#              GET /hooks/true until COUNT responses came back. Completions
#              are counted in its log: the run is drained when the lines
#              "hook triggered successfully", "] executing " and
#              "] finished handling " are equally many and the log stops
#              growing; the drain time is the log's last modification.
#   callwatch  Benchmarks/.build/release/dispatcher-profile exec COUNT: one
#              burst of COUNT alerts through ActionDispatcher, each running
#              /bin/true with the alert JSON on stdin and waiting for its
#              exit, at most 8 at a time (the shipped default)
#
# completed/s: ceiling and callwatch as they report it; webhook as commands
# completed (finished without error) / (drain time - t0), t0 taken just
# before wrk starts. webhook's accepted/s is COUNT / (time of the COUNT-th
# response - t0). Peak RSS: the spawner's ru_maxrss, webhook's VmHWM at the
# end, dispatcher-profile's "peak during it". Targets run one at a time in
# interleaved rounds (ceiling, webhook, callwatch, ceiling, ...); the table
# shows medians (RSS: the largest).
#
# Usage: bench/exec-rate.sh [--only LIST] [--rounds N] [--count N]
# Environment (defaults):
#   TARGETS="ceiling webhook callwatch"   subset to run (same as --only)
#   COUNT=10000  ROUNDS=2                 hooks per measurement, rounds
#   PARALLEL=8                            ceiling: children alive at most
#   CONNECTIONS=8                         webhook: wrk -c (wrk -t1)
#   WRK_CAP=120                           webhook: wrk -d seconds, a cap only
#   DRAIN_TIMEOUT=120                     webhook: seconds to wait for the
#                                         commands after wrk ends
#   EXEC_CONCURRENCY                      callwatch: passed through to
#                                         dispatcher-profile (default 8)
#   DISPATCHER_PROFILE=Benchmarks/.build/release/dispatcher-profile
#   BUILD=1                               build dispatcher-profile if missing
#                                         (swift build -c release)
#   WEBHOOK_BIN=webhook                   the webhook binary
#   KEEP_TMP=1                            keep the temporary directory (logs)
#   NO_INSTALL=1                          do not apt-get install missing packages
# Exit status: 0 every measurement clean; 1 a measurement is not valid
# (webhook did not drain, failed commands, HTTP or socket errors); 2 usage
# or setup error.
set -euo pipefail

PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
export LC_ALL=C

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd -- "$SCRIPT_DIR/.." && pwd)
cd -- "$REPO_DIR"

BENCH_NAME=exec-rate.sh
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

COUNT=${COUNT:-10000}
ROUNDS=${ROUNDS:-2}
PARALLEL=${PARALLEL:-8}
CONNECTIONS=${CONNECTIONS:-8}
WRK_CAP=${WRK_CAP:-120}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-120}
READY_TIMEOUT=${READY_TIMEOUT:-30}
TARGETS=${TARGETS:-ceiling webhook callwatch}
DISPATCHER_PROFILE=${DISPATCHER_PROFILE:-Benchmarks/.build/release/dispatcher-profile}
WEBHOOK_BIN=${WEBHOOK_BIN:-webhook}
HOOK_COMMAND=/bin/true
POLL=0.2

# ---------------------------------------------------------------- arguments
parse_options --count COUNT -- "$@"

for v in COUNT ROUNDS PARALLEL CONNECTIONS WRK_CAP DRAIN_TIMEOUT READY_TIMEOUT; do
  is_uint "${!v}" || die "$v must be a whole number, not '${!v}'"
done
((COUNT >= 1)) || die "COUNT must be at least 1"
((ROUNDS >= 1)) || die "ROUNDS must be at least 1"
((PARALLEL >= 1)) || die "PARALLEL must be at least 1"
((CONNECTIONS >= 1)) || die "CONNECTIONS must be at least 1"
((WRK_CAP >= 1)) || die "WRK_CAP must be at least 1 second"
if [[ -n ${EXEC_CONCURRENCY:-} ]]; then
  if ! is_uint "$EXEC_CONCURRENCY" || ((EXEC_CONCURRENCY < 1)); then
    die "EXEC_CONCURRENCY must be a whole number >= 1, not '$EXEC_CONCURRENCY'"
  fi
  export EXEC_CONCURRENCY
fi

ALL_TARGETS=(ceiling webhook callwatch)
select_targets
make_workdir

ensure_packages() {
  local missing=()
  if wants ceiling && ! have gcc; then missing+=(gcc libc6-dev); fi
  if wants webhook; then
    have wrk || missing+=(wrk)
    have curl || missing+=(curl)
    if [[ $WEBHOOK_BIN == webhook ]] && ! have webhook; then missing+=(webhook); fi
  fi
  if ((${#missing[@]} > 0)); then
    [[ ${NO_INSTALL:-0} == 1 ]] && die "missing packages: ${missing[*]}"
    apt_install "${missing[@]}" || die "could not install ${missing[*]}"
  fi
  if wants ceiling && ! have gcc; then die "gcc not found after installing it"; fi
  if wants webhook; then
    have wrk || die "wrk not found after installing it"
    have curl || die "curl not found after installing it"
    have "$WEBHOOK_BIN" || die "webhook binary '$WEBHOOK_BIN' not found"
  fi
}

# ---------------------------------------------------------------- helpers
now() { printf '%s\n' "$EPOCHREALTIME"; } # wall clock, microseconds
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

maximum() {
  # shellcheck disable=SC2086 # word splitting of the list is intended
  printf '%s\n' $1 | sort -g | tail -n 1
}

# ---------------------------------------------------------------- setup
# The ceiling: posix_spawn + waitpid, at most PARALLEL children alive.
build_ceiling() {
  cat >"$WORK/spawn-ceiling.c" <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: spawn-ceiling COMMAND COUNT PARALLEL\n");
        return 2;
    }
    const char *command = argv[1];
    long count = atol(argv[2]), parallel = atol(argv[3]);
    char *const args[] = {(char *)command, NULL};
    long started = 0, reaped = 0, failed = 0, running = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    while (reaped < count) {
        while (running < parallel && started < count) {
            pid_t pid;
            int rc = posix_spawn(&pid, command, NULL, NULL, args, environ);
            if (rc != 0) {
                fprintf(stderr, "posix_spawn %s: %s\n", command, strerror(rc));
                return 1;
            }
            started++;
            running++;
        }
        int status;
        if (waitpid(-1, &status, 0) < 0) {
            if (errno == EINTR) continue;
            perror("waitpid");
            return 1;
        }
        running--;
        reaped++;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double seconds = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    struct rusage self;
    getrusage(RUSAGE_SELF, &self);
    printf("ceiling: %ld spawns in %.3f s = %.1f spawns/s; failed %ld; peak RSS %ld KiB\n",
           reaped, seconds, (double)reaped / seconds, failed, self.ru_maxrss);
    return failed ? 1 : 0;
}
EOF
  gcc -O2 -Wall -o "$WORK/spawn-ceiling" "$WORK/spawn-ceiling.c" 2>"$WORK/gcc.log" || {
    log_tail "$WORK/gcc.log"
    die "could not compile the spawn ceiling program"
  }
}

# webhook's hook and wrk's script. wrk's main thread sleeps for all of -d
# even after wrk.thread:stop(), so the script also sends wrk SIGINT (through
# LuaJIT's ffi), which ends that sleep; it prints when the COUNT-th response
# arrived.
write_webhook_files() {
  mkdir -p "$WORK/webhook"
  printf '[{"id":"true","execute-command":"%s","response-message":"ok"}]\n' \
    "$HOOK_COMMAND" >"$WORK/webhook/hooks.json"
  cat >"$WORK/webhook/count.lua" <<EOF
-- generated by bench/exec-rate.sh: stop after $COUNT responses
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } exec_rate_timespec;
int clock_gettime(int clock, exec_rate_timespec *ts);
int getpid(void);
int kill(int pid, int sig);
]]
local limit = $COUNT
local n = 0
local stopped = false
local ts = ffi.new("exec_rate_timespec")

response = function(status, headers, body)
  n = n + 1
  if n >= limit and not stopped then
    stopped = true
    ffi.C.clock_gettime(0, ts) -- CLOCK_REALTIME, as bash's EPOCHREALTIME
    io.write(string.format("EXECRATE_STOP t=%d.%09d n=%d\n", tonumber(ts.tv_sec), tonumber(ts.tv_nsec), n))
    io.flush()
    wrk.thread:stop()
    ffi.C.kill(ffi.C.getpid(), 2) -- SIGINT
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("EXECRATE_DONE requests=%d non2xx=%d sockerr=%d\n", summary.requests,
    e.status, e.connect + e.read + e.write + e.timeout))
end
EOF
}

DP_BIN=""
check_dispatcher_profile() {
  if [[ ! -x $DISPATCHER_PROFILE ]]; then
    if [[ ${BUILD:-0} == 1 ]]; then
      say "building dispatcher-profile (BUILD=1)"
      (cd Benchmarks && swift build -c release --product dispatcher-profile) ||
        die "swift build of dispatcher-profile failed"
      [[ -x $DISPATCHER_PROFILE ]] ||
        die "'$DISPATCHER_PROFILE' still missing after the build (set DISPATCHER_PROFILE)"
    else
      printf 'exec-rate.sh: error: %s not found or not executable; build it with\n' "$DISPATCHER_PROFILE" >&2
      printf '    cd Benchmarks && swift build -c release --product dispatcher-profile\n' >&2
      printf 'or run with BUILD=1, set DISPATCHER_PROFILE, or leave callwatch out (--only "ceiling webhook")\n' >&2
      exit 2
    fi
  fi
  DP_BIN=$(cd -- "$(dirname -- "$DISPATCHER_PROFILE")" && pwd)/$(basename -- "$DISPATCHER_PROFILE")
}

# ---------------------------------------------------------------- measuring
# Results per target: completed/s, accepted/s (webhook), peak RSS in MiB.
declare -A R_DONE R_ACC R_RSS
STATUS=0
record() { # TARGET DONE_PER_S ACCEPTED_PER_S RSS_MIB
  R_DONE[$1]+="$2 "
  R_ACC[$1]+="$3 "
  R_RSS[$1]+="$4 "
}

measure_ceiling() { # ROUND
  local round=$1 out line rate rss secs failed
  out="$WORK/logs/ceiling-r$round.txt"
  if ! "$WORK/spawn-ceiling" "$HOOK_COMMAND" "$COUNT" "$PARALLEL" >"$out" 2>&1; then
    STATUS=1
    warn "ceiling round $round: the spawner failed:"
    log_tail "$out"
  fi
  line=$(grep '^ceiling: ' "$out") || die "ceiling round $round: no result line"
  read -r secs rate failed rss < <(sed -E \
    's/.* in ([0-9.]+) s = ([0-9.]+) spawns\/s; failed ([0-9]+); peak RSS ([0-9]+) KiB.*/\1 \2 \3 \4/' <<<"$line") || true
  is_uint "${rss:-x}" || die "ceiling round $round: could not parse: $line"
  rss=$(calc "$rss / 1024")
  record ceiling "$rate" - "$rss"
  printf '  round %d/%d  %-9s completed %8.0f /s   (%d in %.2f s, %d at a time, failed %d)   peak RSS %6.1f MiB\n' \
    "$round" "$ROUNDS" ceiling "$rate" "$COUNT" "$secs" "$PARALLEL" "$failed" "$rss"
}

# Prints "triggered executing finished failed" from a webhook -verbose log.
webhook_counts() {
  awk '
    /\] [^ ]+ hook triggered successfully/ { trig++ }
    /\] executing / { exe++ }
    /\] finished handling / { fin++ }
    /\] error occurred: / { err++ }
    END { printf "%d %d %d %d\n", trig, exe, fin, err }
  ' "$1"
}

measure_webhook() { # ROUND
  local round=$1 port log out t0 t_end t_stop t_drain size prev_size=-1 deadline
  local trig=0 exe=0 fin=0 err=0 drained=0 hwm_kib=0 requests non2xx sockerr
  local completed accepted_s completed_s wrk_s drain_s flag=""
  free_port
  port=$PORT
  log="$WORK/logs/webhook-r$round.log"
  out="$WORK/logs/webhook-r$round-wrk.txt"
  SERVER_NAME=webhook
  "$WEBHOOK_BIN" -verbose -ip 127.0.0.1 -port "$port" -hooks "$WORK/webhook/hooks.json" \
    >"$log" 2>&1 &
  SERVER_PID=$!
  wait_ready "http://127.0.0.1:$port/" "$log" # "/" answers 200 and runs no hook

  t0=$(now)
  if ! wrk -t1 -c"$CONNECTIONS" -d"${WRK_CAP}s" -s "$WORK/webhook/count.lua" \
    "http://127.0.0.1:$port/hooks/true" >"$out" 2>&1; then
    warn "webhook round $round: wrk exited non-zero:"
    log_tail "$out"
  fi
  t_end=$(now)
  t_stop=$(sed -n 's/^EXECRATE_STOP t=\([0-9.]*\) .*/\1/p' "$out")
  if [[ -z $t_stop ]]; then
    STATUS=1
    warn "webhook round $round: wrk stopped before $COUNT responses (cap WRK_CAP=${WRK_CAP}s?); using its end time"
    t_stop=$t_end
  fi
  read -r requests non2xx sockerr < <(sed -n \
    's/^EXECRATE_DONE requests=\([0-9]*\) non2xx=\([0-9]*\) sockerr=\([0-9]*\).*/\1 \2 \3/p' "$out") || true
  [[ -n ${requests:-} ]] || {
    log_tail "$out"
    die "webhook round $round: no result in wrk output"
  }

  # Drained: the log did not grow over one poll interval, and every
  # triggered hook logged "executing" and "finished handling". The log is
  # only read once it stops growing, so the polling costs webhook no CPU
  # while it is still running commands.
  deadline=$((SECONDS + DRAIN_TIMEOUT))
  while :; do
    size=$(stat -c %s -- "$log")
    if ((size == prev_size)); then
      read -r trig exe fin err < <(webhook_counts "$log") || true
      if ((trig > 0 && exe == trig && fin == exe)); then
        drained=1
        break
      fi
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      warn "webhook exited while its commands were running; its log:"
      log_tail "$log"
      break
    fi
    if ((SECONDS >= deadline)); then
      warn "webhook round $round: not drained after DRAIN_TIMEOUT=${DRAIN_TIMEOUT}s"
      break
    fi
    prev_size=$size
    sleep "$POLL"
  done
  if ((drained == 0)); then
    read -r trig exe fin err < <(webhook_counts "$log") || true
    warn "webhook round $round: triggered $trig, executing $exe, finished $fin; its log ends:"
    log_tail "$log"
  fi
  t_drain=$(date -r "$log" +%s.%N) # the last line written: a "finished handling"
  hwm_kib=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null) || hwm_kib=0
  stop_server

  completed=$((fin - err))
  wrk_s=$(calc "$t_stop - $t0")
  drain_s=$(calc "$t_drain - $t0")
  accepted_s=$(calc "$COUNT / $wrk_s")
  completed_s=$(calc "$completed / $drain_s")
  record webhook "$completed_s" "$accepted_s" "$(calc "${hwm_kib:-0} / 1024")"
  if ((drained == 0 || err > 0 || non2xx > 0 || sockerr > 0 || trig < COUNT)); then
    STATUS=1
    flag="  <-- NOT VALID"
  fi
  printf '  round %d/%d  %-9s completed %8.0f /s   accepted %8.0f /s   (%d responses in %.2f s; started %d, finished %d, failed %d, %.2f s after t0)   peak RSS %6.1f MiB%s\n' \
    "$round" "$ROUNDS" webhook "$completed_s" "$accepted_s" "$COUNT" "$wrk_s" "$exe" "$fin" "$err" \
    "$drain_s" "$(calc "${hwm_kib:-0} / 1024")" "$flag"
  ((non2xx + sockerr == 0)) ||
    warn "webhook round $round: $non2xx non-2xx responses, $sockerr socket errors"
  ((err == 0)) || warn "webhook round $round: $err commands failed (\"error occurred\" in its log)"
  ((trig >= COUNT)) || warn "webhook round $round: only $trig hooks triggered for $COUNT responses"
}

measure_callwatch() { # ROUND
  local round=$1 out line secs rate cpu rss
  out="$WORK/logs/callwatch-r$round.txt"
  if ! "$DP_BIN" exec "$COUNT" >"$out" 2>&1; then
    warn "callwatch round $round: dispatcher-profile failed:"
    log_tail "$out"
    die "could not measure callwatch"
  fi
  line=$(grep '^exec: ' "$out") || {
    log_tail "$out"
    die "callwatch round $round: no result line from dispatcher-profile"
  }
  read -r secs rate cpu rss < <(sed -E \
    's/.* alerts in ([0-9.]+) s = ([0-9]+) alerts\/s; process CPU ([0-9.]+) s; .*peak during it ([0-9]+) MiB.*/\1 \2 \3 \4/' <<<"$line") || true
  is_uint "${rss:-x}" || {
    log_tail "$out"
    die "callwatch round $round: could not parse: $line"
  }
  record callwatch "$rate" - "$rss"
  printf '  round %d/%d  %-9s completed %8.0f /s   (%d in %.2f s, %s at a time, process CPU %.2f s)   peak RSS %6.1f MiB\n' \
    "$round" "$ROUNDS" callwatch "$rate" "$COUNT" "$secs" "${EXEC_CONCURRENCY:-8}" "$cpu" "$rss"
}

# ---------------------------------------------------------------- main
ensure_packages
mkdir -p "$WORK/logs"
wants callwatch && check_dispatcher_profile
wants ceiling && build_ceiling
wants webhook && write_webhook_files

say "exec-rate benchmark: ${SELECTED[*]}; $COUNT runs of $HOOK_COMMAND each; $ROUNDS round(s); $(nproc 2>/dev/null || echo '?') CPU(s)"
wants ceiling && say "ceiling: posix_spawn + waitpid, at most $PARALLEL alive"
wants webhook && say "webhook: $("$WEBHOOK_BIN" -version 2>&1 | head -n 1), driven by wrk -t1 -c$CONNECTIONS (cap ${WRK_CAP}s) GET /hooks/true"
wants callwatch && say "callwatch: $DISPATCHER_PROFILE exec $COUNT (EXEC_CONCURRENCY=${EXEC_CONCURRENCY:-8})"

for ((round = 1; round <= ROUNDS; round++)); do
  for t in "${SELECTED[@]}"; do
    case "$t" in
      ceiling) measure_ceiling "$round" ;;
      webhook) measure_webhook "$round" ;;
      callwatch) measure_callwatch "$round" ;;
    esac
  done
done

# ---------------------------------------------------------------- report
declare -A M_DONE M_ACC M_RSS
for t in "${SELECTED[@]}"; do
  M_DONE[$t]=$(median "${R_DONE[$t]}")
  M_ACC[$t]=-
  [[ $t == webhook ]] && M_ACC[$t]=$(printf '%.0f' "$(median "${R_ACC[$t]}")")
  M_RSS[$t]=$(maximum "${R_RSS[$t]}")
done

say ""
say "medians of $ROUNDS round(s) of $COUNT runs (peak RSS: the largest):"
printf '%-10s %12s %11s %13s %11s %11s\n' target 'completed/s' 'accepted/s' 'peak RSS MiB' 'vs webhook' 'vs ceiling'
for t in "${SELECTED[@]}"; do
  vw=-
  vc=-
  if wants webhook && [[ $t != webhook ]]; then vw=$(ratio "${M_DONE[$t]}" "${M_DONE[webhook]}"); fi
  if wants ceiling && [[ $t != ceiling ]]; then vc=$(ratio "${M_DONE[$t]}" "${M_DONE[ceiling]}"); fi
  printf '%-10s %12.0f %11s %13.1f %11s %11s\n' "$t" "${M_DONE[$t]}" "${M_ACC[$t]}" "${M_RSS[$t]}" "$vw" "$vc"
done
if wants callwatch; then
  say ""
  wants webhook && say "callwatch / webhook completed/s: $(ratio "${M_DONE[callwatch]}" "${M_DONE[webhook]}")"
  wants ceiling && say "callwatch / ceiling completed/s: $(ratio "${M_DONE[callwatch]}" "${M_DONE[ceiling]}")"
fi
((STATUS == 0)) || warn "some measurements are not valid (see the warnings above)"
exit "$STATUS"
