-- pgTAP: the trust boundary of the privacy views (security).
--   * row-level security on a base table applies through every kind of view;
--   * no pseudonym oracle: a reader cannot compute pseudonyms of values of
--     its choosing, so masked values cannot be matched to anonymous rows;
--   * noise in the views is stable (averaging many reads reveals nothing) and
--     stays uniform within its bound;
--   * a hostile table owner's domain CHECK functions and RLS policy functions
--     never run in a reader's query (a superuser's included);
--   * EXPLAIN ANALYZE of a point lookup does not tell a subject's choice;
--   * the role that owns the views must stay unprivileged.
LOAD 'crm_privacy';
BEGIN;
SELECT plan(58);

CREATE ROLE tap_alice;
CREATE ROLE tap_bob;
CREATE ROLE tap_reader;
CREATE ROLE tap_owner;
CREATE SCHEMA sec AUTHORIZATION tap_owner;
GRANT USAGE ON SCHEMA sec TO PUBLIC;

-- 1. Row-level security: one table, two tenants, a policy by the reader.
CREATE TABLE sec.tenant_customer (id bigint PRIMARY KEY, tenant name NOT NULL, full_name text, mobile text);
INSERT INTO sec.tenant_customer VALUES
    (1, 'tap_alice', '张三丰', '13812345678'), (2, 'tap_alice', '李四', '18600001111'),
    (3, 'tap_bob', 'John Smith', '15900002222');
SECURITY LABEL FOR crm_privacy ON TABLE sec.tenant_customer IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.tenant_customer.id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.tenant_customer.tenant IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.tenant_customer.full_name IS 'identifier mask=name anon=pseudonym';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.tenant_customer.mobile IS 'identifier mask=phone anon=pseudonym';
ALTER TABLE sec.tenant_customer ENABLE ROW LEVEL SECURITY;
CREATE POLICY by_tenant ON sec.tenant_customer FOR SELECT TO PUBLIC
    USING (tenant OPERATOR(pg_catalog.=) current_user);
SELECT privacy.refresh_views('sec.tenant_customer');
SELECT privacy.grant_access('tap_alice', 'standard');
SELECT privacy.grant_access('tap_alice', 'anon');
SELECT privacy.grant_access('tap_alice', 'optout', 'direct_marketing');
SELECT privacy.grant_access('tap_bob', 'standard');
SELECT privacy.grant_access('tap_bob', 'full');
SELECT privacy.opt_out('sec.tenant_customer', '3', 'sensitive_data');

SET ROLE tap_alice;
SELECT is((SELECT array_agg(id ORDER BY id) FROM privacy_standard.tenant_customer), '{1,2}',
          'RLS: a tenant reads its own rows through the standard view');
SELECT is((SELECT count(*)::int FROM privacy_anon.tenant_customer), 2,
          'RLS: ... through the anonymous view');
SELECT is((SELECT count(*)::int FROM privacy_optout_direct_marketing.tenant_customer), 2,
          'RLS: ... through the opt-out view');
SET ROLE tap_bob;
SELECT is((SELECT array_agg(id ORDER BY id) FROM privacy_standard.tenant_customer), '{3}',
          'RLS: the other tenant reads only its row');
SELECT is((SELECT array_agg(id ORDER BY id) FROM privacy_full.tenant_customer), '{3}',
          'RLS: ... through the full view');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM privacy_standard.tenant_customer), 0,
          'RLS: a superuser reading through a view is a reader like any other (no tenant, no row)');
SELECT is((SELECT rolsuper OR rolbypassrls OR rolcanlogin FROM pg_roles r
            JOIN pg_class c ON c.relowner = r.oid
           WHERE c.oid = 'privacy_standard.tenant_customer'::regclass), false,
          'the views belong to a role that is no superuser, cannot log in and cannot bypass RLS');
ALTER TABLE sec.tenant_customer DISABLE ROW LEVEL SECURITY;

