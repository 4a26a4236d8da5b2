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
