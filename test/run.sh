#!/usr/bin/env bash
# test/run.sh -- the README's two commands.
#
#   bash test/run.sh demo [ROWS]   load and label a generated CRM (1,000 customers
#                                  by default) and print what a DBA wants to see
#   bash test/run.sh test          run every pg_regress, pgTAP and scripted suite
#   bash test/run.sh matrix [VER...]  run "test" on PostgreSQL 15, 17 and 18, each
#                                  in a Debian chroot (see test/matrix.sh)
#   bash test/run.sh bench [ROWS]  run the benchmarks of bench/ (functions,
#                                  views, BI queries, audit) on ROWS generated
#                                  customers (1,000,000 by default)
#   bash test/run.sh citus         run the Citus suites (test/citus/*.t) on a
#                                  coordinator and workers built from the Citus
#                                  source kept beside the tree (see
#                                  test/citus_cluster.sh)
#   bash test/run.sh citus-bench [ROWS]  bench/citus.sh: view/base ratios on
#                                  that cluster and on one server (200,000
#                                  customers by default)
#   bash test/run.sh valgrind      run the pg_regress and pgTAP suites and the
#                                  hostile calls of test/functions_hostile.t with
#                                  the server under valgrind; report every error
#                                  whose stack passes through crm_privacy's code
#
# Each run installs what is missing (as root, with apt-get), builds and installs
# the extension, starts a throwaway cluster (Unix socket in a temporary
# directory, no TCP, shared_preload_libraries = 'crm_privacy'), runs, and stops
# and removes the cluster on every exit, also when a test fails.
#
# As root the extension goes into the system PostgreSQL and the server runs as
# the postgres OS user.  As any other user (packages already installed) the
# extension goes into a private copy of the PostgreSQL tree inside the
# temporary directory and the server runs as that user.
#
# Set KEEP_TMP=1 to keep the temporary directory (cluster, logs) for a look.
set -euo pipefail

mode=${1:-}
case "$mode" in
	demo|test|bench|valgrind|citus|citus-bench) shift ;;
	matrix) shift; exec bash "$(dirname "${BASH_SOURCE[0]}")/matrix.sh" run "$@" ;;
	*) echo "usage: bash test/run.sh demo [ROWS] | test | matrix [VERSION...] | citus | citus-bench [ROWS] | bench [ROWS] | valgrind" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# The PostgreSQL to build and test against: PGVER from the environment, else
# the newest one installed (/usr/lib/postgresql/NN), else the one this Debian
# release ships as "postgresql".
if [ -z "${PGVER:-}" ]; then
	PGVER=$(ls /usr/lib/postgresql 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -n 1 || true)
	[ -n "$PGVER" ] ||
		PGVER=$(apt-cache depends postgresql 2>/dev/null | sed -n 's/.*Depends: postgresql-\([0-9][0-9]*\)$/\1/p' | head -n 1)
	[ -n "$PGVER" ] || { echo "no PostgreSQL found: set PGVER" >&2; exit 2; }
fi
export PG_CONFIG=/usr/lib/postgresql/$PGVER/bin/pg_config
PACKAGES=(make gcc "postgresql-$PGVER" "postgresql-server-dev-$PGVER"
          "postgresql-$PGVER-pgtap" libtap-parser-sourcehandler-pgtap-perl)
[ "$mode" = valgrind ] && PACKAGES+=(valgrind)
if [ "$mode" = citus ] || [ "$mode" = citus-bench ]; then
	. "$ROOT/test/citus_cluster.sh"
	# (a version Citus does not support gets no build packages: it is skipped)
	if citus_supported; then PACKAGES+=("${CITUS_PACKAGES[@]}"); fi
fi
# The audit benchmark compares with pgaudit.
[ "$mode" = bench ] && PACKAGES+=("postgresql-$PGVER-pgaudit")

say() { printf '\n== %s\n' "$*"; }

# Install the Debian packages that are missing (root only).
ensure_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing Debian packages: ${missing[*]}" >&2
		echo "run this command as root once, or: apt-get install -y ${missing[*]}" >&2
		exit 1
	fi
	say "installing ${missing[*]} (a few minutes the first time)"
	export DEBIAN_FRONTEND=noninteractive
	echo "  updating the package lists"
	apt-get update -qq
	# one line per package as it is set up, so that the wait shows progress
	apt-get install -y -q --no-install-recommends "${missing[@]}" \
		| sed -un 's/^Setting up \([^ ]*\).*/  set up \1/p'
}