-- 2. No oracle: the masked mobile (138****5678) leaves 10^4 candidates; a
--    reader who could compute pseudonyms would match them to the anonymous view.
SET ROLE tap_alice;
SELECT throws_ok($$SELECT privacy.pseudonym('13812345678')$$, '42501', NULL,
                 'a reader cannot compute a text pseudonym');
SELECT throws_ok($$SELECT privacy.pseudonym(1::bigint)$$, '42501', NULL,
                 'a reader cannot compute a bigint pseudonym');
SELECT throws_ok($$SELECT privacy.pseudonym_int(1, 'audit')$$, '42501', NULL,
                 'a reader cannot compute an integer pseudonym, not even in the audit context');
SELECT throws_ok($$SELECT * FROM privacy.pseudonym_key$$, '42501', NULL,
                 'a reader cannot read the key');
SELECT is((SELECT count(*)::int
             FROM privacy_standard.tenant_customer s
             CROSS JOIN generate_series(0, 9999) AS g(i)
             CROSS JOIN (VALUES ('\x00000000000000000000000000000000'::bytea),
                                (substr(sha224('crm'), 1, 16))) AS k(key)
             JOIN privacy_anon.tenant_customer a
               ON a.mobile = privacy.keyed_pseudonym(
                      left(s.mobile, 3) || lpad(i::text, 4, '0') || right(s.mobile, 4), k.key, '')
            WHERE s.mobile LIKE '138****5678'), 0,
          'the dictionary attack on a masked mobile with guessed keys finds nothing');
SELECT is((SELECT count(*)::int FROM privacy_anon.tenant_customer
            WHERE mobile IN ('13812345678', '18600001111')), 0,
          'the anonymous view shows no mobile in clear');
RESET ROLE;
-- A table owner's own subject table, filled with every candidate and read
-- through its anonymous view, is no dictionary either: pseudonyms are per
-- subject table (and only the subject table's owner or a privacy
-- administrator can declare a table related to it).
SELECT privacy.grant_access('tap_owner', 'anon');
SET ROLE tap_owner;
CREATE TABLE sec.dict (id int PRIMARY KEY, mobile text);
INSERT INTO sec.dict SELECT i, '138' || lpad(i::text, 4, '0') || '5678' FROM generate_series(0, 9999) i;
SECURITY LABEL FOR crm_privacy ON TABLE sec.dict IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.dict.mobile IS 'identifier anon=pseudonym';
SELECT is((SELECT count(*)::int FROM privacy_anon.dict d
             JOIN privacy_anon.tenant_customer a USING (mobile)), 0,
          'an owner''s table of every candidate gets other pseudonyms than the customers''');
RESET ROLE;
-- A role that may only write a related table cannot use one of its columns
-- as the dictionary either: every non-key column has a context of its own.
CREATE TABLE sec.tenant_note (id int PRIMARY KEY, customer_id bigint, note text);
SECURITY LABEL FOR crm_privacy ON TABLE sec.tenant_note IS 'related subject=sec.tenant_customer key=customer_id';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.tenant_note.customer_id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.tenant_note.note IS 'personal anon=pseudonym';
GRANT INSERT ON sec.tenant_note TO tap_alice;
SET ROLE tap_alice;
INSERT INTO sec.tenant_note SELECT i, 1, '138' || lpad(i::text, 4, '0') || '5678' FROM generate_series(0, 9999) i;
SELECT is((SELECT count(*)::int FROM privacy_anon.tenant_note n
             JOIN privacy_anon.tenant_customer a ON a.mobile = n.note), 0,
          'candidates written into a related table''s column match no customer''s pseudonym');
SELECT is((SELECT count(DISTINCT n.customer_id)::int FROM privacy_anon.tenant_note n
             JOIN privacy_anon.tenant_customer a ON a.id = n.customer_id), 1,
          'the subject key still joins the related table to the subject table');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM privacy_anon.tenant_customer a
             JOIN sec.tenant_customer t ON a.mobile = privacy.pseudonym(t.mobile, 'sec.tenant_customer tenant_customer.mobile')), 3,
          'the anonymous view''s pseudonyms are pseudonym() under the column''s context');
