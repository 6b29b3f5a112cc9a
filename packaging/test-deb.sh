#!/usr/bin/env bash
# Build the callwatch .deb and check it without installing it on this host.
#
#   packaging/test-deb.sh                                # release build, then checks
#   CALLWATCH_BINARY=.build/debug/callwatch packaging/test-deb.sh   # fast: no swift build
#   DEB=packaging/out/callwatch_0.1.0-1_amd64.deb packaging/test-deb.sh  # check a built .deb
#
# Every other build-deb.sh variable (VERSION, RULES_FILE, MANPAGE_METHOD...)
# is passed through. Prints PASS/FAIL per check, ends with "N passed, M failed"
# and exits 1 if anything failed.
# pass/fail always succeed, so `test && pass || fail` is a safe if/else here.
# shellcheck disable=SC2015
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
rules_src=${RULES_FILE:-$repo/rules.yaml}
state_db=/var/lib/callwatch/callwatch.db

passed=0
failed=0
skipped=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/callwatch-test-deb.XXXXXX")
serve_pid=
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    [ -z "$serve_pid" ] || kill -KILL "$serve_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

pass() { passed=$((passed + 1)); printf 'PASS %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }
skip() { skipped=$((skipped + 1)); printf 'SKIP %s\n' "$*"; }
note() { printf '%s\n' "$@" | sed 's/^/     /'; }
show() { [ -s "$1" ] && sed -e 's/^/     | /' "$1" | head -n "${2:-20}"; return 0; }

# check NAME COMMAND...: PASS if COMMAND succeeds, else FAIL with its output.
check() {
    local name=$1 out=$tmp/check.out
    shift
    if "$@" >"$out" 2>&1; then
        pass "$name"
    else
        fail "$name"
        show "$out"
    fi
}

finish() {
    [ "$skipped" -eq 0 ] || printf '(%d skipped)\n' "$skipped"
    printf '%d passed, %d failed\n' "$passed" "$failed"
    [ "$failed" -eq 0 ]
    exit
}

# Install a Debian package for a tool when missing (root only; never the .deb).
need() {
    local tool=$1 package=$2
    command -v "$tool" >/dev/null 2>&1 && return 0
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
    note "installing $package for $tool"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package"; } \
        >"$tmp/apt.log" 2>&1 || { show "$tmp/apt.log"; return 1; }
    command -v "$tool" >/dev/null 2>&1
}

# --- build ------------------------------------------------------------------
if [ -n "${DEB:-}" ]; then
    deb=$DEB
    if [ -f "$deb" ]; then pass "using existing $deb"; else fail "DEB=$deb does not exist"; finish; fi
else
    if deb=$("$here/build-deb.sh" 2>"$tmp/build.log" | tail -n 1) && [ -f "$deb" ]; then
        pass "build-deb.sh built $deb"
        grep -E '^build-deb: (warning|man:)' "$tmp/build.log" | sed 's/^/     /'
    else
        fail "build-deb.sh"
        show "$tmp/build.log" 60
        finish
    fi
fi

# --- metadata -----------------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1" 2>/dev/null; }
arch_expected=${DEB_ARCH:-$(dpkg --print-architecture)}
package=$(field Package)
version=$(field Version)
architecture=$(field Architecture)
depends=$(field Depends)

[ "$package" = callwatch ] && pass "Package: callwatch" || fail "Package is '$package', expected callwatch"
if [[ $version =~ ^[0-9][A-Za-z0-9.+~]*-[A-Za-z0-9.+~]+$ ]]; then
    pass "Version: $version"
else
    fail "Version '$version' is not <upstream>-<revision>"
fi
[ "$architecture" = "$arch_expected" ] && pass "Architecture: $architecture" ||
    fail "Architecture is '$architecture', expected $arch_expected"
for f in Maintainer Description Installed-Size Section Priority; do
    [ -n "$(field "$f")" ] || fail "control field $f is missing"
done
[ -n "$depends" ] && pass "Depends: $depends" || fail "Depends is empty"
case ", $depends," in
    *", adduser"*) pass "Depends has adduser (postinst creates the system user)" ;;
    *) fail "Depends lacks adduser (postinst creates the system user)" ;;
esac

case "$(field Recommends)" in
    *ca-certificates*) pass "Recommends: ca-certificates (https notifications)" ;;
    *) fail "Recommends lacks ca-certificates (https notifications need the CA store)" ;;
esac

