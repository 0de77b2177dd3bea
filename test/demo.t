#!/usr/bin/env bash
# The demo (doc/demo.sql) runs to the end on 1,000 customers, and the rows
# it prints show what its sections claim: religion in clear for the officer
# only, opted-out subjects absent from the disclosure view, every check of
# check_setup() explained and the warnings acted on.  (The demo reads the
# full views, which need the library preloaded.)
. "$(dirname "$0")/tap.sh"

[ "$CRM_PRELOAD" = on ] || skip_all "the demo reads the full views: run with the library preloaded"

roles="crm_intern crm_clerk crm_analyst crm_officer crm_cpo crm_provisioner"
cleanup() {
	q postgres "DROP DATABASE IF EXISTS crm_demo_t" >/dev/null
	for r in $roles; do q postgres "DROP ROLE IF EXISTS $r" >/dev/null; done
}
cleanup
q postgres "CREATE DATABASE crm_demo_t" >/dev/null

plan 12
out=$(psql -X -v ON_ERROR_STOP=1 -v rows=1000 -d crm_demo_t -f "$(dirname "$0")/../doc/demo.sql" 2>&1)
ok $? "the demo runs to the end"

# Section 5: each refused label says its SQLSTATE.
is "$(printf '%s\n' "$out" | grep -c '^=> SQLSTATE 22023$')" "4" "the four bad labels fail with SQLSTATE 22023"

# Section 9, side by side: religion in clear for the secret clearance only,
# and not for customer 3, who opted out of the use of sensitive data.
row() { printf '%s\n' "$out" | grep -E "^ +$1 \| $2 " | sed 's/ *| */|/g; s/^ *//; s/ *$//'; }
is "$(row 4 secret)" "4|secret|梁军|120101200104302704|2001-04-30|81271.00|伊斯兰教" \
	"the officer (secret) reads customer 4's religion in clear"
is "$(row 4 confidential | cut -d'|' -f7)" "(null)" "a confidential reader does not"
is "$(row 4 public)" "4|public|梁*|120101********2704|2001-01-01|(null)|(null)" \
	"a public reader sees customer 4 masked"
is "$(row 3 secret | cut -d'|' -f7)|$(row 3 '\(table\)' | cut -d'|' -f7)" "(null)|天主教" \
	"customer 3 opted out of sensitive data: NULL for the officer, though the table has it"

# Section 9, disclosure: customer 4 opted out of third-party disclosure.
like "$out" 'customers who opted out +\| +1 \| +0' "the opted-out customer is in the table, not in the disclosure view"
like "$out" 'orders of customers who opted out +\| +[1-9][0-9]* \| +0' "nor are their orders"
is "$(printf '%s\n' "$out" | grep -A4 '^ WHERE customer_id IN (SELECT key::bigint' | tail -n 1)" "(0 rows)" \
	"the disclosure view queried for the opted-out keys returns no row"

# Section 9, anonymous view: 1,000 customers, some suppressed, k >= 5.
like "$out" ' 1000 \| +[0-9]+ \| +[1-9][0-9]* \| +([5-9]|[1-9][0-9]+) *$' "the anonymous view leaves out small classes"

# Section 15: every check of check_setup() is explained, and after the
# two fixes only the deliberate warning is left.
checks=$(q crm_demo_t "SELECT \"check\" FROM privacy.check_setup()")
missing=""
while IFS= read -r c; do
	printf '%s\n' "$out" | grep -qF "  ${c:0:16}" || missing+="$c; "
done <<<"$checks"
is "$missing" "" "the demo explains every check of check_setup()"
is "$(printf '%s\n' "$out" | sed -n '/^Acting on the two warnings/,/^== 16/p' | grep -E '^ [a-z].*\| [tf] +\|' | sed 's/ *|.*//; s/^ //')" \
	"no unlabelled columns" "after the fixes, only the deliberate warning is left"

cleanup
done_testing
