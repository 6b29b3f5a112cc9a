#!/usr/bin/env bash
# Build the callwatch Debian package with dpkg-deb (no debhelper needed).
#
#   packaging/build-deb.sh                  # release build + .deb in packaging/out/
#   CALLWATCH_BINARY=path packaging/build-deb.sh   # package that binary, no swift build
#
# Environment:
#   CALLWATCH_BINARY  package this executable instead of building one
#   VERSION           upstream version (default: from `callwatch version`)
#   DEB_REVISION      Debian revision (default: 1)
#   DEB_ARCH          Architecture field (default: dpkg --print-architecture)
#   DEB_MAINTAINER    Maintainer field
#   EXTRA_DEPENDS     appended to Depends (e.g. "ca-certificates")
#   DEB_COMPRESSION   dpkg-deb -Z: xz (default), gzip (faster), zstd, none
#   RULES_FILE        rules to ship as /etc/callwatch/rules.yaml (default: rules.yaml)
#   OUT_DIR           where the .deb goes (default: packaging/out)
#   SCRATCH_PATH      SwiftPM scratch path (default: .build-release)
#   SWIFT_BUILD_FLAGS extra flags for `swift build` (e.g. "-j 1")
#   MANPAGE_METHOD    auto (default) | tool | plugin | help
#                     tool:   swift-argument-parser's generate-manual run on
#                             the packaged binary (what its plugin runs)
#                     plugin: the generate-manual command plugin, in its own
#                             scratch path (<scratch>-manual): it builds the
#                             whole package once more
#                     help:   a page made from `callwatch --help`
#                     auto:   tool, else help
#   GENERATE_MANUAL   path to an already built generate-manual executable
#   STRIP             debug (default: drop debug info, keep symbols for
#                     backtraces) | all | none
#   SOURCE_DATE_EPOCH timestamp for the archive and man pages (default: last
#                     git commit, else now)
#
# Prints the path of the .deb on stdout; progress goes to stderr.
set -euo pipefail
umask 022

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
pkg=callwatch

out_dir=${OUT_DIR:-$here/out}
scratch=${SCRATCH_PATH:-$repo/.build-release}
rules_src=${RULES_FILE:-$repo/rules.yaml}
deb_revision=${DEB_REVISION:-1}
maintainer=${DEB_MAINTAINER:-callwatch authors <noreply@callwatch.invalid>}
manpage_method=${MANPAGE_METHOD:-auto}
strip_mode=${STRIP:-debug}
read -r -a swift_flags <<<"${SWIFT_BUILD_FLAGS:-}"

# Every build in $scratch uses the same flags. SwiftPM caches its build plan
# (<scratch>/release.yaml) and does not always notice when only
# --static-swift-stdlib changes, so a build without it (the generate-manual
# plugin's, for one) leaves a plan that links the Swift runtime dynamically.
swift_build() {
    swift build --package-path "$repo" -c release --static-swift-stdlib \
        --scratch-path "$scratch" "${swift_flags[@]}" "$@"
}
links_swift_runtime() { readelf -d "$1" 2>/dev/null | grep -q 'NEEDED.*libswiftCore\.so'; }

state_db=/var/lib/callwatch/callwatch.db

log() { printf 'build-deb: %s\n' "$*" >&2; }
warn() { printf 'build-deb: warning: %s\n' "$*" >&2; }
die() { printf 'build-deb: error: %s\n' "$*" >&2; exit 1; }

for tool in dpkg-deb dpkg gzip install sed; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required (apt-get install dpkg-dev)"
done
[ -f "$rules_src" ] || die "no rules file at $rules_src (set RULES_FILE)"

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || true)
    [ -n "$SOURCE_DATE_EPOCH" ] || SOURCE_DATE_EPOCH=$(date +%s)
fi
export SOURCE_DATE_EPOCH
build_date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)

work=$(mktemp -d "${TMPDIR:-/tmp}/callwatch-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
# dpkg-shlibdeps wants debian/control and the package tree in debian/<pkg>.
root=$work/debian/$pkg
mkdir -p "$root/DEBIAN"

# --- 1. the binary --------------------------------------------------------
if [ -n "${CALLWATCH_BINARY:-}" ]; then
    [ -x "$CALLWATCH_BINARY" ] || die "CALLWATCH_BINARY=$CALLWATCH_BINARY is not an executable file"
    binary_src=$CALLWATCH_BINARY
    log "packaging $binary_src (CALLWATCH_BINARY, no swift build)"
else
    command -v swift >/dev/null 2>&1 || die "swift not found (or set CALLWATCH_BINARY)"
    log "swift build -c release --static-swift-stdlib --scratch-path $scratch --product callwatch"
    swift_build --product callwatch >&2
    binary_src=$(swift_build --show-bin-path)/callwatch
    [ -x "$binary_src" ] || die "build produced no $binary_src"
    if links_swift_runtime "$binary_src"; then
        warn "SwiftPM reused a build plan without --static-swift-stdlib; regenerating it"
        rm -f "$scratch/release.yaml" "$binary_src"
        swift_build --product callwatch >&2
        ! links_swift_runtime "$binary_src" ||
            die "$binary_src links the Swift runtime dynamically despite --static-swift-stdlib (remove $scratch)"
    fi
fi

install -D -m 0755 "$binary_src" "$root/usr/bin/callwatch"
bin=$root/usr/bin/callwatch

is_elf() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }

