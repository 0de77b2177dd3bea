#!/usr/bin/env bash
# Database encodings.  The masks and checks give the same character-wise
# results in UTF8, EUC_CN and single-byte (LATIN1, WIN1258) databases;
# CREATE EXTENSION refuses any other encoding (EUC_JP, SQL_ASCII) with
# SQLSTATE 0A000 before creating anything; labels, views and detect() work
# with Chinese table and column names in EUC_CN; the install script reads the
# same in every encoding.
. "$(dirname "$0")/tap.sh"

# psql speaks UTF-8 here and converts to and from each database's encoding,
# so every expected value below is written in UTF-8.
export PGCLIENTENCODING=UTF8

utf8=crm_enc_utf8_$CRM_PRELOAD
euc_cn=crm_enc_euc_cn_$CRM_PRELOAD
latin1=crm_enc_latin1_$CRM_PRELOAD
win1258=crm_enc_win1258_$CRM_PRELOAD
euc_jp=crm_enc_euc_jp_$CRM_PRELOAD
sql_ascii=crm_enc_sql_ascii_$CRM_PRELOAD
reader=crm_enc_reader_$CRM_PRELOAD
all_dbs="$utf8 $euc_cn $latin1 $win1258 $euc_jp $sql_ascii"

# newdb NAME ENCODING
newdb() {
	q postgres "DROP DATABASE IF EXISTS $1" >/dev/null
	q postgres "CREATE DATABASE $1 ENCODING '$2' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" >/dev/null
}

