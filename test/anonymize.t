#!/usr/bin/env bash
# Static anonymization (doc/anonymize.md): privacy.anonymize_table() rewrites
# a subject table and its related tables in place with their anon rules --
# refused without the confirmation, to anyone but a privacy administrator
# with the owner's privileges, and when a foreign key would break; recorded;
# keys stay unique and joinable, every constraint holds -- and
# crm_privacy_anonymized_copy makes an anonymized copy of a database that
# loads, constraints and all, into a database without crm_privacy.
. "$(dirname "$0")/tap.sh"
plan 28
src=crm_anon_src_$CRM_PRELOAD
dst=crm_anon_dst_$CRM_PRELOAD
inplace=crm_anon_inplace_$CRM_PRELOAD
for db in $src $dst $inplace; do q postgres "DROP DATABASE IF EXISTS $db" >/dev/null; done
for r in crm_anon_owner crm_anon_admin crm_anon_other; do q postgres "DROP ROLE IF EXISTS $r" >/dev/null; done
q postgres "CREATE ROLE crm_anon_owner LOGIN; CREATE ROLE crm_anon_admin LOGIN; CREATE ROLE crm_anon_other LOGIN" >/dev/null
code() { psql -X -q -At -d "$1" -U "$2" -v VERBOSITY=verbose -c "$3" 2>&1 | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -n 1; }

