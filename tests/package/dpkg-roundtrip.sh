#!/usr/bin/env bash
# The Debian package installed for real on this machine, then removed and
# purged: `make deb`, lintian (no error), `dpkg -i`, each program's --version, `man -w` for each
# page, the completion files, fence_fencekit's metadata through xmllint,
# `heartbeatd --check-config` on the installed example, `dpkg -r` (the
# conffiles stay), `dpkg --purge`, and nothing the package shipped left
# behind (compared with a listing of /usr, /etc and /lib taken before).
#
# Needs root and dpkg. Without them it is skipped, or fails when CI=true.
# Refuses to run when a fencekit package is already installed (it would
# remove it). Run by `make package-test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
MAKE=${MAKE:-make}

say() { echo "dpkg-roundtrip: $*"; }
skip() {
    if [[ "${CI:-}" == true ]]; then
        say "FAIL: $* (CI=true: this test must run)" >&2
        exit 1
    fi
    say "SKIP: $*"
    exit 0
}
((EUID == 0)) || skip "needs root (dpkg -i)"
for tool in dpkg dpkg-deb man xmllint; do
    command -v "$tool" >/dev/null || skip "$tool is missing (scripts/setup-deps.sh installs it)"
done
status=$(dpkg-query -W -f='${db:Status-Status}' fencekit 2>/dev/null || true)
if [[ -n "$status" && "$status" != not-installed ]]; then
    say "FAIL: a fencekit package is already on this machine ($status); remove it first" >&2
    exit 1
fi

PROGRAMS=$(sed -n 's/^PROGRAMS := //p' Makefile)
[[ -n "$PROGRAMS" ]] || { say "FAIL: no PROGRAMS in the Makefile" >&2; exit 1; }
TARGET_DIR=${CARGO_TARGET_DIR:-target}
VERSION=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' Cargo.toml)