if is_elf "$bin"; then
    case $strip_mode in
        none) ;;
        debug|all)
            if command -v strip >/dev/null 2>&1; then
                if [ "$strip_mode" = all ]; then
                    strip --remove-section=.comment --remove-section=.note "$bin"
                else
                    strip --strip-debug --remove-section=.comment "$bin"
                fi
            else
                warn "strip not found (binutils); the binary keeps its debug info"
            fi
            ;;
        *) die "STRIP must be debug, all or none" ;;
    esac
else
    warn "$binary_src is not an ELF executable (a stand-in?); dependencies cannot be computed"
fi

# --- 2. version -----------------------------------------------------------
if [ -z "${VERSION:-}" ]; then
    version_out=$("$bin" version 2>/dev/null) || die "'callwatch version' failed (set VERSION)"
    # "callwatch 1.2.3", "1.2.3", "v1.2.3-rc1"...: the first token that looks
    # like a version.
    VERSION=$(printf '%s\n' "$version_out" | grep -oE '[vV]?[0-9]+(\.[0-9A-Za-z]+)*([-+~][0-9A-Za-z.+~-]*)?' | head -n 1 || true)
    [ -n "$VERSION" ] || die "cannot find a version in '$version_out' (set VERSION)"
fi
upstream=${VERSION#[vV]}
# Debian: '-' separates the revision, so an upstream pre-release 1.2.0-rc1
# becomes 1.2.0~rc1 (sorts before 1.2.0); nothing but [A-Za-z0-9.+~].
upstream=$(printf '%s' "$upstream" | tr -- '-' '~' | tr -c 'A-Za-z0-9.+~' '.')
case $upstream in
    [0-9]*) ;;
    *) die "version '$upstream' must start with a digit" ;;
esac
deb_version=$upstream-$deb_revision
arch=${DEB_ARCH:-$(dpkg --print-architecture)}
log "version $deb_version, architecture $arch"

# --- 3. configuration -----------------------------------------------------
install -d -m 0755 "$root/etc/callwatch"
# state.path -> /var/lib/callwatch/callwatch.db, keeping any trailing comment;
# block style (state:\n  path: x) and flow style (state: {path: x, ...}).
sed -e "/^state:[[:space:]]*\$/,/^[^[:space:]#]/ s|^\\([[:space:]]\\{1,\\}path:[[:space:]]*\\)[^[:space:]#]*|\\1$state_db|" \
    -e "/^state:[[:space:]]*{/ s|\\([{,][[:space:]]*path:[[:space:]]*\\)[^,}[:space:]]*|\\1$state_db|" \
    "$rules_src" >"$root/etc/callwatch/rules.yaml"
chmod 0644 "$root/etc/callwatch/rules.yaml"
grep -Eq "^([[:space:]]+path:[[:space:]]*|state:.*path:[[:space:]]*)$state_db" "$root/etc/callwatch/rules.yaml" ||
    die "could not rewrite state.path in $rules_src (expected a 'state:' section with 'path:')"

install -d -m 0755 "$root/etc/default"
install -m 0600 "$here/debian/default" "$root/etc/default/callwatch"
# List the ${NAME} variables the shipped rules use, so the admin sees what to set.
# shellcheck disable=SC2016 # a literal ${NAME} pattern
vars=$(grep -v '^[[:space:]]*#' "$rules_src" | grep -oE '\$\{[A-Za-z_][A-Za-z0-9_]*\}' | sort -u | tr -d '${}' || true)
extra=
for v in $vars; do
    grep -q "^#\\?$v=" "$here/debian/default" || extra="$extra#$v="$'\n'
done
if [ -n "$extra" ]; then
    printf '\n# Other variables the shipped /etc/callwatch/rules.yaml uses:\n%s' "$extra" \
        >>"$root/etc/default/callwatch"
fi

# --- 4. systemd unit, state directory, docs -------------------------------
install -D -m 0644 "$here/callwatch.service" "$root/lib/systemd/system/callwatch.service"
install -d -m 0750 "$root/var/lib/callwatch"
install -D -m 0644 "$here/debian/copyright" "$root/usr/share/doc/callwatch/copyright"