# check DB CASES: CASES has one "expression<TAB>expected result" per line;
# all are evaluated in one query and each is one assertion.
check() {
	local db=$1 cases=$2 sql="" i=0 expr expected got
	local -a exprs=() wants=() gots=()
	while IFS=$'\t' read -r expr expected; do
		[ -z "$expr" ] && continue
		i=$((i + 1))
		exprs+=("$expr"); wants+=("$expected")
		sql+="${sql:+ UNION ALL }SELECT $i, ($expr)::text"
	done <<<"$cases"
	mapfile -t gots < <(q "$db" "SELECT coalesce(r, '<NULL>') FROM ($sql) s(i, r) ORDER BY i")
	for i in "${!exprs[@]}"; do
		got=${gots[$i]-}
		[ ${#gots[@]} -ne ${#exprs[@]} ] && got="${gots[*]}"
		is "$got" "${wants[$i]}" "$db: ${exprs[$i]}"
	done
}

# Results with Han characters (UTF8 and EUC_CN).  Every character here is in
# GB2312; EUC_CN writes the name dot as U+30FB (・): it has no U+00B7.
han_cases="
privacy.mask_partial('13812345678', 3, 4)	138****5678
privacy.mask_partial('张三丰', 1, 0)	张**
privacy.mask_partial('abc', 2, 2)	***
privacy.mask_partial('张三丰', 0, 1, '＊')	＊＊丰
privacy.mask_partial('abc', 1, 0, '丰')	a丰丰
length(privacy.mask_partial('张三丰', 1, 0))	3
privacy.mask_email('zhang.san@example.com')	z***@example.com
privacy.mask_email('not-an-email')	************
privacy.mask_email('张三@例子.中国')	张***@例子.中国
privacy.mask_email('张三丰')	***
privacy.mask_phone('13812345678')	138****5678
privacy.mask_phone('+86 138-1234-5678')	+86 138-****-5678
privacy.mask_phone('010-6552 1234')	***-**** 1234
privacy.mask_phone('１３８１２３４５６７８')	１３８****５６７８
privacy.mask_phone('电话：010-6552 1234')	电话：***-**** 1234
privacy.mask_name('张三丰')	张**
privacy.mask_name('欧阳娜娜')	欧阳**
privacy.mask_name('John Smith')	J*** S****
privacy.mask_name('张')	*
privacy.mask_name('欧阳')	**
privacy.mask_name('司马懿')	司马*
privacy.mask_name('张 三')	张 *
privacy.mask_name('欧阳 娜娜')	欧阳 **
privacy.mask_name('张　三丰')	张　**
privacy.mask_name('欧阳・娜娜')	欧阳・**
privacy.mask_name('阿沛・阿旺晋美')	阿*・****
privacy.mask_name('欧 阳娜娜')	欧 ***
privacy.mask_name('张三 Zhang San')	张* ***** ***
privacy.mask_name('・张  三・')	・张  *・
privacy.mask_cn_id('11010519491231002X')	110105********002X
privacy.mask_cn_id('110105491231002')	110105******002
privacy.mask_cn_id('１１０１０５１９４９１２３１００２Ｘ')	１１０１０５********００２Ｘ
privacy.mask_cn_id('身份证')	***
privacy.mask_card('4111 1111 1111 1111')	**** **** **** 1111
privacy.mask_card('卡号：4111-1111-1111-1111')	卡号：****-****-****-1111
privacy.is_valid_cn_id('11010519491231002X')	true
privacy.is_valid_cn_id('１１０１０５１９４９１２３１００２Ｘ')	false
privacy.luhn_valid('4111 1111 1111 1111')	true
privacy.luhn_valid('4111 1111 1111 111１')	false
privacy.is_cn_mobile('+86 138-1234-5678')	true
privacy.is_cn_mobile('１３８１２３４５６７８')	false
privacy.is_email('zhang.san@example.com')	true
privacy.is_email('张三@例子.中国')	true
privacy.is_email('张三')	false
"

# Results with Latin letters (UTF8 and the single-byte encodings).
latin_cases="
privacy.mask_partial('José', 1, 1)	J**é
privacy.mask_partial('Ångström', 2, 2, '·')	Ån····öm
privacy.mask_partial('ÀÉÎ', 0, 0, 'Ø')	ØØØ
privacy.mask_email('élise@exämple.fr')	é***@exämple.fr
privacy.mask_email('Émile')	*****
privacy.mask_phone('Tél. +33 6 12 34 56 78')	Tél. +** * ** ** 56 78
privacy.mask_name('José García')	J*** G*****
privacy.mask_name('Søren Kierkegaard')	S**** K**********
privacy.mask_name('Ærø-Ødegård')	Æ**-Ø******
privacy.mask_cn_id('ÀÀÀÀÀÀÀÀÀÀÀÀÀÀÀÀÀÀ')	ÀÀÀÀÀÀ********ÀÀÀÀ
privacy.mask_card('Nº 4111 1111 1111 1111')	Nº **** **** **** 1111
privacy.is_valid_cn_id('11010519491231002X')	true
privacy.luhn_valid('4111 1111 1111 1111')	true
privacy.is_cn_mobile('138 1234 5678')	true
privacy.is_email('élise@exämple.fr')	true
privacy.is_email('é lise@x.fr')	false
"

# Combining marks are part of their letter (UTF8 and WIN1258, whose
# Vietnamese tone marks are combining characters).
combining_cases="
privacy.mask_partial(E'Jose\\u0301', 1, 1) = E'J**e\\u0301'	true
privacy.mask_partial(E'e\\u0301', 0, 0, E'a\\u0300') = E'a\\u0300'	true
privacy.mask_name(E'Jose\\u0301 Garci\\u0301a')	J*** G*****
"

newdb "$utf8" UTF8
newdb "$euc_cn" EUC_CN
newdb "$latin1" LATIN1
newdb "$win1258" WIN1258
newdb "$euc_jp" EUC_JP
newdb "$sql_ascii" SQL_ASCII

for db in "$utf8" "$euc_cn" "$latin1" "$win1258"; do
	out=$(q "$db" "CREATE EXTENSION crm_privacy")
	is "$out" "" "CREATE EXTENSION in $(q "$db" "SHOW server_encoding")"
done

# Other encodings are refused first, clearly, and nothing is left behind.
for db in "$euc_jp" "$sql_ascii"; do
	enc=$(q "$db" "SHOW server_encoding")
	out=$(psql -X -q -At -v VERBOSITY=verbose -d "$db" -c "CREATE EXTENSION crm_privacy" 2>&1)
	like "$out" "^ERROR:  0A000: crm_privacy does not support the database encoding \"$enc\"" \
		"$enc: CREATE EXTENSION is refused with SQLSTATE 0A000"
	like "$out" "HINT:  Create the database with ENCODING 'UTF8', 'EUC_CN' or a single-byte encoding \(LATIN1 to LATIN10, " \
		"$enc: the hint names the supported encodings"
	is "$(q "$db" "SELECT count(*) FROM pg_namespace WHERE nspname = 'privacy'")" "0" \
		"$enc: nothing is created"
done

# The install script reads the same in every encoding: function bodies and
# comments are identical (as text) in UTF8, EUC_CN and LATIN1.
catalog="SELECT p.oid::regprocedure::text || ' ' || coalesce(obj_description(p.oid, 'pg_proc'), '') || ' ' || p.prosrc
           FROM pg_proc p WHERE p.pronamespace = 'privacy'::regnamespace ORDER BY 1"
ref=$(q "$utf8" "$catalog" | md5sum)
is "$(q "$euc_cn" "$catalog" | md5sum)" "$ref" "EUC_CN: the extension's functions and comments read as in UTF8"
is "$(q "$latin1" "$catalog" | md5sum)" "$ref" "LATIN1: the extension's functions and comments read as in UTF8"

# The results of doc/functions.md, character by character.
check "$utf8" "$han_cases"
check "$euc_cn" "$han_cases"
check "$utf8" "$latin_cases"
check "$latin1" "$latin_cases"
check "$win1258" "$latin_cases"
check "$utf8" "$combining_cases"
check "$win1258" "$combining_cases"

# The pad is one character of the database encoding.
out=$(psql -X -q -At -v VERBOSITY=verbose -d "$euc_cn" -c "SELECT privacy.mask_partial('abc', 1, 1, '张三')" 2>&1)
like "$out" '^ERROR:  22023: argument "pad" of mask_partial must be exactly one character' \
	"EUC_CN: a two-character pad is refused (22023)"
like "$out" 'DETAIL:  It has 2 characters\.' "EUC_CN: the pad's characters are counted, not its bytes"

# Labels, views and detect() with Chinese names (EUC_CN, and UTF8 to compare).
for db in "$utf8" "$euc_cn"; do
	enc=$(q "$db" "SHOW server_encoding")
	q "$db" "CREATE TABLE 客户 (编号 int PRIMARY KEY, 姓名 text, 手机 text, 备注 text);
	         INSERT INTO 客户 VALUES (1, '欧阳 娜娜', '13812345678', 'x'), (2, '张　三丰', '+86 138-1234-5678', 'y');
	         CREATE TABLE 订单 (单号 int, 编号 int);
	         SELECT privacy.label_table('客户', 'subject key=编号');
	         SELECT privacy.label_column('客户', '编号', 'public');
	         SELECT privacy.label_column('客户', '姓名', 'identifier mask=name anon=partial(1,0)');
	         SELECT privacy.label_column('客户', '手机', 'identifier mask=phone anon=null');
	         SELECT privacy.label_table('订单', 'related subject=public.客户 key=编号')" >/dev/null
	is "$(q "$db" "SELECT \"column\", label FROM privacy.labels WHERE \"table\" = '客户' AND \"column\" IS NOT NULL AND label IS NOT NULL" | LC_ALL=C sort)" \
		"姓名|identifier mask=name anon=partial(1,0)
手机|identifier mask=phone anon=null
编号|public" "$enc: column labels with Chinese column names"
	is "$(q "$db" "SELECT label FROM privacy.labels WHERE \"table\" = '订单' AND \"column\" IS NULL")" \
		"related subject=public.客户 key=编号" "$enc: a table label naming a Chinese table and column"
	out=$(q "$db" "SELECT privacy.label_column('客户', '备注', 'identifier mask=名字')")
	like "$out" 'ERROR:  invalid crm_privacy label "identifier mask=名字": unknown rule "mask=名字"' \
		"$enc: a bad label is quoted whole in the error"
	is "$(q "$db" "SELECT 编号, 姓名, coalesce(手机, '-') FROM privacy_anon.客户 ORDER BY 1")" "1|欧****|-
