--
-- audit: the change audit (doc/audit.md, "Change audit"), the append-only logs, and the
-- tamper-evident seal.  Pseudonyms depend on the random key: compared, never
-- printed.
--
CREATE TABLE member (
    id    bigint PRIMARY KEY,
    name  text,
    email text,
    city  text,
    vip   boolean,
    notes text
);
SECURITY LABEL FOR crm_privacy ON TABLE member IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN member.id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN member.name IS 'identifier mask=name';
SECURITY LABEL FOR crm_privacy ON COLUMN member.email IS 'identifier mask=email';
SECURITY LABEL FOR crm_privacy ON COLUMN member.city IS 'quasi_identifier level=public';
SECURITY LABEL FOR crm_privacy ON COLUMN member.vip IS 'public';
-- member.notes is unlabelled: privacy by default, so it is pseudonymized too.
CREATE TABLE plain_log (id int, msg text);   -- no labels at all

SELECT privacy.enable_audit('member');
SELECT privacy.enable_audit('member');        -- twice is once
SELECT privacy.enable_audit('plain_log');
SELECT tgname FROM pg_trigger WHERE tgrelid = 'member'::regclass AND NOT tgisinternal ORDER BY 1;

INSERT INTO member VALUES (1, '张三', 'z@x.cn', '北京', false, 'likes tea'),
                          (2, 'John Smith', 'j@x.org', '上海', true, NULL);
UPDATE member SET vip = true, name = '张三丰' WHERE id = 1;
UPDATE member SET city = city WHERE id = 2;  -- no change: recorded, nothing changed
DELETE FROM member WHERE id = 2;
INSERT INTO plain_log VALUES (1, 'hello');
TRUNCATE plain_log;

-- One row per changed row; only changed columns on UPDATE.
SELECT op, table_name, subject_key, changed_columns,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(old_values) k) AS old_columns,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(new_values) k) AS new_columns
  FROM privacy.audit_log WHERE table_name IN ('public.member', 'public.plain_log') ORDER BY id;
-- Labelled non-public (and unlabelled) values are pseudonyms, never in clear;
-- public ones are in clear; tables without labels are in clear.
SELECT new_values->>'id' AS id, new_values->>'city' AS city, new_values->>'vip' AS vip,
       new_values->>'name' = privacy.pseudonym('张三', 'audit') AS name_is_pseudonym,
       new_values->>'email' = privacy.pseudonym('z@x.cn', 'audit') AS email_is_pseudonym,
       new_values->>'notes' = privacy.pseudonym('likes tea', 'audit') AS notes_is_pseudonym,
       new_values::text !~ '张三|z@x\.cn|likes tea' AS nothing_in_clear
  FROM privacy.audit_log WHERE table_name = 'public.member' AND op = 'INSERT' AND subject_key = '1';
SELECT old_values->>'name' = privacy.pseudonym('张三', 'audit') AS old_name,
       new_values->>'name' = privacy.pseudonym('张三丰', 'audit') AS new_name
  FROM privacy.audit_log WHERE op = 'UPDATE' AND subject_key = '1';
SELECT new_values FROM privacy.audit_log WHERE table_name = 'public.plain_log';
SELECT bool_and(session_user_name = session_user AND current_user_name = current_user) AS actor,
       bool_and(txid > 0) AS txid, bool_and(at <= now()) AS at, bool_and(client_addr IS NULL) AS unix_socket
  FROM privacy.audit_log WHERE table_name IN ('public.member', 'public.plain_log');

-- The actor is who ran the change, whatever application_name says.
CREATE ROLE regress_crm_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON member TO regress_crm_writer;
SET application_name = 'postgres pretending to be someone';
SET ROLE regress_crm_writer;
INSERT INTO member VALUES (3, '李四', 'l@x.cn', '上海', false, NULL);
RESET ROLE;
SELECT session_user_name = session_user AS session_user_ok, current_user_name, application_name
  FROM privacy.audit_log WHERE subject_key = '3' AND table_name = 'public.member';
