# bench/lib.sh: what bench/load.sh and bench/exec-rate.sh share (sourced, not run): messages, target
# selection, the temporary directory with its cleanup trap, stopping a server, installing packages.
# The sourcing script sets BENCH_NAME (for messages) and ALL_TARGETS before calling select_targets.
# shellcheck shell=bash

say() { printf '%s\n' "$*"; }
warn() { printf '%s: warning: %s\n' "$BENCH_NAME" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "$BENCH_NAME" "$*" >&2
  exit 2
}

# The script's header comment, as its --help.
usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

# parse_options OPTION VARIABLE -- "$@": --only LIST (sets TARGETS), --rounds N (ROUNDS), -h/--help, and the
# script's own numeric OPTION (e.g. --duration) into VARIABLE. Anything else is an error.
# shellcheck disable=SC2034 # TARGETS and ROUNDS are read by the sourcing script
parse_options() {
  local option=$1 variable=$2
  shift 3
  while (($# > 0)); do
    case "$1" in
      --only)
        (($# >= 2)) || die "--only needs a list, e.g. --only callwatch"
        TARGETS=$2
        shift 2
        ;;
      --only=*)
        TARGETS=${1#--only=}
        shift
        ;;
      --rounds)
        (($# >= 2)) || die "--rounds needs a number"
        ROUNDS=$2
        shift 2
        ;;
      "$option")
        (($# >= 2)) || die "$option needs a number"
        printf -v "$variable" '%s' "$2"
        shift 2
        ;;
      -h | --help)
        usage
        exit 0
        ;;
      *) die "unknown argument '$1' (see --help)" ;;
    esac
  done
}

# SELECTED: the targets named in $TARGETS (commas or spaces), in the order of ALL_TARGETS, each once.
select_targets() {
  local t r requested
  read -r -a requested <<<"${TARGETS//,/ }"
  ((${#requested[@]} > 0)) || die "no targets given"
  for t in "${requested[@]}"; do
    [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || die "unknown target '$t' (choose from: ${ALL_TARGETS[*]})"
  done
  SELECTED=()
  for t in "${ALL_TARGETS[@]}"; do
    for r in "${requested[@]}"; do
      if [[ $r == "$t" ]]; then
        SELECTED+=("$t")
        break
      fi
    done
  done
}

wants() {
  local t
  for t in "${SELECTED[@]}"; do [[ $t == "$1" ]] && return 0; done
  return 1
}

# ---------------------------------------------------------------- work dir
# make_workdir: WORK, a temporary directory removed on exit (KEEP_TMP=1 keeps it); stops SERVER_PID too.
SERVER_PID=""
SERVER_NAME=""
make_workdir() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/callwatch-${BENCH_NAME%.sh}.XXXXXX")
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

stop_server() {
  local pid=$SERVER_PID i
  [[ -n $pid ]] || return 0
  SERVER_PID=""
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      warn "$SERVER_NAME (pid $pid) ignored SIGTERM for 10 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
  stop_server
  if [[ ${KEEP_TMP:-0} == 1 ]]; then
    say "kept temporary files in $WORK"
  else
    rm -rf -- "$WORK"
  fi
}

# ---------------------------------------------------------------- packages
APT_UPDATED=0
run_root() {
  if ((EUID == 0)); then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "not root and no sudo: install the packages yourself: $*"
  fi
}
apt_install() {
  local log="$WORK/apt.log"
  say "installing: $* (log: apt-get)"
  if run_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "$@" >>"$log" 2>&1; then
    return 0
  fi
  if ((APT_UPDATED == 0)); then
    APT_UPDATED=1
    say "apt-get update"
    run_root apt-get update -q >>"$log" 2>&1 || {
      tail -n 20 "$log" >&2
      die "apt-get update failed"
    }
    run_root env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q --no-install-recommends "$@" >>"$log" 2>&1 &&
      return 0
  fi
  tail -n 20 "$log" >&2
  return 1
}
have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- servers and figures
# Sets PORT to a free TCP port on 127.0.0.1 below the ephemeral range, never
# one already handed out in this run (every server start gets its own port).
# Sets a global rather than printing, so that USED_PORTS survives.
USED_PORTS=" "
PORT=""
# shellcheck disable=SC2034 # PORT is read by the scripts that source this
free_port() {
  local p i
  for ((i = 0; i < 500; i++)); do
    p=$((20000 + RANDOM % 12000))
    [[ $USED_PORTS == *" $p "* ]] && continue
    # A refused connection means nothing listens there.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      USED_PORTS+="$p "
      PORT=$p
      return 0
    fi
  done
  die "found no free port on 127.0.0.1"
}

log_tail() {
  [[ -f $1 ]] && tail -n 15 -- "$1" | sed 's/^/    | /' >&2
  return 0
}

# Waits until URL answers 200 while SERVER_PID ($SERVER_NAME) lives, up to READY_TIMEOUT seconds.
wait_ready() { # URL LOGFILE
  local url=$1 log=$2 code deadline
  deadline=$((SECONDS + READY_TIMEOUT))
  while :; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      warn "$SERVER_NAME exited before it was ready; its log:"
      log_tail "$log"
      die "$SERVER_NAME did not start"
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" 2>/dev/null) || true
    [[ $code == 200 ]] && return 0
    if ((SECONDS >= deadline)); then
      warn "$SERVER_NAME not ready after ${READY_TIMEOUT}s (GET $url: ${code:-none}); its log:"
      log_tail "$log"
      die "$SERVER_NAME did not become ready"
    fi
    sleep 0.1
  done
}

# Median of a space-separated list of numbers.
median() {
  # shellcheck disable=SC2086 # word splitting of the list is intended
  printf '%s\n' $1 | sort -g | awk '
    { a[NR] = $1 }
    END { if (NR == 0) exit 1; if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