SELECT privacy.rotate_pseudonym_key();
SELECT is((SELECT count(*)::int FROM privacy_anon.tenant_customer a
             JOIN sec.tenant_customer t ON a.mobile = privacy.pseudonym(t.mobile, 'sec.tenant_customer tenant_customer.mobile')), 3,
          'after a key rotation the views use the new key at once');

-- 3. Stable noise: reading a row again gives the same value.
CREATE TABLE sec.income (id int PRIMARY KEY, owner_id bigint, income numeric(12,2), since date);
INSERT INTO sec.income SELECT i, i, 1000.00, date '2000-01-01' FROM generate_series(1, 4000) i;
SECURITY LABEL FOR crm_privacy ON TABLE sec.income IS 'subject key=owner_id';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.income.id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.income.owner_id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.income.income IS 'personal anon=noise(0.1)';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.income.since IS 'personal anon=noise(30 days)';
SELECT privacy.grant_access('tap_reader', 'anon');
SET ROLE tap_reader;
SELECT is((SELECT count(DISTINCT income)::int FROM generate_series(1, 300), LATERAL
             (SELECT income FROM privacy_anon.income WHERE id = 7) r), 1,
          'noise: 300 reads of one row give one value (nothing to average away)');
SELECT is((SELECT count(DISTINCT since)::int FROM generate_series(1, 300), LATERAL
             (SELECT since FROM privacy_anon.income WHERE id = 7) r), 1,
          'noise on a date: 300 reads give one value');
SELECT ok((SELECT min(income) >= 900 AND max(income) <= 1100 FROM privacy_anon.income),
          'noise stays within the bound of 10 %');
SELECT ok((SELECT min(since) >= date '2000-01-01' - 30 AND max(since) <= date '2000-01-01' + 30
             FROM privacy_anon.income),
          'date noise stays within 30 days');
-- uniform: each tenth of [900, 1100] gets 10 % of 4,000 rows, within 3 points
SELECT ok((SELECT bool_and(n BETWEEN 280 AND 520) AND count(*) = 10
             FROM (SELECT width_bucket(income, 900, 1100.01, 10) b, count(*) n
                     FROM privacy_anon.income GROUP BY 1) d),
          'noise is spread uniformly over the bound');
SELECT ok((SELECT abs(avg(income) - 1000) < 5 FROM privacy_anon.income),
          'noise is centred on the value');
SELECT income AS noisy_before FROM privacy_anon.income WHERE id = 7 \gset
RESET ROLE;
UPDATE sec.income SET income = 2000.00 WHERE id = 7;
SET ROLE tap_reader;
SELECT isnt((SELECT income FROM privacy_anon.income WHERE id = 7), :'noisy_before'::numeric * 2,
            'a new value draws new noise: readings over time do not keep the true ratio');
RESET ROLE;