# --- 5. shell completions (generated by the binary) -----------------------
completion() {
    local shell=$1 dest=$2
    install -d -m 0755 "$(dirname "$dest")"
    "$bin" --generate-completion-script "$shell" >"$dest" ||
        die "callwatch --generate-completion-script $shell failed"
    [ -s "$dest" ] || die "callwatch --generate-completion-script $shell printed nothing"
    chmod 0644 "$dest"
}
completion bash "$root/usr/share/bash-completion/completions/callwatch"
completion zsh "$root/usr/share/zsh/vendor-completions/_callwatch"
completion fish "$root/usr/share/fish/vendor_completions.d/callwatch.fish"

# --- 6. man pages ---------------------------------------------------------
man_out=$work/man
authors="callwatch authors"

man_plugin() {
    [ -z "${CALLWATCH_BINARY:-}" ] ||
        warn "the plugin documents the package's own build, not CALLWATCH_BINARY"
    command -v swift >/dev/null 2>&1 || return 1
    # The plugin builds every product in release mode without
    # --static-swift-stdlib, so it gets a scratch path of its own (see
    # swift_build above); it writes to <scratch>/plugins/GenerateManual.
    local plugin_scratch=$scratch-manual
    local plugin_out=$plugin_scratch/plugins/GenerateManual/outputs/callwatch
    rm -rf "$plugin_out"
    log "man: swift package --scratch-path $plugin_scratch plugin generate-manual --multi-page"
    swift package --package-path "$repo" --scratch-path "$plugin_scratch" \
        plugin generate-manual --multi-page --date "$build_date" --authors "$authors" >&2 || return 1
    compgen -G "$plugin_out/*.1" >/dev/null || return 1
    cp "$plugin_out"/*.1 "$man_out/"
}

man_tool() {
    local gm=${GENERATE_MANUAL:-}
    if [ -z "$gm" ] && [ -x "$scratch/release/generate-manual" ]; then
        gm=$scratch/release/generate-manual
    fi
    if [ -z "$gm" ] && command -v swift >/dev/null 2>&1; then
        log "man: building swift-argument-parser's generate-manual"
        if swift_build --product generate-manual >&2; then
            gm=$scratch/release/generate-manual
        fi
    fi
    [ -n "$gm" ] && [ -x "$gm" ] || return 1
    log "man: $gm callwatch --multi-page"
    "$gm" "$bin" --multi-page --date "$build_date" --authors "$authors" \
        --output-directory "$man_out" >&2 || return 1
    compgen -G "$man_out/*.1" >/dev/null
}

roff_escape() {
    # Backslashes, and leading . or ' that roff would read as requests.
    sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
}

man_help() {
    log "man: generating a page from 'callwatch --help'"
    local help subs sub page=$man_out/callwatch.1
    help=$("$bin" --help 2>&1) || return 1
    [ -n "$help" ] || return 1
    # Subcommands: the indented first words of the SUBCOMMANDS section.
    subs=$(printf '%s\n' "$help" | sed -n '/^SUBCOMMANDS:/,/^[^ ]/{s/^  \([a-z][a-z0-9-]*\).*/\1/p}' | grep -vx help || true)
    {
        printf '.TH CALLWATCH 1 "%s" "callwatch %s" "User Commands"\n' "$build_date" "$upstream"
        printf '.SH NAME\ncallwatch \\- rule-based alerting daemon for 8x8 Number Masking webhooks\n'
        printf '.SH SYNOPSIS\n.B callwatch\n.I command\n[\\fIoptions\\fR]\n'
        printf '.SH DESCRIPTION\n.nf\n'
        printf '%s\n' "$help" | roff_escape
        printf '.fi\n'
        for sub in $subs; do
            printf '.SH "CALLWATCH %s"\n.nf\n' "$(printf '%s' "$sub" | tr '[:lower:]' '[:upper:]')"
            "$bin" "$sub" --help 2>&1 | roff_escape || true
            printf '.fi\n'
        done
        printf '.SH FILES\n.TP\n/etc/callwatch/rules.yaml\nthe rules\n'
        printf '.TP\n/etc/default/callwatch\nenvironment (secrets) for the systemd service\n'
        printf '.TP\n%s\nthe event journal (SQLite)\n' "$state_db"
        printf '.SH AUTHORS\n%s\n' "$authors"
    } >"$page"
}

mkdir -p "$man_out"
case $manpage_method in
    # Not the plugin by default: it would build the whole package a second
    # time, to run the same generate-manual on the same binary.
    auto) methods="tool help" ;;
    plugin) methods="plugin" ;;
    tool) methods="tool" ;;
    help) methods="help" ;;
    *) die "MANPAGE_METHOD must be auto, plugin, tool or help" ;;
