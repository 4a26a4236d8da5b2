# Step helpers shared by the guest sequence scripts; sourced, with the
# script's FILEs, from /fk/bin:  . /fk/bin/steps.sh
#   step WANT WHAT CMD...   print the step and CMD, run it (output kept in
#                           /tmp/fk.out and printed), fail unless it exits
#                           with WANT
#   expect ERE              fail unless the last step's output matches ERE
#   fail TEXT...            print "FAIL: TEXT" and exit 1
#   dev NAME                /dev/NAME for a bare name, NAME for a path
#   var NAME                the value of the variable named NAME
#   paths J                 node J's nexus to every unit (sg preferred),
#                           units $base .. $base+$luns-1 (set by the caller);
#                           every path of the node when FK_PATHS > 1
#   cluster_toml FILE NAME  a fencectl config of cluster NAME, nodes node1
#                           (id 1) and node2 (id 2)
#   reload_devices          re-read /fk/devices.env after fk-fault changed
#                           the device map (paths that are gone are unset)
#   wait_answers DEV [S]    wait up to S seconds (default 40) until TEST UNIT
#                           READY on DEV succeeds (after an unhang); fails
#                           the script otherwise
n=0
fail() { echo "FAIL: $*"; exit 1; }
step() {
    want=$1 what=$2
    shift 2
    n=$((n + 1))
    echo "--- $n. $what"
    echo "\$ $*"
    "$@" > /tmp/fk.out 2>&1
    rc=$?
    cat /tmp/fk.out
    [ "$rc" -eq "$want" ] || fail "step $n ($what): exit status $rc, expected $want"
}
expect() { grep -Eq -- "$1" /tmp/fk.out || fail "step $n: output does not match '$1'"; }
dev() { case "$1" in /*) echo "$1" ;; *) echo "/dev/$1" ;; esac; }
var() { eval "printf '%s' \"\${$1:-}\""; }

paths() {
    out=""
    i=$base
    while [ "$i" -lt $((base + luns)) ]; do
        p=$(var "FK_LUN${i}_NODE$1_SG")
        [ -n "$p" ] || p=$(var "FK_LUN${i}_NODE$1_SD")
        out="$out $(dev "$p")"
        # iSCSI fabric with several paths per node: the other paths too.
        q=1
        while [ "$q" -lt "${FK_PATHS:-1}" ]; do
            p=$(var "FK_LUN${i}_NODE$1_PATH${q}_SG")
            [ -n "$p" ] && out="$out $(dev "$p")"
            q=$((q + 1))
        done
        i=$((i + 1))
    done
    echo $out
}
cluster_toml() {
    cat > "$1" <<EOT
cluster = "$2"
scheme = "id"
[[node]]
name = "node1"
id = 1
[[node]]
name = "node2"
id = 2
EOT
}
reload_devices() {
    for _v in $(env | sed -n 's/^\(FK_LUN[0-9]*_NODE[0-9]*_[A-Z0-9_]*\)=.*/\1/p'); do
        unset "$_v"
    done
    . /fk/devices.env
}
wait_answers() {
    _t=0
    while [ "$_t" -lt "${2:-40}" ]; do
        timeout 10 sg_turs "$1" > /dev/null 2>&1 && return 0
        sleep 1
        _t=$((_t + 1))
    done
    fail "$1 does not answer after ${2:-40} s"
}
