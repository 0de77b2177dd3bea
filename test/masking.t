#!/usr/bin/env bash
# Transparent masking (doc/views.md, "Transparent masking"): a role marked
# masked that queries public.customer -- qualified or not, in any statement,
# prepared statement (also over the extended protocol, as JDBC sends them),
# cursor, function or view of its own -- gets the standard view's result for
# its clearance; its writes to labelled tables are refused (42501); other
# roles are untouched; plans made for one role are never used for another.
# Without the library preloaded there is no masking, and a masked role with
# no grant on the table gets nothing from it.
. "$(dirname "$0")/tap.sh"
db=crm_masking_$CRM_PRELOAD
q postgres "DROP DATABASE IF EXISTS $db" >/dev/null
q postgres "CREATE DATABASE $db" >/dev/null
for r in crm_mask_bi crm_mask_group crm_mask_member crm_mask_plain crm_mask_owner crm_mask_prov crm_mask_admin; do
	q postgres "DROP ROLE IF EXISTS $r" >/dev/null
done
q postgres "CREATE ROLE crm_mask_bi LOGIN; CREATE ROLE crm_mask_group; CREATE ROLE crm_mask_member LOGIN IN ROLE crm_mask_group;
            CREATE ROLE crm_mask_plain LOGIN; CREATE ROLE crm_mask_owner LOGIN; CREATE ROLE crm_mask_prov LOGIN CREATEROLE;
            CREATE ROLE crm_mask_admin LOGIN" >/dev/null
q "$db" "SET client_min_messages = warning;
CREATE EXTENSION crm_privacy;
GRANT CREATE ON SCHEMA public TO crm_mask_owner;
SET ROLE crm_mask_owner;
CREATE TABLE customer (id int PRIMARY KEY, name text NOT NULL, phone text, gone int, city text, religion text);
ALTER TABLE customer DROP COLUMN gone;
CREATE TABLE orders (order_id int PRIMARY KEY, customer_id int REFERENCES customer, amount numeric);
CREATE TABLE seen (who text, v text);
GRANT SELECT, INSERT ON seen TO PUBLIC;
SELECT privacy.label_table('customer', 'subject key=id');
SELECT privacy.label_column('customer', 'id', 'public');
SELECT privacy.label_column('customer', 'name', 'identifier mask=name');
SELECT privacy.label_column('customer', 'phone', 'identifier mask=phone');
SELECT privacy.label_column('customer', 'city', 'public');
SELECT privacy.label_column('customer', 'religion', 'sensitive');
SELECT privacy.label_table('orders', 'related subject=public.customer key=customer_id');
SELECT privacy.label_column('orders', 'order_id', 'public');
SELECT privacy.label_column('orders', 'customer_id', 'public');
SELECT privacy.label_column('orders', 'amount', 'personal');
INSERT INTO customer SELECT g, 'Name ' || g, '1380000' || lpad(g::text, 4, '0'), 'City ' || g % 3, 'r' || g
  FROM generate_series(1, 20) g;
INSERT INTO orders SELECT g, 1 + g % 20, g * 10 FROM generate_series(1, 60) g;
GRANT SELECT ON customer, orders TO crm_mask_plain;
RESET ROLE;
SECURITY LABEL FOR crm_privacy ON ROLE crm_mask_admin IS 'privacy_admin';
SELECT privacy.grant_access(r, 'standard') FROM unnest(ARRAY['crm_mask_bi', 'crm_mask_group', 'crm_mask_plain']::regrole[]) r;
SELECT privacy.set_masked('crm_mask_bi', true);
SELECT privacy.set_masked('crm_mask_group', true)" >/dev/null

as() { local role=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -U "$role" -c "$*" 2>&1; }
code() { psql -X -q -At -d "$db" -U "$1" -v VERBOSITY=verbose -c "$2" 2>&1 | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -n 1; }

if [ "$CRM_PRELOAD" != on ]; then
	plan 2
	is "$(code crm_mask_bi "SELECT name FROM customer WHERE id = 1")" "42501" \
		"without the library preloaded there is no masking: a masked role without a grant on the table is refused (42501)"
	is "$(as crm_mask_bi "SELECT name FROM privacy_standard.customer WHERE id = 1")" "N*** 1" \
		"... and reads the standard view it was granted"
	q postgres "DROP DATABASE $db" >/dev/null
	done_testing; exit
fi
plan 49