# --- file list --------------------------------------------------------------
dpkg-deb -c "$deb" >"$tmp/contents" || fail "dpkg-deb -c"
awk '{print $6}' "$tmp/contents" | sed 's|/$||' >"$tmp/paths"
missing=
for p in \
    usr/bin/callwatch \
    etc/callwatch/rules.yaml \
    etc/default/callwatch \
    lib/systemd/system/callwatch.service \
    var/lib/callwatch \
    usr/share/bash-completion/completions/callwatch \
    usr/share/zsh/vendor-completions/_callwatch \
    usr/share/fish/vendor_completions.d/callwatch.fish \
    usr/share/man/man1/callwatch.1.gz \
    usr/share/doc/callwatch/copyright; do
    grep -qx "./$p" "$tmp/paths" || missing="$missing /$p"
done
[ -z "$missing" ] && pass "the .deb contains every expected path" || fail "missing from the .deb:$missing"

mode_of() { awk -v p="./$1" '$6 == p || $6 == p "/" {print $1, $2}' "$tmp/contents"; }
[ "$(mode_of usr/bin/callwatch)" = "-rwxr-xr-x root/root" ] && pass "/usr/bin/callwatch is 0755 root:root" ||
    fail "/usr/bin/callwatch is '$(mode_of usr/bin/callwatch)'"
[ "$(mode_of etc/default/callwatch)" = "-rw------- root/root" ] && pass "/etc/default/callwatch (secrets) is 0600 root:root" ||
    fail "/etc/default/callwatch is '$(mode_of etc/default/callwatch)'"
if awk '{print $2}' "$tmp/contents" | grep -vqx 'root/root'; then
    fail "files not owned by root/root in the .deb"
else
    pass "every file in the .deb is root/root"
fi

# --- control archive ----------------------------------------------------------
ctrl=$tmp/DEBIAN
dpkg-deb -e "$deb" "$ctrl" || fail "dpkg-deb -e"
if [ "$(sort "$ctrl/conffiles" 2>/dev/null)" = "$(printf '%s\n' /etc/callwatch/rules.yaml /etc/default/callwatch)" ]; then
    pass "conffiles: /etc/callwatch/rules.yaml /etc/default/callwatch"
else
    fail "conffiles is '$(tr '\n' ' ' <"$ctrl/conffiles" 2>/dev/null)'"
fi
for s in postinst prerm postrm; do
    [ -x "$ctrl/$s" ] || fail "maintainer script $s missing or not executable"
done

# --- extracted tree -----------------------------------------------------------
root=$tmp/root
dpkg-deb -x "$deb" "$root" || fail "dpkg-deb -x"
bin=$root/usr/bin/callwatch
cfg=$root/etc/callwatch/rules.yaml
check "md5sums match the files" sh -c "cd '$root' && md5sum --quiet -c '$ctrl/md5sums'"

# Only state.path differs from the repository's rules.yaml.
if [ -f "$rules_src" ]; then
    diff "$rules_src" "$cfg" >"$tmp/rules.diff"
    changed=$(grep -c '^[<>]' "$tmp/rules.diff")
    if [ "$changed" = 2 ] && grep -q "^>.*path:[[:space:]]*$state_db" "$tmp/rules.diff"; then
        pass "rules.yaml: state.path rewritten to $state_db, nothing else changed"
    else
        fail "rules.yaml differs from $rules_src in an unexpected way"
        show "$tmp/rules.diff"
    fi
else
    skip "no $rules_src to compare the shipped rules.yaml with"
fi

# The binary as packaged (stripped) runs and validates the shipped config.
# Run from an empty directory so that nothing relative to the repo is used.
mkdir -p "$tmp/cwd"
if (cd "$tmp/cwd" && "$bin" check -c "$cfg") >"$tmp/check.out" 2>&1; then
    pass "usr/bin/callwatch check -c etc/callwatch/rules.yaml: $(tail -n 1 "$tmp/check.out")"
else
    fail "usr/bin/callwatch check -c etc/callwatch/rules.yaml"
    show "$tmp/check.out"
fi
if (cd "$tmp/cwd" && "$bin" check --strict -c "$cfg") >"$tmp/check.out" 2>&1; then
    pass "usr/bin/callwatch check --strict (no warnings in the shipped config)"
else
    fail "usr/bin/callwatch check --strict"
    show "$tmp/check.out"
fi
# The options the unit's ExecStart= passes must exist.
if "$bin" serve --help >"$tmp/serve.out" 2>&1 && grep -q -- '--state' "$tmp/serve.out" &&
    grep -q -- '--config' "$tmp/serve.out"; then
    pass "callwatch serve takes --config and --state (the unit's ExecStart=)"
