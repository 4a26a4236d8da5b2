#!/usr/bin/env bash
# Install the Debian packages that fencekit's build and test bed need.
#
# Idempotent: it asks dpkg first and runs apt-get only when something is
# missing, so a second run on a ready machine takes well under a second and
# changes nothing. When something is missing it always runs `apt-get update`
# before `apt-get install` (and once more before a retry if the install
# fails).
#
# Usage: scripts/setup-deps.sh [--check]
#   --check   only report missing packages (exit 1 if any), install nothing
set -euo pipefail

# Build: bindgen (libclang), the ffi crate's headers, pkg-config lookups,
# libvirt's C library for the virt crate (fencekit-libvirt, linked by
# vmguest-attach only).
BUILD_PKGS=(libclang-dev libudev-dev libdevmapper-dev libsgutils2-dev pkg-config libvirt-dev)
# Test bed: QEMU with its iSCSI block driver, the guest's userland sources
# (busybox, sg3-utils, lsscsi are also handy on the host), kmod for depmod and
# modprobe --show-depends, cpio for the initramfs, tgt for the two-guest tier,
# libiscsi for host-side iSCSI initiators, libvirt's daemon and virsh for
# vmguest-attach (virt-xml-validate is in libvirt-clients and uses
# libxml2-utils' xmllint).
TESTBED_PKGS=(qemu-system-x86 qemu-block-extra busybox-static kmod sg3-utils lsscsi
              tgt libiscsi-bin libiscsi-dev cpio gzip util-linux coreutils
              libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients)
# Packaging (make deb, make package-test): dpkg-shlibdeps and strip
# (dpkg-dev, binutils), lintian, man-db for `man -w`, xmllint for the
# fence agent's metadata.
PACKAGE_PKGS=(dpkg-dev binutils lintian man-db libxml2-utils)

check_only=0
case "${1:-}" in
    --check) check_only=1 ;;
    "") ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup-deps.sh: unknown option: $1" >&2; exit 1 ;;
esac

missing=()
for p in "${BUILD_PKGS[@]}" "${TESTBED_PKGS[@]}" "${PACKAGE_PKGS[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ "$status" == installed ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
    echo "setup-deps: all ${#BUILD_PKGS[@]} build, ${#TESTBED_PKGS[@]} test-bed and ${#PACKAGE_PKGS[@]} packaging packages present"
    exit 0
fi

echo "setup-deps: missing: ${missing[*]}"
((check_only)) && exit 1

SUDO=()
if ((EUID != 0)); then
    command -v sudo >/dev/null || { echo "setup-deps: need root (or sudo) to install" >&2; exit 1; }
    SUDO=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
# Always refresh the package lists before installing: a new machine ships
# lists that are months old while newer versions of some packages are
# already installed, and an install from the stale lists then fails with
# unmet dependencies even though every package name is known. A ready
# machine never gets here (nothing is missing), so it stays fast.
"${SUDO[@]}" apt-get update -q
# --no-install-recommends keeps qemu from pulling in a desktop's worth of
# packages. tgt's postinst may try to start a service; that is harmless here,
# the test bed starts its own tgtd.
install_missing() {
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}
if ! install_missing; then
    echo "setup-deps: install failed; refreshing the package lists and trying once more" >&2
    "${SUDO[@]}" apt-get update -q
    install_missing
fi
echo "setup-deps: installed: ${missing[*]}"
