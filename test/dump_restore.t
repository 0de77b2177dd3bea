#!/usr/bin/env bash
# Labels, choices and their history survive pg_dump and pg_restore (custom,
# plain, --schema-only and -t), also when
# a related table sorts before its subject table, and they keep their meaning.
#
# pg_dump writes a schema's label ('trusted') before CREATE EXTENSION, so a
# restoring session needs the library loaded before the extension is created:
# with shared_preload_libraries, or else with session_preload_libraries
# (doc/labels.md).  Without preloading, this test restores that way and also
# shows the clear error a restore gets without it.
. "$(dirname "$0")/tap.sh"
if [ "$CRM_PRELOAD" = on ]; then plan 40; else plan 41; fi
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
DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crm_dump_hand') THEN
    CREATE ROLE crm_dump_hand; END IF; END \$\$;
GRANT SELECT ON privacy_standard.a_orders TO crm_dump_hand;
SELECT privacy.grant_access('crm_dump_reader', 'anon');
SELECT privacy.refresh_snapshot('z_customer');
SELECT privacy.opt_out('z_customer', '1', 'direct_marketing', 'web');
SELECT privacy.opt_in('z_customer', '1', 'direct_marketing', 'phone');
SELECT privacy.opt_out('public.\"Odd; \"\"name\"\"\"', '7', 'direct_marketing', 'odd');
SELECT privacy.enable_audit('z_customer');
UPDATE z_customer SET note = 'called' WHERE customer_id = 1;
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
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname LIKE 'privacy\\_%' AND c.relkind = 'v'
              AND n.nspname NOT LIKE 'privacy\\_snapshot\\_%'"
views_before=$(q "$src" "$views_sql")
like "$views_before" 'privacy_disclose_acme.z_customer.*privacy_optout_newsletter.z_customer' "the source has its views"
is "$(q "$dst" "$views_sql")" "$views_before" "the privacy views are built again on restore"
is "$(q "$dst" "SELECT count(*) FROM privacy_optout_newsletter.z_customer")" "1" \
	"an added purpose and its opt-outs survive the restore"
is "$(q "$dst" "SELECT count(*) FROM privacy_disclose_acme.z_customer WHERE email ~ '^[0-9a-f]{16}\$'")" "2" \
	"a disclosure profile and its treatments survive the restore"
is "$(q "$dst" "SELECT has_table_privilege('crm_dump_reader', 'privacy_standard.z_customer', 'SELECT')")" "t" \
	"grants on the views survive the restore"
is "$(q "$dst" "SELECT has_table_privilege('crm_dump_hand', 'privacy_standard.a_orders', 'SELECT')")" "t" \
	"so does a user's own GRANT on a view"
is "$(q "$dst" "SELECT count(*) FROM privacy.snapshots")" "0" "a snapshot is not dumped"
is "$(q "$dst" "SELECT privacy.refresh_snapshot('z_customer') = (SELECT count(*) FROM privacy_anon.z_customer)")" "t" \
	"and is made again after the restore"
is "$(q "$dst" "SELECT has_table_privilege('crm_dump_reader', 'privacy_snapshot_anon.z_customer', 'SELECT')")" "t" \
	"for the anonymous view's readers"
# The dump holds only what users granted by hand: grant_access() grants are
# privacy.access_grants rows, and come back with them.
is "$("$PGBIN/pg_dump" --schema-only "$src" | grep -E '^(GRANT|REVOKE) .* (SCHEMA|TABLE) privacy_')" \
	"GRANT SELECT ON TABLE privacy_standard.a_orders TO crm_dump_hand;" \
	"the dump grants nothing on the privacy views but the user's own grant"

is "$(q "$dst" "SELECT full_name FROM z_customer WHERE customer_id = 1")" "张三丰" "data restored"

# Choices and their history come back as they were, naming their tables.
choices_sql="SELECT string_agg(concat_ws(' ', subject, subject_name, key, purpose, opted_out, source, changed_at), ', '
                               ORDER BY subject_name, key, purpose) FROM privacy.choices"
history_sql="SELECT string_agg(concat_ws(' ', changed_at, subject_name, key, purpose, event, old_opted_out, new_opted_out, source),
                               ', ' ORDER BY id) FROM privacy.choice_history"
choices=$(q "$src" "$choices_sql")
like "$choices" 'z_customer public.z_customer 1 direct_marketing f phone .*z_customer public.z_customer 2 newsletter t test' \
	"the source has its choices"
is "$(q "$dst" "$choices_sql")" "$choices" "privacy.choices is the same after restore"
is "$(q "$dst" "$history_sql")" "$(q "$src" "$history_sql")" "privacy.choice_history is the same after restore"

# The restored database has its own pseudonym key: the subject's audit rows
# and anonymous pseudonyms no longer link, until a superuser carries the key
# over (export, import: both recorded in the audit log).
# (reports are read audited: without preloading, a superuser reads unrecorded)
report_sql="SET crm_privacy.require_access_log = off;
            SELECT jsonb_array_length(privacy.subject_report('z_customer', '1')->'audit')"