-- 4. A hostile table owner: a domain whose CHECK, and an RLS policy whose
--    function, record who runs them and try to make the owner a superuser.
CREATE TABLE sec.spy_log (who name, via text);
GRANT INSERT, SELECT ON sec.spy_log TO PUBLIC;
SET ROLE tap_owner;
CREATE FUNCTION sec.spy(v text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sec.spy_log VALUES (current_user, 'check');
    BEGIN EXECUTE 'ALTER ROLE tap_owner SUPERUSER'; EXCEPTION WHEN OTHERS THEN NULL; END;
    RETURN true;
END $$;
CREATE FUNCTION sec.spy_policy(t name) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sec.spy_log VALUES (current_user, 'policy');
    BEGIN EXECUTE 'ALTER ROLE tap_owner SUPERUSER'; EXCEPTION WHEN OTHERS THEN NULL; END;
    RETURN true;
END $$;
CREATE DOMAIN sec.spytext AS text CHECK (sec.spy(VALUE));
CREATE DOMAIN sec.digits AS text CHECK (VALUE ~ '^[0-9]+$');
CREATE DOMAIN sec.code_t AS text CHECK (length(VALUE) < 20);
CREATE TABLE sec.victim (id bigint PRIMARY KEY, full_name sec.spytext, religion sec.spytext,
                         tenant name, code sec.code_t, digits sec.digits);
INSERT INTO sec.victim VALUES (1, '张三丰', '佛教', 'tap_owner', '123456', '123456'),
                              (2, '李四', NULL, 'tap_owner', '654321', '654321');
SECURITY LABEL FOR crm_privacy ON TABLE sec.victim IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.victim.id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.victim.full_name IS 'identifier mask=name anon=null';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.victim.religion IS 'sensitive';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.victim.tenant IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.victim.code IS 'identifier mask=partial(0,2)';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.victim.digits IS 'identifier mask=partial(0,2)';
RESET ROLE;
DELETE FROM sec.spy_log;
SELECT privacy.opt_out('sec.victim', '1', 'sensitive_data');
SELECT privacy.grant_access('tap_reader', 'standard');
SET ROLE tap_reader;
SELECT is((SELECT array_agg(coalesce(full_name, '-') || '/' || coalesce(religion, '-') ORDER BY id)
             FROM privacy_standard.victim), '{-/-,-/-}',
          'a domain column whose CHECK calls the owner''s function is NULL below clearance');
RESET ROLE;
SELECT is((SELECT array_agg(coalesce(full_name, '-') || '/' || coalesce(religion, '-') ORDER BY id)
             FROM privacy_standard.victim), '{张三丰/-,李四/-}',
          'a superuser reads it in clear (sensitive opt-out honoured)');
SELECT count(*) AS anon_rows FROM privacy_anon.victim;
SELECT is((SELECT count(*)::int FROM sec.spy_log), 0,
          'the owner''s CHECK function never ran in a reader''s query');
SET ROLE tap_reader;
SELECT is((SELECT array_agg(code ORDER BY id) FROM privacy_standard.victim), '{****56,****21}',
          'a domain whose checks are built-in is masked as usual');
SELECT throws_ok($$SELECT digits FROM privacy_standard.victim$$, '23514', NULL,
                 'a masked value its domain refuses is an error (the label must fit the domain), not a leak');
RESET ROLE;
-- the owner adds its function to a domain's checks: the views follow
SET ROLE tap_owner;
ALTER DOMAIN sec.code_t ADD CONSTRAINT spying CHECK (sec.spy(VALUE));
RESET ROLE;
DELETE FROM sec.spy_log;
SET ROLE tap_reader;
SELECT is((SELECT array_agg(coalesce(code, '-') ORDER BY id) FROM privacy_standard.victim), '{-,-}',
          'after ALTER DOMAIN adds the owner''s function, the column is NULL where it was masked');
RESET ROLE;
-- a policy calling the owner's function: the table loses its views at once
SET ROLE tap_owner;
ALTER TABLE sec.victim ENABLE ROW LEVEL SECURITY;
CREATE POLICY spying ON sec.victim FOR SELECT TO PUBLIC USING (sec.spy_policy(tenant));
RESET ROLE;
SELECT is((SELECT count(*)::int FROM pg_class WHERE relname = 'victim' AND relkind = 'v'), 0,
          'a table whose policy calls the owner''s function gets no views');
SET ROLE tap_owner;
DROP POLICY spying ON sec.victim;
RESET ROLE;
SELECT ok((SELECT count(*) FROM pg_class WHERE relname = 'victim' AND relkind = 'v') >= 6,
          'after DROP POLICY the views are back');
-- a policy that runs SQL through a built-in function (query_to_xml)
SET ROLE tap_owner;
CREATE POLICY via_xml ON sec.victim FOR SELECT TO PUBLIC
    USING (pg_catalog.query_to_xml('SELECT sec.spy_policy(''x'')', true, true, '') IS NOT NULL);
RESET ROLE;
SELECT is((SELECT count(*)::int FROM pg_class WHERE relname = 'victim' AND relkind = 'v'), 0,
          'a policy that runs SQL through query_to_xml counts as the owner''s code: no views');
SET ROLE tap_owner;
DROP POLICY via_xml ON sec.victim;
-- a policy subquery reads with the views' owner's rights (the key!)
CREATE POLICY via_subquery ON sec.victim FOR SELECT TO PUBLIC
    USING (pg_catalog.pg_notify('k', pg_catalog.encode((SELECT k.key FROM privacy.pseudonym_key k LIMIT 1), 'hex')) IS NOT NULL);
RESET ROLE;
SELECT is((SELECT count(*)::int FROM pg_class WHERE relname = 'victim' AND relkind = 'v'), 0,
          'a policy with a subquery (it would read the key as the views'' owner): no views');
SET ROLE tap_owner;
DROP POLICY via_subquery ON sec.victim;
-- a volatile built-in whose effect outlives the query (a setting of the reader's session)
CREATE POLICY via_setting ON sec.victim FOR SELECT TO PUBLIC
    USING (pg_catalog.set_config('search_path', 'sec, pg_catalog', false) IS NOT NULL);
RESET ROLE;
SELECT is((SELECT count(*)::int FROM pg_class WHERE relname = 'victim' AND relkind = 'v'), 0,
          'a policy calling a volatile built-in (set_config): no views');
SET ROLE tap_owner;
DROP POLICY via_setting ON sec.victim;
-- built-ins that reach the owner's code through types: a text-to-composite
-- cast runs the input of the owner's domain; "||" with a non-text argument
-- and to_json use the owner's casts; an UPDATE policy applies to
-- SELECT ... FOR UPDATE
CREATE TYPE sec.comp AS (a sec.spytext);
CREATE TYPE sec.mood AS ENUM ('a', 'b');
CREATE FUNCTION sec.mood_text(sec.mood) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM sec.spy_policy('cast'); RETURN 'a'; END $$;
CREATE CAST (sec.mood AS text) WITH FUNCTION sec.mood_text(sec.mood);
CREATE POLICY via_composite ON sec.victim FOR SELECT TO PUBLIC
    USING ((('(' || tenant || ')')::sec.comp) IS NOT NULL);
RESET ROLE;
SELECT is((SELECT count(*)::int FROM pg_class WHERE relname = 'victim' AND relkind = 'v'), 0,
          'a policy casting to the owner''s composite type (whose input runs its domain''s check): no views');
SET ROLE tap_owner;
DROP POLICY via_composite ON sec.victim;
CREATE POLICY via_concat ON sec.victim FOR SELECT TO PUBLIC
    USING (('' || 'a'::sec.mood) IS NOT NULL AND to_json('a'::sec.mood) IS NOT NULL);
RESET ROLE;
SELECT is((SELECT count(*)::int FROM pg_class WHERE relname = 'victim' AND relkind = 'v'), 0,
          'a policy using "||" or to_json on the owner''s type (they would use its casts): no views');
SET ROLE tap_owner;
DROP POLICY via_concat ON sec.victim;
CREATE POLICY via_update ON sec.victim FOR UPDATE TO PUBLIC
    USING (pg_catalog.pg_notify('k', pg_catalog.encode((SELECT k.key FROM privacy.pseudonym_key k LIMIT 1), 'hex')) IS NOT NULL);
RESET ROLE;
SELECT is((SELECT count(*)::int FROM pg_class WHERE relname = 'victim' AND relkind = 'v'), 0,
          'an UPDATE policy (SELECT ... FOR UPDATE applies it) is checked too: no views');
SET ROLE tap_owner;
DROP POLICY via_update ON sec.victim;
-- crm_privacy's own functions: pseudonym() would compute with the key as a
-- privileged reader, for the owner to read through a side channel (a lock)
CREATE POLICY via_pseudonym ON sec.victim FOR SELECT TO PUBLIC
    USING (privacy.pseudonym(tenant::text, 'public.customer customer.mobile') <> '');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM pg_class WHERE relname = 'victim' AND relkind = 'v'), 0,
          'a policy calling crm_privacy''s pseudonym(): no views');
