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
plan 149

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
is "$setup" "privacy.optout_keys: a reference table now; privacy.pseudonym_key: a reference table now; privacy.citus_labels: a reference table now; crm_privacy_views: may log in on every node; views: built again, labels copied to every node" \
	"privacy.citus_setup(): opt-outs, key and labels as reference tables, the views' role on every node"
is "$(qc "SELECT string_agg(s, '; ') FROM privacy.citus_setup() s")" \
	"crm_privacy_views: may log in on every node; views: built again, labels copied to every node" "privacy.citus_setup() again: nothing more to convert"
is "$(qc "SELECT string_agg(logicalrelid::text || ':' || partmethod::text, ' ' ORDER BY logicalrelid::text) FROM pg_dist_partition")" \
	"customer:h orders:h privacy.citus_labels:n privacy.optout_keys:n privacy.pseudonym_key:n" "customer and orders distributed by hash, opt-outs, key and labels as reference tables"

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
# nor a view: the privacy views are the coordinator's only, where every full read is recorded
like "$(qn "$CITUS_W1" cit_officer "SELECT count(*) FROM privacy_full.customer")" 'relation "privacy_full.customer" does not exist' \
	"on a worker there is no full view to read unrecorded: the views are on the coordinator only"
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

# 3. The change audit of distributed tables: each node records the changes
# of its shards in its own log, under the distributed table's name, with
# the labels copied from the coordinator; the coordinator's seal, verify,
# subject_report and check_setup read every node's log.
# every node's audit rows as text, for a search
WORKERS="$CITUS_W1 $CITUS_W2 $CITUS_W3"	# (the third was added above)
all_logs() { for p in "$CITUS_COORD" $WORKERS; do qn "$p" postgres "SELECT a::text FROM privacy.audit_log a"; done; }
# the sum of a count over the workers
on_workers() { for p in $WORKERS; do qn "$p" postgres "$1"; done | awk '{ s += $1 } END { print s }'; }
# the first shard of a table on a worker (Citus hides shards from other sessions' catalogs)
shard_on() { qn "$1" postgres "SET citus.show_shards_for_app_name_prefixes = '*';
    SELECT c.oid::regclass FROM pg_class c WHERE c.relname ~ '^$2_[0-9]+\$' ORDER BY c.relname LIMIT 1"; }
out=$(qn "$CITUS_COORD" postgres "SELECT privacy.enable_audit('customer'); SELECT privacy.enable_audit('orders')")
ok $? "enable_audit on distributed tables (it failed: triggers are not supported on distributed tables)"
is "$(qc "SELECT string_agg(table_name || ' ' || table_label, '; ' ORDER BY 1) FROM privacy.citus_labels")" \
	"public.customer subject key=customer_id k=5; public.orders related subject=public.customer key=customer_id" \
	"the labels of the distributed tables are copied for every node"
# a table owned by a role that is not a superuser, distributed by it, then audited
qc "CREATE ROLE cit_owner LOGIN; GRANT CREATE ON SCHEMA public TO cit_owner" >/dev/null
qn "$CITUS_COORD" cit_owner "CREATE TABLE public.cit_notes (note_id bigint, customer_id bigint NOT NULL, note text,
    PRIMARY KEY (customer_id, note_id))" >/dev/null
qc "SECURITY LABEL FOR crm_privacy ON TABLE cit_notes IS 'related subject=public.customer key=customer_id';
    SECURITY LABEL FOR crm_privacy ON COLUMN cit_notes.note_id IS 'public';
    SECURITY LABEL FOR crm_privacy ON COLUMN cit_notes.note IS 'personal'" >/dev/null
qn "$CITUS_COORD" cit_owner "SELECT create_distributed_table('cit_notes', 'customer_id', colocate_with => 'customer')" >/dev/null
is "$(qc "SELECT privacy.enable_audit('cit_notes')")" "" "a table its owner distributed is audited too"
mobile7=$(qc "SELECT mobile FROM public.customer WHERE customer_id = 7")
qc "UPDATE customer SET email = 'seven@example.org', loyalty_points = loyalty_points + 1 WHERE customer_id = 7" >/dev/null
qn "$CITUS_COORD" cit_owner "INSERT INTO cit_notes VALUES (1, 7, 'asked about her divorce'), (2, 8, 'moved to Chengdu')" >/dev/null
qc "INSERT INTO customer (customer_id, full_name, gender, birth_date, mobile, email, id_number, zip, city, loyalty_points, signup_at)
    VALUES (9001, 'Zhao Lei', 'M', '1980-02-03', '13900009001', 'zl@example.org', '110101198002030011', '100000', 'Beijing', 0, now())" >/dev/null
qc "INSERT INTO orders VALUES (900007, 7, now(), 'tea', 'web', 9.50, 'No. 7 Road'); DELETE FROM orders WHERE order_id = 900007" >/dev/null
logs=$(all_logs)
for v in seven@example.org "asked about her divorce" "No. 7 Road" 13900009001 "Zhao Lei" 110101198002030011 "$mobile7"; do
	! printf '%s' "$logs" | grep -qF "$v"
	ok $? "no node's change audit holds '$v' in clear"