else
    fail "callwatch serve --help does not list --config and --state (the unit's ExecStart=)"
    show "$tmp/serve.out" 5
fi
bin_version=$("$bin" version 2>/dev/null)
upstream=${version%-*}
if [ -n "${VERSION:-}" ]; then
    skip "version comparison (VERSION=$VERSION given)"
elif [[ ${bin_version//-/\~} == *"$upstream"* ]]; then
    pass "callwatch version ($bin_version) matches the package version ($version)"
else
    fail "callwatch version prints '$bin_version', the package is $version"
fi

# Smoke test: the packaged binary serves the shipped config (on another port,
# with the state in a temp dir), takes an event and stops cleanly on SIGTERM.
if ! command -v curl >/dev/null 2>&1; then
    skip "serve smoke test (curl not installed)"
elif ! "$bin" serve --help >/dev/null 2>&1; then
    fail "serve smoke test: callwatch has no serve command"
else
    port=$((20000 + RANDOM % 20000))
    url=http://127.0.0.1:$port
    had_var_lib=no
    [ -e /var/lib/callwatch ] && had_var_lib=yes
    mkdir -p "$tmp/state"
    (cd "$tmp/cwd" && exec "$bin" serve -c "$cfg" --state "$tmp/state/callwatch.db" \
        --listen "127.0.0.1:$port") >"$tmp/serve.log" 2>&1 &
    serve_pid=$!
    ready=
    for _ in $(seq 1 40); do
        if curl -fsS -m 2 "$url/readyz" >/dev/null 2>&1; then ready=yes; break; fi
        kill -0 "$serve_pid" 2>/dev/null || break
        sleep 0.5
    done
    if [ -n "$ready" ]; then
        pass "callwatch serve starts with the shipped config (/readyz answers)"
        path=$(sed -n 's/^[[:space:]]*path:[[:space:]]*\(\/[^[:space:]#]*\).*/\1/p' "$cfg" | grep -v "^$state_db" | head -n 1)
        answer=$(curl -sS -m 5 -H 'Content-Type: application/json' --data-binary @- "$url${path:-/v1/call-status}" <<'JSON'
{"namespace":"VOICE","eventType":"CALL_STATUS","payload":{"eventId":"test-deb-1","callId":"c1","sessionId":"s1","callStatus":"CALL_DISCONNECTED","destination":"+622150996455","callDuration":0,"sipCode":486,"timestamp":"2026-01-06T10:17:19.375Z"}}
JSON
        )
        [[ $answer == *accepted* ]] && pass "POST ${path:-/v1/call-status} accepts an 8x8 event" ||
            fail "POST ${path:-/v1/call-status} answered '$answer'"
        [ -f "$tmp/state/callwatch.db" ] && pass "the journal is created at --state" ||
            fail "no journal at --state $tmp/state/callwatch.db"
        if [ "$had_var_lib" = no ] && [ -e /var/lib/callwatch ]; then
            fail "serve wrote to the host's /var/lib/callwatch despite --state"
        fi
    else
        fail "callwatch serve did not become ready on 127.0.0.1:$port"
        show "$tmp/serve.log"
    fi
    kill -TERM "$serve_pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$serve_pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$serve_pid" 2>/dev/null; then
        kill -KILL "$serve_pid" 2>/dev/null
        fail "callwatch serve still running 50 s after SIGTERM (TimeoutStopSec=45)"
    else
        wait "$serve_pid"
        status=$?
        serve_pid=
        [ "$status" = 0 ] && pass "callwatch serve exits 0 on SIGTERM" ||
            { fail "callwatch serve exited $status on SIGTERM"; show "$tmp/serve.log"; }
    fi
fi

# Shared libraries: every one must come from a Debian package named in Depends.
if [ "$(head -c 4 "$bin" | od -An -c | tr -d ' ')" = '177ELF' ] && command -v ldd >/dev/null 2>&1; then
    # The libraries the binary names itself (DT_NEEDED); their own
    # dependencies are their packages' business, as for dpkg-shlibdeps.
    if command -v readelf >/dev/null 2>&1; then
        readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1 /p' >"$tmp/needed"
    else
        ldd "$bin" | awk '$2 == "=>" {print $1 " "}' >"$tmp/needed"
    fi
    dep_names=" $(printf '%s' "$depends" | sed 's/[,|]/\n/g' | sed 's/(.*//; s/:.*//' | tr -d ' ' | tr '\n' ' ') "
    uncovered=
    unpackaged=
    while read -r lib path; do
        owner=
        if [ "${path#/}" != "$path" ]; then
            real=$(readlink -f "$path")
            for p in "$path" "$real" "${path#/usr}" "${real#/usr}" "/usr$path" "/usr$real"; do
                owner=$(dpkg -S "$p" 2>/dev/null | head -n 1 | cut -d: -f1) && [ -n "$owner" ] && break
            done
        fi
        if [ -z "$owner" ]; then
            unpackaged="$unpackaged $lib"
        elif [[ $dep_names != *" $owner "* ]]; then
            uncovered="$uncovered $lib($owner)"
        fi
    done < <(ldd "$bin" | awk '$2 == "=>" {print $1, $3}' | grep -F -f "$tmp/needed")
    [ -z "$uncovered" ] && pass "Depends covers every shared library the binary links" ||
        fail "Depends lacks the packages of:$uncovered"
    if [ -z "$unpackaged" ]; then
        pass "no shared library outside Debian packages (Swift runtime linked statically)"
    elif [ -n "${CALLWATCH_BINARY:-}" ]; then
        skip "libraries outside Debian packages:$unpackaged (CALLWATCH_BINARY is not a --static-swift-stdlib build)"
    else
        fail "libraries outside Debian packages:$unpackaged (--static-swift-stdlib missing?)"
    fi
else
    skip "shared library checks (the packaged binary is not ELF)"
fi

# Completions: non-empty and, where the shell exists, syntactically valid.
comp_bash=$root/usr/share/bash-completion/completions/callwatch
comp_zsh=$root/usr/share/zsh/vendor-completions/_callwatch
comp_fish=$root/usr/share/fish/vendor_completions.d/callwatch.fish
check "bash completion is valid bash" bash -n "$comp_bash"
grep -qs callwatch "$comp_bash" && grep -qs callwatch "$comp_zsh" && grep -qs callwatch "$comp_fish" &&
    pass "zsh and fish completions are present" || fail "a completion script is empty or not for callwatch"
if command -v zsh >/dev/null 2>&1; then check "zsh completion parses" zsh -n "$comp_zsh"; fi
if command -v fish >/dev/null 2>&1; then check "fish completion parses" fish --no-execute "$comp_fish"; fi

# Man pages render without troff warnings.
pages=$(cd "$root/usr/share/man/man1" && printf '%s ' *.1.gz)
if command -v man >/dev/null 2>&1; then
    bad=
    for page in "$root"/usr/share/man/man1/*.1.gz; do
        out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) || bad="$bad $(basename "$page")"
        [ -z "$out" ] || { bad="$bad $(basename "$page")"; note "$out"; }
    done
    [ -z "$bad" ] && pass "man pages render: $pages" || fail "man pages with errors:$bad"
else
    skip "man not installed; man pages: $pages"
fi

# --- systemd unit ---------------------------------------------------------------
unit=$root/lib/systemd/system/callwatch.service
missing=
while IFS= read -r line; do
    grep -qxF "$line" "$unit" || missing="$missing"$'\n'"     $line"
done <<'EOF'
ExecStartPre=/usr/bin/callwatch check -c /etc/callwatch/rules.yaml
ExecStart=/usr/bin/callwatch serve -c /etc/callwatch/rules.yaml --state /var/lib/callwatch/callwatch.db
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
User=callwatch
EnvironmentFile=-/etc/default/callwatch
KillSignal=SIGTERM
TimeoutStopSec=45
LimitNOFILE=65536
StateDirectory=callwatch
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=/var/lib/callwatch
ProtectHome=yes
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
EOF
[ -z "$missing" ] && pass "unit has the expected service and hardening settings" ||
    fail "unit lacks:$missing"
grep -q '^MemoryDenyWriteExecute=yes' "$unit" && fail "unit sets MemoryDenyWriteExecute (breaks JIT hooks)" ||
    pass "unit leaves MemoryDenyWriteExecute off (hooks may JIT)"
grep -q "state:" "$cfg" && grep -q "$state_db" "$cfg" && pass "unit --state and rules.yaml state.path agree" ||
    fail "rules.yaml state.path is not $state_db"

# systemd-analyze on a copy whose binary path points into the extracted tree
# (verify checks that ExecStart= exists); nothing is installed on the host.
if need systemd-analyze systemd; then
    mkdir -p "$tmp/units"
    sed "s|/usr/bin/callwatch|$bin|g" "$unit" >"$tmp/units/callwatch.service"
    if systemd-analyze verify --man=no "$tmp/units/callwatch.service" >"$tmp/verify.out" 2>&1 &&
        ! grep -q 'callwatch.service' "$tmp/verify.out"; then
        pass "systemd-analyze verify callwatch.service"
    else
        fail "systemd-analyze verify callwatch.service"
        show "$tmp/verify.out"
    fi
    if systemd-analyze security --offline=yes --threshold=25 "$tmp/units/callwatch.service" >"$tmp/security.out" 2>&1; then
        pass "systemd-analyze security: $(grep -o 'exposure level.*' "$tmp/security.out" | sed 's/^exposure level for [^:]*: //')"
    elif grep -q 'unrecognized option' "$tmp/security.out"; then
        skip "systemd-analyze security --offline (needs systemd >= 250)"
    else
        fail "systemd-analyze security: exposure above 2.5"
        grep -E 'exposure|✗' "$tmp/security.out" | sed 's/^/     | /'
    fi
else
    skip "systemd-analyze not available"
fi

# --- maintainer scripts ---------------------------------------------------------
# Run them with PATH holding only logging stubs: they cannot touch the host,
# and the log shows what they would do. (/run/systemd/system decides the
# systemctl branches, so those run only on a host booted with systemd.)
stubs=$tmp/stubs
mkdir -p "$stubs"
for cmd in adduser useradd chown chmod mkdir rm rmdir systemctl deb-systemd-invoke; do
    printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$cmd" "$tmp/calls" >"$stubs/$cmd"
done
printf '#!/bin/sh\nexit 1\n' >"$stubs/dpkg-statoverride"
# shellcheck disable=SC2016 # the stub's own $2
printf '#!/bin/sh\n[ -n "$GETENT_FOUND" ] && echo "$2:x:999:999::/var/lib/callwatch:/usr/sbin/nologin"\n' >"$stubs/getent"
chmod 0755 "$stubs"/*
run_script() { # SCRIPT ARGS... -> the stub call log
    : >"$tmp/calls"
    env -i PATH="$stubs" GETENT_FOUND="${GETENT_FOUND:-}" /bin/sh "$ctrl/$1" "${@:2}" >"$tmp/script.out" 2>&1 ||
        { echo "exit status $?"; cat "$tmp/script.out"; }
    cat "$tmp/calls"
}
calls=$(run_script postinst configure)
if grep -q '^adduser --system .*--group .*callwatch$' <<<"$calls" &&
    grep -qx 'chown callwatch:callwatch /var/lib/callwatch' <<<"$calls" &&
    grep -qx 'chmod 0750 /var/lib/callwatch' <<<"$calls"; then
    pass "postinst configure: creates the callwatch system user, chowns /var/lib/callwatch"
else
    fail "postinst configure did:"; note "$calls"
fi
calls=$(GETENT_FOUND=1 run_script postinst configure 0.0.9-1)
if ! grep -q 'adduser\|useradd' <<<"$calls" && ! grep -q 'exit status' <<<"$calls"; then
    pass "postinst configure (upgrade, user exists): no new user"
else
    fail "postinst upgrade did:"; note "$calls"
fi
rm "$stubs/adduser"
calls=$(run_script postinst configure)
grep -q '^useradd --system --user-group .*callwatch$' <<<"$calls" &&
    pass "postinst configure without adduser: falls back to useradd" ||
    { fail "postinst without adduser did:"; note "$calls"; }
calls=$(run_script prerm remove)$(run_script postrm remove)
if ! grep -q '^rm ' <<<"$calls" && ! grep -q 'exit status' <<<"$calls"; then
    pass "prerm/postrm remove: state in /var/lib/callwatch is kept"
else
    fail "prerm/postrm remove did:"; note "$calls"
fi
calls=$(run_script postrm purge)
if grep -qx 'rm -rf /var/lib/callwatch' <<<"$calls" && ! grep -q 'userdel\|deluser\|exit status' <<<"$calls"; then
    pass "postrm purge: removes /var/lib/callwatch, keeps the system user"
else
    fail "postrm purge did:"; note "$calls"
fi
calls=$(run_script postinst bogus-action)
grep -q 'exit status' <<<"$calls" && pass "postinst rejects an unknown action" ||
    fail "postinst accepted an unknown action"

# --- shellcheck -----------------------------------------------------------------
if need shellcheck shellcheck; then
    check "shellcheck postinst prerm postrm" shellcheck -s sh "$ctrl/postinst" "$ctrl/prerm" "$ctrl/postrm"
    check "shellcheck build-deb.sh test-deb.sh" shellcheck "$here/build-deb.sh" "$here/test-deb.sh"
else
    fail "shellcheck is not installed and could not be installed"
fi

finish
