#!/bin/sh
# Notes and steps for fencectl on the two-guest bed: two guests sharing one
# tgtd iSCSI LUN on 127.0.0.1 through virtio-scsi scsi-block pass-through
# (DESIGN.md, testing tier 3). Not yet wired into the test bed: the steps
# below are run by hand or by the bed's two-guest driver, one block per
# guest, in order; FK_DEV is the shared disk in each guest (e.g. /dev/sdb).
#
# Unlike the one-guest LIO bed, each guest is a real node with its own
# kernel and I_T nexus, so fencectl runs with its defaults: PREEMPT AND
# ABORT (tgtd implements it), the state file in /var/run/cluster, and the
# node's identity from --node and a shared configuration.
#
# Configuration on both guests, /etc/fencekit/cluster.toml:
#   cluster = "fktwo"
#   devices = ["FK_DEV"]            (the shared disk)
#   [[node]]  name = "guest1"  id = 1
#   [[node]]  name = "guest2"  id = 2
#
# guest1:  fencectl verify -d "$FK_DEV"                       -> 0
# guest1:  fencectl unfence --node guest1                     -> 0
# guest2:  fencectl unfence --node guest2                     -> 0
# guest1:  fencectl status                                    -> both keys, holder guest1
# guest1:  fencectl fence --victim guest2                     -> 0 (PREEMPT AND ABORT)
# guest2:  dd if=/dev/zero of="$FK_DEV" bs=512 count=1 seek=1 oflag=direct
#                                                             -> fails (EIO / reservation conflict)
# guest2:  fencectl check                                     -> 2
# guest1:  fencectl check                                     -> 0
# guest2:  fencectl fence --victim guest1                     -> 1 (its key is gone)
# guest2:  fencectl unfence --node guest2                     -> 0 (rejoin)
# guest1:  fencectl agent <<< "action=status
#                              plug=guest2"                   -> "Status: ON", 0
# Negative cases (same bed, other disk models):
#   scsi-hd:    fencectl verify -d /dev/sdX -> 1, not-emulated FAIL, pr-in FAIL
#   virtio-blk: fencectl verify -d /dev/vdX -> 1, not-virtio-blk FAIL
set -u
role=${1:?usage: fencectl_twoguest.sh guest1|guest2 STEP}
step=${2:?}
D=${FK_DEV:?}
case "$role:$step" in
guest1:join) fencectl verify -d "$D" && fencectl unfence --node guest1 ;;
guest2:join) fencectl unfence --node guest2 ;;
guest1:fence) fencectl status && fencectl fence --victim guest2 ;;
guest2:after)
    if dd if=/dev/zero of="$D" bs=512 count=1 seek=1 oflag=direct 2>/dev/null; then
        echo "FAIL: guest2 could still write"; exit 1
    fi
    fencectl check; rc=$?
    [ "$rc" -eq 2 ] || { echo "FAIL: check exit $rc, expected 2"; exit 1; }
    ;;
guest1:after) fencectl check ;;
*) echo "unknown step $role:$step"; exit 2 ;;
esac
