#!/usr/bin/env bash
# crm_privacy on a Citus cluster (doc/scale.md), run by `bash test/run.sh
# citus` (test/citus_cluster.sh started the nodes): the same CRM, labels,
# roles, opt-outs and pseudonym key on the Citus cluster (customer
# distributed by customer_id, orders co-located) and on a single server;
# every view kind, for every role, returns the same rows on both; the scans
# go to the workers; the pseudonym key is one on every node, a node added
# later included, and a rotation changes it on all in one transaction; and
# the attacks on the path that reads the shards as the views' owner fail.
. "$(dirname "$0")/../tap.sh"
plan 76

: "${CITUS_COORD:?run by bash test/run.sh citus}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DB=postgres
SINGLE=crm_citus_single

# on a node (port), as a role
qn() { psql -X -q -At -v ON_ERROR_STOP=1 -p "$1" -U "$2" -d "$DB" -c "$3" 2>&1; }
qc() { qn "$CITUS_COORD" postgres "$1"; }
qs() { psql -X -q -At -v ON_ERROR_STOP=1 -U postgres -d "$SINGLE" -c "$1" 2>&1; }

for p in "$CITUS_COORD" "$CITUS_W1" "$CITUS_W2" "$CITUS_W3"; do
	qn "$p" postgres "CREATE EXTENSION citus" >/dev/null
done
qc "SELECT citus_set_coordinator_host('127.0.0.1', $CITUS_COORD);
    SELECT citus_add_node('127.0.0.1', $CITUS_W1); SELECT citus_add_node('127.0.0.1', $CITUS_W2)" >/dev/null