ensure_packages
BINDIR=$("$PG_CONFIG" --bindir)
SHAREDIR=$("$PG_CONFIG" --sharedir)
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
say "PostgreSQL $("$PG_CONFIG" --version | sed 's/^PostgreSQL //') ($PG_CONFIG)"

TMP=$(mktemp -d /tmp/crm_privacy.XXXXXX)
chmod 755 "$TMP"
export CRM_TMP=$TMP
SERVER_UP=0

if [ "$(id -u)" -eq 0 ]; then
	chown postgres:postgres "$TMP"
	as_pg() { runuser -u postgres -- "$@"; }
else
	as_pg() { "$@"; }
fi

cleanup() {
	local rc=$?
	if declare -F citus_stop >/dev/null; then citus_stop; fi
	if [ "$SERVER_UP" = 1 ]; then
		as_pg "$PGBIN/pg_ctl" -D "$TMP/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "kept $TMP"
	else
		rm -rf "$TMP"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Build (warnings are errors) and install.
say "building crm_privacy"
make -s WERROR=1
if [ "$(id -u)" -eq 0 ]; then
	make -s install >/dev/null
	PGBIN=$BINDIR
else
	# A private PostgreSQL tree: the server finds share/ and lib/ relative to
	# its own binary, so a copy of bin/ next to our install is enough.
	INST=$TMP/inst
	make -s install DESTDIR="$INST" >/dev/null
	mkdir -p "$INST$BINDIR"
	cp -a "$BINDIR/." "$INST$BINDIR/"
	cp -an "$SHAREDIR/." "$INST$SHAREDIR/"
	for f in "$PKGLIBDIR"/*; do
		[ -e "$INST$PKGLIBDIR/${f##*/}" ] || ln -s "$f" "$INST$PKGLIBDIR/"
	done
	PGBIN=$INST$BINDIR
fi
export PGBIN PATH="$PGBIN:$PATH"

# Start the throwaway cluster.
PRELOAD=crm_privacy
[ "$mode" = bench ] && PRELOAD=crm_privacy,pgaudit
say "starting a throwaway cluster in $TMP"
as_pg "$PGBIN/initdb" -D "$TMP/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
	--no-sync >"$TMP/initdb.log" 2>&1 || { cat "$TMP/initdb.log"; exit 1; }
cat >>"$TMP/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$TMP'
port = 5432
shared_preload_libraries = '$PRELOAD'
fsync = off
full_page_writes = off
log_line_prefix = '%m [%p] %q%u@%d '
EOF
export PGHOST=$TMP PGPORT=5432 PGUSER=postgres PGDATABASE=postgres
start_server() {
	if [ "$mode" = valgrind ]; then
		mkdir -p "$TMP/valgrind" && chmod 777 "$TMP/valgrind"
		as_pg valgrind --quiet --trace-children=yes --num-callers=30 --fullpath-after= \
			--suppressions="$ROOT/test/valgrind.supp" \
			--log-file="$TMP/valgrind/%p.log" \
			"$PGBIN/postgres" -D "$TMP/data" >"$TMP/server.log" 2>&1 &
		for _ in $(seq 1 240); do
			"$PGBIN/pg_isready" -q && break
			sleep 0.5
		done
		"$PGBIN/pg_isready" -q || { cat "$TMP/server.log"; exit 1; }
	else
		as_pg "$PGBIN/pg_ctl" -D "$TMP/data" -l "$TMP/server.log" -w -t 120 start >/dev/null ||
			{ cat "$TMP/server.log"; exit 1; }
	fi
	SERVER_UP=1
}
start_server

# Restart the server with or without the library preloaded.
set_preload() {
	local value=$1
	as_pg sed -i "s/^shared_preload_libraries = .*/shared_preload_libraries = '$value'/" \
		"$TMP/data/postgresql.conf"
	as_pg "$PGBIN/pg_ctl" -D "$TMP/data" -m fast -w stop >/dev/null
	SERVER_UP=0
	start_server
}

PASSED=0
FAILED=0

# Count TAP results in a verbose prove log; a failed run with no failed
# assertion (a script that died) counts as one failure.
count_tap() {
	local log=$1 rc=$2 p f
	p=$(grep -cE '^ok [0-9]+' "$log" || true)
	f=$(grep -cE '^not ok [0-9]+' "$log" || true)
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
}

