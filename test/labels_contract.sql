-- pgTAP: the label interface of doc/labels.md, as BI tools and applications
-- see it: names, signatures, columns, privileges, SQLSTATEs.
-- Raw SECURITY LABEL needs the library loaded in the session (doc/labels.md).
LOAD 'crm_privacy';
BEGIN;
SELECT plan(38);

-- Schema and wrappers, with the documented signatures (doc/labels.md, "SQL API").
SELECT has_schema('privacy');
SELECT has_function('privacy', 'label_column', ARRAY['regclass', 'name', 'text']);
SELECT has_function('privacy', 'label_table', ARRAY['regclass', 'text']);
SELECT has_function('privacy', 'set_clearance', ARRAY['regrole', 'text']);
SELECT function_returns('privacy', 'label_column', ARRAY['regclass', 'name', 'text'], 'void');
SELECT isnt_definer('privacy', 'label_column', ARRAY['regclass', 'name', 'text']);
SELECT isnt_definer('privacy', 'set_clearance', ARRAY['regrole', 'text']);

-- privacy.labels has exactly the documented columns, in order.
SELECT has_view('privacy', 'labels', 'privacy.labels exists');
SELECT columns_are('privacy', 'labels',
    ARRAY['schema', 'table', 'column', 'class', 'level', 'mask', 'anon', 'label']);
SELECT results_eq(
    $$SELECT attname::text COLLATE "default", format_type(atttypid, atttypmod) FROM pg_attribute
       WHERE attrelid = 'privacy.labels'::regclass AND attnum > 0 ORDER BY attnum$$,
    $$VALUES ('schema', 'name'), ('table', 'name'), ('column', 'name'), ('class', 'text'),
             ('level', 'text'), ('mask', 'text'), ('anon', 'text'), ('label', 'text')$$,
    'privacy.labels column types');
SELECT ok(has_table_privilege('public', 'privacy.labels', 'SELECT'), 'PUBLIC may read privacy.labels');
SELECT ok(NOT has_function_privilege('public', 'privacy.sql_drop()', 'EXECUTE'),
          'PUBLIC may not call the event trigger functions');

-- The examples of doc/labels.md are accepted as written.
CREATE TABLE public.customer (customer_id bigint PRIMARY KEY, email text);
CREATE TABLE public.orders (order_id bigint, customer_id bigint);
CREATE SCHEMA mymasks;
CREATE ROLE tap_analyst;
SELECT lives_ok($$SECURITY LABEL FOR crm_privacy ON COLUMN customer.email IS 'identifier level=confidential mask=email anon=pseudonym'$$,
                'documented example: column label');
SELECT lives_ok($$SECURITY LABEL FOR crm_privacy ON TABLE customer IS 'subject key=customer_id k=5'$$,
                'documented example: subject table label');
SELECT lives_ok($$SECURITY LABEL FOR crm_privacy ON TABLE orders IS 'related subject=public.customer key=customer_id'$$,
                'documented example: related table label');
SELECT lives_ok($$SECURITY LABEL FOR crm_privacy ON SCHEMA mymasks IS 'trusted'$$,
                'documented example: trusted schema (superuser)');
SELECT lives_ok($$SECURITY LABEL FOR crm_privacy ON ROLE tap_analyst IS 'clearance=confidential'$$,
                'documented example: role clearance');

-- Defaults per class (the table of doc/labels.md), through privacy.parse_label.
SELECT results_eq(
    $$SELECT c, p.level, p.mask, p.anon
        FROM unnest(ARRAY['public', 'identifier', 'quasi_identifier', 'personal', 'sensitive']) c,
             LATERAL privacy.parse_label(c) p$$,
    $$VALUES ('public', 'public', 'keep', 'keep'),
             ('identifier', 'confidential', 'null', 'null'),
             ('quasi_identifier', 'internal', 'null', 'null'),
             ('personal', 'internal', 'null', 'keep'),
             ('sensitive', 'secret', 'null', 'null')$$,
    'class defaults are the documented ones');
SELECT results_eq($$SELECT class, level, mask, anon FROM privacy.parse_label(NULL)$$,
                  $$VALUES ('personal', 'internal', 'null', 'null')$$,
                  'an unlabelled column is personal mask=null anon=null');

