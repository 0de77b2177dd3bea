#!/usr/bin/env bash
# bench/anonymizer.sh -- put PostgreSQL Anonymizer beside crm_privacy in the
# BI benchmark, when the server has it.
#
#   bash bench/anonymizer.sh DBNAME
#
# PostgreSQL Anonymizer (the extension "anon", version 1.x: SQL masking
# functions and masking views in a schema "mask") is not packaged by Debian,
# so nothing here installs it: if the server offers it (pg_available_extensions)
# this script creates it in DBNAME, declares masking rules that match what
# crm_privacy's standard views show a PUBLIC-clearance reader of the
# generated CRM (bench/crm_labels.sql), and starts its dynamic masking, which
# makes mask.customer and mask.orders.  bench/bi.sh then times every query
# and the full reads through those views too (search_path = mask, public) in
# the same rounds, and prints them beside crm_privacy's.  Without "anon" it
# says so and exits 0: bench/bi.sh runs without the extra columns.
#
# The rules (crm_privacy's public-clearance view in brackets):
#   full_name   first character, then ** [mask_name: the surname]
#   birth_date  1 January of its year [generalize(year)]
#   mobile      first 3 and last 4 characters [mask_phone: the same for mobiles]
#   email       anon.partial_email [mask_email]
#   id_number   first 6 and last 4 characters [mask_cn_id: the same]
#   zip         first 3 characters, then *** [partial(3,0)]
#   income, ethnicity, religion, marketing_notes   NULL [NULL]
#   orders.shipping_address   first 2 characters, then ****** [partial(2,0)]
set -euo pipefail
db=$1
sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

if [ "$(sql -At -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'anon'")" != 1 ]; then
	echo "bench/anonymizer.sh: PostgreSQL Anonymizer (extension anon) is not installed on this server: not measured"
	exit 0
fi
sql <<'EOF' >/dev/null
SET client_min_messages = warning;
LOAD 'anon';    -- its label provider
CREATE EXTENSION IF NOT EXISTS anon CASCADE;
-- its rules may call functions of trusted schemas only
SECURITY LABEL FOR anon ON SCHEMA pg_catalog IS 'TRUSTED';
SECURITY LABEL FOR anon ON COLUMN public.customer.full_name IS 'MASKED WITH FUNCTION anon.partial(full_name, 1, $$**$$, 0)';
SECURITY LABEL FOR anon ON COLUMN public.customer.birth_date IS 'MASKED WITH FUNCTION pg_catalog.date(pg_catalog.date_trunc($$year$$, birth_date))';
SECURITY LABEL FOR anon ON COLUMN public.customer.mobile IS 'MASKED WITH FUNCTION anon.partial(mobile, 3, $$****$$, 4)';
SECURITY LABEL FOR anon ON COLUMN public.customer.email IS 'MASKED WITH FUNCTION anon.partial_email(email)';
SECURITY LABEL FOR anon ON COLUMN public.customer.id_number IS 'MASKED WITH FUNCTION anon.partial(id_number, 6, $$********$$, 4)';
SECURITY LABEL FOR anon ON COLUMN public.customer.zip IS 'MASKED WITH FUNCTION anon.partial(zip, 3, $$***$$, 0)';
SECURITY LABEL FOR anon ON COLUMN public.customer.income IS 'MASKED WITH VALUE NULL';
SECURITY LABEL FOR anon ON COLUMN public.customer.ethnicity IS 'MASKED WITH VALUE NULL';
SECURITY LABEL FOR anon ON COLUMN public.customer.religion IS 'MASKED WITH VALUE NULL';
SECURITY LABEL FOR anon ON COLUMN public.customer.marketing_notes IS 'MASKED WITH VALUE NULL';
SECURITY LABEL FOR anon ON COLUMN public.orders.shipping_address IS 'MASKED WITH FUNCTION anon.partial(shipping_address, 2, $$******$$, 0)';
SELECT anon.start_dynamic_masking(false);
EOF
echo "PostgreSQL Anonymizer $(sql -At -c "SELECT extversion FROM pg_extension WHERE extname = 'anon'"): masking views mask.customer and mask.orders ready"
