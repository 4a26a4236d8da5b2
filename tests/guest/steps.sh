# Helpers shared by every test script in tests/guest/. Guest scripts source
# it, with the script's FILEs, from /fk/bin:  . /fk/bin/steps.sh
# Host-side two-guest scripts source it beside themselves, after pointing
# FK_OUT at a file of their own:  . "$(dirname "$0")/steps.sh"
#
# Steps (a command whose exit status is checked):
#   show CMD...             print and run CMD (output kept in $FK_OUT and
#                           printed); returns CMD's exit status
#   step WANT WHAT CMD...   print the step number and WHAT, show CMD, fail
#                           unless it exits with WANT
#   on_step WANT GUEST CMD  two-guest scripts: step WANT, CMD run in GUEST
#                           (a or b) through `on`
#   expect [-i] ERE         fail unless the last output matches ERE (-i:
#                           ignoring case)
#   reject [-i] ERE         fail if the last output matches ERE
#   fail TEXT...            print "FAIL: TEXT" and exit 1
# Checks that go on after a failure (the pathmap scripts):
#   scratch                 make $tmp, a directory removed on exit
#   note TEXT...            print a line
#   bad TEXT...             print "FAIL: TEXT" and set failed=1
#   same_files NAME WANT GOT [WANT-LABEL [GOT-LABEL]]
#                           compare two files: "ok: NAME (n lines)", or bad
#                           and the unified diff (labels default to
#                           "reference" and "pathmap")
# Devices and the test bed:
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
#   write DEV, read10 DEV   WRITE(10) of one zero block at LBA 0, READ(10)
#                           of it, with sg_raw
#   count_key DEV KEY       how many registrations of KEY (0x...) READ KEYS
#                           on DEV lists
#   now_ms                  milliseconds since boot
#   until_ok S CMD...       run CMD every 50 ms until it succeeds, at most
#                           S seconds; returns 1 when it never did
# heartbeatd (iSCSI fabric, 3 nodes, LUN 0 the quorum disk, LUNs 1-2 data):
#   heartbeat_setup NAME    /tmp/cluster.toml (cluster NAME, node1-3) and
#                           /tmp/node{1,2,3}.toml (interval 1, tko 4, each
#                           node's own nexuses, self-fence by a command
#                           that writes /tmp/nodeJ.fenced)
#   hb_state N J            node J's state as node N's `heartbeatd status`
#                           shows it
n=0
failed=0
: "${FK_OUT:=/tmp/fk.out}"
fail() { echo "FAIL: $*"; exit 1; }
show() {
    echo "\$ $*"
    "$@" > "$FK_OUT" 2>&1
    _rc=$?
    cat "$FK_OUT"
    return $_rc
}
step() {
    want=$1 what=$2
    shift 2
    n=$((n + 1))
    echo "--- $n. $what"
    show "$@"
    rc=$?
    [ "$rc" -eq "$want" ] || fail "step $n ($what): exit status $rc, expected $want"
}
on_step() { step "$1" "[$2] $3" on "$2" "$3"; }
expect() {
    _i=
    [ "$1" = -i ] && { _i=i; shift; }
    grep -Eq$_i -- "$1" "$FK_OUT" || fail "step $n: output does not match '$1'"
}
reject() {
    _i=
    [ "$1" = -i ] && { _i=i; shift; }
    if grep -Eq$_i -- "$1" "$FK_OUT"; then fail "step $n: output matches '$1'"; fi
}

scratch() {
    tmp=$(mktemp -d) || exit 2
    trap 'rm -rf "$tmp"' EXIT
}
note() { printf '%s\n' "$*"; }
bad() { printf 'FAIL: %s\n' "$*"; failed=1; }
same_files() {
    if diff -u "$2" "$3" >"$tmp/d"; then
        note "ok: $1 ($(wc -l <"$2") lines)"
    else
        bad "$1 differs (- ${4:-reference}, + ${5:-pathmap}):"
        cat "$tmp/d"
    fi
}

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
write() {
    [ -s /tmp/fk.block ] || dd if=/dev/zero of=/tmp/fk.block bs=512 count=1 2>/dev/null
    sg_raw -s 512 -i /tmp/fk.block "$1" 2a 00 00 00 00 00 00 00 01 00
}
read10() { sg_raw -r 512 -o /dev/null "$1" 28 00 00 00 00 00 00 00 01 00; }
count_key() { sg_persist -n -k "$1" 2>&1 | grep -c "^    $2\$"; }
now_ms() { read -r _u _ < /proc/uptime; echo $(( ${_u%.*} * 1000 + 10 * $(echo "${_u#*.}" | sed 's/^0//') )); }
until_ok() {
    _end=$(( $(now_ms) + $1 * 1000 ))
    shift
    while [ "$(now_ms)" -lt "$_end" ]; do
        "$@" && return 0
        sleep 0.05
    done
    return 1
}
heartbeat_setup() {
    cluster_toml /tmp/cluster.toml "$1"
    printf '[[node]]\nname = "node3"\nid = 3\n' >> /tmp/cluster.toml
    for _j in 1 2 3; do
        _k=$((_j - 1))
        cat > /tmp/node$_j.toml <<EOT
cluster_config = "/tmp/cluster.toml"
node = "node$_j"
[quorum]
device = "$(dev "$(var "FK_LUN0_NODE${_k}_SD")")"
interval = 1
tko = 4
[nodes]
node1 = 1
node2 = 2
node3 = 3
[fence]
devices = ["$(dev "$(var "FK_LUN1_NODE${_k}_SG")")", "$(dev "$(var "FK_LUN2_NODE${_k}_SG")")"]
timeout = 5
[self_fence]
method = "command"
command = "echo \"\$FK_SELF_FENCE\" > /tmp/node$_j.fenced"
EOT
    done
}
hb_state() { heartbeatd -c /tmp/node$1.toml status 2>/dev/null | awk -v n="$2" '$1 == n {print $3}'; }
