#!/usr/bin/env bash
# make install into a scratch DESTDIR, check that the files are where the
# Makefile says (programs, fence_fencekit link, man pages, examples, unit,
# completions), then make uninstall: no file or link may be left, and no
# directory fencekit owns. Needs no root. Run by `make package-test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
MAKE=${MAKE:-make}
PROGRAMS=$(sed -n "s/^PROGRAMS := //p" Makefile)
[[ -n "$PROGRAMS" ]] || { echo "install-uninstall: no PROGRAMS in the Makefile" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install-uninstall: FAIL: $*" >&2; exit 1; }

for prefix in /usr/local /usr; do
    dest="$tmp/root"
    mkdir -p "$dest"
    "$MAKE" --no-print-directory -s install DESTDIR="$dest" PREFIX="$prefix" >/dev/null
    for p in $PROGRAMS; do
        [[ -x "$dest$prefix/sbin/$p" ]] || fail "$prefix/sbin/$p missing"
        [[ -s "$dest$prefix/share/bash-completion/completions/$p" ]] || fail "bash completion of $p"
        [[ -s "$dest$prefix/share/zsh/vendor-completions/_$p" ]] || fail "zsh completion of $p"
        [[ -s "$dest$prefix/share/fish/vendor_completions.d/$p.fish" ]] || fail "fish completion of $p"
        [[ -f "$dest$prefix/share/man/man8/$p.8" ]] || fail "man page of $p"
    done
    [[ "$(readlink "$dest$prefix/sbin/fence_fencekit")" == fencectl ]] || fail "fence_fencekit link"
    "$dest$prefix/sbin/fence_fencekit" -o metadata | grep -q '<resource-agent name="fence_fencekit"' \
        || fail "fence_fencekit -o metadata"
    for m in man5/qdisk.5 man7/fencekit.7 man8/fence_fencekit.8; do
        [[ -e "$dest$prefix/share/man/$m" ]] || fail "$prefix/share/man/$m missing"
    done
    for e in cluster.toml.example heartbeat.toml.example; do
        [[ -f "$dest$prefix/share/doc/fencekit/examples/$e" ]] || fail "example $e"
        [[ -f "$dest/etc/fencekit/$e" ]] || fail "/etc/fencekit/$e"
    done
    unit="$dest$prefix/lib/systemd/system/heartbeatd.service"
    [[ -f "$unit" ]] || fail "unit missing"
    grep -q "^ExecStart=$prefix/sbin/heartbeatd run\$" "$unit" || fail "unit's ExecStart for $prefix"
    files=$(find "$dest" ! -type d | wc -l)

    "$MAKE" --no-print-directory -s uninstall DESTDIR="$dest" PREFIX="$prefix" >/dev/null
    left=$(find "$dest" ! -type d)
    [[ -z "$left" ]] || fail "left after uninstall (PREFIX=$prefix):"$'\n'"$left"
    for d in "$prefix/share/doc/fencekit" /etc/fencekit; do
        [[ ! -e "$dest$d" ]] || fail "directory $d left after uninstall"
    done
    echo "install-uninstall: PREFIX=$prefix: $files files installed, none left after uninstall"
    rm -rf "$dest"
done