# The same CRM on both: generated, labelled, four readers, two opt-outs.
crm() {	# side, psql options for it
	local side=$1; shift
	psql -X -q -v ON_ERROR_STOP=1 -v rows=400 "$@" >/dev/null 2>"$CRM_TMP/crm-$side.err" <<EOF
\ir $ROOT/bench/crm_data.sql
\ir $ROOT/bench/crm_distribute.sql
CREATE EXTENSION crm_privacy;
\ir $ROOT/bench/crm_labels.sql
DO \$\$ DECLARE r text; BEGIN
  FOREACH r IN ARRAY ARRAY['cit_intern', 'cit_clerk', 'cit_analyst', 'cit_officer', 'cit_partner'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN EXECUTE format('CREATE ROLE %I LOGIN', r); END IF;
  END LOOP; END \$\$;
SELECT privacy.set_clearance('cit_clerk', 'internal');
SELECT privacy.set_clearance('cit_analyst', 'confidential');
SELECT privacy.set_clearance('cit_officer', 'secret');
SELECT privacy.grant_access(r::regrole, 'standard') FROM unnest(ARRAY['cit_intern', 'cit_clerk', 'cit_analyst', 'cit_officer']) r;
SELECT privacy.grant_access('cit_clerk', 'optout', 'direct_marketing');
SELECT privacy.grant_access('cit_analyst', 'anon');
SELECT privacy.grant_access('cit_officer', 'full');
SELECT privacy.create_disclosure('partner', recipient => 'Partner Logistics Ltd');
SELECT privacy.disclose('partner', 'customer', 'customer_id', 'keep');
SELECT privacy.disclose('partner', 'customer', 'email', 'pseudonym');
SELECT privacy.disclose('partner', 'customer', 'birth_date', 'generalize(decade)');
SELECT privacy.disclose('partner', 'orders', 'amount', 'keep');
SELECT privacy.grant_access('cit_partner', 'disclose', 'partner');
SELECT privacy.opt_out('customer', '2', 'direct_marketing', 'web form');
SELECT privacy.opt_out('customer', '3', 'sensitive_data', 'letter');
SELECT privacy.opt_out('customer', '4', 'third_party_disclosure', 'phone call');
EOF
}
crm citus -p "$CITUS_COORD" -U postgres -d "$DB"
r=$?
ok $r "the CRM on the Citus cluster: distributed, labelled, roles, opt-outs, a disclosure profile"
[ $r -eq 0 ] || grep -m 3 -A2 ERROR "$CRM_TMP/crm-citus.err" | sed 's/^/# /'
setup=$(qc "SELECT string_agg(s, '; ') FROM privacy.citus_setup() s")
is "$setup" "privacy.optout_keys: a reference table now; privacy.pseudonym_key: a reference table now; crm_privacy_views: may log in on every node; views: built again" \
	"privacy.citus_setup(): opt-outs and the key as reference tables, the views' role on every node"
is "$(qc "SELECT string_agg(s, '; ') FROM privacy.citus_setup() s")" \
	"crm_privacy_views: may log in on every node; views: built again" "privacy.citus_setup() again: nothing more to convert"
is "$(qc "SELECT string_agg(logicalrelid::text || ':' || partmethod::text, ' ' ORDER BY 1) FROM pg_dist_partition")" \
	"customer:h orders:h privacy.optout_keys:n privacy.pseudonym_key:n" "customer and orders distributed by hash, opt-outs and key as reference tables"

q postgres "DROP DATABASE IF EXISTS $SINGLE" >/dev/null
q postgres "CREATE DATABASE $SINGLE" >/dev/null
crm single -d "$SINGLE" -U postgres
r=$?
ok $r "the same CRM on a single server"
[ $r -eq 0 ] || grep -m 3 -A2 ERROR "$CRM_TMP/crm-single.err" | sed 's/^/# /'
key=$(qc "SELECT encode(privacy.export_pseudonym_key(), 'hex')")
qs "SELECT privacy.import_pseudonym_key(decode('$key', 'hex'))" >/dev/null
ok $? "the single server takes the cluster's pseudonym key"

# 1. Every view kind, for each role: the same rows (sorted lines of COPY).
# the sorted lines of a query's COPY output, on the cluster (port) or the single server ("")
q_rows() {	# port-or-empty role query
	if [ -n "$1" ]; then psql -X -q -v ON_ERROR_STOP=1 -p "$1" -U "$2" -d "$DB" -c "COPY ($3) TO STDOUT" 2>&1 | LC_ALL=C sort
	else psql -X -q -v ON_ERROR_STOP=1 -U "$2" -d "$SINGLE" -c "COPY ($3) TO STDOUT" 2>&1 | LC_ALL=C sort; fi
}
rows() { q_rows "$1" "$2" "SELECT * FROM $3"; }	# port-or-empty role view
for rv in cit_intern:privacy_standard cit_clerk:privacy_standard cit_analyst:privacy_standard \
	cit_officer:privacy_standard cit_clerk:privacy_optout_direct_marketing cit_analyst:privacy_anon \
	cit_officer:privacy_full cit_partner:privacy_disclose_partner; do
	role=${rv%%:*} schema=${rv#*:}
	for t in customer orders; do
		c=$(rows "$CITUS_COORD" "$role" "$schema.$t")
		s=$(rows "" "$role" "$schema.$t")
		if [ "$c" = "$s" ] && [ -n "$c" ] && ! printf '%s' "$c" | grep -q 'ERROR'; then
			ok 0 "$role reads $schema.$t: the same $(printf '%s\n' "$c" | wc -l) rows on Citus as on one server"
		else
			ok 1 "$role reads $schema.$t: the same rows on Citus as on one server"
			diff <(printf '%s\n' "$s") <(printf '%s\n' "$c") | head -n 6 | sed 's/^/# /'
		fi
	done
done
# BI queries of the views: the same results on both (red team citus1 #12: these
# were refused)
while IFS='|' read -r what sql; do
	c=$(q_rows "$CITUS_COORD" cit_analyst "$sql")
	s1=$(q_rows "" cit_analyst "$sql")
	if [ "$c" = "$s1" ] && [ -n "$c" ] && ! printf '%s' "$c" | grep -q 'ERROR'; then ok 0 "$what: the same result on Citus"
	else ok 1 "$what: the same result on Citus"; printf '%s\n' "$c" | head -n 3 | sed 's/^/# /'; fi
done <<'EOF2'
a CTE|WITH x AS (SELECT city FROM privacy_standard.customer) SELECT city, count(*) FROM x GROUP BY city
count(DISTINCT)|SELECT count(DISTINCT city) FROM privacy_standard.customer
an ordered aggregate|SELECT city, string_agg(gender, '' ORDER BY customer_id) FROM privacy_standard.customer GROUP BY city
WITHIN GROUP|SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY loyalty_points) FROM privacy_standard.customer
a whole-row reference|SELECT count(o.*) FROM privacy_standard.orders o
a window function|SELECT customer_id, rank() OVER (PARTITION BY city ORDER BY loyalty_points DESC, customer_id) FROM privacy_standard.customer
UNION of two views|SELECT city FROM privacy_standard.customer UNION SELECT product FROM privacy_standard.orders
EOF2

# (Citus names a whole row's fields f1, f2, ... unless one shard answers: only not refused here)
like "$(qn "$CITUS_COORD" cit_analyst "SELECT row_to_json(c) FROM privacy_standard.customer c WHERE customer_id = 1")" \
	'^\{"(customer_id|f1)":1,' "row_to_json of a view's row is not refused"

# (the opt-outs and the masks are there: not all rows equal)
is "$(qn "$CITUS_COORD" cit_clerk "SELECT count(*) FROM privacy_optout_direct_marketing.customer WHERE customer_id IN (1, 2)")" 1 \
	"customer 2 opted out of direct marketing: not in the clerk's opt-out view"
is "$(qn "$CITUS_COORD" cit_officer "SELECT coalesce(religion, '(null)') FROM privacy_standard.customer WHERE customer_id = 3")" "(null)" \
	"customer 3 opted out of sensitive data use: religion NULL even for the secret clearance"
is "$(qn "$CITUS_COORD" cit_intern "SELECT mobile FROM privacy_standard.customer WHERE customer_id = 1")" \
	"$(qs "SELECT privacy.mask_phone(mobile) FROM customer WHERE customer_id = 1")" "the intern sees the mobile masked"

# The scans run on the workers.
plan_text=$(qn "$CITUS_COORD" cit_intern "EXPLAIN (COSTS OFF, VERBOSE) SELECT count(*) FROM privacy_standard.customer WHERE city = 'Beijing'")
like "$plan_text" "Custom Scan \(Citus Adaptive\)" "EXPLAIN as a reader: a Citus scan"
like "$plan_text" "Task Count: 32" "over the 32 shards"
like "$plan_text" "Query: SELECT count\(\*\) AS count FROM public.customer_[0-9]+ privacy_standard WHERE \(city OPERATOR\(pg_catalog.=\) 'Beijing'::text\)" \
	"the count and the condition go to the workers"
plan_text=$(qc "EXPLAIN (COSTS OFF) SELECT count(*) FROM privacy_optout_direct_marketing.orders o JOIN privacy_optout_direct_marketing.customer c USING (customer_id)")
like "$plan_text" "Task Count: 32" "an opt-out view join of co-located tables: one task per shard pair, on the workers"
wait_for_c() { local i; for i in $(seq 1 200); do [ "$(qc "$1")" = t ] && return 0; sleep 0.1; done; return 1; }
wait_for_c "SELECT EXISTS (SELECT FROM privacy.access_log WHERE current_user_name = 'cit_officer' AND relations = '{privacy_full.customer}')"
ok $? "a full-view read through the coordinator is recorded in its access log"
is "$(qc "SELECT coalesce(row_count::text, 'unknown') FROM privacy.access_log WHERE current_user_name = 'cit_officer' AND relations = '{privacy_full.customer}' ORDER BY id DESC LIMIT 1")" \
	unknown "its row count is unknown (the rows are read on the workers), not a wrong 0"

# 2. One pseudonym key on every node.
p_of() { qn "$1" postgres "SELECT privacy.pseudonym('13800000000', 'mobile')"; }
pc=$(p_of "$CITUS_COORD")
is "$(p_of "$CITUS_W1") $(p_of "$CITUS_W2")" "$pc $pc" "the workers compute the coordinator's pseudonyms"
is "$(qs "SELECT privacy.pseudonym('13800000000', 'mobile')")" "$pc" "and so does the single server with the imported key"
qc "SELECT citus_add_node('127.0.0.1', $CITUS_W3)" >/dev/null
ok $? "a third worker joins (citus_add_node)"
is "$(p_of "$CITUS_W3")" "$pc" "the node added later computes the same pseudonyms"
anon_before=$(qn "$CITUS_COORD" cit_analyst "SELECT min(email) FROM privacy_anon.customer")
qc "BEGIN; SELECT privacy.rotate_pseudonym_key(); ROLLBACK" >/dev/null
is "$(p_of "$CITUS_COORD") $(p_of "$CITUS_W1") $(p_of "$CITUS_W3")" "$pc $pc $pc" "a rotation rolled back changes the key nowhere"
qc "SELECT privacy.rotate_pseudonym_key()" >/dev/null
pn=$(p_of "$CITUS_COORD")
[ "$pn" != "$pc" ]
ok $? "a rotation changes the coordinator's pseudonyms"
is "$(p_of "$CITUS_W1") $(p_of "$CITUS_W2") $(p_of "$CITUS_W3")" "$pn $pn $pn" "and every worker's, in the same transaction"
is "$(qn "$CITUS_COORD" cit_analyst "SELECT count(*) FROM privacy_anon.customer WHERE email = '$anon_before'")" 0 \
	"the anonymous view pseudonymizes with the new key"

# DDL of a distributed labelled table, and a shard moved to the node added later.
before=$(rows "$CITUS_COORD" cit_officer privacy_standard.customer)
qc "ALTER TABLE customer ADD COLUMN nickname text" >/dev/null
ok $? "ALTER TABLE ADD COLUMN on a distributed labelled table"
is "$(qn "$CITUS_COORD" cit_officer "SELECT count(*) FROM privacy_standard.customer WHERE nickname IS NULL")" 400 \
	"the views have the new column, NULL (unlabelled)"
qc "ALTER TABLE customer DROP COLUMN nickname" >/dev/null
ok $? "and DROP COLUMN of it"
shard=$(qc "SELECT min(shardid) FROM pg_dist_shard WHERE logicalrelid = 'customer'::regclass")
from=$(qc "SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = $shard")
qc "SELECT replicate_reference_tables('block_writes')" >/dev/null
qc "SELECT citus_move_shard_placement($shard, '127.0.0.1', $from, '127.0.0.1', $CITUS_W3, shard_transfer_mode => 'block_writes')" >/dev/null
is "$(qc "SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = $shard")" "$CITUS_W3" "a shard (with its co-located orders) moves to the node added later"
is "$(rows "$CITUS_COORD" cit_officer privacy_standard.customer)" "$before" \
	"the views read it there: the same rows as before the move and the column's round trip"

# 3. Attacks on the reads that run as the views' owner.
qc "CREATE SCHEMA evil; GRANT USAGE, CREATE ON SCHEMA evil TO cit_intern" >/dev/null
qn "$CITUS_COORD" cit_intern "CREATE FUNCTION evil.leak(bigint) RETURNS text LANGUAGE sql STABLE AS
  \$\$SELECT string_agg(full_name || ' ' || mobile, ', ') FROM public.customer\$\$" >/dev/null
out=$(qn "$CITUS_COORD" cit_intern "SELECT evil.leak(customer_id) FROM privacy_standard.customer LIMIT 1")
like "$out" "cannot read privacy views of distributed tables in this query" \
	"a reader's function beside a view is refused (it would run as the views' owner)"
like "$out" "function evil.leak\(bigint\)" "and the error names it"
out=$(qn "$CITUS_COORD" cit_intern "SELECT s.customer_id, c.full_name FROM privacy_standard.customer s JOIN public.customer c USING (customer_id) LIMIT 1")
like "$out" "permission denied for table customer" "a view joined with its table, which the reader may not read, is refused"
qc "CREATE TABLE public.promo (customer_id bigint, code text)" >/dev/null
qc "SELECT create_distributed_table('public.promo', 'customer_id')" >/dev/null
qc "INSERT INTO public.promo VALUES (1, 'A'); GRANT SELECT ON public.promo TO cit_intern" >/dev/null
out=$(qn "$CITUS_COORD" cit_intern "SELECT s.city, p.code FROM privacy_standard.customer s JOIN public.promo p USING (customer_id)")
like "$out" "table public.promo, read directly" "a view joined with a table the reader may read is refused, and the error says why"
# Citus's functions that run SQL they are given on any node (red team citus1 #1-#3)
out=$(qn "$CITUS_COORD" cit_intern "SELECT (SELECT count(*) FROM privacy_standard.customer), r.result
  FROM master_run_on_worker(ARRAY['127.0.0.1'], ARRAY[$CITUS_W1], ARRAY['SELECT string_agg(full_name, '','') FROM public.customer'], false) r")
like "$out" "function master_run_on_worker" "master_run_on_worker beside a view is refused (it would run SQL as the views' owner)"
out=$(qn "$CITUS_COORD" cit_intern "SELECT count(*) FROM privacy_standard.customer, read_intermediate_result('1_1', 'binary') AS r(key bytea)")
like "$out" "function read_intermediate_result" "and so is a reader's read_intermediate_result (only Citus's own planning may use it)"
out=$(qn "$CITUS_COORD" cit_intern "SELECT count(*) FROM privacy_standard.customer WHERE privacy.k_anonymity('customer') > 0")
like "$out" "function privacy.k_anonymity" "a crm_privacy function that reads tables is refused (it would read as the views' owner)"
# A domain's CHECK reached through a composite's or an array's input (red
# team citus2 #3): a constant of such a type would run it as the views'
# owner, on the coordinator and, parsed there, on the workers.
qn "$CITUS_COORD" cit_intern "CREATE FUNCTION evil.pwn(text) RETURNS bool LANGUAGE sql IMMUTABLE AS
    \$\$SELECT (SELECT count(*) FROM public.customer) >= 0\$\$;
  CREATE DOMAIN evil.d AS text CHECK (evil.pwn(VALUE)); CREATE TYPE evil.t AS (a evil.d)" >/dev/null
out=$(qn "$CITUS_COORD" cit_intern "SELECT count(*), ('(' || count(*) || ')')::evil.t FROM privacy_standard.customer")
like "$out" "cannot read privacy views of distributed tables in this query" "a cast into a row type with a domain column beside a view is refused"
out=$(qn "$CITUS_COORD" cit_intern "SELECT count(*), ('{' || count(*) || '}')::evil.d[] FROM privacy_standard.customer")
like "$out" "cannot read privacy views of distributed tables in this query" "and into an array of that domain"
# A reader's cast from its own enum to json, looked up by to_json when the
# query runs (red team citus3 #2)
qn "$CITUS_COORD" cit_intern "CREATE TYPE evil.e AS ENUM ('a');
  CREATE FUNCTION evil.e2json(evil.e) RETURNS json LANGUAGE sql IMMUTABLE AS
    \$\$SELECT to_json((SELECT count(*) FROM public.customer))\$\$;
  CREATE CAST (evil.e AS json) WITH FUNCTION evil.e2json(evil.e)" >/dev/null
out=$(qn "$CITUS_COORD" cit_intern "SELECT count(*), to_json(CASE WHEN count(*) > 0 THEN 'a'::evil.e END) FROM privacy_standard.customer")
like "$out" "function to_json\(anyelement\) on a value of type evil.e" "to_json of a reader's enum beside a view is refused (it would run the reader's cast)"
out=$(qn "$CITUS_COORD" cit_officer "SELECT privacy.clearance_level() FROM privacy_standard.customer LIMIT 1")
like "$out" "function privacy.clearance_level\(\)" "clearance_level() beside a view is refused (as the views' owner it would answer 0)"
is "$(qn "$CITUS_COORD" cit_intern "SELECT json_build_object('city', city)::text FROM privacy_standard.customer WHERE customer_id = 1")" \
	'{"city" : "西安"}' "json_build_object with a literal key is not refused"
out=$(qn "$CITUS_COORD" cit_intern "SELECT full_name FROM privacy_full.customer LIMIT 1")
like "$out" "permission denied for view customer" "the intern may not read the full view: refused as on one server"
qn "$CITUS_COORD" cit_intern "CREATE FUNCTION evil.eq(text, text) RETURNS bool LANGUAGE sql IMMUTABLE AS 'SELECT \$1 = \$2';
  CREATE OPERATOR evil.=== (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.eq)" >/dev/null
out=$(qn "$CITUS_COORD" cit_intern "SELECT count(*) FROM privacy_standard.customer WHERE city OPERATOR(evil.===) 'x'")
like "$out" "function evil.eq\(text,text\)" "a reader's operator is refused"
out=$(qn "$CITUS_COORD" cit_intern "SELECT count(*) FROM privacy_standard.customer WHERE query_to_xml('SELECT 1', true, true, '') IS NOT NULL")
like "$out" "function query_to_xml" "a built-in function that runs SQL it is given is refused"
# directly on a worker: the shards are not the reader's
out=$(qn "$CITUS_W1" cit_intern "SELECT count(*) FROM public.customer")
like "$out" "permission denied for table customer" "on a worker, the reader reads no shard"
# a session of the views' owner on a worker runs only vetted code and no utility command
qn "$CITUS_W1" postgres "SET citus.enable_ddl_propagation TO off; CREATE FUNCTION public.w_leak() RETURNS text LANGUAGE sql AS 'SELECT current_user::text'" >/dev/null
out=$(qn "$CITUS_W1" crm_privacy_views "SELECT public.w_leak()")
like "$out" "role \"crm_privacy_views\" may not run this query" "logged in as crm_privacy_views on a worker: a function that is not built in is refused"
out=$(qn "$CITUS_W1" crm_privacy_views "COPY public.customer TO STDOUT")
like "$out" "role \"crm_privacy_views\" may not run COPY" "and COPY of a table is refused"
out=$(qn "$CITUS_W1" crm_privacy_views "CREATE TABLE public.x (a int)")
like "$out" "role \"crm_privacy_views\" may not run CREATE TABLE" "and DDL is refused"
# the mark of a vetted plan is not the reader's to make: a prepared
# statement planned for one role is planned again for another
out=$(psql -X -q -At -p "$CITUS_COORD" -U postgres -d "$DB" 2>&1 <<'EOF'
SET ROLE cit_officer;
PREPARE p AS SELECT count(*) FROM privacy_full.customer;
EXECUTE p;
SET ROLE cit_intern;
EXECUTE p;
EOF
)
like "$out" "permission denied for view customer" "a plan made for the officer does not read the full view for the intern"

# Subject requests and choices on distributed tables.
id=$(qc "SELECT privacy.request_change('customer', '7', 'city', 'Lhasa', 'phone call')")
qc "SELECT privacy.review_change($id, true, 'checked')" >/dev/null
is "$(qn "$CITUS_COORD" cit_intern "SELECT city FROM privacy_standard.customer WHERE customer_id = 7")" Lhasa \
	"a reviewed change request updates the distributed table, and the view shows it"
qc "SELECT privacy.opt_in('customer', '2', 'direct_marketing')" >/dev/null
is "$(qn "$CITUS_COORD" cit_clerk "SELECT count(*) FROM privacy_optout_direct_marketing.customer WHERE customer_id = 2")" 1 \
	"an opt-in reaches the workers: customer 2 is back in the opt-out view"
is "$(qn "$CITUS_W2" postgres "SELECT count(*) FROM privacy.optout_keys WHERE key = '2'")" 0 \
	"and is gone from the copy of the opt-outs on a worker"

# 4. The rows the readers may not see are not sent anywhere they can read:
# the cluster's node logs hold no clear mobile of customer 1.
mobile=$(qc "SELECT mobile FROM public.customer WHERE customer_id = 1")
! grep -q "$mobile" "$CRM_TMP"/w1.log "$CRM_TMP"/w2.log "$CRM_TMP"/coord.log
ok $? "no node's log holds a clear mobile number"
done_testing
