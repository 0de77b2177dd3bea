--
-- labels: the crm_privacy label provider, run as superuser.
-- Every valid form of column, table, schema and role label, and a long list
-- of invalid ones, each refused with SQLSTATE 22023 and a message that quotes
-- the label and names the offending word.
--

-- try_label runs one SECURITY LABEL command and reports what happened.
CREATE FUNCTION try_label(target text, label text,
                          OUT state text, OUT message text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SECURITY LABEL FOR crm_privacy ON %s IS %L', target, label);
    state := 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            hint = PG_EXCEPTION_HINT;
END $$;

CREATE DOMAIN email_address AS text CHECK (VALUE LIKE '%@%');
CREATE TABLE customer (
    customer_id bigint PRIMARY KEY,
    full_name   text,
    email       varchar(100),
    mobile      char(11),
    id_number   text,
    birth_date  date,
    signup_at   timestamp,
    last_seen   timestamptz,
    zip         text,
    city        text,
    income      numeric(12,2),
    score       float8,
    points      integer,
    age         smallint,
    religion    text,
    tags        text[],
    photo       bytea,
    contact     email_address,
    notes       text
);
CREATE TABLE orders (order_id bigint, customer_id bigint, amount numeric, note text);
CREATE TABLE unlabelled (x int);
CREATE TABLE text_keyed (customer_ref text);

-- A trusted schema of custom masking functions, and an untrusted one.
CREATE SCHEMA trusted_masks;
CREATE FUNCTION trusted_masks.shout(text) RETURNS text
    LANGUAGE sql IMMUTABLE AS 'SELECT upper($1)';
CREATE FUNCTION trusted_masks.to_int(text) RETURNS int
    LANGUAGE sql IMMUTABLE AS 'SELECT 0';
CREATE FUNCTION trusted_masks.many(text) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE AS 'SELECT $1';
CREATE FUNCTION trusted_masks.hide_domain(email_address) RETURNS email_address
    LANGUAGE sql IMMUTABLE AS 'SELECT ''x@x''::email_address';
CREATE SCHEMA untrusted_masks;
CREATE FUNCTION untrusted_masks.shout(text) RETURNS text
    LANGUAGE sql IMMUTABLE AS 'SELECT upper($1)';
SECURITY LABEL FOR crm_privacy ON SCHEMA trusted_masks IS 'trusted';

--
-- Valid column labels.  Defaults of each class are filled in.
--
SELECT c AS "column", l AS label, r.state, r.message
  FROM (VALUES
    ('customer_id', 'public'),
    ('full_name',   'identifier mask=name'),
    ('email',       'identifier level=confidential mask=email anon=pseudonym'),
    ('mobile',      'IDENTIFIER MASK=PHONE ANON=Pseudonym'),
    ('id_number',   E'identifier\tlevel=secret\nmask=cn_id  anon=null'),
    ('birth_date',  'quasi_identifier anon=generalize(year) mask=noise(30 days)'),
    ('signup_at',   'personal mask=generalize(month) anon=noise(2 week)'),
    ('last_seen',   'personal mask=noise(1 year) anon=generalize(decade)'),
    ('zip',         'quasi_identifier mask=partial(3,0) anon=partial( 2 , 0 )'),
    ('city',        'quasi_identifier level=public mask=keep anon=keep'),
    ('income',      'personal level=confidential mask=generalize(1000.50) anon=noise(0.1)'),
    ('score',       'personal anon=generalize(0.5) mask=noise(1)'),
    ('points',      'personal mask=generalize(100) anon=pseudonym'),
    ('age',         'personal anon=generalize(10) mask=noise(0)'),
    ('religion',    'sensitive'),
    ('tags',        'personal mask=null anon=keep'),
    ('photo',       'sensitive level=secret'),
    ('contact',     'identifier mask=fn(trusted_masks.hide_domain) anon=email'),
    ('notes',       'personal mask=fn(trusted_masks.shout) anon=fn("trusted_masks"."shout")')
  ) AS v(c, l),
  LATERAL try_label('COLUMN customer.' || quote_ident(c), l) r;

SELECT "column", class, level, mask, anon
  FROM privacy.labels WHERE "table" = 'customer' AND "column" IS NOT NULL
 ORDER BY "column";

--
-- Invalid column labels: SQLSTATE 22023, the label quoted, the word named.
--
SELECT c AS "column", left(l, 60) AS label, r.state, r.message
  FROM (VALUES
    -- empty and missing parts
    ('full_name', ''),
    ('full_name', '   '),
    ('full_name', 'level=secret'),
    ('full_name', 'identifier level='),
    ('full_name', 'identifier mask=partial()'),
    -- unknown and duplicate words
    ('full_name', 'secret'),
    ('full_name', 'Identifier sensitive'),
    ('full_name', 'identifier identifier'),
    ('full_name', 'identifier level=top'),
    ('full_name', 'identifier level=secret level=public'),
    ('full_name', 'identifier mask=email mask=name'),
    ('full_name', 'identifier anon=null anon=null'),
    ('full_name', 'identifier level = secret'),
    ('full_name', 'identifier colour=red'),
    ('full_name', 'identifier mask=nul'),
    ('full_name', 'identifier mask=email()'),
    ('full_name', 'subject key=customer_id'),
    ('full_name', '身份 level=secret'),
    ('full_name', 'identifier mask=邮件'),
    -- bad numbers
    ('full_name', 'identifier mask=partial(3)'),
    ('full_name', 'identifier mask=partial(-1,2)'),
    ('full_name', 'identifier mask=partial(3,4,5)'),
    ('full_name', 'identifier mask=partial(a,b)'),
    ('full_name', 'identifier mask=partial(9999999999,1)'),
    ('full_name', 'identifier mask=partial(+3,4)'),
    ('income',    'personal anon=generalize(0)'),
    ('income',    'personal anon=generalize(0.000)'),
    ('income',    'personal anon=generalize(-5)'),
    ('income',    'personal anon=generalize(1e3)'),
    ('income',    'personal anon=generalize(10.)'),
    ('income',    'personal anon=noise(1.5)'),
    ('income',    'personal anon=noise(-0.1)'),
    ('income',    'personal anon=noise(1e-3)'),
    ('birth_date','personal anon=generalize(century)'),
    ('birth_date','personal anon=noise(3 fortnights)'),
    ('birth_date','personal anon=noise(-3 days)'),
    ('birth_date','personal anon=noise(days 3)'),
    -- parentheses, quotes, semicolons, comments, smuggled SQL
    ('full_name', 'identifier mask=partial(3,4'),
    ('full_name', 'identifier mask=partial3,4)'),
    ('full_name', 'identifier mask=partial(3,4)x'),
    ('full_name', 'identifier mask=partial((3),4)'),
    ('full_name', 'identifier mask=''email'''),
    ('full_name', 'identifier mask="email"'),
    ('full_name', 'identifier mask=fn("trusted_masks.shout)'),
    ('full_name', 'identifier; DROP TABLE customer'),
    ('full_name', 'identifier mask=email; DROP TABLE customer; --'),
    ('full_name', 'identifier -- comment'),
    ('full_name', 'identifier /* comment */'),
    ('full_name', 'identifier mask=fn(trusted_masks.shout);SELECT'),
    ('full_name', 'identifier mask=fn(trusted_masks.shout) OR 1=1'),
    ('full_name', 'identifier mask=$$email$$'),
    ('full_name', E'identifier mask=email\\'),
    -- functions: untrusted, missing, unqualified, wrong signature
    ('full_name', 'identifier mask=fn(untrusted_masks.shout)'),
    ('full_name', 'identifier mask=fn(public.shout)'),
    ('full_name', 'identifier mask=fn(pg_catalog.upper)'),
    ('full_name', 'identifier mask=fn(no_such_schema.f)'),
    ('full_name', 'identifier mask=fn(trusted_masks.nope)'),
    ('full_name', 'identifier mask=fn(shout)'),
    ('full_name', 'identifier mask=fn(a.b.c)'),
    ('full_name', 'identifier mask=fn(trusted_masks.to_int)'),
    ('full_name', 'identifier mask=fn(trusted_masks.many)'),
    ('full_name', 'identifier mask=fn(privacy.parse_label)'),
    ('points',    'personal mask=fn(trusted_masks.shout)'),
    ('contact',   'identifier mask=fn(trusted_masks.shout)'),
    -- rules that do not fit the column type
    ('birth_date','personal anon=pseudonym'),
    ('full_name', 'personal mask=generalize(10)'),
    ('points',    'quasi_identifier anon=generalize(year)'),
    ('points',    'personal anon=generalize(2.5)'),
    ('age',       'personal anon=generalize(40000)'),
    ('customer_id','personal anon=generalize(99999999999999999999)'),
    ('birth_date','personal anon=noise(0.1)'),
    ('income',    'personal anon=noise(30 days)'),
    ('points',    'identifier mask=email'),
    ('tags',      'identifier mask=partial(1,1)'),
    ('photo',     'identifier anon=pseudonym'),
    ('age',       'identifier anon=pseudonym'),
    ('score',     'personal mask=partial(1,1)')
  ) AS v(c, l),
  LATERAL try_label('COLUMN customer.' || quote_ident(c), l) r;

-- The hints list what is valid.
SELECT DISTINCT r.hint
  FROM (VALUES ('identifier colour=red'), ('identifier level=top'), ('identifier mask=nul'),
               ('level=secret'), ('personal mask=generalize(10)')) AS v(l),
  LATERAL try_label('COLUMN customer.full_name', l) r
 ORDER BY 1;

-- As psql shows them: message, detail and hint.
SECURITY LABEL FOR crm_privacy ON COLUMN customer.full_name IS 'identifier mask=partial(3)';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.birth_date IS 'identifier mask=email';

-- Huge labels are refused without being quoted whole.
SELECT r.state, r.message, r.hint
  FROM LATERAL try_label('COLUMN customer.full_name', repeat('identifier ', 10000)) r;
SELECT r.state, length(r.message) < 300 AS short_message
  FROM LATERAL try_label('COLUMN customer.full_name', 'identifier mask=' || repeat('长', 40000)) r;

-- Nothing was half-written: every column keeps its valid label.
SELECT count(*) AS labelled_columns FROM pg_seclabels
 WHERE provider = 'crm_privacy' AND objtype = 'column' AND objname LIKE 'customer.%';
SELECT label FROM pg_seclabels WHERE provider = 'crm_privacy' AND objname = 'customer.full_name';

-- 1024 bytes is the limit.
SELECT r.state, r.message
  FROM LATERAL try_label('COLUMN customer.full_name', 'identifier ' || repeat(' ', 1014)) r;
SELECT r.state, r.message
  FROM LATERAL try_label('COLUMN customer.full_name', 'identifier ' || repeat(' ', 1013)) r;
SELECT length(label) FROM pg_seclabels WHERE provider = 'crm_privacy' AND objname = 'customer.full_name';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.full_name IS 'identifier mask=name';

--
-- Table labels.
--
SELECT t AS "table", l AS label, r.state, r.message
  FROM (VALUES
    ('orders',     'related subject=public.customer key=customer_id'),
    ('customer',   'subject key=customer_id'),
    ('customer',   '  SUBJECT   K=2 KEY=Customer_ID '),
    ('customer',   'subject key=customer_id k=5'),
    ('orders',     'related subject=public.customer key=customer_id'),
    ('orders',     'related key=customer_id subject=public.customer k=3'),
    ('orders',     'related subject="public"."customer" key="customer_id"')
  ) AS v(t, l),
  LATERAL try_label('TABLE ' || t, l) r;

SELECT t AS "table", left(l, 60) AS label, r.state, r.message
  FROM (VALUES
    ('orders',     ''),
    ('orders',     'subject'),
    ('orders',     'related subject=public.customer'),
    ('orders',     'key=customer_id'),
    ('orders',     'identifier'),
    ('orders',     'subject related key=customer_id'),
    ('orders',     'subject key=customer_id key=order_id'),
    ('orders',     'subject key=nope'),
    ('orders',     'subject key=ctid'),
    ('orders',     'subject key=a.b'),
    ('orders',     'subject key=customer_id k=1'),
    ('orders',     'subject key=customer_id k=-3'),
    ('orders',     'subject key=customer_id k=abc'),
    ('orders',     'subject key=customer_id k=2 k=3'),
    ('orders',     'subject key=customer_id subject=public.customer'),
    ('orders',     'subject key=customer_id level=secret'),
    ('orders',     'related key=customer_id'),
    ('orders',     'related subject=customer key=customer_id'),
    ('orders',     'related subject=public.nope key=customer_id'),
    ('orders',     'related subject=nope.customer key=customer_id'),
    ('orders',     'related subject=public.orders key=customer_id'),
    ('orders',     'related subject=public.unlabelled key=customer_id'),
    ('orders',     'related subject=public.customer key=customer_id; DROP TABLE x'),
    ('text_keyed', 'related subject=public.customer key=customer_ref')
  ) AS v(t, l),
  LATERAL try_label('TABLE ' || t, l) r;

-- A subject table cannot lose its label while tables are related to it.
SECURITY LABEL FOR crm_privacy ON TABLE customer IS NULL;
SECURITY LABEL FOR crm_privacy ON TABLE customer IS 'related subject=public.orders key=customer_id';
SECURITY LABEL FOR crm_privacy ON TABLE customer IS 'subject key=customer_id k=3';

SELECT "table", class, label FROM privacy.labels WHERE "column" IS NULL ORDER BY 1;

--
-- Schema labels: only "trusted".
--
SELECT l AS label, r.state, r.message
  FROM (VALUES ('trusted'), (' TRUSTED '), (''), ('untrusted'), ('trusted extra'),
               ('trusted=yes'), ('clearance=secret')) AS v(l),
  LATERAL try_label('SCHEMA untrusted_masks', l) r;
SECURITY LABEL FOR crm_privacy ON SCHEMA untrusted_masks IS NULL;

--
-- Role labels: clearance=LEVEL.
--
CREATE ROLE regress_crm_clerk;
SELECT l AS label, r.state, r.message
  FROM (VALUES ('clearance=internal'), ('clearance=SECRET'), ('clearance'), ('clearance='),
               ('clearance=top'), ('clearance=secret level=public'), ('secret'),
               ('clearance=secret clearance=public'), ('')) AS v(l),
  LATERAL try_label('ROLE regress_crm_clerk', l) r;
SELECT label FROM pg_seclabels WHERE provider = 'crm_privacy' AND objtype = 'role'
   AND objname = 'regress_crm_clerk';

--
-- Objects that take no crm_privacy label.
--
CREATE VIEW customer_view AS SELECT customer_id FROM customer;
CREATE SEQUENCE some_seq;
SELECT t AS target, r.state, r.message
  FROM (VALUES ('VIEW customer_view'), ('COLUMN customer_view.customer_id'),
               ('SEQUENCE some_seq'), ('FUNCTION try_label(text, text)'),
               ('DATABASE ' || quote_ident(current_database())),
               ('DOMAIN email_address')) AS v(t),
  LATERAL try_label(t, 'public') r;

--
-- The SQL wrappers.
--
SELECT privacy.label_column('customer', 'notes', 'personal mask=partial(2,2)');
SELECT privacy.label_table('customer', 'subject key=customer_id k=10');
SELECT privacy.set_clearance('regress_crm_clerk', 'Confidential');
SELECT objtype, objname, label FROM pg_seclabels
 WHERE provider = 'crm_privacy'
   AND objname IN ('customer.notes', 'customer', 'regress_crm_clerk')
 ORDER BY 1, 2;
-- NULL removes a label.
SELECT privacy.label_column('customer', 'notes', NULL);
SELECT privacy.set_clearance('regress_crm_clerk', NULL);
SELECT count(*) FROM pg_seclabels
 WHERE provider = 'crm_privacy' AND objname IN ('customer.notes', 'regress_crm_clerk');
-- Bad arguments.
SELECT privacy.label_column('customer', 'notes', 'identifier mask=bogus');
SELECT privacy.label_column('customer', 'no_such_column', 'public');
SELECT privacy.label_column('customer', NULL, 'public');
SELECT privacy.label_column(NULL, 'notes', 'public');
SELECT privacy.label_column('no_such_table', 'notes', 'public');
SELECT privacy.label_table('customer', 'subject key=nope');
SELECT privacy.set_clearance('regress_crm_clerk', 'top secret');
SELECT privacy.set_clearance('regress_crm_clerk', 'top');
SELECT privacy.set_clearance(NULL, 'secret');
SELECT privacy.set_clearance('no_such_role', 'secret');

--
-- privacy.parse_label: parts of a label; NULL is an unlabelled column.
--
SELECT * FROM privacy.parse_label(NULL);
SELECT * FROM privacy.parse_label('sensitive');
SELECT * FROM privacy.parse_label('public level=secret');
SELECT * FROM privacy.parse_label('related subject="My Schema"."客户" key="Key" k=7');
SELECT * FROM privacy.parse_label('subject key=id');
SELECT * FROM privacy.parse_label('identifier mask=fn("My Schema".f)');
SELECT * FROM privacy.parse_label('bogus');

--
-- Labels follow renames and vanish with dropped columns and tables.
--
ALTER TABLE customer RENAME COLUMN full_name TO name;
SELECT "table", "column", label FROM privacy.labels WHERE "column" = 'name';
ALTER TABLE customer DROP COLUMN religion;
SELECT count(*) FROM privacy.labels WHERE "column" = 'religion';
SELECT count(*) FROM pg_seclabel WHERE provider = 'crm_privacy' AND objoid = 'customer'::regclass;

-- Labels that name other objects are rewritten when those are renamed or moved:
-- the key column, the subject table (rename, SET SCHEMA, schema rename) and
-- fn() functions (rename, SET SCHEMA, schema rename).
SECURITY LABEL FOR crm_privacy ON COLUMN customer.notes IS 'personal mask=fn(trusted_masks.shout)';
ALTER TABLE customer RENAME COLUMN customer_id TO client_id;
ALTER TABLE customer RENAME TO client;
SELECT "table", label FROM privacy.labels WHERE "column" IS NULL ORDER BY 1;
CREATE SCHEMA crm;
ALTER TABLE client SET SCHEMA crm;
ALTER SCHEMA crm RENAME TO crm2;
SELECT schema, "table", label FROM privacy.labels WHERE "column" IS NULL ORDER BY 2;
ALTER FUNCTION trusted_masks.shout(text) RENAME TO yell;
ALTER SCHEMA trusted_masks RENAME TO masks;
SELECT "column", mask, anon, label FROM privacy.labels WHERE "column" IN ('notes', 'contact') ORDER BY 1;
-- Moving a function out of the trusted schema, or untrusting it, is refused.
ALTER FUNCTION masks.yell(text) SET SCHEMA untrusted_masks;
SECURITY LABEL FOR crm_privacy ON SCHEMA masks IS NULL;
-- Renaming an unrelated function of the same name but another signature
-- leaves the labels alone.
CREATE FUNCTION masks.yell(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 0';
ALTER FUNCTION masks.yell(int) RENAME TO whisper;
SELECT "column", mask FROM privacy.labels WHERE "column" = 'notes';

-- DDL that would break a label is refused, and nothing changes.
ALTER TABLE crm2.client DROP COLUMN client_id CASCADE;
DROP TABLE crm2.client CASCADE;
DROP FUNCTION masks.yell(text);
ALTER TABLE crm2.client ALTER COLUMN email TYPE int USING 0;
ALTER TABLE orders ALTER COLUMN customer_id TYPE text;
SELECT count(*) FROM pg_seclabel WHERE provider = 'crm_privacy';
-- Retyping within what the rule fits is fine.
ALTER TABLE crm2.client ALTER COLUMN email TYPE text;
-- Dropping the related table first, then the subject, is fine.
DROP VIEW customer_view;
DROP TABLE orders;
DROP TABLE crm2.client;
SELECT count(*) FROM pg_seclabel WHERE provider = 'crm_privacy' AND classoid = 'pg_class'::regclass;

-- Unlabelled columns of labelled tables appear with privacy-by-default labels.
CREATE TABLE person (person_id int PRIMARY KEY, marketing_notes text);
CREATE TABLE visit (person_id int, visited_at date);
SECURITY LABEL FOR crm_privacy ON TABLE person IS 'subject key=person_id';
SECURITY LABEL FOR crm_privacy ON TABLE visit IS 'related subject=public.person key=person_id';
SELECT "table", "column", class, level, mask, anon, label
  FROM privacy.labels WHERE "table" IN ('person', 'visit') ORDER BY 1, 2;
-- A subject and its related table dropped together is fine.
DROP TABLE person, visit;
DROP SCHEMA crm2;

--
-- Names with quotes, spaces, semicolons and Unicode.
--
CREATE SCHEMA "crm; data";
CREATE TABLE "crm; data"."客户 ""VIP""" ("客户号" bigint PRIMARY KEY, "e-mail; x" text);
CREATE TABLE "crm; data"."订单" ("客户号" bigint, "金额" numeric);
SECURITY LABEL FOR crm_privacy ON TABLE "crm; data"."客户 ""VIP""" IS 'subject key="客户号"';
SECURITY LABEL FOR crm_privacy ON TABLE "crm; data"."订单"
    IS 'related subject="crm; data"."客户 ""VIP""" key="客户号"';
SECURITY LABEL FOR crm_privacy ON COLUMN "crm; data"."客户 ""VIP"""."e-mail; x" IS 'identifier mask=email';
SELECT privacy.label_column('"crm; data"."订单"', '金额', 'personal level=confidential anon=generalize(100)');
SELECT schema, "table", "column", class, mask, label FROM privacy.labels
 WHERE schema = 'crm; data' ORDER BY 2, 3;
DROP SCHEMA "crm; data" CASCADE;

DROP ROLE regress_crm_clerk;