2|张***|-" "$enc: the anonymous view of a Chinese table"
	q "$db" "DROP ROLE IF EXISTS $reader; CREATE ROLE $reader;
	         SELECT privacy.grant_access('$reader', 'standard')" >/dev/null
	is "$(q "$db" "SET ROLE $reader; SELECT 编号, 姓名, 手机 FROM privacy_standard.客户 ORDER BY 1")" "1|欧阳 **|138****5678
2|张　**|+86 138-****-5678" "$enc: the standard view masks Han names written with separators"
	q "$db" "DROP OWNED BY $reader; DROP ROLE $reader" >/dev/null
	q "$db" "CREATE TABLE 线索 (编号 int, 客户姓名 text, 性别 text, 收入 int, 说明 text);
	         INSERT INTO 线索 VALUES (1, 'x', 'y', 1, 'z')" >/dev/null
	is "$(q "$db" "SELECT \"column\", suggested_label FROM privacy.detect('线索') ORDER BY suggested_label")" \
		"客户姓名|identifier mask=name
收入|personal level=confidential anon=null
性别|quasi_identifier mask=keep anon=keep" "$enc: detect() reads Chinese column names"
done

# In a single-byte database detect() still reads the Latin column names.
q "$latin1" "CREATE TABLE leads (id int, full_name text, gender text)" >/dev/null
is "$(q "$latin1" "SELECT \"column\", suggested_label FROM privacy.detect('leads') ORDER BY 1")" \
	"full_name|identifier mask=name
gender|quasi_identifier mask=keep anon=keep" "LATIN1: detect() reads column names"

# One key, carried by export and import, gives the same pseudonyms in every
# supported encoding (the value is hashed as UTF-8).
key=$(q "$utf8" "SELECT encode(privacy.export_pseudonym_key(), 'hex')")
for db in $euc_cn $latin1; do
	q "$db" "SELECT privacy.import_pseudonym_key(decode('$key', 'hex'))" >/dev/null
done
ref=$(q "$utf8" "SELECT privacy.pseudonym('张三') || privacy.pseudonym('José')")
is "$(q "$euc_cn" "SELECT privacy.pseudonym('张三')")" "${ref:0:16}" "EUC_CN: the same pseudonym of a Han name as in UTF8 under one key"
is "$(q "$latin1" "SELECT privacy.pseudonym('José')")" "${ref:16:16}" "LATIN1: the same pseudonym of an accented name as in UTF8 under one key"

for db in $all_dbs; do q postgres "DROP DATABASE IF EXISTS $db" >/dev/null; done
plan "$TAP_N"
done_testing