esac
man_done=
for m in $methods; do
    rm -f "$man_out"/*
    if "man_$m"; then man_done=$m; break; fi
    [ "$m" = help ] || log "man: $m method failed, trying the next one"
done
[ -n "$man_done" ] || die "could not generate a man page (MANPAGE_METHOD=$manpage_method)"
install -d -m 0755 "$root/usr/share/man/man1"
for page in "$man_out"/*.1; do
    gzip -9n -c "$page" >"$root/usr/share/man/man1/$(basename "$page").gz"
    chmod 0644 "$root/usr/share/man/man1/$(basename "$page").gz"
done
pages=
for page in "$man_out"/*.1; do pages="$pages $(basename "$page")"; done
log "man:$pages (method: $man_done)"

# --- 7. dependencies ------------------------------------------------------
# Every shared library the binary needs must come from a Debian package.
# dpkg-shlibdeps gives versioned dependencies; ldd + dpkg -S is the fallback.
lib_package() {
    local path=$1 real
    real=$(readlink -f "$path")
    for p in "$path" "$real" "${path#/usr}" "${real#/usr}" "/usr$path" "/usr$real"; do
        dpkg -S "$p" 2>/dev/null | head -n 1 | cut -d: -f1 && return 0
    done
    return 1
}

shlib_depends=
unpackaged=
if is_elf "$bin"; then
    if command -v ldd >/dev/null 2>&1; then
        while read -r lib path; do
            case $path in
                /*) lib_package "$path" >/dev/null || unpackaged="$unpackaged $lib" ;;
                *) unpackaged="$unpackaged $lib" ;;
            esac
        done < <(ldd "$bin" | awk '$2 == "=>" {print $1, $3}')
    fi
    if command -v dpkg-shlibdeps >/dev/null 2>&1; then
        printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$pkg" "$pkg" >"$work/debian/control"
        if line=$(cd "$work" && dpkg-shlibdeps -O --ignore-missing-info -e"debian/$pkg/usr/bin/callwatch" 2>"$work/shlibdeps.log"); then
            shlib_depends=${line#shlibs:Depends=}
        else
            warn "dpkg-shlibdeps failed: $(tail -n 3 "$work/shlibdeps.log")"
        fi
        rm -f "$work/debian/control"
    fi
    if [ -z "$shlib_depends" ]; then
        command -v ldd >/dev/null 2>&1 || die "neither dpkg-shlibdeps nor ldd is available"
        shlib_depends=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | while read -r path; do
            lib_package "$path" || true
        done | sed 's/:.*//' | sort -u | paste -sd, - | sed 's/,/, /g')
    fi
    if [ -n "$unpackaged" ]; then
        warn "libraries not provided by any Debian package:$unpackaged"
        warn "the .deb only works where they exist (build with --static-swift-stdlib)"
    fi
else
    shlib_depends="libc6"
fi
depends=$shlib_depends
# postinst creates the system user with adduser, or useradd (passwd).
depends="${depends:+$depends, }adduser | passwd"
[ -z "${EXTRA_DEPENDS:-}" ] || depends="$depends, $EXTRA_DEPENDS"
log "Depends: $depends"

# --- 8. control files -----------------------------------------------------
installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: $pkg
Version: $deb_version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Recommends: ca-certificates
Section: net
Priority: optional
Description: rule-based alerting daemon for 8x8 Number Masking webhooks
 callwatch is the Voice Call Summary endpoint for 8x8 Number Masking: it
 acknowledges every Call Status event 8x8 POSTs to it, stores it durably in
 an embedded SQLite journal, runs it through rules written in YAML (field
 predicates, sliding windows, DTMF sequences, cooldowns) and fires actions:
 structured log lines, exec hooks and outbound HTTP notifications.
 .
 Rules are validated with "callwatch check", unit-tested with
 "callwatch test" and hot-reloaded without a restart. The package ships a
 hardened systemd unit running as the unprivileged callwatch user.
EOF
printf '%s\n' /etc/callwatch/rules.yaml /etc/default/callwatch >"$root/DEBIAN/conffiles"
for script in postinst prerm postrm; do
    install -m 0755 "$here/debian/$script" "$root/DEBIAN/$script"
done
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -print0 |
    sort -z | xargs -0 md5sum | sed 's| \./| |') >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

# --- 9. the archive -------------------------------------------------------
mkdir -p "$out_dir"
deb=$out_dir/${pkg}_${deb_version}_${arch}.deb
dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-xz}" --build "$root" "$deb" >&2
log "built $deb"
printf '%s\n' "$deb"
