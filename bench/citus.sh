#!/usr/bin/env bash
# bench/citus.sh -- view/base ratios on a Citus cluster and on one server,
# the same data, in one run (doc/scale.md).  Run by `bash test/run.sh
# citus-bench [ROWS]`, which starts the servers and sets CITUS_COORD (the
# coordinator's port; the single server is PGHOST/PGPORT's).
#
# Both get the generated CRM of ROWS customers (bench/crm_data.sql) and its
# labels; on Citus customer is distributed by customer_id and orders
# co-located.  Each query runs as a superuser on the base tables and as a
# reader of clearance internal on the views, ROUNDS times in turn; the
# median of each is kept, and the table prints view/base on each side.
# Every column is computed: COPY (SELECT ...) TO STDOUT into /dev/null.
set -euo pipefail
: "${CITUS_COORD:?run by bash test/run.sh citus-bench}"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROWS=${1:-200000}
ROUNDS=${ROUNDS:-5}
DB=postgres
SINGLE=crm_bench_single

load() {	# psql options of one side; the CRM, distributed where Citus is
	psql -X -q -v ON_ERROR_STOP=1 -v rows="$ROWS" "$@" >/dev/null <<EOF
\ir $ROOT/bench/crm_data.sql
\ir $ROOT/bench/crm_distribute.sql
CREATE EXTENSION crm_privacy;
\ir $ROOT/bench/crm_labels.sql
DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_clerk') THEN CREATE ROLE bench_clerk LOGIN; END IF; END \$\$;
SELECT privacy.set_clearance('bench_clerk', 'internal');
SELECT privacy.grant_access('bench_clerk', 'standard');
SELECT privacy.grant_access('bench_clerk', 'optout', 'direct_marketing');
SELECT privacy.opt_out('customer', k::text, 'direct_marketing') FROM generate_series(1, $ROWS, 50) k;
\if :citus
SELECT * FROM privacy.citus_setup();
\endif
ANALYZE;
EOF
}

echo "loading $ROWS customers on the Citus cluster and on one server ..." >&2
for p in $CITUS_W1 $CITUS_W2; do psql -X -q -p "$p" -U postgres -d "$DB" -c "CREATE EXTENSION citus" >/dev/null; done
psql -X -q -p "$CITUS_COORD" -U postgres -d "$DB" >/dev/null -c "CREATE EXTENSION citus" \
	-c "SELECT citus_set_coordinator_host('127.0.0.1', $CITUS_COORD)" \
	-c "SELECT citus_add_node('127.0.0.1', $CITUS_W1)" -c "SELECT citus_add_node('127.0.0.1', $CITUS_W2)"
load -p "$CITUS_COORD" -U postgres -d "$DB"
psql -X -q -U postgres -d postgres -c "DROP DATABASE IF EXISTS $SINGLE" -c "CREATE DATABASE $SINGLE" >/dev/null
load -U postgres -d "$SINGLE"

# name | base query | view query
QUERIES=(
	"full read customer|SELECT * FROM public.customer|SELECT * FROM privacy_standard.customer"
	"full read orders|SELECT * FROM public.orders|SELECT * FROM privacy_standard.orders"
	"opt-out view customer|SELECT * FROM public.customer|SELECT * FROM privacy_optout_direct_marketing.customer"
	"count by city|SELECT city, count(*) FROM public.customer GROUP BY city|SELECT city, count(*) FROM privacy_standard.customer GROUP BY city"
	"orders by city|SELECT c.city, sum(o.amount) FROM public.orders o JOIN public.customer c USING (customer_id) GROUP BY c.city|SELECT c.city, sum(o.amount) FROM privacy_standard.orders o JOIN privacy_standard.customer c USING (customer_id) GROUP BY c.city"
	"point lookup|SELECT * FROM public.customer WHERE customer_id = 4242|SELECT * FROM privacy_standard.customer WHERE customer_id = 4242"
)

# ms SIDE ROLE SQL: milliseconds of one COPY of SQL's rows to /dev/null
ms() {
	local args=(-X -q -v ON_ERROR_STOP=1 -U "$2") t0 t1
	if [ "$1" = citus ]; then args+=(-p "$CITUS_COORD" -d "$DB"); else args+=(-d "$SINGLE"); fi
	t0=$(date +%s%N)
	psql "${args[@]}" -c "COPY ($3) TO STDOUT" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

printf '%-22s %12s %12s %8s %12s %12s %8s\n' query "1 server base" "views" ratio "Citus base" "views" ratio
for q in "${QUERIES[@]}"; do
	IFS='|' read -r name base view <<<"$q"
	declare -A t=()
	for side in single citus; do
		b=() v=()
		for _ in $(seq 1 "$ROUNDS"); do
			b+=("$(ms "$side" postgres "$base")")
			v+=("$(ms "$side" bench_clerk "$view")")
		done
		t[$side.base]=$(printf '%s\n' "${b[@]}" | median)
		t[$side.view]=$(printf '%s\n' "${v[@]}" | median)
	done
	awk -v n="$name" -v sb="${t[single.base]}" -v sv="${t[single.view]}" -v cb="${t[citus.base]}" -v cv="${t[citus.view]}" \
		'BEGIN { printf "%-22s %10.1fms %10.1fms %8.2f %10.1fms %10.1fms %8.2f\n", n, sb / 1000, sv / 1000, sv / sb, cb / 1000, cv / 1000, cv / cb }'
	unset t
done
echo "(medians of $ROUNDS runs, psql round trip included; reader: clearance internal; $ROWS customers)"

# The change audit: an UPDATE of every customer's points (a value the labels
# hide: each row's old and new points stored as pseudonyms), before and after
# enable_audit, on each side; on Citus each worker audits its shards.
upd() {	# side: milliseconds of one UPDATE of every customer
	local args=(-X -q -v ON_ERROR_STOP=1 -U postgres) t0 t1
	if [ "$1" = citus ]; then args+=(-p "$CITUS_COORD" -d "$DB"); else args+=(-d "$SINGLE"); fi
	t0=$(date +%s%N)
	psql "${args[@]}" -c "UPDATE public.customer SET loyalty_points = loyalty_points + 1" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}
declare -A a=()
for side in single citus; do
	for audited in plain audited; do
		if [ "$audited" = audited ]; then
			if [ "$side" = citus ]; then psql -X -q -p "$CITUS_COORD" -U postgres -d "$DB" -c "SELECT privacy.enable_audit('customer')" >/dev/null
			else psql -X -q -U postgres -d "$SINGLE" -c "SELECT privacy.enable_audit('customer')" >/dev/null; fi
		fi
		r=()
		for _ in $(seq 1 "$ROUNDS"); do r+=("$(upd "$side")"); done
		a[$side.$audited]=$(printf '%s\n' "${r[@]}" | median)
	done
done
printf '\n%-22s %12s %12s %8s %12s %12s %8s\n' statement "1 server" "audited" ratio "Citus" "audited" ratio
awk -v sb="${a[single.plain]}" -v sv="${a[single.audited]}" -v cb="${a[citus.plain]}" -v cv="${a[citus.audited]}" \
	'BEGIN { printf "%-22s %10.1fms %10.1fms %8.2f %10.1fms %10.1fms %8.2f\n", "UPDATE every customer", sb / 1000, sv / 1000, sv / sb, cb / 1000, cv / 1000, cv / cb }'
echo "(medians of $ROUNDS runs; audited: each changed row recorded, its points as pseudonyms)"