done
key7=$(qc "SELECT privacy.pseudonym('7', 'audit')")
row=$(qc "SELECT e->>'op', e->>'table_name', e->>'subject_key', e->'new_values'->>'email', e->'new_values'->>'loyalty_points' IS NOT NULL, e->>'node' IS NOT NULL
            FROM jsonb_array_elements(privacy.subject_report('customer', '7')->'audit') e
           WHERE e->>'op' = 'UPDATE' AND e->'new_values' ? 'email'")
is "$row" "UPDATE|public.customer|$key7|$(qc "SELECT privacy.pseudonym('seven@example.org', 'audit')")|t|t" \
	"subject_report finds the worker's row: the distributed table's name, the subject key and the e-mail as audit pseudonyms, the node"
is "$(qc "SELECT string_agg(DISTINCT e->>'table_name' || ' ' || (e->>'op'), ', ' ORDER BY e->>'table_name' || ' ' || (e->>'op'))
            FROM jsonb_array_elements(privacy.subject_report('customer', '7')->'audit') e WHERE e ? 'node'")" \
	"public.cit_notes INSERT, public.customer UPDATE, public.orders DELETE, public.orders INSERT" \
	"subject_report: the subject's changes in every distributed table, read on the workers"
# a label changed on the coordinator reaches every node's audit at once
is "$(qc "SECURITY LABEL FOR crm_privacy ON COLUMN cit_notes.note IS 'public'")" "" "cit_notes.note labelled public on the coordinator"
qn "$CITUS_COORD" cit_owner "UPDATE cit_notes SET note = 'public now' WHERE customer_id = 8" >/dev/null
qc "SECURITY LABEL FOR crm_privacy ON COLUMN cit_notes.note IS 'personal'" >/dev/null
qn "$CITUS_COORD" cit_owner "UPDATE cit_notes SET note = 'private again' WHERE customer_id = 8" >/dev/null
logs=$(all_logs)
printf '%s' "$logs" | grep -qF 'public now'
ok $? "a column labelled public on the coordinator: the workers' audit stores it in clear"
! printf '%s' "$logs" | grep -qF 'private again'
ok $? "labelled personal again: the workers' audit stores a pseudonym at once"
# the owner, on the worker that holds its shard, against the audit
shard=$(shard_on "$CITUS_W1" cit_notes)
sid=${shard##*_}
for sql in "ALTER TABLE $shard DISABLE TRIGGER crm_privacy_audit_$sid" "ALTER TABLE $shard DISABLE TRIGGER ALL" \
	"ALTER TABLE $shard ENABLE REPLICA TRIGGER crm_privacy_audit_$sid" "DROP TRIGGER crm_privacy_audit_$sid ON $shard" \
	"ALTER TRIGGER crm_privacy_audit_$sid ON $shard RENAME TO x"; do
	like "$(qn "$CITUS_W1" cit_owner "$sql")" "cannot (enable or disable|drop|rename) the crm_privacy audit trigger" \
		"on a worker, the owner may not: $sql"
done
like "$(qn "$CITUS_W1" cit_owner "UPDATE privacy.citus_labels SET labels = '{public,public}'")" "permission denied for table citus_labels" \
	"the owner may not change the labels the workers' audit reads"
n0=$(qn "$CITUS_W1" postgres "SELECT count(*) FROM privacy.audit_log WHERE table_name = 'public.cit_notes'")
qn "$CITUS_W1" cit_owner "SET citus.enable_manual_changes_to_shards = on; INSERT INTO $shard VALUES (5, 5, 'written on the worker'); TRUNCATE $shard" >/dev/null
is "$(qn "$CITUS_W1" postgres "SELECT string_agg(op || ' ' || table_name || ' ' || COALESCE(new_values->>'note', new_values->>'shard'), '; ' ORDER BY id)
        FROM privacy.audit_log WHERE table_name = 'public.cit_notes' AND id > (SELECT max(id) FROM privacy.audit_log) - 2")" \
	"INSERT public.cit_notes $(qc "SELECT privacy.pseudonym('written on the worker', 'audit')"); TRUNCATE public.cit_notes public.$shard" \
	"the owner writing and truncating its shard directly on the worker: both recorded there, pseudonymized"
# TRUNCATE of the distributed table: the coordinator and every shard's node record it
qc "TRUNCATE cit_notes" >/dev/null
is "$(qc "SELECT count(*) FROM privacy.audit_log WHERE op = 'TRUNCATE' AND table_name = 'public.cit_notes'")/$(on_workers "SELECT count(*) FROM privacy.audit_log WHERE op = 'TRUNCATE' AND table_name = 'public.cit_notes' AND new_values ? 'shard'")" \
	"1/$((32 + 1))" "TRUNCATE of a distributed table: one row on the coordinator, one per shard on the workers"
# Red team (audit round 1): the owner renames things on a worker.
# #1: its table's copy on the worker renamed: the shards' audit finds no
# labels for it and hides every value (it wrote them in clear), and
# check_setup names the table
qn "$CITUS_W1" cit_owner "SET citus.enable_ddl_propagation = off; ALTER TABLE public.cit_notes RENAME TO cit_notes_x" >/dev/null
for i in $(seq 20 40); do qn "$CITUS_COORD" cit_owner "INSERT INTO cit_notes VALUES ($i, $i, 'rt1 secret $i')" >/dev/null; done
! all_logs | grep -qF 'rt1 secret'
ok $? "#1 the table renamed on a worker: nobody's writes reach that worker's log in clear"
like "$(qc "SELECT detail FROM privacy.check_setup() WHERE \"check\" = 'change audit on every Citus node'")" \
	"on 127.0.0.1:$CITUS_W1: shards not audited: .*; tables not named as on the coordinator: public.cit_notes_x" \
	"#1 check_setup names the table renamed on the worker"
qn "$CITUS_W1" cit_owner "SET citus.enable_ddl_propagation = off; ALTER TABLE public.cit_notes_x RENAME TO cit_notes" >/dev/null
# #2 and #4: a shard renamed (a view in its place; or given the name of a
# customer shard): its rows are recorded under its own table, pseudonymized
shard2=$(shard_on "$CITUS_W1" cit_notes)
qn "$CITUS_W1" cit_owner "SET citus.enable_manual_changes_to_shards = on; SET citus.enable_ddl_propagation = off;
    ALTER TABLE $shard2 RENAME TO rt_hidden; CREATE VIEW $shard2 AS SELECT * FROM rt_hidden" >/dev/null
for i in $(seq 41 60); do qn "$CITUS_COORD" cit_owner "INSERT INTO cit_notes VALUES ($i, $i, 'rt2 secret $i')" >/dev/null; done
! all_logs | grep -qF 'rt2 secret'
ok $? "#2 a view in a shard's place: the writes through it are recorded pseudonymized"
is "$(qn "$CITUS_W1" postgres "SELECT count(*) FROM privacy.audit_log WHERE table_name <> 'public.cit_notes' AND table_name LIKE '%rt_hidden%'")" 0 \
	"#2 and under the distributed table's name, not the renamed shard's"
like "$(qc "SELECT detail FROM privacy.check_setup() WHERE \"check\" = 'change audit on every Citus node'")" \
	"on 127.0.0.1:$CITUS_W1: shards not audited: public.$shard2\$" "#2 check_setup names the shard replaced by a view"
