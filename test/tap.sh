# test/tap.sh -- a few TAP helpers for the scripted tests (test/*.t).
# Source it; the tests run against the cluster test/run.sh started
# (PGHOST, PGPORT, PGUSER and PGBIN are set) and print TAP for prove.

TAP_N=0
TAP_FAILED=0

plan() { echo "1..$1"; }

# ok COND_STATUS DESCRIPTION: pass when the previous command's status was 0.
ok() {
	local status=$1; shift
	TAP_N=$((TAP_N + 1))
	if [ "$status" -eq 0 ]; then
		echo "ok $TAP_N - $*"
	else
		echo "not ok $TAP_N - $*"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

# is GOT EXPECTED DESCRIPTION
is() {
	local got=$1 expected=$2; shift 2
	if [ "$got" = "$expected" ]; then ok 0 "$@"; else
		ok 1 "$@"
		printf '#   got:      %s\n#   expected: %s\n' "$got" "$expected" | sed '2,$s/^/#   /'
	fi
}

# like GOT PATTERN DESCRIPTION (grep -E pattern)
like() {
	local got=$1 pattern=$2; shift 2
	if printf '%s' "$got" | grep -qE -- "$pattern"; then ok 0 "$@"; else
		ok 1 "$@"
		printf '#   got:      %s\n#   expected: /%s/\n' "$got" "$pattern"
	fi
}

# q DB SQL: run SQL in a fresh session, print the result unaligned, no headers.
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2" 2>&1; }

skip_all() { echo "1..0 # SKIP $*"; exit 0; }

done_testing() { [ "$TAP_FAILED" -eq 0 ]; }

# as_pg CMD...: run a server program as the postgres OS user when root.
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# wait_for DB SQL: poll until SQL returns t (up to 20 s); status 0 if it did.
wait_for() {
	local i
	for i in $(seq 1 200); do
		[ "$(q "$1" "$2")" = t ] && return 0
		sleep 0.1
	done
	return 1
}