anon_sql="SELECT string_agg(email, ' ' ORDER BY email) FROM privacy_anon.z_customer"
src_audit=$(q "$src" "$report_sql")
like "$src_audit" '^[1-9]' "the source's report has the subject's audit rows"
is "$(q "$dst" "$report_sql")" "0" "the restored database, with a new key, finds none of them"
key=$(q "$src" "SELECT encode(privacy.export_pseudonym_key(), 'hex')")
q "$dst" "SELECT privacy.import_pseudonym_key(decode('$key', 'hex'))" >/dev/null
is "$(q "$dst" "$report_sql")" "$src_audit" "after importing the source's key, the report finds them all"
is "$(q "$dst" "$anon_sql")" "$(q "$src" "$anon_sql")" "... and the anonymous views give the source's pseudonyms"
is "$(q "$dst" "SELECT string_agg(op, ' ' ORDER BY id) FROM privacy.audit_log WHERE table_name = 'privacy.pseudonym_key'")" \
	"import_pseudonym_key" "the import is in the audit log"
out=$(q "$dst" "SET ROLE crm_dump_reader; SELECT privacy.export_pseudonym_key()" 2>&1)
like "$out" 'permission denied' "no one but a superuser exports the key"

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

# --schema-only: labels, views and audit triggers, no rows.
dst3=crm_dump_schema_$CRM_PRELOAD
q postgres "DROP DATABASE IF EXISTS $dst3" >/dev/null
q postgres "CREATE DATABASE $dst3" >/dev/null
out=$("$PGBIN/pg_dump" --schema-only "$src" | PGOPTIONS="$restore_opts" psql -X -q -v ON_ERROR_STOP=1 -d "$dst3" 2>&1 >/dev/null)
ok $? "a --schema-only dump restores"
[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
is "$(q "$dst3" "$labels_sql")" "$before" "privacy.labels is the same after a --schema-only restore"
is "$(q "$dst3" "$views_sql")" "$(q "$src" "$views_sql AND n.nspname NOT IN ('privacy_disclose_acme', 'privacy_optout_newsletter')")" \
	"the privacy views are built, but those of purposes and profiles (which are data)"
is "$(q "$dst3" "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'z_customer'::regclass AND tgname LIKE 'crm_privacy_audit%'")" \
	"2" "the audit triggers are there"
is "$(q "$dst3" "SELECT (SELECT count(*) FROM z_customer) + (SELECT count(*) FROM privacy.choices)")" "0" "and no rows"
q postgres "DROP DATABASE IF EXISTS $dst3" >/dev/null

# -t: one table, with its labels, into a database without the extension;
# CREATE EXTENSION then adopts the labels it finds.
q postgres "CREATE DATABASE $dst3" >/dev/null
out=$(PGOPTIONS="$restore_opts" "$PGBIN/pg_restore" -d "$dst3" -t 'Odd; "name"' --exit-on-error "$dump" 2>&1)
ok $? "pg_restore -t of one table"
[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
is "$(q "$dst3" "SELECT count(*) FROM pg_seclabel WHERE provider = 'crm_privacy'")" "1" "its label is restored"
out=$(PGOPTIONS="$restore_opts" q "$dst3" "SET client_min_messages = warning; CREATE EXTENSION crm_privacy" 2>&1)
is "$out" "" "CREATE EXTENSION where a crm_privacy label already exists"
is "$(q "$dst3" "SELECT string_agg(schemaname || '.' || viewname, ' ' ORDER BY schemaname) FROM pg_views WHERE viewname = 'Odd; \"name\"'")" \
	'privacy_anon.Odd; "name" privacy_full.Odd; "name" privacy_optout_automated_decision.Odd; "name" privacy_optout_direct_marketing.Odd; "name" privacy_optout_third_party_disclosure.Odd; "name" privacy_standard.Odd; "name"' \
	"... adopts it and builds the table's views"
q postgres "DROP DATABASE IF EXISTS $dst3" >/dev/null

# A restore that leaves a subject table out (pg_restore -L) keeps every
# choice: those of the tables restored apply to them, the others wait under
# their table's name (on the old code the whole COPY of the choices failed
# on the missing table's name).
q postgres "DROP DATABASE IF EXISTS $dst3" >/dev/null
q postgres "CREATE DATABASE $dst3" >/dev/null
"$PGBIN/pg_restore" -l "$dump" | grep -v ' z_customer ' >"$CRM_TMP/$src.list"
PGOPTIONS="$restore_opts" "$PGBIN/pg_restore" -d "$dst3" -L "$CRM_TMP/$src.list" "$dump" >/dev/null 2>&1
is "$(q "$dst3" "SELECT string_agg(concat_ws(' ', coalesce(subject::text, '-'), subject_name, key, purpose), ', '
                   ORDER BY subject_name, key, purpose) FROM privacy.choices")" \
	'"Odd; ""name""" public."Odd; ""name""" 7 direct_marketing, - public.z_customer 1 direct_marketing, - public.z_customer 2 newsletter' \
	"a restore without one subject table keeps every choice; its own wait"
q postgres "DROP DATABASE IF EXISTS $dst3" >/dev/null

# pg_restore --clean over an existing copy drops and recreates everything.
out=$(PGOPTIONS="$restore_opts" "$PGBIN/pg_restore" -d "$dst2" --clean --if-exists --exit-on-error "$dump" 2>&1)
ok $? "pg_restore --clean over an existing copy"
[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'

for db in $src $dst $dst2; do q postgres "DROP DATABASE IF EXISTS $db" >/dev/null; done
done_testing