cust=$(shard_on "$CITUS_W2" customer)
qn "$CITUS_W1" cit_owner "SET citus.enable_manual_changes_to_shards = on; SET citus.enable_ddl_propagation = off;
    DROP VIEW $shard2; ALTER TABLE rt_hidden RENAME TO $cust; INSERT INTO $cust VALUES (98, 7, 'forged');
    ALTER TABLE $cust RENAME TO $shard2" >/dev/null
is "$(qn "$CITUS_W1" postgres "SELECT table_name FROM privacy.audit_log ORDER BY id DESC LIMIT 1")" public.cit_notes \
	"#4 a shard renamed like a customer shard: its rows are recorded as cit_notes, no forged customer row"
# #3: DDL that rewrites values, on a shard directly: recorded on its node
qn "$CITUS_W1" cit_owner "SET citus.enable_manual_changes_to_shards = on;
    ALTER TABLE $shard2 ALTER COLUMN note TYPE text USING note || ''" >/dev/null
is "$(qn "$CITUS_W1" postgres "SELECT op || ' ' || table_name || ' ' || (new_values->>'shard') || ' ' || (new_values->>'column')
        FROM privacy.audit_log ORDER BY id DESC LIMIT 1")" "ALTER COLUMN TYPE public.cit_notes public.$shard2 note" \
	"#3 ALTER COLUMN TYPE of a shard on its node is recorded there"
like "$(qc "SELECT ok || ' ' || detail FROM privacy.check_setup() WHERE \"check\" = 'change audit on every Citus node'")" "^true " \
	"everything back in place: check_setup is satisfied again"

# The owner's DDL on its audited distributed table (red team audit round 1
# #6: it failed, deadlocked or named a table not yet renamed on the nodes):
# columns added and renamed, the table renamed; the labels follow to every
# node
for sql in "ALTER TABLE cit_notes ADD COLUMN extra text" "ALTER TABLE cit_notes RENAME COLUMN note TO memo" \
	"ALTER TABLE cit_notes RENAME TO cit_memos"; do
	is "$(qn "$CITUS_COORD" cit_owner "$sql")" "" "the owner may: $sql"
done
qn "$CITUS_COORD" cit_owner "INSERT INTO cit_memos VALUES (90, 90, 'renamed and secret', 'x')" >/dev/null
! all_logs | grep -qF 'renamed and secret'
ok $? "after the renames the workers' audit still pseudonymizes the personal column"
is "$(qc "SELECT table_name || ' ' || array_to_string(columns, ',') FROM privacy.citus_labels WHERE table_name LIKE '%cit_%'")" \
	"public.cit_memos note_id,memo" "the copied labels follow the table's and the column's new names"
