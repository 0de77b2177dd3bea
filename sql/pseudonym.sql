--
-- pseudonym: keyed, deterministic pseudonyms (doc/functions.md, "Pseudonyms") and their key.
-- Pseudonyms depend on the random key made at CREATE EXTENSION, so this test
-- compares them and never prints one.
--
SET search_path = privacy, public;

-- Deterministic, keyed by context, 64 bits as 16 hex digits.
SELECT pseudonym('张三') = pseudonym('张三') AS deterministic,
       pseudonym('张三') <> pseudonym('张四') AS values_differ,
       pseudonym('张三', 'orders') <> pseudonym('张三', 'audit') AS contexts_differ,
       pseudonym('张三') = pseudonym('张三', '') AS no_context_is_empty_context,
       pseudonym('张三') ~ '^[0-9a-f]{16}$' AS sixteen_hex_digits,
       pseudonym('') ~ '^[0-9a-f]{16}$' AS empty_string_too,
       pseudonym(42::bigint) = pseudonym(42::bigint) AS bigint_deterministic,
       pseudonym(42::bigint, 'a') <> pseudonym(42::bigint, 'b') AS bigint_contexts_differ,
       pg_typeof(pseudonym(42)) AS int_literal_gives, pg_typeof(pseudonym_int(42)) AS pseudonym_int_gives;

-- NULL in, NULL out.
SELECT pseudonym(NULL::text) IS NULL AS a, pseudonym('x', NULL) IS NULL AS b,
       pseudonym(NULL::bigint) IS NULL AS c, pseudonym_int(NULL) IS NULL AS d;

-- Not a plain hash of the value.
SELECT v, pseudonym(v) NOT IN (left(md5(v), 16), right(md5(v), 16),
                               left(encode(sha256(convert_to(v, 'UTF8')), 'hex'), 16),
                               right(encode(sha256(convert_to(v, 'UTF8')), 'hex'), 16),
                               left(encode(sha224(convert_to(v, 'UTF8')), 'hex'), 16)) AS not_a_hash
  FROM (VALUES (''), ('张三'), ('13812345678'), ('zhang.san@example.com')) AS t(v);

-- A permutation: no two of 200,000 consecutive integers share a pseudonym,
-- in either context, for bigint and for integer; and neighbours scatter.
SELECT count(DISTINCT pseudonym(i)) AS bigint_distinct,
       count(DISTINCT pseudonym(i, 'orders')) AS bigint_ctx_distinct,
       count(DISTINCT pseudonym_int(i::int)) AS int_distinct,
       count(*) FILTER (WHERE pseudonym(i) = i) AS bigint_fixed_points_expected_none
  FROM generate_series(-100000::bigint, 99999) AS i;
SELECT count(*) FILTER (WHERE abs(p1 - p0) < 1000000) AS close_neighbours
  FROM (SELECT pseudonym(i) / 2 AS p0, pseudonym(i + 1) / 2 AS p1
          FROM generate_series(1::bigint, 10000) AS i) s;
SELECT pseudonym(9223372036854775807) IS NOT NULL AS max_ok,
       pseudonym((-9223372036854775808)::bigint) IS NOT NULL AS min_ok,
       pseudonym_int(2147483647) IS NOT NULL AS int_max_ok,
       pseudonym_int(-2147483648) IS NOT NULL AS int_min_ok,
       length(pseudonym(repeat('x', 16000000))) AS huge_input;

-- The same in another session: the key is the database's, not the backend's.
CREATE TABLE pseudonym_saved AS
    SELECT pseudonym('张三') AS t, pseudonym(42::bigint) AS b, pseudonym_int(42) AS i,
           pseudonym('张三', 'orders') AS c;
\c
SET search_path = privacy, public;
SELECT t = pseudonym('张三') AS text_same, b = pseudonym(42::bigint) AS bigint_same,
       i = pseudonym_int(42) AS int_same, c = pseudonym('张三', 'orders') AS context_same
  FROM pseudonym_saved;

-- The key: 16 bytes, one row, readable by the extension's owner and the
-- views' owner only, in no setting.  A role with no grant can neither read it
-- nor compute with it (no oracle).
SELECT count(*) AS keys, bool_and(length(key) = 16) AS sixteen_bytes FROM pseudonym_key;
SELECT pg_get_userbyid(a.grantee) AS grantee, a.privilege_type
  FROM pg_class c, aclexplode(c.relacl) a
 WHERE c.oid = 'privacy.pseudonym_key'::regclass AND a.grantee <> c.relowner;
SELECT count(*) AS settings_with_the_key FROM pg_settings s, pseudonym_key k
 WHERE position(encode(k.key, 'hex') IN s.setting) > 0 OR position(encode(k.key, 'base64') IN s.setting) > 0;
SELECT count(*) AS role_or_db_settings_with_the_key FROM pg_db_role_setting d, pseudonym_key k
 WHERE position(encode(k.key, 'hex') IN array_to_string(d.setconfig, ' ')) > 0;
