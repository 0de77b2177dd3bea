# test/citus_cluster.sh -- sourced by test/run.sh for `bash test/run.sh citus`:
# build Citus from the source tarball the project keeps beside it (it never
# downloads anything), start a Citus cluster next to run.sh's throwaway
# server, and run test/citus/*.t against both.
#
# The cluster, in $TMP: a coordinator and two workers, and a third worker
# that the tests add later (citus_add_node), each on a loopback port with
# shared_preload_libraries = 'citus,crm_privacy'.  run.sh's own server (Unix
# socket only, crm_privacy alone) is the single server the tests compare
# with.
#
# The Citus tarball is looked for in $CRM_CITUS_TARBALL, in .vendor/ of the
# tree (where test/matrix.sh puts it for a chroot), in ../shared/vendor/
# beside the tree, and beside the repository the tree was cloned from.  Its
# checksum must match the SHA256SUMS next to it.  The build is kept in a cache
# (/var/cache/crm_privacy-citus as root, else ~/.cache/crm_privacy-citus),
# per tarball and PostgreSQL version.

CITUS_VERSIONS="15 16 17"	# the PostgreSQL versions Citus 13.0 supports
CITUS_PACKAGES=(libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev libselinux1-dev
                libpam0g-dev libicu-dev autoconf flex bison)

# Does Citus support the PostgreSQL under test ($PGVER)?
citus_supported() {
	case " $CITUS_VERSIONS " in
		*" $PGVER "*) return 0 ;;
	esac
	return 1
}

# The Citus source tarball, or nothing.
citus_tarball() {
	local c origin
	local candidates=("${CRM_CITUS_TARBALL:-}" "$ROOT"/.vendor/citus-*.tar.gz
	                  "$ROOT"/../shared/vendor/citus-*.tar.gz)
	origin=$(git -C "$ROOT" config --get remote.origin.url 2>/dev/null || true)
	case "$origin" in
		/*) candidates+=("$origin"/../shared/vendor/citus-*.tar.gz) ;;
	esac
	for c in "${candidates[@]}"; do
		[ -n "$c" ] && [ -f "$c" ] && { echo "$c"; return 0; }
	done
	return 1
}

# citus_build TARBALL: build Citus against $PG_CONFIG (cached) and install it
# where run.sh installed crm_privacy.
citus_build() {
	local tarball=$1 sums sha cache dir log
	sums=$(dirname "$tarball")/SHA256SUMS
	sha=$(sha256sum "$tarball" | cut -d' ' -f1)
	if [ -f "$sums" ] && ! grep -q "^$sha  $(basename "$tarball")\$" "$sums"; then
		echo "the checksum of $tarball does not match $sums" >&2
		return 1
	fi
	if [ "$(id -u)" -eq 0 ]; then cache=/var/cache/crm_privacy-citus
	else cache=${XDG_CACHE_HOME:-$HOME/.cache}/crm_privacy-citus; fi
	dir=$cache/${sha:0:16}-pg$PGVER
	log=$cache/${sha:0:16}-pg$PGVER.log
	mkdir -p "$cache"
	if [ ! -f "$dir/.built" ]; then
		say "building Citus from $(basename "$tarball") for PostgreSQL $PGVER (a few minutes, once; log: $log)"
		rm -rf "$dir" && mkdir -p "$dir"
		tar -xzf "$tarball" -C "$dir" --strip-components=1
		( cd "$dir" && ./configure PG_CONFIG="$PG_CONFIG" && make -j"$(nproc)" ) >"$log" 2>&1 ||
			{ tail -n 30 "$log"; return 1; }
		touch "$dir/.built"
	fi
	if [ "$(id -u)" -eq 0 ]; then
		make -C "$dir" -s install >>"$log" 2>&1 || { tail -n 30 "$log"; return 1; }
	else
		make -C "$dir" -s install DESTDIR="$INST" >>"$log" 2>&1 || { tail -n 30 "$log"; return 1; }
	fi
}

# A free loopback port (from a range of our own).
free_port() {
	local p
	for p in $(seq "$1" $(($1 + 200))); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}

CITUS_NODES=()
citus_stop() {
	local n
	for n in "${CITUS_NODES[@]}"; do
		as_pg "$PGBIN/pg_ctl" -D "$TMP/$n" -m immediate -w stop >/dev/null 2>&1 || true
	done
}

# citus_node NAME PORT: initdb and start one node.
citus_node() {
	local name=$1 port=$2
	as_pg "$PGBIN/initdb" -D "$TMP/$name" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
		--no-sync >"$TMP/$name.initdb.log" 2>&1 || { cat "$TMP/$name.initdb.log"; return 1; }
	cat >>"$TMP/$name/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$TMP'
port = $port
shared_preload_libraries = 'citus,crm_privacy'
fsync = off
full_page_writes = off
max_prepared_transactions = 50
log_line_prefix = '%m [%p] %q%u@%d '
EOF
	CITUS_NODES+=("$name")
	as_pg "$PGBIN/pg_ctl" -D "$TMP/$name" -l "$TMP/$name.log" -w -t 120 start >/dev/null ||
		{ cat "$TMP/$name.log"; return 1; }
}

# Make ready and start the cluster: Citus built and installed, the nodes
# started (CITUS_COORD, CITUS_W1..3 exported).  Returns 2 (and says why,
# loudly) when Citus cannot run here, 1 on a failure.
citus_start() {
	local tarball base p
	if ! citus_supported; then
		printf '\n%s\n### SKIPPED: Citus 13.0 supports PostgreSQL %s, not %s: no Citus tests here\n%s\n' \
			"########" "$CITUS_VERSIONS" "$PGVER" "########"
		return 2
	fi
	if ! tarball=$(citus_tarball); then
		printf '\n%s\n### SKIPPED: the Citus source tarball was not found (set CRM_CITUS_TARBALL, or keep ../shared/vendor/ beside the tree)\n%s\n' \
			"########" "########"
		return 2
	fi
	citus_build "$tarball" || return 1
	base=$(free_port $((20000 + $$ % 20000))) || { echo "no free port" >&2; return 1; }
	export CITUS_COORD=$base CITUS_W1=$((base + 1)) CITUS_W2=$((base + 2)) CITUS_W3=$((base + 3))
	for p in $CITUS_W1 $CITUS_W2 $CITUS_W3; do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && { echo "port $p is taken" >&2; return 1; }
	done
	say "starting a Citus cluster on 127.0.0.1: coordinator $CITUS_COORD, workers $CITUS_W1 $CITUS_W2 (and $CITUS_W3, added by the tests)"
	citus_node coord "$CITUS_COORD" && citus_node w1 "$CITUS_W1" && citus_node w2 "$CITUS_W2" &&
		citus_node w3 "$CITUS_W3"
}

# Run test/citus/*.t; adds to PASSED and FAILED.
run_citus() {
	local log rc=0
	citus_start || rc=$?
	[ "$rc" -eq 2 ] && return 0
	[ "$rc" -eq 0 ] || { FAILED=$((FAILED + 1)); return 1; }
	say "Citus suites (test/citus/*.t)"
	log=$TMP/citus.log
	CRM_TMP=$TMP prove -v test/citus/*.t >"$log" 2>&1 || rc=$?
	cat "$log"
	count_tap "$log" "$rc"
	citus_stop
}