-- Privacy by default in the view.
ALTER TABLE public.customer ADD COLUMN marketing_notes text;
SELECT results_eq(
    $$SELECT class, mask, anon, label FROM privacy.labels
       WHERE "table" = 'customer' AND "column" = 'marketing_notes'$$,
    $$VALUES ('personal', 'null', 'null', NULL::text)$$,
    'a new unlabelled column of a subject table is hidden by default');

-- Every refusal is SQLSTATE 22023 and quotes the label.
SELECT throws_ok($$SECURITY LABEL FOR crm_privacy ON COLUMN customer.email IS 'identifier mask=bogus'$$,
                 '22023', NULL, 'unknown rule: 22023');
SELECT throws_like($$SECURITY LABEL FOR crm_privacy ON COLUMN customer.email IS 'identifier mask=bogus'$$,
                   '%"identifier mask=bogus"%"mask=bogus"%', 'the message quotes the label and the word');
SELECT throws_ok($$SECURITY LABEL FOR crm_privacy ON COLUMN customer.email IS 'personal anon=generalize(10)'$$,
                 '22023', NULL, 'rule that does not fit the type: 22023');
SELECT throws_like($$SECURITY LABEL FOR crm_privacy ON COLUMN customer.email IS 'personal anon=generalize(10)'$$,
                   '%column "email" of type text%', 'the message names column and type');
SELECT throws_ok($$SECURITY LABEL FOR crm_privacy ON TABLE customer IS 'subject key=customer_id k=1'$$,
                 '22023', NULL, 'k below 2: 22023');
SELECT throws_ok($$SECURITY LABEL FOR crm_privacy ON TABLE orders IS 'related subject=public.nope key=customer_id'$$,
                 '22023', NULL, 'missing subject table: 22023');
SELECT throws_ok($$SECURITY LABEL FOR crm_privacy ON SCHEMA mymasks IS 'trusted please'$$,
                 '22023', NULL, 'bad schema label: 22023');
SELECT throws_ok($$SECURITY LABEL FOR crm_privacy ON ROLE tap_analyst IS 'clearance=top'$$,
                 '22023', NULL, 'bad clearance: 22023');
SELECT throws_ok($$SELECT privacy.set_clearance('tap_analyst', 'top')$$,
                 '22023', NULL, 'set_clearance with a bad level: 22023');
SELECT throws_ok($$SELECT privacy.label_column('customer', 'email', repeat('x', 100000))$$,
                 '22023', NULL, 'a 100 kB label: 22023');
SELECT throws_ok($$SECURITY LABEL FOR crm_privacy ON COLUMN customer.email IS 'identifier mask=fn(public.upper)'$$,
                 '22023', NULL, 'fn() outside a trusted schema: 22023');
SELECT throws_ok($$SELECT privacy.label_column(NULL, 'email', 'public')$$,
                 '22004', NULL, 'NULL table: 22004');
SELECT throws_ok($$SECURITY LABEL FOR crm_privacy ON DATABASE postgres IS 'public'$$,
                 '0A000', NULL, 'labels on databases are not supported: 0A000');

-- A refused label leaves the stored one alone.
SELECT is((SELECT label FROM pg_seclabels WHERE provider = 'crm_privacy' AND objname = 'customer.email'),
          'identifier level=confidential mask=email anon=pseudonym',
          'refusals write nothing');

-- Wrappers and raw commands store the same thing.
SELECT lives_ok($$SELECT privacy.label_column('customer', 'marketing_notes', 'personal mask=partial(2,0)')$$,
                'label_column sets a label');
SELECT is((SELECT label FROM privacy.labels WHERE "column" = 'marketing_notes'),
          'personal mask=partial(2,0)', 'label_column stored it');
SELECT lives_ok($$SELECT privacy.set_clearance('tap_analyst', 'secret')$$, 'set_clearance sets a clearance');
SELECT is((SELECT label FROM pg_seclabels WHERE provider = 'crm_privacy' AND objname = 'tap_analyst'),
          'clearance=secret', 'set_clearance stored clearance=secret');

SELECT * FROM finish();
ROLLBACK;