RESET application_name;

-- Labels changed later change what is stored from then on.
SECURITY LABEL FOR crm_privacy ON COLUMN member.vip IS 'personal';
UPDATE member SET vip = true WHERE id = 3;
SELECT new_values->>'vip' = privacy.pseudonym('t', 'audit') AS vip_now_hidden
  FROM privacy.audit_log WHERE op = 'UPDATE' AND subject_key = '3';

--
-- The logs are append-only, for everyone, the owner included.
--
UPDATE privacy.audit_log SET op = 'X';
DELETE FROM privacy.audit_log;
TRUNCATE privacy.audit_log;
UPDATE privacy.access_log SET query = 'x';
DELETE FROM privacy.audit_seal;
TRUNCATE privacy.audit_seal;

-- A plain role cannot read, write, disable or drop the audit.
CREATE TABLE owned (id int PRIMARY KEY, v text);
ALTER TABLE owned OWNER TO regress_crm_writer;
CREATE FUNCTION regress_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
SELECT privacy.enable_audit('owned');
\set VERBOSITY sqlstate
SELECT privacy.disable_audit(0);   -- no such table: 42P01
\set VERBOSITY default
SET ROLE regress_crm_writer;
SELECT count(*) FROM privacy.audit_log;
INSERT INTO privacy.audit_log (txid, session_user_name, current_user_name, table_name, op)
VALUES (1, 'postgres', 'postgres', 'forged', 'INSERT');
SELECT privacy.disable_audit('owned');
SELECT privacy.seal_audit();
DROP TRIGGER crm_privacy_audit ON owned;
ALTER TABLE owned DISABLE TRIGGER crm_privacy_audit;
ALTER TABLE owned DISABLE TRIGGER ALL;
ALTER TABLE owned DISABLE TRIGGER USER;
ALTER TABLE owned ENABLE REPLICA TRIGGER crm_privacy_audit;
ALTER TRIGGER crm_privacy_audit ON owned RENAME TO harmless;
CREATE OR REPLACE TRIGGER crm_privacy_audit AFTER INSERT ON owned
    FOR EACH ROW EXECUTE FUNCTION privacy.audit_trigger();
SET session_replication_role = replica;
-- ...and its own triggers stay its own business.
CREATE TRIGGER mine BEFORE INSERT ON owned FOR EACH ROW EXECUTE FUNCTION regress_noop();
ALTER TABLE owned DISABLE TRIGGER mine;
DROP TRIGGER mine ON owned;
INSERT INTO owned VALUES (1, 'still audited');
RESET ROLE;
SELECT count(*) AS owned_audited FROM privacy.audit_log WHERE table_name = 'public.owned';

--
-- The seal: a SHA-256 chain over both logs.
--
SELECT privacy.seal_audit() > 0 AS sealed;
SELECT privacy.seal_audit() AS sealed_again;
SELECT log, rows_checked = (SELECT count(*) FROM privacy.audit_seal s WHERE s.log = v.log) AS all_checked,
       first_bad_id, ok FROM privacy.verify_audit() v;
SELECT log, id = (SELECT max(s.id) FROM privacy.audit_seal s WHERE s.log = h.log) AS latest,
       length(hash) AS hex_digits FROM privacy.audit_head() h;

-- Tampering, as a superuser with the append-only triggers off: each case is
-- found, at the row where it happened.
SELECT min(id) AS changed_id FROM privacy.audit_log WHERE table_name = 'public.member' AND op = 'UPDATE' \gset
SELECT min(id) AS deleted_id FROM privacy.audit_log WHERE table_name = 'public.member' AND op = 'DELETE' \gset
SET session_replication_role = replica;
UPDATE privacy.audit_log SET current_user_name = 'nobody' WHERE id = :changed_id;
SELECT log, first_bad_id = :changed_id AS found_at_the_changed_row, ok
  FROM privacy.verify_audit() WHERE log = 'audit_log';
