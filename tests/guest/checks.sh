# Helpers shared by the guest check scripts; sourced, with the script's
# FILEs, from /fk/bin:  . /fk/bin/checks.sh
# Sets fail=0 and tmp (a directory removed on exit) and defines:
#   note TEXT...            print a line
#   bad TEXT...             print "FAIL: TEXT" and set fail=1
#   get NAME                print the value of the variable named NAME
#   same NAME WANT GOT [WANT-LABEL [GOT-LABEL]]
#                           compare two files: "ok: NAME (n lines)", or a
#                           failure and the unified diff (labels default to
#                           "reference" and "pathmap")
fail=0
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

note() { printf '%s\n' "$*"; }
bad() { printf 'FAIL: %s\n' "$*"; fail=1; }
get() { eval "printf '%s' \"\${$1:-}\""; }

same() {
	if diff -u "$2" "$3" >"$tmp/d"; then
		note "ok: $1 ($(wc -l <"$2") lines)"
	else
		bad "$1 differs (- ${4:-reference}, + ${5:-pathmap}):"
		cat "$tmp/d"
	fi
}
