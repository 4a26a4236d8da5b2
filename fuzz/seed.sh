#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ for every cargo-fuzz target from the
# repository's fixtures and a few hand-written inputs. Safe to run again:
# existing corpus files are kept (libFuzzer names its own by content hash,
# the seeds here are named seed-*). The corpus is not committed.
#
#   fuzz/seed.sh            seed every target
#   fuzz/seed.sh TARGET...  seed only these
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
corpus=$here/corpus
sgp=$root/lib/tests/data/sg_persist
fix=$root/lib/tests/fixtures

only=("$@")
want() {
	[ ${#only[@]} -eq 0 ] && return 0
	local t
	for t in "${only[@]}"; do [ "$t" = "$1" ] && return 0; done
	return 1
}

# copy TARGET FILE...: copies each file that exists and is not empty.
copy() {
	local t=$1 f
	shift
	mkdir -p "$corpus/$t"
	for f in "$@"; do
		[ -s "$f" ] || continue
		cp "$f" "$corpus/$t/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
	done
}

# bytes TARGET NAME HEX...: writes the hex bytes (spaces allowed) as a seed.
bytes() {
	local t=$1 name=$2
	shift 2
	mkdir -p "$corpus/$t"
	echo "$*" | xxd -r -p >"$corpus/$t/seed-$name"
}

# text TARGET NAME: writes standard input as a seed.
text() {
	mkdir -p "$corpus/$1"
	cat >"$corpus/$1/seed-$2"
}

if want sense; then
	copy sense "$sgp"/*.sense
	bytes sense fixed-ua "70 00 06 00 00 00 00 0a 00 00 00 00 29 00 00 00 00 00"
	bytes sense fixed-sksv "f0 00 05 00 00 00 10 0e 00 00 00 00 24 00 00 c0 00 02 00 00 00 00"
	bytes sense fixed-progress "70 00 02 00 00 00 00 0a 00 00 00 00 04 04 00 80 40 00"
	bytes sense desc-info "72 05 24 00 00 00 00 0c 00 0a 80 00 00 00 00 00 12 34 56 78"
	bytes sense desc-progress "72 02 04 04 00 00 00 08 0a 06 00 00 80 00 00 00"
	bytes sense desc-sksv "73 05 26 00 00 00 00 08 02 06 00 00 c0 00 01 00"
fi

if want inquiry_vpd; then
	copy inquiry_vpd "$sgp"/inquiry.bin
	find "$fix/sysfs" -name 'vpd_pg8*' | while read -r f; do
		cp "$f" "$corpus/inquiry_vpd/seed-$(echo "${f#"$fix"/sysfs/}" | tr '/:' '__')"
	done
	bytes inquiry_vpd pg00 "00 00 00 04 00 80 83 86"
	bytes inquiry_vpd pg80 "00 80 00 0c 20 20 35 30 30 31 34 30 35 20 20 20"
	bytes inquiry_vpd pg83-naa-t10 "00 83 00 24 01 03 00 10 60 01 40 50 00 00 00 00 00 00 00 00 00 00 00 01 02 01 00 0c 4c 49 4f 2d 4f 52 47 20 64 69 73 6b"
	bytes inquiry_vpd pg83-ports "00 83 00 18 61 94 00 04 00 00 00 01 61 95 00 04 00 00 00 02 01 02 00 04 00 01 02 03"
fi

if want pr_in; then
	copy pr_in "$sgp"/*.bin "$sgp"/*.param
	bytes pr_in read-keys-two "00 00 00 05 00 00 00 10 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 02"
	bytes pr_in read-reservation "00 00 00 05 00 00 00 10 00 00 00 00 00 00 00 01 00 00 00 00 00 05 00 00"
	bytes pr_in capabilities "00 08 1d 81 ea 01 00 00"
	bytes pr_in full-status-iscsi "00 00 00 03 00 00 00 38 00 00 00 00 00 00 00 01 00 00 00 00 03 05 00 00 00 00 00 01 00 00 00 18 05 00 00 14 69 71 6e 2e 32 30 32 34 2d 30 31 2e 78 3a 6e 31 00 00 00 00"
fi

if want transport_id; then
	mkdir -p "$corpus/transport_id"
	# The TransportID lists of the SPEC_I_PT parameter lists (after the
	# 24-byte list and the 4-byte TransportID parameter data length).
	for f in "$sgp"/prout_spec_*.param; do
		tail -c +29 "$f" >"$corpus/transport_id/seed-$(basename "$f" .param)"
	done
	bytes transport_id fc "00 00 00 00 00 00 00 00 21 00 00 24 ff 31 41 59 00 00 00 00 00 00 00 00"
	bytes transport_id sas "06 00 00 00 50 00 c5 00 05 b3 20 01 00 00 00 00 00 00 00 00 00 00 00 00"
	bytes transport_id spi "01 00 00 07 00 00 00 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
	bytes transport_id iscsi "05 00 00 14 69 71 6e 2e 32 30 32 34 2d 30 31 2e 78 3a 6e 31 00 00 00 00"
	bytes transport_id iscsi-isid "45 00 00 24 69 71 6e 2e 32 30 32 34 2d 30 31 2e 78 3a 6e 31 2c 69 2c 30 78 32 33 64 30 30 30 30 30 30 30 30 31 00 00 00"
fi

if want rtpg; then
	bytes rtpg two-groups "00 00 00 18 80 0f 00 01 00 00 00 01 00 00 00 01 01 0f 00 02 00 02 00 01 00 00 00 02"
	bytes rtpg truncated "00 00 00 40 00 0f 00 01 00 00 00 02 00 00 00 01 00 00"
	bytes rtpg empty "00 00 00 00"
fi

if want transport_id_text; then
	copy transport_id_text "$sgp"/*.tids
	mkdir -p "$corpus/transport_id_text"
	for f in "$sgp"/*.args; do
		{ grep -Eo -- '(-X|--transport-id=) ?[^ ]+' "$f" || true; } | sed -E 's/^(-X ?|--transport-id=)//' |
			while read -r a; do
				printf '%s' "$a" >"$corpus/transport_id_text/seed-$(basename "$f" .args)-$(printf '%s' "$a" | md5sum | cut -c1-8)"
			done
	done
	printf 'srp,0123456789abcdef0123456789abcdef' | text transport_id_text srp
	printf 'spi,7,2' | text transport_id_text spi
	printf 'sop,12' | text transport_id_text sop
	printf '0x06,0,0,0,50,0,c5,0,5,b3,20,1' | text transport_id_text hex
	# An iSCSI protocol byte alone: padded to 24 bytes, kept raw.
	printf '# iscsi\n85\n' | text transport_id_text iscsi-short
fi

if want mpath_ll; then
	copy mpath_ll "$fix"/multipath/*.txt
fi

if want mpathd; then
	copy mpathd "$fix"/multipathd/*.txt
	# The raw form takes its format from the first line.
	for f in "$fix"/multipathd/*raw*.txt; do
		{ echo '%i %d %D %p %t %T %o %C'; cat "$f"; } >"$corpus/mpathd/seed-fmt-$(basename "$f")"
	done
fi

if want dm_mpath; then
	printf '1 queue_if_no_path 1 alua 1 1 service-time 0 2 2 8:0 1 1 8:32 1 1 \0002 1 0 0 1 1 E 0 2 2 8:16 F 1 0 1 8:48 A 0 0 1 ' |
		text dm_mpath params
	printf '0 0 1 1 round-robin 0 2 1 8:16 1000 8:48 1000' | text dm_mpath rr
	printf 'mpatha: 0 2097152 multipath 1 queue_if_no_path 1 alua 1 1 service-time 0 2 2 8:0 1 1 8:32 1 1 \nvg-lv: 0 1024 linear 253:0 2048\n\000mpatha: 0 2097152 multipath 2 1 0 0 1 1 A 0 2 2 8:0 A 0 0 1 8:32 A 0 0 1 \n' |
		text dm_mpath dmsetup
fi

if want lvm; then
	text lvm vgs <<'EOF'
{ "report": [ { "vg": [
    {"vg_name":"vg0", "pv_name":"/dev/mapper/mpatha", "lv_active":"active"},
    {"vg_name":"root", "pv_name":"/dev/vda2", "lv_active":""} ] } ] }
EOF
	text lvm pvs <<'EOF'
{"report":[{"pv":[
  {"pv_name":"/dev/mapper/mpatha","vg_name":"shared","vg_attr":"wz--ns","vg_systemid":"","vg_lock_type":"dlm"},
  {"pv_name":"/dev/vda2","vg_name":"root","vg_attr":"wz--n-","vg_systemid":"host1","vg_lock_type":""}]},
 {"lv":[{"vg_name":"shared","lv_name":"data","lv_attr":"-wi-a-----","lv_active":"active"},
  {"vg_name":"root","lv_name":"root","lv_attr":"-wi-ao----","lv_active":"active"}]}]}
EOF
fi

if want qdisk; then
	# Blocks written without the library by the qdisk interoperability
	# test's writer, one seed per non-empty sector.
	tmp=$(mktemp -d)
	for ssz in 512 4096; do
		python3 "$root/tests/qdisk/independent_writer.py" "$tmp/img" "$ssz" >/dev/null
		head -c $((ssz * 24)) "$tmp/img" | split -b "$ssz" -a 3 - "$tmp/s$ssz-"
	done
	mkdir -p "$corpus/qdisk"
	for f in "$tmp"/s*; do
		if [ -n "$(tr -d '\0' <"$f" | head -c 1)" ]; then
			cp "$f" "$corpus/qdisk/seed-$(basename "$f")"
		fi
	done
	rm -rf "$tmp"
fi

if want fence_agent; then
	printf '# from stonithd\n\naction=off\nplug="node2"\ndevices=/dev/sdb, /dev/sdc /dev/mapper/m\nkey-value=hash\npreempt_only=yes\naptpl=0\nport_as_ip=1\nnodeid=2\n' |
		text fence_agent pacemaker
	printf 'action=on\nport=node1\nkey=0x6c9d0001\nconfig=/etc/fencekit/cluster.toml\ndelay=3\nreadonly=true\n' |
		text fence_agent unfence
	printf 'option=metadata\n' | text fence_agent metadata
fi

if want cluster_config; then
	copy cluster_config "$root/docs/cluster.toml.example"
	text cluster_config toml <<'EOF'
cluster = "mycluster"
scheme = "id"
devices = ["/dev/mapper/mpatha"]
coordinator = ["/dev/sdx", "/dev/sdy", "/dev/sdz"]

[groups]
db = ["/dev/mapper/db1"]

[[node]]
name = "node1"
id = 1

[[node]]
name = "node2"
id = 2
scheme = "hash"

[[node]]
name = "node3"
key = "0x00ABCD"

[[node]]
name = "node4"
key_ascii = "VF000104"
EOF
	text cluster_config cmapctl <<'EOF'
nodelist.local_node_pos (u32) = 1
nodelist.node.0.name (str) = node1
nodelist.node.0.nodeid (u32) = 1
nodelist.node.0.ring0_addr (str) = 192.168.122.11
nodelist.node.1.name (str) = node2
nodelist.node.1.nodeid (u32) = 2
nodelist.node.1.ring0_addr (str) = 192.168.122.12
nodelist.node.2.nodeid (u32) = 7
nodelist.node.2.ring0_addr (str) = node3.example
totem.cluster_name (str) = mycluster
totem.config_version (u64) = 3
EOF
fi

if want sg_persist_args; then
	mkdir -p "$corpus/sg_persist_args"
	# The fixtures' command lines, one argument per NUL-separated field.
	for f in "$sgp"/*.args; do
		tr -d '\n' <"$f" | tr ' ' '\0' >"$corpus/sg_persist_args/seed-$(basename "$f" .args)"
	done
	printf -- '--out\0--register-ignore\0--param-sark=0x1\0--transport-id=sas,5000c50005b32001\0/dev/sdb' |
		text sg_persist_args long
	printf -- '-nkl\00x10\0-vvv\0--\0/dev/sdc' | text sg_persist_args cluster
fi

if want sysfs_attr; then
	# Attribute files of the fixture trees (state, vendor, dev, uevent, ...),
	# at most a few hundred, named by their path.
	mkdir -p "$corpus/sysfs_attr"
	find "$fix/sysfs" -type f -size -4k | head -400 | while read -r f; do
		cp "$f" "$corpus/sysfs_attr/seed-$(echo "${f#"$fix"/}" | tr '/' '_')"
	done
	printf 'MAJOR=8\nMINOR=16\nDEVNAME=sdb\nDEVTYPE=disk\n' | text sysfs_attr uevent
	printf '8:16\n' | text sysfs_attr devt
	printf '18446744073709551615\n' | text sysfs_attr u64max
fi

if want domain_xml; then
	copy domain_xml "$fix"/vm/*.xml
fi

for d in "$corpus"/*/; do
	want "$(basename "$d")" && echo "$(basename "$d"): $(find "$d" -type f | wc -l) files"
done
