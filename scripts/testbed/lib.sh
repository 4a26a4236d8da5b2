# Shared settings and helpers of the test-bed scripts. Sourced, not run.
# shellcheck shell=bash

FK_TESTBED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FK_REPO_ROOT=$(cd "$FK_TESTBED_DIR/../.." && pwd)
# Everything downloaded or built lives here (git-ignored).
FK_CACHE=${FK_TESTBED_CACHE:-$FK_REPO_ROOT/.cache/testbed}
FK_GUEST=$FK_CACHE/guest          # vmlinuz, initrd.img, manifest, stamp
FK_LOGS=$FK_CACHE/logs            # console logs of the last runs
FK_RUNS=$FK_CACHE/runs            # per-run scratch directories

fk_log() { printf '%s: %s\n' "${FK_PROG:-testbed}" "$*" >&2; }
fk_die() { printf '%s: error: %s\n' "${FK_PROG:-testbed}" "$*" >&2; exit "${FK_DIE_STATUS:-125}"; }

fk_qemu() {
    command -v qemu-system-x86_64 >/dev/null ||
        fk_die "qemu-system-x86_64 not found (run scripts/setup-deps.sh)"
}

# Accelerator: TCG by default (KVM is not usable on the CI machines);
# ACCEL=kvm where it works.
fk_accel_args() {
    case "${ACCEL:-tcg}" in
        tcg) echo "-accel tcg,thread=multi -cpu max" ;;
        kvm) echo "-accel kvm -cpu host" ;;
        *) fk_die "ACCEL must be tcg or kvm, not '${ACCEL}'" ;;
    esac
}

# Make sure the guest kernel and initramfs exist and match the current
# scripts; rebuilds the initramfs (seconds) when the guest files changed.
# Arguments go to build-guest (--pacemaker: the optional layer too).
fk_ensure_guest() {
    "$FK_TESTBED_DIR/build-guest" --quiet "$@" ||
        fk_die "building the guest failed (run scripts/testbed/build-guest)"
}

# A fresh per-run directory; removed by the caller's cleanup unless
# FK_KEEP_RUN=1.
fk_new_run_dir() {
    mkdir -p "$FK_RUNS" "$FK_LOGS"
    mktemp -d "$FK_RUNS/$1.XXXXXX"
}

# Random hex digits (per-run unique WWNs and serials).
fk_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# Append the per-run files (the script, FILEs and the libraries they need
# that the base image lacks) to a cpio archive.
#   fk_make_run_cpio OUT ROOTDIR FILE...
# ROOTDIR already holds fk/run.env and fk/script.sh.
fk_add_files() {
    local root=$1; shift
    local f lib
    mkdir -p "$root/fk/bin"
    for f in "$@"; do
        [[ -f "$f" ]] || fk_die "FILE not found: $f"
        cp -L "$f" "$root/fk/bin/"
        chmod a+rx "$root/fk/bin/$(basename "$f")"
        # Shared libraries the file needs and the guest lacks, at the same
        # path as on the host (the guest's ld.so searches those paths).
        if head -c4 "$f" | grep -q 'ELF'; then
            while read -r lib; do
                [[ -n "$lib" ]] || continue
                grep -qxF "${lib#/}" "$FK_GUEST/manifest" && continue
                mkdir -p "$root$(dirname "$lib")"
                cp -L "$lib" "$root$lib"
            done < <(ldd "$f" 2>/dev/null | awk '/=> \//{print $3} /^\t\/.*\(0x/{print $1}')
        fi
    done
}

