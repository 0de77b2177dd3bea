-- pgTAP: the privacy views against hostile readers and hostile names.
LOAD 'crm_privacy';
BEGIN;
SELECT plan(26);

CREATE TABLE public.hc (id bigint PRIMARY KEY, full_name text, email text, religion text);
INSERT INTO public.hc VALUES (1, '张三丰', 'zhang@example.com', NULL),
                             (2, '欧阳娜娜', 'nana@example.cn', '佛教'),
                             (3, 'John Smith', 'john@example.org', NULL);
SECURITY LABEL FOR crm_privacy ON TABLE public.hc IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN public.hc.id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN public.hc.full_name IS 'identifier mask=name';
SECURITY LABEL FOR crm_privacy ON COLUMN public.hc.email IS 'identifier mask=email';
SECURITY LABEL FOR crm_privacy ON COLUMN public.hc.religion IS 'sensitive';
SELECT privacy.opt_out('public.hc', '2', 'direct_marketing');

CREATE ROLE tap_hostile;
CREATE SCHEMA hostile AUTHORIZATION tap_hostile;
GRANT CREATE ON SCHEMA public TO tap_hostile;
CREATE TABLE public.leak_log (who name, v text);
GRANT INSERT, SELECT ON public.leak_log TO tap_hostile;
SELECT privacy.grant_access('tap_hostile', 'standard');
SELECT privacy.grant_access('tap_hostile', 'optout', 'direct_marketing');

SET ROLE tap_hostile;
-- A cheap leaky function, logging what it sees.
CREATE FUNCTION hostile.leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN INSERT INTO public.leak_log VALUES (current_user, $1); RETURN true; END $$;
CREATE FUNCTION hostile.leak(bigint) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN INSERT INTO public.leak_log VALUES (current_user, $1::text); RETURN true; END $$;

SELECT is((SELECT count(*)::int FROM privacy_optout_direct_marketing.hc
            WHERE hostile.leak(id) AND hostile.leak(full_name)), 2,
          'the opt-out view returns the two subjects who did not opt out');
SELECT is((SELECT count(*)::int FROM public.leak_log WHERE v IN ('2', '欧阳娜娜', '欧阳**')), 0,
          'a leaky function in WHERE never sees the opted-out subject');
SELECT is((SELECT count(*)::int FROM privacy_standard.hc WHERE hostile.leak(full_name) AND hostile.leak(email)), 3,
          'the standard view returns every subject');
SELECT is((SELECT count(*)::int FROM public.leak_log
            WHERE v IN ('张三丰', '欧阳娜娜', 'John Smith', 'zhang@example.com', 'nana@example.cn', 'john@example.org')), 0,
          'a leaky function in WHERE never sees clear values the view masks');
SELECT bag_eq($$SELECT v FROM public.leak_log WHERE v LIKE '%*%'$$,
              $$VALUES ('张**'), ('J*** S****'), ('张**'), ('欧阳**'), ('J*** S****'),
                       ('z***@example.com'), ('n***@example.cn'), ('j***@example.org')$$,
              'it sees the masked values, and only those');

-- Probes: cast errors and division by zero reveal nothing beyond masked values.
SELECT throws_like($$SELECT * FROM privacy_standard.hc WHERE full_name::int = 1$$,
                   'invalid input syntax for type integer: "%*%"', 'a cast error shows a masked value');
SELECT lives_ok($$SELECT count(*) FROM privacy_optout_direct_marketing.hc WHERE 1 / (id - 2) IS NOT NULL$$,
                'a division by zero on the opted-out key never happens');
SELECT lives_ok($$SELECT count(*) FROM privacy_optout_direct_marketing.hc
                   WHERE CASE WHEN full_name LIKE '欧阳%' THEN 1 / (id - id) ELSE 1 END = 1$$,
                'a conditional division by zero on the opted-out subject never happens');
SELECT results_eq($$SELECT full_name FROM privacy_standard.hc ORDER BY full_name$$,
                  $$VALUES ('J*** S****'), ('张**'), ('欧阳**')$$, 'ORDER BY sorts masked values');
SELECT results_eq($$SELECT left(email, 1), count(*)::int FROM privacy_standard.hc GROUP BY 1 ORDER BY 1$$,
                  $$VALUES ('j', 1), ('n', 1), ('z', 1)$$, 'GROUP BY groups masked values');
SELECT is((SELECT religion FROM privacy_standard.hc WHERE id = 2), NULL, 'sensitive column masked below secret');
SELECT throws_ok($$SELECT * FROM public.hc$$, '42501', NULL, 'no access to the base table');
SELECT throws_ok($$SELECT * FROM privacy_full.hc$$, '42501', NULL, 'no access to the full view without a grant');
SELECT throws_ok($$SELECT * FROM privacy.subject_choices$$, '42501', NULL, 'no access to the opt-out records');