qn "$CITUS_COORD" cit_owner "ALTER TABLE cit_memos RENAME TO cit_notes" >/dev/null
qn "$CITUS_COORD" cit_owner "ALTER TABLE cit_notes RENAME COLUMN memo TO note" >/dev/null
qn "$CITUS_COORD" cit_owner "ALTER TABLE cit_notes DROP COLUMN extra" >/dev/null

# Red team (audit round 2). #1: the owner swaps the names of two of its
# tables (and their shards) on a worker: each shard is still recorded under
# its own table, by its number, with that table's labels; check_setup names
# the tables named otherwise than on the coordinator
for t in rt_a rt_b; do
	qn "$CITUS_COORD" cit_owner "CREATE TABLE public.$t (id bigint PRIMARY KEY, secret text, pub text)" >/dev/null
	qn "$CITUS_COORD" cit_owner "SELECT create_distributed_table('$t', 'id', shard_count => 2)" >/dev/null
	qc "SECURITY LABEL FOR crm_privacy ON TABLE $t IS 'subject key=id'" >/dev/null
	qc "SECURITY LABEL FOR crm_privacy ON COLUMN $t.pub IS 'public'" >/dev/null
done
qc "SECURITY LABEL FOR crm_privacy ON COLUMN rt_a.secret IS 'personal'" >/dev/null
qc "SECURITY LABEL FOR crm_privacy ON COLUMN rt_b.secret IS 'public'" >/dev/null
qc "SELECT privacy.enable_audit('rt_a')" >/dev/null
qc "SELECT privacy.enable_audit('rt_b')" >/dev/null
sa=$(shard_on "$CITUS_W1" rt_a); sb=$(shard_on "$CITUS_W1" rt_b)
psql -X -q -p "$CITUS_W1" -U cit_owner -d "$DB" -c "SET citus.enable_ddl_propagation = off" \
	-c "SET citus.enable_manual_changes_to_shards = on" -c "ALTER TABLE rt_a RENAME TO rt_swap" \
	-c "ALTER TABLE rt_b RENAME TO rt_a" -c "ALTER TABLE rt_swap RENAME TO rt_b" \
	-c "ALTER TABLE $sa RENAME TO rt_b_${sa#rt_a_}" -c "CREATE VIEW $sa AS SELECT * FROM rt_b_${sa#rt_a_}" \
	-c "ALTER TABLE $sb RENAME TO rt_a_${sb#rt_b_}" -c "CREATE VIEW $sb AS SELECT * FROM rt_a_${sb#rt_b_}" >/dev/null 2>&1
for i in $(seq 1 8); do qc "INSERT INTO rt_a VALUES ($i, 'rt2 secret $i', 'p')" >/dev/null; done
! all_logs | grep -qF 'rt2 secret'
ok $? "RT2 #1 tables swapped by name on a worker: rt_a's personal values are still pseudonymized there"
is "$(qn "$CITUS_W1" postgres "SELECT count(*) FROM privacy.audit_log WHERE table_name = 'public.rt_b'")" 0 \
	"RT2 #1 and recorded under rt_a, not under the name its table has on that worker"
like "$(qc "SELECT detail FROM privacy.check_setup() WHERE \"check\" = 'change audit on every Citus node'")" \
	"on 127.0.0.1:$CITUS_W1: .*tables not named as on the coordinator: public.rt_a, public.rt_b" \
	"RT2 #1 check_setup names the swapped tables"
psql -X -q -p "$CITUS_W1" -U cit_owner -d "$DB" -c "SET citus.enable_ddl_propagation = off" \
	-c "SET citus.enable_manual_changes_to_shards = on" -c "DROP VIEW $sa" -c "DROP VIEW $sb" \
	-c "ALTER TABLE rt_b_${sa#rt_a_} RENAME TO $sa" -c "ALTER TABLE rt_a_${sb#rt_b_} RENAME TO $sb" \
	-c "ALTER TABLE rt_a RENAME TO rt_swap" -c "ALTER TABLE rt_b RENAME TO rt_a" -c "ALTER TABLE rt_swap RENAME TO rt_b" >/dev/null 2>&1
# #3: a policy the owner forces on itself on a shard would hide a row from the
# erasure: the erasure refuses, nothing changes
qn "$CITUS_COORD" cit_owner "INSERT INTO rt_b VALUES (77, 'erase me', 'p')" >/dev/null
qc "SECURITY LABEL FOR crm_privacy ON COLUMN rt_b.secret IS 'personal anon=null'" >/dev/null
sb77=$(qc "SELECT shardid FROM pg_dist_shard WHERE logicalrelid = 'rt_b'::regclass AND get_shard_id_for_distribution_column('rt_b', 77) = shardid")
node77=$(qc "SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = $sb77")
psql -X -q -p "$node77" -U cit_owner -d "$DB" -c "SET citus.enable_ddl_propagation = off" -c "SET citus.enable_manual_changes_to_shards = on" \
	-c "ALTER TABLE rt_b_$sb77 ENABLE ROW LEVEL SECURITY" -c "ALTER TABLE rt_b_$sb77 FORCE ROW LEVEL SECURITY" \
	-c "CREATE POLICY hide ON rt_b_$sb77 FOR SELECT USING (id <> 77)" >/dev/null 2>&1