fk_make_cpio() { # ROOTDIR OUT
    (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$2"
}

# Keep the newest N run logs.
fk_prune_logs() {
    local keep=${1:-30}
    # shellcheck disable=SC2012
    ls -1dt "$FK_LOGS"/*/ 2>/dev/null | tail -n +"$((keep + 1))" | xargs -r rm -rf
}

fk_elapsed() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b - a}'; }

# --- tgtd on loopback: one fresh LUN ------------------------------------------
fk_port_busy() { # PORT: something listens on it (any address)?
    local hex
    hex=$(printf ':%04X ' "$1")
    grep -q "$hex" <(awk '$4 == "0A" {print $2 " "}' /proc/net/tcp /proc/net/tcp6 2>/dev/null)
}

FK_TGTD_PID=
# tgtd ignores SIGTERM and refuses "delete system" while it has targets:
# delete the target, then the system; SIGKILL if that does not end it.
fk_tgtd_stop() {
    [[ -n "$FK_TGTD_PID" ]] || return 0
    local port=$FK_TGTD_PORT
    tgtadm -C "$port" --lld iscsi --op delete --mode target --tid 1 --force >/dev/null 2>&1 || true
    tgtadm -C "$port" --op delete --mode system >/dev/null 2>&1 || true
    for _ in $(seq 30); do kill -0 "$FK_TGTD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$FK_TGTD_PID" 2>/dev/null || true
    wait "$FK_TGTD_PID" 2>/dev/null || true
    FK_TGTD_PID=
    rm -f "/var/run/tgtd/socket.$port" "/var/run/tgtd/socket.$port.lock"
}

# fk_tgtd_start RUNDIR LOGDIR SIZE_MB: tgtd on 127.0.0.1 serving one LUN
# (vendor FENCEKIT, product TGT-LUN, a per-run serial) backed by a fresh,
# zero-filled RUNDIR/lun.img, to any initiator. Sets FK_TGTD_PORT (also the
# control port, /var/run/tgtd/socket.<port>), FK_TGTD_IQN, FK_TGTD_URL,
# FK_TGTD_RUNID, FK_TGTD_PID. Returns 1 (after logging why) on failure.
# The port starts at a random value so that concurrent runs rarely
# collide; FK_TGT_PORT fixes it.
fk_tgtd_start() {
    local run=$1 logdir=$2 size=$3 attempt up port
    command -v tgtd >/dev/null && command -v tgtadm >/dev/null ||
        { fk_log "tgtd/tgtadm not found (run scripts/setup-deps.sh)"; return 1; }
    FK_TGTD_RUNID=$(fk_hex 3)
    FK_TGTD_IQN=iqn.2024-01.org.fencekit:testbed.$FK_TGTD_RUNID
    truncate -s "${size}M" "$run/lun.img"
    for attempt in 1 2 3 4 5; do
        port=${FK_TGT_PORT:-$((3260 + RANDOM % 700))}
        while fk_port_busy "$port"; do port=$((port + 1)); done
        FK_TGTD_PORT=$port
        tgtd -f -C "$port" --iscsi "portal=127.0.0.1:$port" > "$logdir/tgtd.log" 2>&1 &
        FK_TGTD_PID=$!
        up=0
        for _ in $(seq 50); do
            kill -0 "$FK_TGTD_PID" 2>/dev/null || break
            if tgtadm -C "$port" --lld iscsi --op show --mode target >/dev/null 2>&1 &&
                fk_port_busy "$port"; then up=1; break; fi
            sleep 0.1
        done
        ((up)) && break
        fk_tgtd_stop
        if [[ -n "${FK_TGT_PORT:-}" ]]; then
            fk_log "tgtd cannot listen on port $FK_TGT_PORT: $(cat "$logdir/tgtd.log")"; return 1
        fi
        ((attempt < 5)) || { fk_log "tgtd did not start: $(cat "$logdir/tgtd.log")"; return 1; }
    done
    local adm=(tgtadm -C "$port" --lld iscsi)
    "${adm[@]}" --op new --mode target --tid 1 -T "$FK_TGTD_IQN" &&
        "${adm[@]}" --op new --mode logicalunit --tid 1 --lun 1 -b "$run/lun.img" &&
        "${adm[@]}" --op update --mode logicalunit --tid 1 --lun 1 \
            --params "vendor_id=FENCEKIT,product_id=TGT-LUN,scsi_sn=fk$FK_TGTD_RUNID" &&
        "${adm[@]}" --op bind --mode target --tid 1 -I ALL ||
        { fk_log "tgtadm could not set up the target"; return 1; }
    FK_TGTD_URL=iscsi://127.0.0.1:$port/$FK_TGTD_IQN/1
}

# --- guests served by fk-serve over a virtio-serial fk.ctl port -----------------
# fk_wait_ready RUN G PID DEADLINE QEMULOG: wait (until SECONDS reaches
# DEADLINE) for guest G's READY line on RUN/G.ctl.out, and write the device
# map it carries to RUN/G.env. Returns 1, after logging why, when the guest
# exits, does not answer or sends a bad line.
fk_wait_ready() {
    local run=$1 g=$2 pid=$3 deadline=$4 qlog=$5 fd line=
    exec {fd}< "$run/$g.ctl.out"
    while ((SECONDS < deadline)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            fk_log "guest $g exited during boot: $(cat "$qlog" 2>/dev/null)"
            exec {fd}<&-
            return 1
        fi
        if read -r -t 1 line <&"$fd"; then
            [[ "$line" == READY\ * ]] && break
            line=
        fi
    done
    exec {fd}<&-
    [[ "$line" == READY\ * ]] || { fk_log "guest $g not ready in time"; return 1; }
    base64 -d <<<"${line#READY * }" > "$run/$g.env" || { fk_log "guest $g: bad READY line"; return 1; }
}

# fk_guest_tools BINDIR: writes the commands a host-side SCRIPT drives
# guests with (FK_TWO_RUN names the run directory, FK_ON_TIMEOUT bounds a
# command):
#   on G 'cmd' | on G - <<EOS   run a /bin/sh command line in guest G (a
#                               single letter), print its output, exit with
#                               its status (124 when the guest does not
#                               answer)
#   guest-state G               running, stopped (SIGSTOP) or exited (reset
#                               or powered off), from FK_<G>_QPID
fk_guest_tools() {
    mkdir -p "$1"
    cat > "$1/on" <<'ON'
#!/usr/bin/env bash
set -uo pipefail
case "${1-}" in
    [a-z]) g=$1; shift ;;
    *) echo "usage: on G COMMAND... | on G - (command on stdin); G is a guest's letter" >&2; exit 2 ;;
esac
[[ -p "$FK_TWO_RUN/$g.ctl.in" ]] || { echo "on: no guest $g" >&2; exit 2; }
if (($# == 0)) || [[ "$1" == - && $# == 1 ]]; then cmd=$(cat); else cmd="$*"; fi
exec 8>> "$FK_TWO_RUN/$g.lock"
flock 8
id=$$.$RANDOM
printf 'RUN %s %s\n' "$id" "$(printf '%s\n' "$cmd" | base64 -w0)" > "$FK_TWO_RUN/$g.ctl.in"
exec 9< "$FK_TWO_RUN/$g.ctl.out"
deadline=$((SECONDS + FK_ON_TIMEOUT))
while ((SECONDS < deadline)); do
    if read -r -t 1 verb rid rc out err <&9; then
        [[ "$verb" == DONE && "$rid" == "$id" ]] || continue
        base64 -d <<<"$out"
        base64 -d <<<"$err" >&2
        exit "$rc"
    fi
done
echo "on $g: no answer within $FK_ON_TIMEOUT s (FK_ON_TIMEOUT)" >&2
exit 124
ON
    cat > "$1/guest-state" <<'GS'
#!/usr/bin/env bash
case "${1-}" in [a-z]) v=FK_${1^^}_QPID; pid=${!v-} ;; *) echo "usage: guest-state G" >&2; exit 2 ;; esac
st=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/${pid:-0}/stat" 2>/dev/null)
case "$st" in
    ""|Z|X) echo exited ;;
    T|t) echo stopped ;;
    *) echo running ;;
esac
GS
    chmod +x "$1/on" "$1/guest-state"
}

# fk_ldd_all LD_LIBRARY_PATH FILE...: ldd of every FILE, in batches of 16
# run in parallel. Each batch writes a file of its own, printed after all
# are done: parallel writers into one pipe interleave lines longer than
# the pipe's atomic write (seen: a library path cut to "/lib/x86_64-").
fk_ldd_all() {
    local path=$1 out
    shift
    out=$(mktemp -d)
    printf '%s\n' "$@" | LD_LIBRARY_PATH=$path xargs -r -n 16 -P "$(nproc)" \
        sh -c 'ldd "$@" > "$(mktemp -p "$0" ldd.XXXXXX)" 2>/dev/null || true' "$out" || true
    cat "$out"/* 2>/dev/null
    rm -rf "$out"
}