SET ROLE tap_owner;
DROP POLICY via_pseudonym ON sec.victim;
ALTER TABLE sec.victim DISABLE ROW LEVEL SECURITY;
ALTER DOMAIN sec.digits ADD CONSTRAINT via_setting
    CHECK (pg_catalog.set_config('search_path', 'sec, pg_catalog', false) IS NOT NULL);
RESET search_path;  -- (validating the check ran it in the owner's own session)
RESET ROLE;
SET ROLE tap_reader;
SELECT is((SELECT array_agg(coalesce(digits::text, '-') ORDER BY id) FROM privacy_standard.victim), '{-,-}',
          'a domain check calling a volatile built-in is never cast into: NULL');
RESET ROLE;
SET ROLE tap_owner;
CREATE DOMAIN sec.sly AS text CHECK (VALUE IS NULL OR (('(' || VALUE || ')')::sec.comp) IS NOT NULL);
ALTER TABLE sec.victim ADD COLUMN sly sec.sly;
SECURITY LABEL FOR crm_privacy ON COLUMN sec.victim.sly IS 'identifier mask=partial(1,0)';
UPDATE sec.victim SET sly = 'x' || id;
RESET ROLE;
DELETE FROM sec.spy_log;
SET ROLE tap_reader;
SELECT is((SELECT array_agg(coalesce(sly::text, '-') ORDER BY id) FROM privacy_standard.victim), '{-,-}',
          'a domain check reaching the owner''s code through a composite cast is never cast into: NULL');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM sec.spy_log WHERE who <> 'tap_owner'), 0,
          'the owner''s code never ran for the reader');