like "$(qc "SELECT privacy.erase_subject('rt_b', '77')")" "cannot erase rows of public.rt_b: some of its shards are not plain tables read whole" \
	"RT2 #3 a shard hiding the subject's row from its owner: the erasure refuses (it erased nothing and said 0)"
is "$(qc "SELECT secret FROM rt_b WHERE id = 77")" "erase me" "RT2 #3 and nothing changed"
psql -X -q -p "$node77" -U cit_owner -d "$DB" -c "SET citus.enable_ddl_propagation = off" -c "SET citus.enable_manual_changes_to_shards = on" \
	-c "DROP POLICY hide ON rt_b_$sb77" -c "ALTER TABLE rt_b_$sb77 NO FORCE ROW LEVEL SECURITY" >/dev/null 2>&1
is "$(qc "SELECT privacy.erase_subject('rt_b', '77')")/$(qc "SELECT secret IS NULL FROM rt_b WHERE id = 77")" "1/t" \
	"RT2 #3 the policy gone, the erasure erases the row"
qn "$CITUS_COORD" cit_owner "DROP TABLE rt_a, rt_b" >/dev/null

# Red team (audit round 3).
# a table for the attacks: the owner's, labelled, audited, rows 1..8
mk_rt() {	# name [shard_count] [key columns]
	qn "$CITUS_COORD" cit_owner "CREATE TABLE public.$1 (id bigint, secret text, pub text, PRIMARY KEY (${3:-id}))" >/dev/null
	qn "$CITUS_COORD" cit_owner "SELECT create_distributed_table('$1', 'id', shard_count => ${2:-2})" >/dev/null
	qc "SECURITY LABEL FOR crm_privacy ON TABLE $1 IS 'subject key=id'" >/dev/null
	qc "SECURITY LABEL FOR crm_privacy ON COLUMN $1.secret IS 'personal anon=null'" >/dev/null
	qc "SECURITY LABEL FOR crm_privacy ON COLUMN $1.pub IS 'public'" >/dev/null
	qc "SELECT privacy.enable_audit('$1')" >/dev/null
	qn "$CITUS_COORD" cit_owner "INSERT INTO $1 SELECT g, 'rt3 $1 secret ' || g, 'p' FROM generate_series(1, 8) g" >/dev/null
}
audit_check() { qc "SELECT ok || ' ' || detail FROM privacy.check_setup() WHERE \"check\" = 'change audit on every Citus node'"; }
# #1: a long name: Citus cuts and hashes it in its shards' names
long=rt3_llllllllllllllllllllllllllllllllllllllllllllllllllllllllll
mk_rt $long
like "$(audit_check)" "^true " "RT3 #1 a table with a long name: its shards, named by Citus's rule, are audited (they were reported missing)"
is "$(qc "SELECT privacy.erase_subject('$long', '1')")/$(qc "SELECT secret IS NULL FROM $long WHERE id = 1")" "1/t" \
	"RT3 #1 and its subjects can be erased (the erasure refused every long-named table)"
# #2: two columns swapped on a shard, on its node: the labels no longer apply
# by name there: everything hidden, check_setup names it, erasure refuses
mk_rt rt3_a
s1=$(qc "SELECT shardid FROM pg_dist_shard WHERE logicalrelid = 'rt3_a'::regclass AND get_shard_id_for_distribution_column('rt3_a', 1) = shardid")
p1=$(qc "SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = $s1")
psql -X -q -p "$p1" -U cit_owner -d "$DB" -c "SET citus.enable_ddl_propagation = off" -c "SET citus.enable_manual_changes_to_shards = on" \
	-c "ALTER TABLE rt3_a_$s1 RENAME COLUMN secret TO tmpx" -c "ALTER TABLE rt3_a_$s1 RENAME COLUMN pub TO secret" \
	-c "ALTER TABLE rt3_a_$s1 RENAME COLUMN tmpx TO pub" >/dev/null 2>&1
qn "$CITUS_COORD" cit_owner "UPDATE rt3_a SET pub = 'x', secret = 'rt3 leak' WHERE id = 1" >/dev/null
! all_logs | grep -qE 'rt3 rt3_a secret 1|rt3 leak'
ok $? "RT3 #2 columns swapped on a shard: its node's audit stores no value in clear (it stored the old secret as 'pub')"
like "$(audit_check)" "^false on 127.0.0.1:$p1: shards whose columns differ from their table's: public.rt3_a_$s1\$" \
	"RT3 #2 check_setup names the shard"
like "$(qc "SELECT privacy.erase_subject('rt3_a', '1')")" "cannot erase rows of public.rt3_a: some of its shards are not plain tables read whole" \
	"RT3 #2 the erasure refuses"
psql -X -q -p "$p1" -U cit_owner -d "$DB" -c "SET citus.enable_ddl_propagation = off" -c "SET citus.enable_manual_changes_to_shards = on" \
	-c "ALTER TABLE rt3_a_$s1 RENAME COLUMN secret TO tmpx" -c "ALTER TABLE rt3_a_$s1 RENAME COLUMN pub TO secret" \
	-c "ALTER TABLE rt3_a_$s1 RENAME COLUMN tmpx TO pub" >/dev/null 2>&1
