-- pgTAP: the audit against hostile table owners, hostile names and values,
-- and readers who try to read a full view unrecorded.
BEGIN;
SELECT plan(27);

CREATE ROLE tap_owner;
CREATE SCHEMA hostile AUTHORIZATION tap_owner;
CREATE TABLE public.leak_log (v text);
GRANT INSERT, SELECT ON public.leak_log TO tap_owner;
CREATE TABLE public.ha (id bigint PRIMARY KEY, "名字" text, "x"";--" text, note text);
ALTER TABLE public.ha OWNER TO tap_owner;
SECURITY LABEL FOR crm_privacy ON TABLE public.ha IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN public.ha.id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN public.ha."名字" IS 'identifier mask=name';
SECURITY LABEL FOR crm_privacy ON COLUMN public.ha."x"";--" IS 'personal';
SECURITY LABEL FOR crm_privacy ON COLUMN public.ha.note IS 'quasi_identifier level=public';
SELECT privacy.enable_audit('public.ha');
-- (for the cascades at the end)
CREATE DOMAIN hostile.dd AS text;
CREATE TABLE hostile.casc (id int PRIMARY KEY, v hostile.dd);
ALTER TABLE hostile.casc OWNER TO tap_owner;
ALTER DOMAIN hostile.dd OWNER TO tap_owner;
SECURITY LABEL FOR crm_privacy ON TABLE hostile.casc IS 'subject key=id';
SELECT privacy.grant_access('tap_owner', 'full');

