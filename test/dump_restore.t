#!/usr/bin/env bash
# Labels survive pg_dump and pg_restore (custom and plain formats), also when
# a related table sorts before its subject table, and they keep their meaning.
#
# pg_dump writes a schema's label ('trusted') before CREATE EXTENSION, so a
# restoring session needs the library loaded before the extension is created:
# with shared_preload_libraries, or else with session_preload_libraries
# (doc/labels.md).  Without preloading, this test restores that way and also
# shows the clear error a restore gets without it.
. "$(dirname "$0")/tap.sh"
if [ "$CRM_PRELOAD" = on ]; then plan 16; else plan 17; fi
if [ "$CRM_PRELOAD" = off ]; then
	restore_opts="-c session_preload_libraries=crm_privacy"
else
	restore_opts=""
fi

src=crm_dump_src_$CRM_PRELOAD
dst=crm_dump_dst_$CRM_PRELOAD
dst2=crm_dump_plain_$CRM_PRELOAD
dump=$CRM_TMP/$src.dump
for db in $src $dst $dst2; do q postgres "DROP DATABASE IF EXISTS $db" >/dev/null; done
q postgres "CREATE DATABASE $src" >/dev/null

q "$src" "
CREATE EXTENSION crm_privacy;
CREATE SCHEMA mymasks;
CREATE FUNCTION mymasks.initial(text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT left(\$1, 1)';
SECURITY LABEL FOR crm_privacy ON SCHEMA mymasks IS 'trusted';
CREATE TABLE z_customer (customer_id bigint PRIMARY KEY, full_name text, email text, born date, note text);
CREATE TABLE a_orders (order_id bigint, customer_id bigint REFERENCES z_customer, amount numeric);
CREATE TABLE \"Odd; \"\"name\"\"\" (\"Key\" int, v text);
SECURITY LABEL FOR crm_privacy ON TABLE z_customer IS 'subject key=customer_id k=3';
SECURITY LABEL FOR crm_privacy ON TABLE a_orders IS 'related subject=public.z_customer key=customer_id';
SECURITY LABEL FOR crm_privacy ON TABLE \"Odd; \"\"name\"\"\" IS 'subject key=\"Key\"';
SECURITY LABEL FOR crm_privacy ON COLUMN z_customer.full_name IS 'identifier mask=fn(mymasks.initial)';
SECURITY LABEL FOR crm_privacy ON COLUMN z_customer.email IS 'identifier level=confidential mask=email anon=pseudonym';
SECURITY LABEL FOR crm_privacy ON COLUMN z_customer.born IS 'quasi_identifier anon=generalize(decade)';
SECURITY LABEL FOR crm_privacy ON COLUMN a_orders.amount IS 'personal anon=generalize(100)';
INSERT INTO z_customer VALUES (1, '张三丰', 'zhang@example.com', '1987-06-15', NULL),
                              (2, '李四', 'li@example.com', '1990-01-01', NULL);
SELECT privacy.add_purpose('newsletter', 'monthly newsletter');
SELECT privacy.opt_out('z_customer', '2', 'newsletter', 'test');
SELECT privacy.create_disclosure('acme');
SELECT privacy.disclose('acme', 'z_customer', 'email', 'pseudonym');
DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crm_dump_reader') THEN
    CREATE ROLE crm_dump_reader; END IF; END \$\$;
SELECT privacy.grant_access('crm_dump_reader', 'standard');
" >/dev/null
labels_sql="SELECT schema, \"table\", coalesce(\"column\", '-'), class, coalesce(mask, '-'), coalesce(anon, '-'), coalesce(label, '-')
              FROM privacy.labels ORDER BY 1, 2, 3"
before=$(q "$src" "$labels_sql")
like "$before" 'a_orders\|-\|related' "source database has its labels"

"$PGBIN/pg_dump" -Fc -f "$dump" "$src"
ok $? "pg_dump -Fc"

if [ "$CRM_PRELOAD" = off ]; then
	q postgres "CREATE DATABASE $dst" >/dev/null
	out=$("$PGBIN/pg_restore" -d "$dst" --exit-on-error "$dump" 2>&1)
	like "$out" 'security label provider "crm_privacy" is not loaded' \
		"without preloading, restoring a schema label fails clearly"
	q postgres "DROP DATABASE $dst" >/dev/null
fi

q postgres "CREATE DATABASE $dst" >/dev/null
out=$(PGOPTIONS="$restore_opts" "$PGBIN/pg_restore" -d "$dst" --exit-on-error "$dump" 2>&1)
ok $? "pg_restore into a new database (library preload: $CRM_PRELOAD)"
[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'

after=$(q "$dst" "$labels_sql")
is "$after" "$before" "privacy.labels is the same after restore"

views_sql="SELECT string_agg(n.nspname || '.' || c.relname, ' ' ORDER BY n.nspname, c.relname) FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname LIKE 'privacy\\_%' AND c.relkind = 'v'"
views_before=$(q "$src" "$views_sql")
like "$views_before" 'privacy_disclose_acme.z_customer.*privacy_optout_newsletter.z_customer' "the source has its views"
is "$(q "$dst" "$views_sql")" "$views_before" "the privacy views are built again on restore"
is "$(q "$dst" "SELECT count(*) FROM privacy_optout_newsletter.z_customer")" "1" \
	"an added purpose and its opt-outs survive the restore"
is "$(q "$dst" "SELECT count(*) FROM privacy_disclose_acme.z_customer WHERE email ~ '^[0-9a-f]{16}\$'")" "2" \
	"a disclosure profile and its treatments survive the restore"
is "$(q "$dst" "SELECT has_table_privilege('crm_dump_reader', 'privacy_standard.z_customer', 'SELECT')")" "t" \
	"grants on the views survive the restore"

is "$(q "$dst" "SELECT full_name FROM z_customer WHERE customer_id = 1")" "张三丰" "data restored"

# The restored labels still mean what they meant: the DDL checks hold.
out=$(q "$dst" "ALTER TABLE z_customer DROP COLUMN customer_id CASCADE")
like "$out" 'key column "customer_id" does not exist' "restored labels are enforced (key column cannot be dropped)"

out=$(q "$dst" "ALTER TABLE z_customer RENAME TO customer; SELECT label FROM privacy.labels WHERE \"table\" = 'a_orders' AND \"column\" IS NULL")
is "$out" "related subject=public.customer key=customer_id" "renames in the restored database rewrite labels"

# Plain format through psql, stopping at the first error.
q postgres "CREATE DATABASE $dst2" >/dev/null
out=$("$PGBIN/pg_dump" -Fp "$src" | PGOPTIONS="$restore_opts" psql -X -q -v ON_ERROR_STOP=1 -d "$dst2" 2>&1 >/dev/null)
ok $? "plain pg_dump restores through psql with ON_ERROR_STOP"
[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
is "$(q "$dst2" "$labels_sql")" "$before" "privacy.labels is the same after a plain restore"
is "$(q "$dst2" "$views_sql")" "$views_before" "the privacy views are built again on a plain restore"

# pg_restore --clean over an existing copy drops and recreates everything.
out=$(PGOPTIONS="$restore_opts" "$PGBIN/pg_restore" -d "$dst2" --clean --if-exists --exit-on-error "$dump" 2>&1)
ok $? "pg_restore --clean over an existing copy"
[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'

for db in $src $dst $dst2; do q postgres "DROP DATABASE IF EXISTS $db" >/dev/null; done
done_testing