# #3: a key that text does not carry whole under the caller's settings
qn "$CITUS_COORD" cit_owner "CREATE TABLE public.rt3_f (id bigint, f float4, secret text, PRIMARY KEY (id, f))" >/dev/null
qn "$CITUS_COORD" cit_owner "SELECT create_distributed_table('rt3_f', 'id', shard_count => 2)" >/dev/null
qc "SECURITY LABEL FOR crm_privacy ON TABLE rt3_f IS 'subject key=id'" >/dev/null
qc "SECURITY LABEL FOR crm_privacy ON COLUMN rt3_f.f IS 'public'" >/dev/null
qc "SECURITY LABEL FOR crm_privacy ON COLUMN rt3_f.secret IS 'personal anon=null'" >/dev/null
qn "$CITUS_COORD" cit_owner "INSERT INTO rt3_f VALUES (1, 0.1, 'fa'), (1, 0.10000001, 'fb')" >/dev/null
is "$(psql -X -q -At -p "$CITUS_COORD" -U postgres -d "$DB" -c "SET extra_float_digits = 0" -c "SELECT privacy.erase_subject('rt3_f', '1')")/$(qc "SELECT count(*) FROM rt3_f WHERE secret IS NOT NULL")" \
	"2/0" "RT3 #3 extra_float_digits = 0 in the eraser's session: both rows of the subject erased (one was erased twice, the other kept)"
# #4: a partitioned distributed table: its partitions' shards carry the root's trigger
qn "$CITUS_COORD" cit_owner "CREATE TABLE public.rt3_p (id bigint, d date, secret text, PRIMARY KEY (id, d)) PARTITION BY RANGE (d)" >/dev/null
qn "$CITUS_COORD" cit_owner "CREATE TABLE public.rt3_p1 PARTITION OF rt3_p FOR VALUES FROM ('2020-01-01') TO ('2030-01-01')" >/dev/null
qn "$CITUS_COORD" cit_owner "SELECT create_distributed_table('rt3_p', 'id', shard_count => 2)" >/dev/null
qc "SECURITY LABEL FOR crm_privacy ON TABLE rt3_p IS 'subject key=id'" >/dev/null
qc "SECURITY LABEL FOR crm_privacy ON COLUMN rt3_p.secret IS 'personal'" >/dev/null
qc "SELECT privacy.enable_audit('rt3_p')" >/dev/null
qn "$CITUS_COORD" cit_owner "INSERT INTO rt3_p VALUES (3, '2025-01-01', 'rt3 partitioned secret')" >/dev/null
! all_logs | grep -qF 'rt3 partitioned secret'
ok $? "RT3 #4 a partitioned distributed table: its partitions' changes are pseudonymized"
like "$(audit_check)" "^true " "RT3 #4 and check_setup counts their shards as audited (it reported them missing)"
qn "$CITUS_COORD" cit_owner "DROP TABLE $long, rt3_a, rt3_f, rt3_p" >/dev/null

# Red team (audit round 4).
# #1: the owner writes a subject's row into another shard, on that node:
# the views show it, and the erasure, routed by the key, missed it
mk_rt rt4_t 2
s7=$(qc "SELECT get_shard_id_for_distribution_column('rt4_t', 7)")
other=$(qc "SELECT shardid FROM pg_dist_shard WHERE logicalrelid = 'rt4_t'::regclass AND shardid <> $s7")
pother=$(qc "SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = $other")
psql -X -q -p "$pother" -U cit_owner -d "$DB" -c "SET citus.enable_manual_changes_to_shards = on" \
	-c "INSERT INTO rt4_t_$other VALUES (7, 'rt4 hidden 7', 'p')" >/dev/null
is "$(qc "SELECT jsonb_array_length(privacy.subject_report('rt4_t', '7')->'data'->'public.rt4_t')")" 2 \
	"RT4 #1 subject_report finds the subject's row written into another shard too"
like "$(qc "SELECT privacy.erase_subject('rt4_t', '7')")" "a row of the subject is in a shard that is not its own" \
	"RT4 #1 the erasure refuses it (it erased the row in the key's shard and reported success)"
psql -X -q -p "$pother" -U cit_owner -d "$DB" -c "SET citus.enable_manual_changes_to_shards = on" \
	-c "DELETE FROM rt4_t_$other WHERE id = 7" >/dev/null
# #2: a deferred constraint trigger on a shard writes the value back at commit
s4=$(qc "SELECT get_shard_id_for_distribution_column('rt4_t', 4)")
p4=$(qc "SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = $s4")
psql -X -q -p "$p4" -U cit_owner -d "$DB" -c "SET citus.enable_ddl_propagation = off" \
	-c "CREATE FUNCTION public.rt4_restore() RETURNS trigger LANGUAGE plpgsql AS \$f\$ BEGIN
	      IF NEW.secret IS NULL AND OLD.secret IS NOT NULL THEN
	        UPDATE public.rt4_t_$s4 SET secret = OLD.secret WHERE id = NEW.id; END IF; RETURN NULL; END \$f\$" \
	-c "CREATE CONSTRAINT TRIGGER rt4_restore AFTER UPDATE ON public.rt4_t_$s4 DEFERRABLE INITIALLY DEFERRED
	      FOR EACH ROW EXECUTE FUNCTION public.rt4_restore()" >/dev/null