-- Shadowing: functions and operators in the hostile schema and pg_temp, first
-- on search_path, before a rebuild and before queries.
CREATE FUNCTION hostile.mask_name(text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.leak_log VALUES (current_user, 'shadow mask_name ran'); RETURN $1; END $$;
CREATE FUNCTION hostile.clearance_level() RETURNS int LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.leak_log VALUES (current_user, 'shadow clearance ran'); RETURN 3; END $$;
CREATE FUNCTION hostile.ge(int, int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.leak_log VALUES (current_user, 'shadow >= ran'); RETURN true; END $$;
CREATE OPERATOR hostile.>= (LEFTARG = int, RIGHTARG = int, FUNCTION = hostile.ge);
CREATE FUNCTION pg_temp.mask_email(text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.leak_log VALUES (current_user, 'shadow mask_email ran'); RETURN $1; END $$;
CREATE FUNCTION public.mask_email(text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.leak_log VALUES (current_user, 'shadow public mask_email ran'); RETURN $1; END $$;
CREATE FUNCTION public.clearance_level() RETURNS int LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.leak_log VALUES (current_user, 'shadow public clearance ran'); RETURN 3; END $$;
SET search_path = hostile, pg_temp, public, privacy;
-- The hostile role owns a labelled table: labelling it rebuilds views.
CREATE TABLE hostile.own (k int PRIMARY KEY, secret text);
SECURITY LABEL FOR crm_privacy ON TABLE hostile.own IS 'subject key=k';
SECURITY LABEL FOR crm_privacy ON COLUMN hostile.own.secret IS 'identifier mask=name';
RESET ROLE;
SELECT privacy.refresh_views();
SET ROLE tap_hostile;
SET search_path = hostile, pg_temp, public, privacy;
SELECT results_eq($$SELECT full_name, email FROM privacy_standard.hc ORDER BY id$$,
                  $$VALUES ('张**', 'z***@example.com'), ('欧阳**', 'n***@example.cn'), ('J*** S****', 'j***@example.org')$$,
                  'results do not change under a hostile search_path');
SELECT is((SELECT count(*)::int FROM public.leak_log WHERE v LIKE 'shadow%'), 0,
          'the shadowing functions and operators never ran, for the owner or anyone');
RESET ROLE;
SET search_path = public;
SELECT ok(pg_get_viewdef('privacy_standard.hc'::regclass) !~ 'hostile|pg_temp',
          'the view text names only privacy and pg_catalog objects');
SELECT ok(pg_get_viewdef('privacy_standard.hc'::regclass) ~ 'privacy\.mask_name\(' AND
          pg_get_viewdef('privacy_standard.hc'::regclass) ~ 'privacy\.clearance_level\(\)',
          'the view calls the extension''s functions by qualified name');

-- Names with quotes, spaces, semicolons and Unicode.
CREATE SCHEMA "crm; data";
CREATE TABLE "crm; data"."客户 ""VIP""; x" ("客户号" bigint PRIMARY KEY, "e-mail; drop" text);
INSERT INTO "crm; data"."客户 ""VIP""; x" VALUES (1, 'a@b.cn'), (2, 'c@d.cn');
SECURITY LABEL FOR crm_privacy ON TABLE "crm; data"."客户 ""VIP""; x" IS 'subject key="客户号"';
SECURITY LABEL FOR crm_privacy ON COLUMN "crm; data"."客户 ""VIP""; x"."客户号" IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN "crm; data"."客户 ""VIP""; x"."e-mail; drop" IS 'identifier mask=email';
SELECT privacy.add_purpose('news; letter "x"', 'a purpose with a hostile name');
SELECT privacy.create_disclosure('acme "corp"; x', 'news; letter "x"');
SELECT privacy.disclose('acme "corp"; x', '"crm; data"."客户 ""VIP""; x"', 'e-mail; drop', 'pseudonym');
SELECT privacy.opt_out('"crm; data"."客户 ""VIP""; x"', '2', 'news; letter "x"');
SET ROLE tap_hostile;
SELECT results_eq($$SELECT "客户号", "e-mail; drop" FROM privacy_standard."客户 ""VIP""; x" ORDER BY 1$$,
                  $$VALUES (1::bigint, 'a***@b.cn'), (2, 'c***@d.cn')$$, 'standard view of a hostile name');
RESET ROLE;
SELECT results_eq($$SELECT "客户号" FROM "privacy_optout_news; letter ""x"""."客户 ""VIP""; x"$$,
                  $$VALUES (1::bigint)$$, 'opt-out view of a hostile purpose name');
SELECT results_eq($$SELECT "客户号", "e-mail; drop" ~ '^[0-9a-f]{16}$' FROM "privacy_disclose_acme ""corp""; x"."客户 ""VIP""; x"$$,
                  $$VALUES (NULL::bigint, true)$$, 'disclosure view of a hostile profile name');
SELECT has_table('crm; data', '客户 "VIP"; x', 'nothing was injected: the table is still there');

-- Point lookups by key reach the base table's index in every view where the
-- key is in clear.
SET LOCAL enable_seqscan = off;
CREATE FUNCTION pg_temp.plan(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r record; s text := '';
BEGIN FOR r IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP s := s || r."QUERY PLAN" || E'\n'; END LOOP; RETURN s; END $$;
SELECT ok(pg_temp.plan('SELECT * FROM privacy_standard.hc WHERE id = 1') ~ 'Index Scan using hc_pkey',
          'standard view: point lookup by index');
SELECT ok(pg_temp.plan('SELECT * FROM privacy_full.hc WHERE id = 1') ~ 'Index Scan using hc_pkey',
          'full view: point lookup by index');
SELECT ok(pg_temp.plan('SELECT * FROM privacy_optout_direct_marketing.hc WHERE id = 1') ~ 'Index Scan using hc_pkey',
          'opt-out view: point lookup by index');
SELECT ok(pg_temp.plan('SELECT * FROM privacy_optout_direct_marketing.hc WHERE id = 1') ~ 'Index Scan using subject_choices_(pkey|key_int|opted_out)',
          'opt-out view: the opt-out check by index too');

SELECT * FROM finish();
ROLLBACK;