tmp=$(mktemp -d)
installed=0
cleanup() {
    # A failed run must not leave the package on the machine.
    if ((installed)); then dpkg --purge fencekit >/dev/null 2>&1 || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { say "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { say "ok: $*"; }

"$MAKE" --no-print-directory deb
deb="$TARGET_DIR/deb/fencekit_${VERSION}_$(dpkg --print-architecture).deb"
[[ -f "$deb" ]] || { say "FAIL: make deb made no $deb" >&2; exit 1; }

# lintian: no error (E:); warnings and notes are printed.
if command -v lintian >/dev/null; then
    if lintian --fail-on error --allow-root "$deb"; then
        ok "lintian: no error"
    else
        fail "lintian reports errors"
    fi
elif [[ "${CI:-}" == true ]]; then
    fail "lintian is missing"
fi

# What the package ships (files and links; directories are shared).
dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./|/|; s|/$||' | grep -v '^/\?$' | sort >"$tmp/shipped-all"
dpkg-deb --fsys-tarfile "$deb" | tar -tv | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./|/|' | sort >"$tmp/shipped"
dpkg-deb -I "$deb" conffiles | sort >"$tmp/conffiles"

# The system before: /usr, /etc, /lib (through a merged-/usr link or not),
# without caches that other activity changes.
listing() {
    find /usr /etc /lib/ -xdev \
        \( -path /etc/ld.so.cache -o -path '*/__pycache__' -o -path /etc/mtab \) -prune \
        -o -print 2>/dev/null | sort
}
listing >"$tmp/before"
while read -r f; do
    if [[ -e "$f" || -L "$f" ]]; then fail "$f exists before the package is installed"; fi
done <"$tmp/shipped"
((failures == 0)) || exit 1

installed=1
dpkg -i "$deb"
ok "dpkg -i $(basename "$deb")"

# Every file the package lists is on disk.
while read -r f; do
    [[ -e "$f" || -L "$f" ]] || fail "$f shipped but not installed"
done <"$tmp/shipped"

for p in $PROGRAMS; do
    path=$(command -v "$p" || true)
    [[ "$path" == "/usr/sbin/$p" ]] || { fail "$p is not /usr/sbin/$p on PATH ($path)"; continue; }
    v=$("$p" --version 2>&1) || fail "$p --version exited $?"
    [[ "$v" == "$p $VERSION" ]] && ok "$p --version: $v" || fail "$p --version printed '$v', not '$p $VERSION'"
done

# Each page by section and name, as man finds it.
pages=()
for m in man/*.[1-9]; do pages+=("$(basename "$m")"); done
pages+=(fence_fencekit.8)
for page in "${pages[@]}"; do
    sec=${page##*.} name=${page%.*}
    w=$(man -w "$sec" "$name" 2>/dev/null || true)
    want="/usr/share/man/man$sec/$name.$sec.gz"
    # man resolves the fence_fencekit page, a link, to fencectl's.
    [[ "$name" == fence_fencekit && -L "$want" ]] && want=/usr/share/man/man8/fencectl.8.gz
    if [[ "$w" == "$want" ]] && gzip -t "$w"; then
        ok "man -w $sec $name: $w"
    else
        fail "man -w $sec $name: '$w'"
    fi
done

for p in $PROGRAMS; do
    for c in "/usr/share/bash-completion/completions/$p" \
        "/usr/share/zsh/vendor-completions/_$p" \
        "/usr/share/fish/vendor_completions.d/$p.fish"; do
        grep -q "$p" "$c" 2>/dev/null || fail "completion $c missing or empty"
    done
done
bash -n /usr/share/bash-completion/completions/* 2>/dev/null || fail "a bash completion does not parse"
ok "completions for bash, zsh and fish"

agent=$(command -v fence_fencekit || true)
if [[ "$agent" == /usr/sbin/fence_fencekit && "$(readlink -f "$agent")" == /usr/sbin/fencectl ]]; then
    ok "fence_fencekit -> $(readlink "$agent")"
else
    fail "fence_fencekit resolves to '$agent'"
fi
if fence_fencekit -o metadata >"$tmp/metadata.xml" && xmllint --noout "$tmp/metadata.xml" \
    && grep -q '<resource-agent name="fence_fencekit"' "$tmp/metadata.xml"; then
    ok "fence_fencekit -o metadata: well-formed XML"
else
    fail "fence_fencekit -o metadata"
fi
if echo action=metadata | fence_fencekit | xmllint --noout -; then
    ok "action=metadata on stdin: well-formed XML"
else
    fail "fence_fencekit with action=metadata on stdin"
fi

# The example names /etc/fencekit/cluster.toml, which the package does not
# create: point it at the installed cluster example.
ex=/usr/share/doc/fencekit/examples
sed "s|^cluster_config = .*|cluster_config = \"$ex/cluster.toml.example\"|" \
    "$ex/heartbeat.toml.example" >"$tmp/heartbeat.toml"
if heartbeatd --config "$tmp/heartbeat.toml" --check-config >"$tmp/check" 2>&1; then
    ok "heartbeatd --check-config on the example: $(head -1 "$tmp/check")"
else
    fail "heartbeatd --check-config on the example: $(cat "$tmp/check")"
fi

[[ -s "$tmp/conffiles" ]] || fail "the package has no conffiles"
unit=/usr/lib/systemd/system/heartbeatd.service
[[ -f $unit ]] || fail "$unit missing"
if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    s=$(systemctl is-enabled heartbeatd.service 2>/dev/null || true)
    [[ "$s" == disabled ]] || fail "heartbeatd.service is '$s' after install, not disabled"
fi
find /etc/systemd -name heartbeatd.service 2>/dev/null | grep -q . \
    && fail "heartbeatd.service is enabled somewhere: $(find /etc/systemd -name heartbeatd.service)"

dpkg -r fencekit
ok "dpkg -r fencekit"
while read -r c; do
    [[ -f "$c" ]] && ok "conffile $c kept after dpkg -r" || fail "conffile $c gone after dpkg -r"
done <"$tmp/conffiles"
grep -vxF -f "$tmp/conffiles" "$tmp/shipped" | while read -r f; do
    if [[ -e "$f" || -L "$f" ]]; then echo "$f"; fi
done >"$tmp/after-remove"
[[ -s "$tmp/after-remove" ]] && fail "left after dpkg -r: $(tr '\n' ' ' <"$tmp/after-remove")"

dpkg --purge fencekit
installed=0
ok "dpkg --purge fencekit"

listing >"$tmp/after"
comm -13 "$tmp/before" "$tmp/after" >"$tmp/new"
# What the package shipped, its directories, and anything named after it
# must be gone; other new paths are another process's and only reported.
grep -xF -f "$tmp/shipped-all" "$tmp/new" >"$tmp/left" || true
grep -E '(^|/)(fencekit|fence_fencekit)(/|$)' "$tmp/new" >>"$tmp/left" || true
for p in $PROGRAMS; do grep -E "/_?$p(\.[a-z0-9.]+)?$" "$tmp/new" >>"$tmp/left" || true; done
if [[ -s "$tmp/left" ]]; then
    fail "left after dpkg --purge: $(sort -u "$tmp/left" | tr '\n' ' ')"
else
    ok "nothing the package shipped is left after --purge"
fi
other=$(grep -vxF -f "$tmp/left" "$tmp/new" || true)
[[ -z "$other" ]] || say "note: $(wc -l <<<"$other") new paths not from the package (other activity): $(head -3 <<<"$other" | tr '\n' ' ')"

if ((failures)); then
    say "$failures check(s) failed"
    exit 1
fi
say "all checks passed"