like "$(qc "SELECT privacy.erase_subject('rt4_t', '4')")" "some of its shards are not plain tables read whole" \
	"RT4 #2 a deferred trigger on a shard: the erasure refuses (the trigger wrote the value back after it)"
is "$(qc "SELECT secret FROM rt4_t WHERE id = 4")" "rt3 rt4_t secret 4" "RT4 #2 and nothing changed"
qn "$CITUS_COORD" cit_owner "DROP TABLE rt4_t" >/dev/null

# Red team (audit round 5). #1: a label tightened in the transaction that
# then writes: the workers' copy of the labels changes only at commit, and
# their audit stored the new values in clear under the old label
qn "$CITUS_COORD" cit_owner "CREATE TABLE public.rt5g (id bigint PRIMARY KEY, email text)" >/dev/null
qn "$CITUS_COORD" cit_owner "SELECT create_distributed_table('rt5g', 'id', shard_count => 2)" >/dev/null
qc "SECURITY LABEL FOR crm_privacy ON TABLE rt5g IS 'subject key=id'" >/dev/null
qc "SECURITY LABEL FOR crm_privacy ON COLUMN rt5g.email IS 'public'" >/dev/null
qc "SELECT privacy.enable_audit('rt5g')" >/dev/null
qn "$CITUS_COORD" cit_owner "INSERT INTO rt5g VALUES (1, 'warm@example.org')" >/dev/null
psql -X -q -p "$CITUS_COORD" -U cit_owner -d "$DB" -c "BEGIN" \
	-c "SECURITY LABEL FOR crm_privacy ON COLUMN rt5g.email IS 'identifier mask=email anon=pseudonym'" \
	-c "INSERT INTO rt5g VALUES (2, 'rt5 jane@example.org'), (3, 'rt5 john@example.org'), (4, 'rt5 max@example.org')" \
	-c "UPDATE rt5g SET email = 'rt5 warm2@example.org' WHERE id = 1" -c "COMMIT" >/dev/null 2>&1
is "$(qc "SELECT count(*) FROM rt5g WHERE email LIKE 'rt5 %'")" 4 "RT5 #1 (the writes of that transaction committed)"
! all_logs | grep -qF 'rt5 '
ok $? "RT5 #1 a label tightened in the writing transaction: no worker stores those values in clear"
# #4: a reference table shares its shard group with crm_privacy's opt-outs
qn "$CITUS_COORD" cit_owner "CREATE TABLE public.rt5ref (id bigint PRIMARY KEY, secret text)" >/dev/null
qn "$CITUS_COORD" cit_owner "SELECT create_reference_table('rt5ref')" >/dev/null
qc "SECURITY LABEL FOR crm_privacy ON TABLE rt5ref IS 'subject key=id'" >/dev/null
qc "SECURITY LABEL FOR crm_privacy ON COLUMN rt5ref.secret IS 'personal anon=null'" >/dev/null
qn "$CITUS_COORD" cit_owner "INSERT INTO rt5ref VALUES (2, 'rt5 ref secret')" >/dev/null
like "$(qc "SELECT privacy.erase_subject('rt5ref', '2')")" \
	"cannot erase subjects of public.rt5ref on a Citus cluster: the reference table public.rt5ref is not owned by crm_privacy's owner" \
	"RT5 #4 a reference table of another owner: refused before anything changes (it failed inside, on the opt-outs)"
qn "$CITUS_COORD" cit_owner "DROP TABLE rt5g, rt5ref" >/dev/null

# seal and verify over every node; check_setup
sealed=$(qc "SELECT privacy.seal_audit()")
count_logs="SELECT (SELECT count(*) FROM privacy.audit_log) + (SELECT count(*) FROM privacy.access_log)"
wrows=$(( $(qc "$count_logs") + $(on_workers "$count_logs") ))
is "$sealed" "$wrows" "seal_audit() on the coordinator seals every row of every node's logs"
is "$(qc "SELECT string_agg(log || ':' || ok, ' ' ORDER BY log) FROM privacy.verify_audit()")" \
	"access_log:true access_log on 127.0.0.1:$CITUS_W1:true access_log on 127.0.0.1:$CITUS_W2:true access_log on 127.0.0.1:$CITUS_W3:true audit_log:true audit_log on 127.0.0.1:$CITUS_W1:true audit_log on 127.0.0.1:$CITUS_W2:true audit_log on 127.0.0.1:$CITUS_W3:true" \
	"verify_audit() verifies each node's chains"
is "$(qc "SELECT string_agg(log, ', ' ORDER BY log) FROM privacy.audit_head() WHERE log LIKE 'audit_log on %' AND id IS NOT NULL")" \
	"audit_log on 127.0.0.1:$CITUS_W1, audit_log on 127.0.0.1:$CITUS_W2, audit_log on 127.0.0.1:$CITUS_W3" "audit_head(): each worker's audit_log head"