run_regress() {
	say "pg_regress suites (sql/, expected/)"
	local log=$TMP/regress.log rc=0 p f
	make -s installcheck >"$log" 2>&1 || rc=$?
	cat "$log"
	# pg_regress 15 prints "test X ... ok"/"... FAILED", 16 and later TAP
	# ("ok 1 - X", "not ok 1 - X").
	p=$(grep -cE '\.\.\. ok|^ok [0-9]+ ' "$log" || true)
	f=$(grep -cE '\.\.\. FAILED|^not ok [0-9]+ ' "$log" || true)
	if [ "$rc" -ne 0 ]; then
		[ -f regression.diffs ] && cat regression.diffs
		[ "$f" -eq 0 ] && f=1
	fi
	PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
}

run_pgtap() {
	say "pgTAP suites (test/*.sql)"
	local log=$TMP/pgtap.log rc=0
	psql -X -q -v ON_ERROR_STOP=1 -c 'DROP DATABASE IF EXISTS crm_tap' -c 'CREATE DATABASE crm_tap'
	psql -X -q -v ON_ERROR_STOP=1 -d crm_tap -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION crm_privacy'
	pg_prove -v -d crm_tap test/*.sql >"$log" 2>&1 || rc=$?
	cat "$log"
	count_tap "$log" "$rc"
}

run_scripts() {
	say "scripted tests (test/*.t), library preload: $CRM_PRELOAD"
	local log=$TMP/scripts-$CRM_PRELOAD.log rc=0
	prove -v test/*.t >"$log" 2>&1 || rc=$?
	cat "$log"
	count_tap "$log" "$rc"
}

case "$mode" in
	demo)
		say "demo"
		psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE DATABASE crm_demo'
		psql -X -v ON_ERROR_STOP=1 -v rows="${1:-1000}" -d crm_demo -f doc/demo.sql
		;;
	bench)
		say "benchmarks (bench/)"
		psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE DATABASE crm_bench'
		psql -X -v ON_ERROR_STOP=1 -v rows="${1:-1000000}" -d crm_bench -f bench/functions.sql
		bash bench/views.sh crm_bench
		bash bench/bi.sh crm_bench
		bash bench/audit.sh crm_bench
		;;
	valgrind)
		run_regress
		run_pgtap
		say "hostile calls of every function (test/functions_hostile.t)"
		log=$TMP/hostile.log rc=0
		CRM_PRELOAD=on CRM_VALGRIND=1 prove -v test/functions_hostile.t >"$log" 2>&1 || rc=$?
		cat "$log"
		count_tap "$log" "$rc"
		as_pg "$PGBIN/pg_ctl" -D "$TMP/data" -m fast -w -t 300 stop >/dev/null
		SERVER_UP=0
		say "valgrind errors in crm_privacy code"
		# A valgrind error block starts with "==PID== <message>" and ends at an
		# empty "==PID== " line (or where another process's lines begin); keep
		# the blocks with a frame in our code (a source file under src/, or the
		# library itself).
		ours=$(cat "$TMP"/valgrind/*.log | awk -v src="$ROOT/src/" '
			function flush() { if (index(block, src) || block ~ /crm_privacy\.so/) print block; block = "" }
			{ pid = $1; if (pid != lastpid) flush(); lastpid = pid }
			/^==[0-9]+== *$/ { flush(); next }
			{ block = block $0 "\n" }
			END { flush() }')
		if [ -n "$ours" ]; then
			printf '%s\n' "$ours"
			FAILED=$((FAILED + 1))
		else
			echo "none (valgrind logs of $(ls "$TMP"/valgrind | wc -l) processes read)"
			PASSED=$((PASSED + 1))
		fi
		echo
		echo "$PASSED passed, $FAILED failed"
		[ "$FAILED" -eq 0 ]
		;;
	citus-bench)
		rc=0
		citus_start || rc=$?
		[ "$rc" -eq 0 ] || exit 1
		say "benchmark (bench/citus.sh)"
		bash bench/citus.sh "${1:-200000}"
		;;
	citus)
		rc=0
		run_citus || rc=$?
		echo
		echo "$PASSED passed, $FAILED failed"
		[ "$FAILED" -eq 0 ]
		;;
	test)
		run_regress
		run_pgtap
		export CRM_PRELOAD=on
		run_scripts
		set_preload ''
		export CRM_PRELOAD=off
		run_scripts
		echo
		echo "$PASSED passed, $FAILED failed"
		[ "$FAILED" -eq 0 ]
		;;
esac