-- a "_RETURN" rule turns an empty labelled table into a view of the owner's
CREATE TABLE sec.turncoat (id bigint, name text);
SECURITY LABEL FOR crm_privacy ON TABLE sec.turncoat IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.turncoat.name IS 'public';
-- (PostgreSQL 16 and later refuse to turn a table into a view: then the
-- table stays a table and keeps its views.)
DO $$
BEGIN
    CREATE RULE "_RETURN" AS ON SELECT TO sec.turncoat DO INSTEAD
        SELECT 1::bigint AS id, 'x'::text AS name WHERE sec.spy_policy('rule');
EXCEPTION WHEN wrong_object_type THEN
    IF current_setting('server_version_num')::int < 160000 THEN
        RAISE;
    END IF;
END $$;
RESET ROLE;
DELETE FROM sec.spy_log;
SELECT is((SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relname = 'turncoat' AND n.nspname LIKE 'privacy\_%'
              AND 'sec.turncoat'::regclass IN (SELECT oid FROM pg_class WHERE relkind = 'v')), 0,
          'a table turned into a view by a rule loses its privacy views at once');
SELECT is((SELECT relkind::text FROM pg_class WHERE oid = 'sec.turncoat'::regclass),
          CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'r' ELSE 'v' END,
          'the rule made it a view (PostgreSQL 15) or was refused (16 and later)');
SELECT is((SELECT count(*)::int FROM sec.spy_log WHERE who <> 'tap_owner'), 0,
          'and the owner''s rule never ran as anyone else');
SELECT is((SELECT count(*)::int FROM sec.spy_log), 0,
          'the owner''s policy function never ran in a reader''s query');
SELECT is((SELECT rolsuper FROM pg_roles WHERE rolname = 'tap_owner'), false,
          'the hostile owner is no superuser');

-- 5. EXPLAIN ANALYZE of a point lookup: the same plan and row counts whether
--    or not the subject opted out of sensitive data (3 did, 1 did not).
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text; result text := '';
BEGIN
    -- (BUFFERS OFF: on by default from PostgreSQL 18 on, and the planning
    -- buffers depend on what the catalog caches already hold.)
    FOR r IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) ' || q LOOP
        result := result || regexp_replace(r, '\d+', 'N', 'g') || E'\n';
    END LOOP;
    RETURN result;
