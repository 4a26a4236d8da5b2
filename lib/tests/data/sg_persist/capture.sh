#!/bin/sh
# Regenerates the expected sg_persist outputs in this directory by running
# the real /usr/bin/sg_persist (sg3_utils 1.46, sg_persist 0.67 20190913)
# against canned responses through the fake_sgio.c LD_PRELOAD shim.
# Each case: <name>.bin is the PR IN response (or empty for PR OUT),
# <name>.args the sg_persist options, <name>.sense the sense data (if any),
# <name>.status the SCSI status in hex (if not GOOD); outputs are
# <name>.stdout, <name>.stderr and <name>.rc, and for the prout_* cases
# also <name>.cdb (the CDB sent) and <name>.param (the parameter list).
#
#   sh capture.sh            (from this directory; needs gcc)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -shared -fPIC -o "$tmp/fake_sgio.so" "$here/fake_sgio.c" -ldl
: > "$tmp/dev"
cd "$here"
for args in "$here"/*.args; do
    name=${args%.args}
    status=0
    [ -f "$name.status" ] && status=$(cat "$name.status")
    rc=0
    cdb=/dev/null param=/dev/null
    case $(basename "$name") in
    prout_*) cdb="$name.cdb" param="$name.param" ;;
    esac
    env FAKE_CDB="$cdb" FAKE_PROUT="$param" FAKE_INQ="$here/inquiry.bin" FAKE_PRIN="$name.bin" \
        FAKE_SENSE="$name.sense" FAKE_STATUS="$status" \
        LD_PRELOAD="$tmp/fake_sgio.so" \
        sg_persist $(cat "$args") "$tmp/dev" \
        > "$name.stdout" 2> "$name.stderr" || rc=$?
    echo "$rc" > "$name.rc"
done
# sg_lib's hex dump with its ASCII column (no_ascii = 0), which sg_persist
# itself never prints: sg_inq -H shows it.
env FAKE_INQ="$here/inquiry.bin" LD_PRELOAD="$tmp/fake_sgio.so" \
    sg_inq -H "$tmp/dev" > "$here/sg_inq_hex.stdout"
