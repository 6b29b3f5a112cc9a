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