END $$;
CREATE TABLE sec.member (id bigint PRIMARY KEY, full_name text, religion text);
INSERT INTO sec.member SELECT i, 'name' || i, 'religion' || i FROM generate_series(1, 1000) i;
SECURITY LABEL FOR crm_privacy ON TABLE sec.member IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.member.id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.member.full_name IS 'identifier mask=name';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.member.religion IS 'sensitive';
SELECT privacy.opt_out('sec.member', '3', 'sensitive_data');
SELECT privacy.opt_out('sec.member', '5', 'sensitive_data');
SELECT privacy.opt_in('sec.member', '5', 'sensitive_data');
ANALYZE sec.member;
SET ROLE tap_reader;
SELECT is(pg_temp.plan_of('SELECT * FROM privacy_standard.member WHERE id = 3'),
          pg_temp.plan_of('SELECT * FROM privacy_standard.member WHERE id = 1'),
          'EXPLAIN ANALYZE of a point lookup is the same for a subject who opted out and one who did not');
RESET ROLE;
SELECT is(pg_temp.plan_of('SELECT * FROM privacy_standard.member WHERE id = 5'),
          pg_temp.plan_of('SELECT * FROM privacy_standard.member WHERE id = 1'),
          'a reader who sees sensitive data cannot tell from EXPLAIN ANALYZE that a subject once opted out');

-- Erasure runs as the table's owner, who may not compute pseudonyms: the key
-- reaches the owner's UPDATE as a parameter, and the erased values are
-- pseudonyms in a context of their own (no dictionary for the views).
SET ROLE tap_owner;
CREATE TABLE sec.erasable (id int PRIMARY KEY, email text NOT NULL, income int);
INSERT INTO sec.erasable VALUES (1, 'zhang@example.cn', 1000);
SECURITY LABEL FOR crm_privacy ON TABLE sec.erasable IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.erasable.email IS 'identifier mask=email anon=pseudonym';
SECURITY LABEL FOR crm_privacy ON COLUMN sec.erasable.income IS 'personal anon=noise(0.1)';
RESET ROLE;
SELECT privacy.erase_subject('sec.erasable', '1');
SELECT is((SELECT email FROM sec.erasable), privacy.pseudonym('zhang@example.cn', 'erasure'),
          'erasure as a non-superuser owner writes the pseudonym of the value');
SELECT isnt((SELECT email FROM sec.erasable), privacy.pseudonym('zhang@example.cn', 'sec.erasable erasable.email'),
            'erased values are not the views'' pseudonyms');

-- The owner's trigger, run by review_change as the owner, changes a setting
-- for the session: the change does not outlive the call.
SET ROLE tap_owner;
CREATE FUNCTION sec.plant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_catalog.set_config('search_path', 'sec, pg_catalog', false); RETURN NEW; END $$;
CREATE TRIGGER plant BEFORE UPDATE ON sec.erasable FOR EACH ROW EXECUTE FUNCTION sec.plant();
RESET ROLE;
SELECT current_setting('search_path') AS path_before \gset
SELECT privacy.review_change(privacy.request_change('sec.erasable', '1', 'email', 'new@example.cn'), true);
SELECT is(current_setting('search_path'), :'path_before',
          'a setting the owner''s trigger changed during review_change is undone');
SELECT is((SELECT email FROM sec.erasable), 'new@example.cn', 'the change itself was applied');

-- 6. The views' owner must stay unprivileged.
SELECT is((SELECT ok FROM privacy.check_setup() WHERE "check" = 'views owner unprivileged'), true,
          'check_setup: the views'' owner is unprivileged');
ALTER ROLE crm_privacy_views LOGIN;
SELECT is((SELECT ok FROM privacy.check_setup() WHERE "check" = 'views owner unprivileged'), false,
          'check_setup reports a views'' owner that can log in');
SELECT throws_ok($$SELECT privacy.refresh_views()$$, '42501', NULL,
                 'views are not built while their owner can log in');
ALTER ROLE crm_privacy_views NOLOGIN;
GRANT crm_privacy_views TO tap_reader;
SELECT throws_ok($$SELECT privacy.refresh_views()$$, '42501', NULL,
                 'views are not built while their owner has a member');
REVOKE crm_privacy_views FROM tap_reader;

SELECT * FROM finish();
ROLLBACK;