view=$(as crm_mask_bi "SELECT * FROM privacy_standard.customer ORDER BY id")
is "$(as crm_mask_bi "SELECT * FROM customer ORDER BY id")" "$view" \
	"a masked role naming customer gets the standard view's rows (a dropped column in the table too)"
is "$(as crm_mask_bi "SELECT * FROM public.customer ORDER BY id")" "$view" "... and naming public.customer"
is "$(as crm_mask_bi "SELECT name, phone, religion IS NULL FROM customer WHERE id = 7")" "N*** 7|138****0007|t" \
	"... masked for its clearance (public): name and phone masked, the sensitive column NULL"
is "$(as crm_mask_bi "SELECT count(*) FROM customer WHERE name = 'Name 7' OR phone = '13800000007'")" "0" \
	"... and its conditions see the masked values only"
is "$(as crm_mask_plain "SELECT name FROM customer WHERE id = 7")" "Name 7" \
	"a role that is not masked, granted the table, reads it in clear"
is "$(as crm_mask_member "SELECT name FROM customer WHERE id = 7")" "N*** 7" \
	"a member of a masked role is masked"
is "$(q "$db" "SELECT name FROM customer WHERE id = 7")" "Name 7" "a superuser is never masked"

# Every place a query can name the table.
is "$(as crm_mask_bi "WITH c AS (SELECT name FROM customer WHERE id = 2) SELECT (SELECT name FROM public.customer WHERE id = 3), c.name,
       (SELECT count(*) FROM orders o WHERE EXISTS (SELECT FROM customer x WHERE x.id = o.customer_id AND x.name = 'Name 1'))
       FROM c")" "N*** 3|N*** 2|0" "CTEs, scalar subqueries and EXISTS are masked"
is "$(as crm_mask_bi "SELECT c.name, count(o.order_id), sum(o.amount) IS NULL FROM customer c JOIN orders o ON o.customer_id = c.id WHERE c.id = 4 GROUP BY c.name")" \
	"N*** 4|3|t" "a join of two labelled tables reads both standard views (amount, personal, is NULL below internal)"
is "$(as crm_mask_bi "SELECT row_to_json(c)::text FROM customer c WHERE id = 5")" \
	'{"id":5,"name":"N*** 5","phone":"138****0005","city":"City 2","religion":null}' "a whole-row reference is the masked row"
is "$(as crm_mask_bi "BEGIN; DECLARE k CURSOR FOR SELECT name FROM customer ORDER BY id; FETCH 2 FROM k; COMMIT")" \
	"N*** 1
N*** 2" "a cursor is masked"
like "$(as crm_mask_bi "EXPLAIN (COSTS OFF) SELECT * FROM customer WHERE id = 3")" \
	"Index Scan using customer_pkey on customer privacy_standard" "EXPLAIN shows the standard view's plan, which uses the table's index"
is "$(as crm_mask_bi "CREATE TEMP TABLE t AS SELECT name FROM customer WHERE id = 6; SELECT name FROM t")" "N*** 6" \
	"CREATE TABLE AS copies masked values"
is "$(as crm_mask_bi "COPY (SELECT name FROM customer WHERE id = 8) TO STDOUT")" "N*** 8" "COPY (query) is masked"
is "$(as crm_mask_bi "CREATE FUNCTION pg_temp.f(i int) RETURNS text LANGUAGE sql AS 'SELECT name FROM customer WHERE id = i';
       CREATE FUNCTION pg_temp.g(i int) RETURNS text LANGUAGE plpgsql AS 'BEGIN RETURN (SELECT name FROM customer WHERE id = i); END';
       SELECT pg_temp.f(9) || ' ' || pg_temp.g(9) || ' ' || pg_temp.g(10)")" "N*** 9 N*** 9 N*** 1*" \
	"SQL and PL/pgSQL functions of the masked role are masked"
is "$(as crm_mask_bi "CREATE TEMP VIEW mine AS SELECT id, name FROM customer; SELECT name FROM mine WHERE id = 11")" "N*** 1*" \
	"a view the masked role creates reads the standard view"

# Writes are refused, clearly.
for stmt in "INSERT INTO customer (id, name) VALUES (99, 'x')" "UPDATE customer SET name = 'x' WHERE id = 1" \
            "DELETE FROM orders WHERE order_id = 1" "SELECT * FROM customer WHERE id = 1 FOR UPDATE" \
            "TRUNCATE orders" "COPY customer TO STDOUT" "COPY orders FROM STDIN" \
            "MERGE INTO orders o USING (SELECT 1 AS k) s ON o.order_id = s.k WHEN MATCHED THEN DELETE" \
            "SELECT ctid FROM customer"; do
	is "$(code crm_mask_bi "$stmt")" "42501" "refused to a masked role (42501): $stmt"