CREATE ROLE regress_crm_nobody;
GRANT USAGE ON SCHEMA privacy TO regress_crm_nobody;
SELECT pseudonym('张三') AS mine \gset
SET ROLE regress_crm_nobody;
SELECT * FROM privacy.pseudonym_key;
SELECT privacy.pseudonym('张三') = :'mine' AS nobody_gets_the_same_pseudonym;
SELECT privacy.pseudonym(42::bigint);
SELECT privacy.pseudonym_int(42, 'audit');
-- the keyed functions are harmless without the key
SELECT privacy.keyed_pseudonym('张三', '\x00000000000000000000000000000000', '') = :'mine' AS wrong_key_differs;
SELECT privacy.keyed_pseudonym('张三', '\x00', '');
SELECT privacy.rotate_pseudonym_key();
UPDATE privacy.pseudonym_key SET key = '\x00000000000000000000000000000000';
RESET ROLE;

-- Rotation: every pseudonym changes, at once in this session and in a
-- backend that had cached the old key; the permutation stays a permutation.
CREATE EXTENSION dblink;
SELECT dblink_connect('other', format('host=%s port=%s dbname=%s',
    split_part(current_setting('unix_socket_directories'), ',', 1),
    current_setting('port'), current_database()));
SELECT p = :'mine' AS other_backend_before
  FROM dblink('other', $$SELECT privacy.pseudonym('张三')$$) AS t(p text);
SELECT rotate_pseudonym_key();
SELECT pseudonym('张三') <> :'mine' AS changed_here,
       (SELECT t FROM pseudonym_saved) <> pseudonym('张三') AS saved_differs,
       (SELECT b FROM pseudonym_saved) <> pseudonym(42::bigint) AS bigint_changed;
SELECT pseudonym('张三') AS rotated \gset
SELECT p = :'rotated' AS other_backend_sees_the_new_key
  FROM dblink('other', $$SELECT privacy.pseudonym('张三')$$) AS t(p text);
SELECT count(DISTINCT pseudonym(i)) AS still_a_permutation FROM generate_series(1::bigint, 200000) AS i;
SELECT count(*) AS keys FROM pseudonym_key;
-- A rotation that rolls back changes nothing.
BEGIN;
SELECT rotate_pseudonym_key();
ROLLBACK;
SELECT pseudonym('张三') = :'rotated' AS rollback_keeps_the_key;
SELECT p = :'rotated' AS other_backend_after_rollback
  FROM dblink('other', $$SELECT privacy.pseudonym('张三')$$) AS t(p text);
-- Any change to the key table is seen at once; without a key, a clear error.
SELECT p = :'rotated' AS other_backend_cached
  FROM dblink('other', $$SELECT privacy.pseudonym('张三')$$) AS t(p text);
DELETE FROM pseudonym_key;
SELECT pseudonym('x');
SELECT * FROM dblink('other', $$SELECT privacy.pseudonym('张三')$$) AS t(p text);
SELECT rotate_pseudonym_key();
SELECT pseudonym('x') ~ '^[0-9a-f]{16}$' AS works_again;
-- keyed_pseudonym with the table's key gives pseudonym()'s results, and is
-- truly immutable: the key is an argument, so a rotation cannot leave a
-- stale folded constant behind.
SELECT keyed_pseudonym('张三', k.key, 'ctx') = pseudonym('张三', 'ctx') AS same_text,
       keyed_pseudonym(42::bigint, k.key, '') = pseudonym(42::bigint) AS same_bigint,
       keyed_pseudonym_int(42, k.key, 'c') = pseudonym_int(42, 'c') AS same_int
  FROM pseudonym_key k;
SELECT provolatile, proname FROM pg_proc
 WHERE pronamespace = 'privacy'::regnamespace AND proname LIKE '%pseudonym%' AND prorettype <> 'trigger'::regtype
 ORDER BY 2, 1;
SELECT dblink_disconnect('other');
DROP EXTENSION dblink;

-- The key travels only by a superuser's explicit, audited export and import:
-- the same pseudonyms in a restored database or on every server.
SELECT pseudonym('张三') AS before_export \gset
SELECT export_pseudonym_key() AS exported \gset
SELECT rotate_pseudonym_key();
SELECT pseudonym('张三') <> :'before_export' AS rotated_away;
SELECT import_pseudonym_key(:'exported');
SELECT pseudonym('张三') = :'before_export' AS same_pseudonyms_after_import;
SELECT op, table_name, new_values ? 'fingerprint' AS has_fingerprint,
       new_values::text LIKE '%' || encode(:'exported'::bytea, 'hex') || '%' AS key_in_log
  FROM privacy.audit_log WHERE table_name = 'privacy.pseudonym_key' ORDER BY id;
SELECT import_pseudonym_key('\x0102');
SET ROLE regress_crm_nobody;
SELECT privacy.export_pseudonym_key();
SELECT privacy.import_pseudonym_key('\x00000000000000000000000000000000');
RESET ROLE;

DROP TABLE pseudonym_saved;
REVOKE USAGE ON SCHEMA privacy FROM regress_crm_nobody;
DROP ROLE regress_crm_nobody;