UPDATE privacy.audit_log SET current_user_name = current_user WHERE id = :changed_id;
SELECT ok AS repaired FROM privacy.verify_audit() WHERE log = 'audit_log';
CREATE TEMP TABLE kept AS SELECT * FROM privacy.audit_log WHERE id = :deleted_id;
DELETE FROM privacy.audit_log WHERE id = :deleted_id;
SELECT log, first_bad_id = :deleted_id AS found_at_the_removed_row, ok
  FROM privacy.verify_audit() WHERE log = 'audit_log';
INSERT INTO privacy.audit_log OVERRIDING SYSTEM VALUE SELECT * FROM kept;
SELECT ok AS repaired FROM privacy.verify_audit() WHERE log = 'audit_log';
INSERT INTO privacy.audit_log (id, txid, session_user_name, current_user_name, table_name, op)
OVERRIDING SYSTEM VALUE VALUES (0, 1, 'forger', 'forger', 'public.member', 'DELETE');
SELECT log, first_bad_id AS found_at_the_forged_row, ok FROM privacy.verify_audit() WHERE log = 'audit_log';
DELETE FROM privacy.audit_log WHERE id = 0;
-- Changing the seal itself is found too.
UPDATE privacy.audit_seal SET hash = sha256('x') WHERE log = 'audit_log' AND id = :changed_id;
SELECT log, first_bad_id = :changed_id AS found_at_the_changed_link, ok
  FROM privacy.verify_audit() WHERE log = 'audit_log';
UPDATE privacy.audit_seal SET hash = sha256('x') WHERE false;
RESET session_replication_role;

--
-- A subject's rows (subject_report) are found through a BRIN bloom index on
-- subject_key, in block ranges summarized (by seal_audit) or not yet.
--
SELECT indexdef FROM pg_indexes WHERE schemaname = 'privacy' AND tablename = 'audit_log' ORDER BY indexname;
CREATE TABLE bulk_member (id int PRIMARY KEY, phone text NOT NULL);
SECURITY LABEL FOR crm_privacy ON TABLE bulk_member IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN bulk_member.phone IS 'identifier';
SELECT privacy.enable_audit('bulk_member');
INSERT INTO bulk_member SELECT g, '1380000' || g FROM generate_series(1, 3000) g;
UPDATE bulk_member SET phone = phone || '9';
SELECT pg_relation_size('privacy.audit_log') / 8192 / 64 >= 2 AS several_ranges;
SELECT privacy.seal_audit() > 0 AS sealed;
SELECT brin_summarize_new_values('privacy.audit_log_subject') AS left_unsummarized;
UPDATE bulk_member SET phone = phone || '8' WHERE id % 100 = 0;
SET enable_seqscan = off;
SET jit = off;
EXPLAIN (COSTS OFF) SELECT * FROM privacy.audit_log a
 WHERE a.table_name = ANY ('{public.bulk_member}') AND a.subject_key = ANY ('{x,y}');
RESET enable_seqscan;
RESET jit;
-- For 60 subjects across the log, what the index finds is what a scan finds.
SET enable_bitmapscan = off;
CREATE TEMP TABLE bulk_keys AS
SELECT m.id, ARRAY[m.id::text, privacy.pseudonym(m.id::text, 'audit')] AS keys,
       (SELECT count(*) FROM privacy.audit_log a
         WHERE a.table_name = 'public.bulk_member'
           AND a.subject_key = ANY (ARRAY[m.id::text, privacy.pseudonym(m.id::text, 'audit')])) AS scanned
  FROM bulk_member m WHERE m.id % 100 IN (0, 1);
RESET enable_bitmapscan;
SELECT count(*) AS subjects, sum(scanned) AS rows_scanned,
       count(*) FILTER (WHERE jsonb_array_length(privacy.subject_audit_rows('{public.bulk_member}', keys))
                              = scanned) AS same_rows
  FROM bulk_keys;