done
is "$(code crm_mask_bi "SELECT * FROM customer TABLESAMPLE SYSTEM (50)")" "0A000" "TABLESAMPLE of a labelled table is not available to a masked role (0A000)"
like "$(as crm_mask_bi "UPDATE public.customer SET name = 'x'")" \
	'permission denied to write table public.customer: role "crm_mask_bi" is masked' "the refusal names the table and the role"
is "$(q "$db" "SELECT count(*) FROM customer WHERE name = 'x'") $(q "$db" "SELECT count(*) FROM orders")" "0 60" "... and nothing changed"

# Prepared statements: made for one role, never used for another.
is "$(q "$db" "PREPARE p(int) AS SELECT name FROM customer WHERE id = \$1;
	SET ROLE crm_mask_bi; EXECUTE p(12); RESET ROLE; EXECUTE p(12); SET ROLE crm_mask_bi; EXECUTE p(12);
	SET ROLE crm_mask_plain; EXECUTE p(12)" | tr '\n' ' ')" "N*** 1* Name 12 N*** 1* Name 12 " \
	"a prepared statement follows the current role (masked, superuser, masked, not masked)"
is "$(q "$db" "CREATE FUNCTION pg_temp.h(i int) RETURNS text LANGUAGE plpgsql AS 'BEGIN RETURN (SELECT name FROM customer WHERE id = i); END';
	SELECT pg_temp.h(13); SET ROLE crm_mask_bi; SELECT pg_temp.h(13); RESET ROLE; SELECT pg_temp.h(13)" | tr '\n' ' ')" \
	"Name 13 N*** 1* Name 13 " "a PL/pgSQL function's cached plan follows the current role"
# The extended protocol with named prepared statements, as JDBC uses it.
printf '%s\n' "INSERT INTO seen SELECT current_user, name FROM customer WHERE id = 14;" >"$CRM_TMP/masking_bench.sql"
PGOPTIONS='' "$PGBIN/pgbench" -n -M prepared -t 3 -f "$CRM_TMP/masking_bench.sql" -U crm_mask_bi "$db" >/dev/null 2>&1
PGOPTIONS='' "$PGBIN/pgbench" -n -M extended -t 2 -f "$CRM_TMP/masking_bench.sql" -U crm_mask_bi "$db" >/dev/null 2>&1
PGOPTIONS='' "$PGBIN/pgbench" -n -M prepared -t 2 -f "$CRM_TMP/masking_bench.sql" -U crm_mask_plain "$db" >/dev/null 2>&1
is "$(q "$db" "SELECT who || ' ' || v || ' ' || count(*) FROM seen GROUP BY who, v ORDER BY 1" | tr '\n' ',')" \
	"crm_mask_bi N*** 1* 5,crm_mask_plain Name 14 2," \
	"over the extended protocol (pgbench -M prepared and -M extended): masked for the masked role, clear for the other"

# A role masked while its session holds a prepared statement: the next
# EXECUTE is masked.
q "$db" "SELECT privacy.set_masked('crm_mask_plain', false)" >/dev/null
(psql -X -q -At -d "$db" -U crm_mask_plain -c "PREPARE s AS SELECT name FROM customer WHERE id = 15" \
	-c "EXECUTE s" -c "SELECT pg_sleep(1.5)" -c "EXECUTE s" >"$CRM_TMP/masking_session.out" 2>&1) &
sleep 0.7
q "$db" "SELECT privacy.set_masked('crm_mask_plain', true)" >/dev/null
wait
is "$(grep -v '^$' "$CRM_TMP/masking_session.out" | tr '\n' ' ')" "Name 15 N*** 1* " \
	"a role masked meanwhile: the session's prepared statement is masked at its next EXECUTE"
q "$db" "SELECT privacy.set_masked('crm_mask_plain', false)" >/dev/null

# Objects a role made before it was masked (while, wrongly, granted the
# table), and a body stored already parsed (BEGIN ATOMIC): they read the
# table with the masked role's rights, and are refused (42501).
q "$db" "GRANT SELECT ON customer TO crm_mask_plain; GRANT CREATE ON SCHEMA public TO crm_mask_plain" >/dev/null
as crm_mask_plain "CREATE VIEW plain_view AS SELECT id, name FROM customer;
    CREATE FUNCTION plain_atomic() RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT name FROM customer WHERE id = 18; END;
    CREATE TABLE plain_log (v text); CREATE TABLE plain_in (i int);
    CREATE RULE copy_name AS ON INSERT TO plain_in DO ALSO INSERT INTO plain_log SELECT name FROM customer WHERE id = NEW.i" >/dev/null