-- The table owner shadows what the audit trigger could call, and puts its
-- schema before pg_catalog.
SET ROLE tap_owner;
CREATE FUNCTION hostile.jsonb_build_object(VARIADIC text[]) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.leak_log VALUES ('jsonb_build_object'); RETURN '{}'; END $$;
CREATE FUNCTION hostile.pseudonym(text, text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.leak_log VALUES ($1); RETURN $1; END $$;
CREATE FUNCTION hostile.texteq_leak(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.leak_log VALUES ($1); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR hostile.= (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.texteq_leak);
CREATE TABLE hostile.audit_log (txid bigint, session_user_name name, current_user_name name,
    table_name text, op text, subject_key text, changed_columns text[], old_values jsonb, new_values jsonb);
SET search_path = hostile, pg_catalog, public;
INSERT INTO public.ha VALUES (1, '张三丰', 'secret;--', 'Beijing'),
                             (2, repeat('名', 100000), repeat('x', 1000000), NULL);
UPDATE public.ha SET "名字" = '李四' WHERE id = 1;
RESET search_path;
RESET ROLE;

SELECT is((SELECT count(*)::int FROM public.leak_log), 0,
          'no shadowing function or operator of the table owner ran');
SELECT is((SELECT count(*)::int FROM hostile.audit_log), 0, 'the shadowing log got nothing');
SELECT is((SELECT count(*)::int FROM privacy.audit_log
            WHERE table_name = 'public.ha' AND op IN ('INSERT', 'UPDATE', 'DELETE')), 3,
          'the real log got every change');
SELECT is((SELECT new_values->>'名字' FROM privacy.audit_log WHERE table_name = 'public.ha' AND op = 'UPDATE'),
          privacy.pseudonym('李四', 'audit'), 'a multibyte column name, its value a pseudonym');
SELECT is((SELECT old_values->>'名字' FROM privacy.audit_log WHERE table_name = 'public.ha' AND op = 'UPDATE'),
          privacy.pseudonym('张三丰', 'audit'), 'the old value a pseudonym too');
SELECT is((SELECT changed_columns FROM privacy.audit_log WHERE table_name = 'public.ha' AND op = 'UPDATE'),
          ARRAY['名字'], 'only the changed column');
SELECT is((SELECT new_values->>'x";--' FROM privacy.audit_log WHERE table_name = 'public.ha' AND subject_key = '1' AND op = 'INSERT'),
          privacy.pseudonym('secret;--', 'audit'), 'a hostile column name is a plain JSON key');
SELECT is((SELECT new_values->>'note' FROM privacy.audit_log WHERE table_name = 'public.ha' AND subject_key = '1' AND op = 'INSERT'),
          'Beijing', 'a public value in clear');
SELECT ok((SELECT pg_column_size(new_values) < 1000 FROM privacy.audit_log WHERE table_name = 'public.ha' AND subject_key = '2'),
          'huge values (300 kB, 1 MB) are stored as short pseudonyms');
SELECT ok((SELECT new_values ? 'note' AND new_values->'note' = 'null'::jsonb
             FROM privacy.audit_log WHERE table_name = 'public.ha' AND subject_key = '2'),
          'a NULL stays a JSON null');
SELECT is((SELECT count(*)::int FROM privacy.audit_log
            WHERE table_name = 'public.ha' AND (new_values::text LIKE '%张三丰%' OR new_values::text LIKE '%secret%'
                                                  OR old_values::text LIKE '%张三丰%')),
          0, 'no non-public value in clear anywhere in the log');

-- Reading a full view by every route is recorded, once per statement.  The
-- writer commits on its own: rows of earlier runs are skipped.
CREATE TEMP TABLE start AS SELECT coalesce(max(id), 0) AS id FROM privacy.access_log;
GRANT SELECT ON start TO PUBLIC;
CREATE FUNCTION pg_temp.wait_reads(n int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE have int;
BEGIN
    FOR i IN 1..400 LOOP
        SELECT count(*) INTO have FROM privacy.access_log WHERE 'privacy_full.ha' = ANY (relations) AND id > (SELECT id FROM start);
        EXIT WHEN have >= n;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN have;
END $$;
SET ROLE tap_owner;
SET search_path = hostile, pg_catalog, public;
CREATE FUNCTION hostile.inlined() RETURNS SETOF bigint LANGUAGE sql STABLE AS
    'SELECT id FROM privacy_full.ha';
CREATE FUNCTION hostile.plpgsql() RETURNS bigint LANGUAGE plpgsql AS
    'BEGIN RETURN (SELECT count(*) FROM privacy_full.ha); END';
CREATE VIEW hostile.wrapper AS SELECT * FROM privacy_full.ha;
SELECT count(*) FROM hostile.inlined();                                   -- 1
SELECT hostile.plpgsql();                                                 -- 2
SELECT count(*) FROM hostile.wrapper;                                     -- 3
CREATE TEMP TABLE copied AS SELECT * FROM privacy_full.ha;                -- 4
WITH c AS MATERIALIZED (SELECT id FROM privacy_full.ha) SELECT count(*) FROM c;   -- 5
SELECT id FROM public.ha WHERE id IN (SELECT id FROM privacy_full.ha);    -- 6
PREPARE p AS SELECT id FROM privacy_full.ha WHERE id = $1;
EXECUTE p(1);                                                             -- 7
EXECUTE p(2);                                                             -- 8
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM privacy_full.ha;  -- 9
EXPLAIN (COSTS OFF) SELECT * FROM privacy_full.ha;                        -- 10, of 0 rows
RESET search_path;
RESET ROLE;
COPY (SELECT * FROM privacy_full.ha) TO '/dev/null';                      -- 11

SELECT is(pg_temp.wait_reads(11), 11,
          'inlined SQL, PL/pgSQL, a wrapping view, CREATE TABLE AS, a CTE, a subquery, two EXECUTEs, EXPLAIN ANALYZE, EXPLAIN (its estimates), COPY: 11 records');
SELECT is((SELECT array_agg(left(query, 24) ORDER BY id) FROM privacy.access_log
            WHERE 'privacy_full.ha' = ANY (relations) AND id > (SELECT id FROM start)),
          ARRAY['SELECT count(*) FROM hos', '(SELECT count(*) FROM pr', 'SELECT count(*) FROM hos',
                'CREATE TEMP TABLE copied', 'WITH c AS MATERIALIZED (', 'SELECT id FROM public.ha',
                'PREPARE p AS SELECT id F', 'PREPARE p AS SELECT id F', 'EXPLAIN (ANALYZE, COSTS ',
                'EXPLAIN (COSTS OFF) SELE', 'COPY (SELECT * FROM priv'], 'each with its own statement');
SELECT is((SELECT array_agg(row_count ORDER BY id) FROM privacy.access_log
            WHERE 'privacy_full.ha' = ANY (relations) AND id > (SELECT id FROM start)),
          ARRAY[2, 2, 2, 2, 2, 2, 1, 1, 2, 0, 2]::bigint[],
          'and the rows the view produced for each (count(*) over it: its 2 rows; EXPLAIN none)');
SELECT is((SELECT array_agg(current_user_name::text ORDER BY id) FROM privacy.access_log
            WHERE 'privacy_full.ha' = ANY (relations) AND id > (SELECT id FROM start)),
          array_fill('tap_owner'::text, ARRAY[10]) || 'postgres'::text, 'and who read');

-- The owner of the table cannot write, change or hide the access log.
SET ROLE tap_owner;
SELECT throws_ok($$INSERT INTO privacy.access_log (relations) VALUES ('{forged}')$$, '42501', NULL,
                 'the access log cannot be forged');
SELECT throws_ok($$SELECT privacy.record_access(ARRAY['forged'])$$, '42501', NULL,
                 'record_access is not for PUBLIC');
SELECT throws_ok($$SET crm_privacy.require_access_log = off$$, '42501', NULL,
                 'the requirement cannot be turned off by a plain role');
SELECT throws_ok($$ALTER VIEW privacy_full.ha RENAME TO hidden$$, '42501', NULL,
                 'the full view cannot be renamed out of privacy_full');
SELECT throws_ok($$DROP FUNCTION privacy.read_audit_ready()$$, '42501', NULL,
                 'nor its guard dropped');
SELECT throws_ok($$ALTER TABLE public.ha DISABLE TRIGGER ALL$$, '42501', NULL,
                 'nor the audit trigger disabled');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM privacy.access_log WHERE relations = '{forged}'), 0, 'nothing forged');

-- A cascade that reaches a generated view would drop the whole extension,
-- and with it the logs: refused, whoever runs it.  (DROP EXTENSION
-- crm_privacy itself keeps the logs: test/audit_change.t.)
SET ROLE tap_owner;
SELECT throws_ok($$DROP DOMAIN hostile.dd CASCADE$$, '2BP01',
                 'cannot drop privacy.audit_seal: it holds the crm_privacy audit trail',
                 'a cascade from an owner''s domain does not drop the extension and its logs');
SELECT lives_ok($$ALTER TABLE hostile.casc DROP COLUMN v CASCADE$$,
                'an owner''s DROP COLUMN CASCADE rebuilds the views instead of cascading to them');
RESET ROLE;
SELECT throws_ok($$DROP EXTENSION plpgsql CASCADE$$, '2BP01', NULL,
                 'nor a superuser''s DROP EXTENSION of another extension');
SELECT throws_ok($$DROP TABLE privacy.access_log$$, '2BP01', NULL,
                 'a log is not dropped on its own');
SELECT is((SELECT count(*)::int FROM pg_extension WHERE extname = 'crm_privacy'), 1,
          'the extension is still there');

SELECT * FROM finish();
ROLLBACK;
