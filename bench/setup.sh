#!/usr/bin/env bash
# bench/setup.sh -- label the generated CRM for the benchmarks.
#
#   bash bench/setup.sh DBNAME
#
# DBNAME holds the generated CRM (bench/crm_data.sql) with crm_privacy
# installed.  Labels it (bench/crm_labels.sql), opts 10 % of the customers out
# of direct marketing and 2 % out of sensitive data, makes the disclosure
# profile bench_partner, and makes two reader roles, both allowed to COPY to
# a server file (COPY ... TO '/dev/null'):
#   crm_bench_reader        public clearance; every kind of view of the CRM
#   crm_bench_confidential  confidential clearance; the standard views
# Both may also read public.customer.  Run again, it starts over (the
# choices and the profile are made anew).  Used by bench/views.sh and
# bench/bi.sh.
set -euo pipefail
db=$1
here=$(cd "$(dirname "$0")" && pwd)

psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'EOF' >/dev/null
SET client_min_messages = warning;
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crm_bench_reader') THEN
        CREATE ROLE crm_bench_reader LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crm_bench_confidential') THEN
        CREATE ROLE crm_bench_confidential LOGIN;
    END IF;
END $$;
GRANT pg_write_server_files TO crm_bench_reader, crm_bench_confidential;
GRANT SELECT ON public.customer TO crm_bench_reader, crm_bench_confidential;
SELECT privacy.set_clearance('crm_bench_confidential', 'confidential');
EOF
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$here/crm_labels.sql" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'EOF' >/dev/null
SET client_min_messages = warning;
DELETE FROM privacy.subject_choices;
DELETE FROM privacy.disclosure_profiles WHERE name = 'bench_partner';
-- in bulk, as privacy.opt_out() records each one (without its history)
INSERT INTO privacy.subject_choices (subject, subject_name, key, purpose, opted_out, source,
                                     table_owner, key_column)
SELECT 'public.customer'::regclass, 'public.customer', customer_id::text, p.purpose, true, 'bench',
       (SELECT relowner FROM pg_class WHERE oid = 'public.customer'::regclass), 'customer_id'
  FROM public.customer,
       (VALUES ('direct_marketing', 10, 3), ('sensitive_data', 50, 7)) AS p(purpose, modulus, rest)
 WHERE customer_id % p.modulus = p.rest;
SELECT privacy.create_disclosure('bench_partner');
SELECT privacy.disclose('bench_partner', 'public.customer', 'customer_id', 'keep');
SELECT privacy.disclose('bench_partner', 'public.customer', 'email', 'pseudonym');
SELECT privacy.disclose('bench_partner', 'public.customer', 'birth_date', 'generalize(year)');
SELECT privacy.disclose('bench_partner', 'public.customer', 'city', 'keep');
SELECT privacy.disclose('bench_partner', 'public.customer', 'income', 'generalize(10000)');
SELECT privacy.grant_access('crm_bench_reader', kind, name)
  FROM (VALUES ('standard', NULL), ('full', NULL), ('anon', NULL),
               ('optout', 'direct_marketing'), ('disclose', 'bench_partner')) AS g(kind, name);
SELECT privacy.grant_access('crm_bench_confidential', 'standard');
ANALYZE privacy.subject_choices;
EOF