SELECT privacy.disable_audit('bulk_member');
DROP TABLE bulk_member, bulk_keys;

--
-- What a writer controls cannot break the log or its pseudonyms.
--
CREATE TABLE memo_subject (id int PRIMARY KEY, memo text, born date, seen timestamptz, blob bytea);
CREATE TABLE memo_line (line int PRIMARY KEY, subject numeric(12,2), code char(6));
SECURITY LABEL FOR crm_privacy ON TABLE memo_subject IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON TABLE memo_line IS 'related subject=public.memo_subject key=subject';
SECURITY LABEL FOR crm_privacy ON COLUMN memo_subject.memo IS 'personal level=public';
SELECT privacy.enable_audit('memo_subject'), privacy.enable_audit('memo_line');
-- A value kept in clear is cut after 16 kB, with its length and SHA-256: one
-- huge value (here 200 MB of control characters, over 1 GB as JSON text)
-- can no longer stop seal_audit() for good.
INSERT INTO memo_subject (id, memo) VALUES (1, repeat(chr(1), 200000000));
SELECT length(new_values->>'memo') AS stored_length,
       substr(new_values->>'memo', 16385) ~ '^\.\.\. \[200000000 bytes, sha256 [0-9a-f]{64}\]$' AS clipped
  FROM privacy.audit_log WHERE table_name = 'public.memo_subject' AND op = 'INSERT';
SELECT privacy.seal_audit() > 0 AS sealed;
SELECT count(*) AS memo_row_sealed FROM privacy.audit_seal s JOIN privacy.audit_log a ON a.id = s.id
 WHERE s.log = 'audit_log' AND a.table_name = 'public.memo_subject';
-- One value, one pseudonym, whatever the writing session's settings.
SET DateStyle = 'German'; SET TimeZone = 'Asia/Shanghai'; SET bytea_output = 'escape';
SET IntervalStyle = 'sql_standard'; SET extra_float_digits = -3;
INSERT INTO memo_subject (id, born, seen, blob) VALUES (2, '1980-05-06', '2020-01-01 00:00+00', '\x41');
RESET DateStyle; RESET TimeZone; RESET bytea_output; RESET IntervalStyle; RESET extra_float_digits;
INSERT INTO memo_subject (id, born, seen, blob) VALUES (3, '1980-05-06', '2020-01-01 00:00+00', '\x41');
SELECT count(DISTINCT new_values->>'born') AS born, count(DISTINCT new_values->>'seen') AS seen,
       count(DISTINCT new_values->>'blob') AS blob, current_setting('DateStyle') AS datestyle_back
  FROM privacy.audit_log WHERE table_name = 'public.memo_subject'
   AND subject_key IN (privacy.pseudonym('2', 'audit'), privacy.pseudonym('3', 'audit'));
SELECT new_values->>'born' = privacy.pseudonym('1980-05-06', 'audit') AS iso_date,
       new_values->>'seen' = privacy.pseudonym('2020-01-01 00:00:00+00', 'audit') AS utc_time,
       new_values->>'blob' = privacy.pseudonym('\x41', 'audit') AS hex_bytes
  FROM privacy.audit_log WHERE table_name = 'public.memo_subject' AND subject_key = privacy.pseudonym('2', 'audit');
-- A related table's key is kept in the subject key's canonical form: the
-- numeric(12,2) 2.00 under the integer key 2 is found by the subject's report.
INSERT INTO memo_line VALUES (1, 2.00, 'A1'), (2, 2, 'B2');
SELECT count(*) AS line_rows_of_subject_2
  FROM jsonb_array_elements(privacy.subject_report('memo_subject', '2')->'audit') a
 WHERE a->>'table_name' = 'public.memo_line';
SELECT privacy.disable_audit('memo_subject'), privacy.disable_audit('memo_line');
DROP TABLE memo_line, memo_subject;

DROP TABLE member, plain_log, owned;
DROP FUNCTION regress_noop();
DROP ROLE regress_crm_writer;