# A CRM: customers (a unique e-mail, NOT NULL name, an identity column, a
# sensitive column), their orders and visits (related), products (no
# personal data, unlabelled, referenced by orders).
schema="SET client_min_messages = warning;
CREATE EXTENSION crm_privacy;
GRANT CREATE ON SCHEMA public TO crm_anon_owner;
SECURITY LABEL FOR crm_privacy ON ROLE crm_anon_admin IS 'privacy_admin';
SET ROLE crm_anon_owner;
CREATE FUNCTION not_as_superuser(v int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS \$f\$
BEGIN
    IF current_setting('is_superuser') = 'on' AND current_database() LIKE 'crm\\_anon\\_copy\\_%' THEN
        RAISE EXCEPTION 'the owner''s CHECK ran as the superuser making the copy';
    END IF;
    RETURN v > 0;
END \$f\$;
CREATE TABLE products (product_id int PRIMARY KEY CHECK (not_as_superuser(product_id)), title text NOT NULL);
CREATE TABLE customer (id bigint PRIMARY KEY, member_no int GENERATED ALWAYS AS IDENTITY, name text NOT NULL,
                       email text NOT NULL UNIQUE, phone text, city text NOT NULL, born date NOT NULL,
                       income numeric, religion text, referrer bigint REFERENCES customer);
CREATE TABLE orders (order_id int PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customer,
                     product_id int NOT NULL REFERENCES products, amount numeric NOT NULL, address text);
CREATE TABLE visits (customer_id bigint REFERENCES customer ON UPDATE CASCADE, at date, PRIMARY KEY (customer_id, at));
SELECT privacy.label_table('customer', 'subject key=id');
SELECT privacy.label_column('customer', 'id', 'identifier anon=pseudonym');
SELECT privacy.label_column('customer', 'member_no', 'identifier');
SELECT privacy.label_column('customer', 'name', 'identifier mask=name');
SELECT privacy.label_column('customer', 'email', 'identifier mask=email anon=pseudonym');
SELECT privacy.label_column('customer', 'phone', 'identifier mask=phone');
SELECT privacy.label_column('customer', 'city', 'quasi_identifier anon=keep');
SELECT privacy.label_column('customer', 'born', 'quasi_identifier anon=generalize(year)');
SELECT privacy.label_column('customer', 'income', 'personal anon=noise(0.1)');
SELECT privacy.label_column('customer', 'religion', 'sensitive anon=keep');
SELECT privacy.label_column('customer', 'referrer', 'identifier anon=pseudonym');
SELECT privacy.label_table('orders', 'related subject=public.customer key=customer_id');
SELECT privacy.label_column('orders', 'order_id', 'public');
SELECT privacy.label_column('orders', 'customer_id', 'identifier anon=pseudonym');
SELECT privacy.label_column('orders', 'product_id', 'public');
SELECT privacy.label_column('orders', 'amount', 'personal anon=keep');
SELECT privacy.label_column('orders', 'address', 'identifier mask=partial(2,0)');
SELECT privacy.label_table('visits', 'related subject=public.customer key=customer_id');
SELECT privacy.label_column('visits', 'customer_id', 'identifier anon=pseudonym');
SELECT privacy.label_column('visits', 'at', 'personal anon=keep');
CREATE TABLE notes (customer_id bigint NOT NULL REFERENCES customer, kind text NOT NULL, note text) PARTITION BY LIST (kind);
CREATE TABLE notes_low PARTITION OF notes FOR VALUES IN ('call', 'visit');
CREATE TABLE note_history (old_note text);
CREATE FUNCTION keep_note() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN INSERT INTO note_history VALUES (OLD.note); RETURN NEW; END';
CREATE TRIGGER keep_note AFTER UPDATE ON notes_low FOR EACH ROW EXECUTE FUNCTION keep_note();
SELECT privacy.label_table('notes', 'related subject=public.customer key=customer_id');
SELECT privacy.label_column('notes', 'customer_id', 'identifier anon=pseudonym');
SELECT privacy.label_column('notes', 'kind', 'public');
SELECT privacy.label_column('notes', 'note', 'identifier');
CREATE TABLE name_history (customer_id bigint, old_name text);
CREATE FUNCTION keep_history() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN INSERT INTO name_history VALUES (OLD.id, OLD.name); RETURN NEW; END';
CREATE TRIGGER keep_history AFTER UPDATE OF name ON customer FOR EACH ROW EXECUTE FUNCTION keep_history();
INSERT INTO products SELECT g, 'Product ' || g FROM generate_series(1, 5) g;
INSERT INTO customer (id, name, email, phone, city, born, income, religion, referrer)
SELECT g, 'Zhang Wei' || g, 'zhang' || g || '@example.cn', '1390000' || lpad(g::text, 4, '0'),
       'City ' || g % 4, date '1970-01-01' + g * 200, 1000 * g, 'faith' || g, CASE WHEN g > 1 THEN g - 1 END
  FROM generate_series(1, 200) g;
INSERT INTO orders SELECT g, 1 + g % 200, 1 + g % 5, g, 'Road ' || g FROM generate_series(1, 600) g;
INSERT INTO visits SELECT 1 + g % 200, date '2026-01-01' + g FROM generate_series(1, 300) g;
INSERT INTO notes SELECT g, 'call', 'Zhang Wei private note ' || g FROM generate_series(1, 20) g;
SELECT lo_from_bytea(0, convert_to('Zhang Wei passport', 'UTF8'));
RESET ROLE"
q postgres "CREATE DATABASE $src" >/dev/null
q postgres "CREATE DATABASE $inplace" >/dev/null
q "$src" "$schema" >/dev/null
q "$inplace" "$schema" >/dev/null

# --- privacy.anonymize_table, in place ------------------------------------
is "$(code "$inplace" postgres "SELECT * FROM privacy.anonymize_table('customer')")" "22023" \
	"without the confirmation: refused (22023)"
is "$(code "$inplace" postgres "SELECT * FROM privacy.anonymize_table('customer', 'customer')")" "22023" \
	"a confirmation that does not name the table as public.customer: refused (22023)"
is "$(code "$inplace" crm_anon_owner "SELECT * FROM privacy.anonymize_table('customer', 'public.customer')")" "42501" \
	"the table's owner, no privacy administrator: refused (42501)"
is "$(code "$inplace" crm_anon_admin "SELECT * FROM privacy.anonymize_table('customer', 'public.customer')")" "42501" \
	"a privacy administrator without the owner's privileges: refused (42501)"
is "$(code "$inplace" crm_anon_other "SELECT * FROM privacy.anonymize_database('$inplace')")" "42501" \
	"anonymize_database by anyone else: refused (42501)"
# A table outside the group references the key: refused, nothing written.
q "$inplace" "CREATE TABLE tickets (id int PRIMARY KEY, customer_id bigint REFERENCES customer); INSERT INTO tickets VALUES (1, 3)" >/dev/null
is "$(code "$inplace" postgres "SELECT * FROM privacy.anonymize_table('customer', 'public.customer')")" "55000" \
	"a foreign key from an unlabelled table to the changing key: refused (55000)"
like "$(psql -X -q -At -d "$inplace" -c "SELECT * FROM privacy.anonymize_table('customer', 'public.customer')" 2>&1)" \
	'would break foreign key "tickets_customer_id_fkey" from public.tickets.customer_id to public.customer.id' \
	"... naming the constraint and both columns"
is "$(q "$inplace" "SELECT count(*) FROM customer WHERE name LIKE 'Zhang Wei%'") $(q "$inplace" "SELECT count(*) FROM privacy.audit_log WHERE op = 'ANONYMIZE'")" \
	"200 0" "... and nothing was written or recorded"
q "$inplace" "DROP TABLE tickets" >/dev/null
# A trigger that fires on UPDATE could keep or copy the values: refused
# until the owner disables it.
q "$inplace" "SET ROLE crm_anon_owner; CREATE FUNCTION keep_name() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN NEW.name := OLD.name; RETURN NEW; END';
    CREATE TRIGGER keep_name BEFORE UPDATE ON customer FOR EACH ROW EXECUTE FUNCTION keep_name()" >/dev/null
like "$(psql -X -q -At -d "$inplace" -c "SELECT * FROM privacy.anonymize_table('customer', 'public.customer')" 2>&1)" \
	'table public.customer has trigger "keep_(name|history)", which fires on UPDATE' "a trigger that fires on UPDATE: refused (55000), naming it"
q "$inplace" "ALTER TABLE customer DISABLE TRIGGER keep_name; ALTER TABLE customer DISABLE TRIGGER keep_history" >/dev/null
like "$(psql -X -q -At -d "$inplace" -c "SELECT * FROM privacy.anonymize_table('customer', 'public.customer')" 2>&1)" \
	'table public.notes_low has trigger "keep_note", which fires on UPDATE' "... also one on a partition of a related table"
q "$inplace" "ALTER TABLE notes_low DISABLE TRIGGER keep_note" >/dev/null
# The owner gives its privileges to the privacy administrator.
q "$inplace" "GRANT crm_anon_owner TO crm_anon_admin" >/dev/null
before=$(q "$inplace" "SELECT count(*) FROM orders o JOIN customer c ON c.id = o.customer_id JOIN visits v ON v.customer_id = c.id")
out=$(psql -X -q -At -d "$inplace" -U crm_anon_admin -c "SELECT table_name, rows_changed, array_to_string(kept, '; ') FROM privacy.anonymize_table('customer', 'public.customer') ORDER BY table_name::text")
is "$out" "customer|200|member_no (an identity column GENERATED ALWAYS)
notes|20|
orders|600|
visits|300|" "a privacy administrator with the owner's privileges rewrites customer with its related tables; the rows and what is kept"
is "$(q "$inplace" "SELECT count(*) FILTER (WHERE name LIKE 'Zhang%' OR email LIKE '%example.cn' OR phone IS NOT NULL OR religion IS NOT NULL
                                          OR id BETWEEN 1 AND 200 OR extract(day FROM born) <> 1)
                     FROM customer")" "0" \
	"no name, e-mail, phone, sensitive value, key or day of birth is left in clear"
is "$(q "$inplace" "SELECT count(DISTINCT email) = count(*) AND count(*) = 200 AND bool_and(name LIKE 'Z**** W%') FROM customer")" "t" \
	"e-mails stay unique (pseudonyms); NOT NULL names get their mask"
is "$(q "$inplace" "SELECT count(*) FROM orders o JOIN customer c ON c.id = o.customer_id JOIN visits v ON v.customer_id = c.id")" "$before" \
	"the keys stay joinable: the three-table join has as many rows as before ($before)"
is "$(q "$inplace" "SELECT count(*) FROM customer c JOIN customer r ON r.id = c.referrer")" "199" \
	"a self-referencing key follows (199 referrers)"
is "$(q "$inplace" "SELECT count(*) FROM pg_constraint WHERE contype IN ('f', 'u', 'p', 'n') AND conrelid::regclass::text IN ('customer', 'orders', 'visits') AND convalidated")" \
	"$(q "$src" "SELECT count(*) FROM pg_constraint WHERE contype IN ('f', 'u', 'p', 'n') AND conrelid::regclass::text IN ('customer', 'orders', 'visits') AND convalidated")" \
	"every constraint is still there and valid"
is "$(q "$inplace" "SELECT string_agg(table_name || ' ' || (new_values->>'rows'), ', ' ORDER BY table_name) FROM privacy.audit_log WHERE op = 'ANONYMIZE'")" \
	"public.customer 200, public.notes 20, public.orders 600, public.visits 300" "each table's anonymization is recorded in the audit log, with its rows"
is "$(q "$inplace" "SELECT city FROM customer ORDER BY city LIMIT 1") $(q "$inplace" "SELECT sum(amount) FROM orders")" "City 0 180300" \
	"anon=keep columns keep their values"
is "$(q "$inplace" "SELECT count(*) FROM pg_stats WHERE tablename = 'customer' AND attname = 'email' AND most_common_vals::text LIKE '%example.cn%'
                     OR tablename = 'customer' AND attname = 'email' AND histogram_bounds::text LIKE '%example.cn%'")" "0" \
	"the tables are analyzed again: pg_stats shows no clear value"

# --- crm_privacy_anonymized_copy -------------------------------------------
copy=$CRM_TMP/crm_anon_copy_$CRM_PRELOAD.sql
anoncopy=$PGBIN/crm_privacy_anonymized_copy
[ -x "$anoncopy" ] || anoncopy=$(dirname "$0")/../bin/crm_privacy_anonymized_copy
"$anoncopy" "$src" >"$copy" 2>"$CRM_TMP/crm_anon_copy.err"
rc=$?
is "$rc $(grep -c 'public.products' "$CRM_TMP/crm_anon_copy.err")" "3 1" \
	"an unlabelled table with rows: the copy refuses until told what to do with it, and names it"
"$anoncopy" --unlabelled=copy "$src" >"$copy" 2>"$CRM_TMP/crm_anon_copy.err"
ok $? "crm_privacy_anonymized_copy --unlabelled=copy $src > copy.sql"
is "$(grep -cE 'Zhang Wei|example\.cn|1390000|faith[0-9]|Road [0-9]|lowrite|lo_create' "$copy")" "0" \
	"the copy has no name, e-mail, phone, sensitive value, note or address of the source, nor the large object (history triggers on customer and on a partition copied none)"
is "$(grep -c 'CREATE TRIGGER keep_history AFTER UPDATE OF name ON public.customer' "$copy")" "1" \
	"... and has the source's trigger, enabled"
is "$(grep -ciE 'crm_privacy|security label|pseudonym_key' "$copy")" "0" \
	"... and nothing of crm_privacy: no extension, labels, choices, logs or key"
q postgres "CREATE DATABASE $dst TEMPLATE template0" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$dst" -f "$copy" >/dev/null 2>"$CRM_TMP/crm_anon_load.err"
ok $? "the copy loads with psql -v ON_ERROR_STOP=1 into a database without crm_privacy"
is "$(q "$dst" "SELECT count(*) FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname = 'public'")" \
	"$(q "$src" "SELECT count(*) FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname = 'public'")" \
	"every NOT NULL, unique, primary and foreign key constraint is in the loaded copy (and held while loading)"
is "$(q "$dst" "SELECT (SELECT count(*) FROM customer) || ' ' || (SELECT count(*) FROM orders) || ' ' || (SELECT count(*) FROM visits) || ' ' || (SELECT count(*) FROM products)")" \
	"200 600 300 5" "every row is there"
is "$(q "$dst" "SELECT count(*) FROM orders o JOIN customer c ON c.id = o.customer_id JOIN products p USING (product_id)")" "600" \
	"orders join their (pseudonymized) customers and their products"

for db in $src $dst $inplace; do q postgres "DROP DATABASE IF EXISTS $db" >/dev/null; done
for r in crm_anon_owner crm_anon_admin crm_anon_other; do q postgres "DROP ROLE IF EXISTS $r" >/dev/null; done
done_testing