is "$(as crm_mask_plain "SELECT name FROM plain_view WHERE id = 18")" "Name 18" "(before it is masked, the role's own view reads the table)"
q "$db" "SELECT privacy.set_masked('crm_mask_plain', true)" >/dev/null
for stmt in "SELECT name FROM plain_view WHERE id = 18" "SELECT plain_atomic()" "INSERT INTO plain_in VALUES (18)"; do
	is "$(code crm_mask_plain "$stmt")" "42501" "masked: a view, BEGIN ATOMIC function or rule of its own made before reads no table: $stmt (42501)"
done
is "$(as crm_mask_plain "CREATE FUNCTION plain_atomic2() RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT name FROM customer WHERE id = 18; END;
    SELECT plain_atomic2()" 2>&1 | grep -c '^ERROR:.*is masked')" "1" "a BEGIN ATOMIC body written while masked is refused too"
is "$(as crm_mask_plain "CREATE VIEW plain_view2 AS SELECT id, name FROM customer; SELECT name FROM plain_view2 WHERE id = 18")" "N*** 1*" \
	"a view made while masked reads the standard view"
q "$db" "SELECT privacy.set_masked('crm_mask_plain', false); REVOKE SELECT ON customer FROM crm_mask_plain" >/dev/null

# A partition of a labelled table, mistakenly granted: no way around the
# labelled table.
q "$db" "SET ROLE crm_mask_owner;
    CREATE TABLE visits (customer_id int, note text) PARTITION BY RANGE (customer_id);
    CREATE TABLE visits_low PARTITION OF visits FOR VALUES FROM (0) TO (100);
    INSERT INTO visits VALUES (3, 'private note 3');
    GRANT SELECT, INSERT, DELETE ON visits_low TO crm_mask_bi;
    SELECT privacy.label_table('visits', 'related subject=public.customer key=customer_id');
    SELECT privacy.label_column('visits', 'note', 'personal')" >/dev/null
for stmt in "SELECT note FROM visits_low" "COPY visits_low TO STDOUT" "INSERT INTO visits_low VALUES (4, 'x')" \
            "DELETE FROM visits_low"; do
	is "$(code crm_mask_bi "$stmt")" "42501" "a partition of a labelled table, granted to a masked role: $stmt (42501)"
done
is "$(as crm_mask_bi "SELECT count(*) FROM visits WHERE note IS NULL")" "1" "... the partitioned table reads its standard view (the note NULL)"

# The clearance decides, as in the standard view.
q "$db" "SELECT privacy.set_clearance('crm_mask_bi', 'confidential')" >/dev/null
is "$(as crm_mask_bi "SELECT name, phone FROM customer WHERE id = 16")" "Name 16|13800000016" \
	"a masked role with confidential clearance sees what the standard view shows it in clear"
q "$db" "SELECT privacy.set_clearance('crm_mask_bi', NULL)" >/dev/null

# Only privacy administrators mark roles.
is "$(code crm_mask_prov "SELECT privacy.set_masked('crm_mask_bi', false)")" "42501" \
	"a CREATEROLE role cannot unmark a masked role (42501)"
is "$(code crm_mask_prov "SECURITY LABEL FOR crm_privacy ON ROLE crm_mask_bi IS NULL")" "42501" \
	"... nor remove the label with SECURITY LABEL (42501)"
as crm_mask_admin "SELECT privacy.set_masked('crm_mask_owner', true)" >/dev/null
is "$(q "$db" "SELECT label FROM pg_seclabels WHERE objname = 'crm_mask_owner'")" \
	"masked" "a privacy administrator marks a role (label word masked)"
# The table's owner masked: its own writes are refused, but an erasure a
# privacy administrator runs (as the owner) is not.
is "$(code crm_mask_owner "UPDATE customer SET city = 'x' WHERE id = 17")" "42501" "a masked owner cannot write its own table"
is "$(as crm_mask_admin "SELECT count(*) > 0 FROM privacy.erase_subject('public.customer', '17')" >/dev/null; q "$db" "SELECT name <> 'Name 17' FROM customer WHERE id = 17")" \
	"t" "erase_subject still erases a subject of a masked owner's table"

q postgres "DROP DATABASE $db" >/dev/null
done_testing