is "$(qc "SELECT ok || ' ' || detail FROM privacy.check_setup() WHERE \"check\" = 'change audit on every Citus node'")" \
	"true every node audits the shards of audited tables, with their tables' labels" "check_setup: the shards of audited tables are audited on every node"
# a superuser on a worker disables a shard's trigger, and changes a sealed row: the coordinator sees both
qn "$CITUS_W2" postgres "ALTER TABLE $(shard_on "$CITUS_W2" customer) DISABLE TRIGGER ALL" >/dev/null
like "$(qc "SELECT ok || ' ' || detail FROM privacy.check_setup() WHERE \"check\" = 'change audit on every Citus node'")" \
	"^false on 127.0.0.1:$CITUS_W2: shards not audited: public.customer_[0-9]+$" "check_setup names a worker's shard whose audit trigger was disabled"
qn "$CITUS_W1" postgres "ALTER TABLE privacy.audit_log DISABLE TRIGGER USER; UPDATE privacy.audit_log SET new_values = '{}' WHERE id = 1;
    ALTER TABLE privacy.audit_log ENABLE TRIGGER USER" >/dev/null
is "$(qc "SELECT string_agg(log || ':' || first_bad_id, ' ') FROM privacy.verify_audit() WHERE NOT ok")" \
	"audit_log on 127.0.0.1:$CITUS_W1:1" "a sealed row changed on a worker: verify_audit() on the coordinator names the node and the row"
is "$(qc "SELECT ok FROM privacy.check_setup() WHERE \"check\" = 'audit trail intact'")" f "and check_setup says the audit trail is broken"
# erase_subject on distributed tables (it failed: "non-IMMUTABLE functions are
# not allowed in the RETURNING clause"): the same erased rows as on one server
like "$(qc "SELECT privacy.erase_subject('customer', '12')")" \
	"cannot erase subjects of public.customer on a Citus cluster: distributed tables public.customer and public.cit_notes have different owners" \
	"erase_subject over distributed tables of different owners: refused before anything changes (Citus: one role per shard group and transaction)"
qc "ALTER TABLE cit_notes OWNER TO postgres" >/dev/null
mobile12=$(qc "SELECT mobile FROM public.customer WHERE customer_id = 12")
# (the key was rotated above: the single server takes it again)
qs "SELECT privacy.import_pseudonym_key(decode('$(qc "SELECT encode(privacy.export_pseudonym_key(), 'hex')")', 'hex'))" >/dev/null
is "$(qc "SELECT privacy.erase_subject('customer', '12')")" "$(qs "SELECT privacy.erase_subject('customer', '12')")" \
	"erase_subject on the cluster changes as many rows as on one server"
erased="SELECT customer_id, full_name, gender, birth_date, mobile, email, id_number, zip, city, income, ethnicity, religion,
               signup_at, marketing_notes FROM public.customer WHERE customer_id = 12"
c=$(q_rows "$CITUS_COORD" postgres "$erased"); s1=$(q_rows "" postgres "$erased")
is "$c" "$s1" "the erased customer row is the same on the cluster as on one server (loyalty points get noise: left out)"
is "$(q_rows "$CITUS_COORD" postgres "SELECT * FROM public.orders WHERE customer_id = 12")" \
	"$(q_rows "" postgres "SELECT * FROM public.orders WHERE customer_id = 12")" "and so are its erased orders"
is "$(qc "SELECT privacy.erase_subject('customer', '12')")" 0 "erasing again changes nothing"
! all_logs | grep -qF "$mobile12"
ok $? "no node's change audit holds the erased mobile number in clear"
is "$(qc "SELECT count(*) FROM privacy.audit_log WHERE op = 'erase_subject' AND table_name = 'public.customer'")/$(on_workers "SELECT count(*) FROM privacy.audit_log WHERE table_name = 'public.customer' AND op = 'UPDATE' AND subject_key = '$(qc "SELECT privacy.pseudonym('12', 'audit')")'")" \
	"2/1" "the erasures are recorded on the coordinator, the erased customer row by its shard's node"

# an unreachable node is never left out silently
as_pg "$PGBIN/pg_ctl" -D "$CRM_TMP/w2" -m fast -w stop >/dev/null
like "$(qc "SELECT * FROM privacy.verify_audit()")" "could not read the crm_privacy logs of Citus node 127.0.0.1:$CITUS_W2" \
	"a worker that is down: verify_audit() fails, naming it"
as_pg "$PGBIN/pg_ctl" -D "$CRM_TMP/w2" -l "$CRM_TMP/w2.log" -w start >/dev/null

# 4. The rows the readers may not see are not sent anywhere they can read:
# the cluster's node logs hold no clear mobile of customer 1.
mobile=$(qc "SELECT mobile FROM public.customer WHERE customer_id = 1")
! grep -q "$mobile" "$CRM_TMP"/w1.log "$CRM_TMP"/w2.log "$CRM_TMP"/coord.log
ok $? "no node's log holds a clear mobile number"
done_testing
