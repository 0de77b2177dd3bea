--
-- requests: data subjects' requests (doc/audit.md, "Subject requests") -- change requests
-- reviewed exactly once, erasure, the subject report -- and the audit of
-- these privacy actions and of opt-outs.
--
CREATE TABLE client (id bigint PRIMARY KEY, name text NOT NULL, email text, city text,
                     points int, phone varchar(20) NOT NULL);
CREATE TABLE purchase (pid bigint PRIMARY KEY, id bigint NOT NULL REFERENCES client, addr text, total numeric);
SECURITY LABEL FOR crm_privacy ON TABLE client IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON TABLE purchase IS 'related subject=public.client key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN client.id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN client.name IS 'identifier mask=name';
SECURITY LABEL FOR crm_privacy ON COLUMN client.email IS 'identifier mask=email anon=pseudonym';
SECURITY LABEL FOR crm_privacy ON COLUMN client.city IS 'quasi_identifier level=public';
SECURITY LABEL FOR crm_privacy ON COLUMN client.points IS 'personal anon=keep';
SECURITY LABEL FOR crm_privacy ON COLUMN client.phone IS 'identifier mask=null anon=null';
SECURITY LABEL FOR crm_privacy ON COLUMN purchase.pid IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN purchase.addr IS 'identifier mask=partial(2,0)';
SECURITY LABEL FOR crm_privacy ON COLUMN purchase.total IS 'personal anon=generalize(100)';
SELECT privacy.enable_audit('client');
SELECT privacy.enable_audit('purchase');
INSERT INTO client VALUES (1, '张三', 'z@x.cn', '北京', 10, '13812345678'),
                          (2, '李四', 'l@x.cn', '上海', 20, '13912345678');
INSERT INTO purchase VALUES (10, 1, '北京路1号', 123.45), (11, 1, '北京路2号', 99), (12, 2, '上海路', 10);

--
-- Change requests.
--
SELECT privacy.request_change('client', '1', 'email', 'new@x.cn', 'customer portal') AS request;
SELECT id, subject, key, col, new_value, requested_by, status FROM privacy.change_requests;
SELECT privacy.review_change(1, true, 'checked by phone');
SELECT email FROM client WHERE id = 1;
SELECT id, status, decided_by = session_user AS by_me, note FROM privacy.change_requests;
-- Exactly once: a second decision is refused (55000), nothing changes.
SELECT privacy.review_change(1, false);
SELECT privacy.review_change(1, true);
-- A rejected request changes nothing.
SELECT privacy.request_change('client', '2', 'city', '深圳');
SELECT privacy.review_change(2, false, 'no proof of address');
SELECT city FROM client WHERE id = 2;
-- Bad requests: a clear error, nothing written.
SELECT privacy.request_change('client', '9', 'email', 'a@b.c');
SELECT privacy.request_change('client', 'x', 'email', 'a@b.c');
SELECT privacy.request_change('client', '1', 'points', 'many');
SELECT privacy.request_change('client', '1', 'id', '5');
SELECT privacy.request_change('client', '1', 'nope', '5');
SELECT privacy.request_change('purchase', '1', 'addr', 'x');
SELECT privacy.review_change(99, true);
SELECT count(*) FROM privacy.change_requests;

--
-- Erasure: labelled non-public values replaced by their anon result (the
-- mask result where the column is NOT NULL; stars where that is NULL too),
-- public values, keys and foreign keys kept; opt-outs of every purpose.
--
SELECT privacy.erase_subject('client', '1') AS rows_changed;
SELECT id, name, email = privacy.pseudonym('new@x.cn', 'erasure') AS email_pseudonym, city, points, phone
  FROM client ORDER BY id;
SELECT pid, id, addr, total FROM purchase ORDER BY pid;
SELECT purpose, opted_out, source FROM privacy.choices WHERE key = '1' ORDER BY purpose;
-- What the subject asked for is gone from the change requests too.
SELECT id, key, col, new_value, requested_by, status FROM privacy.change_requests WHERE key = '1';
-- Twice changes nothing more...
SELECT privacy.erase_subject('client', '1') AS rows_changed_again;
SELECT privacy.erase_subject('client', '001') AS same_key_again;
-- ...until a row of the subject arrives (or changes): then that row only.
INSERT INTO purchase VALUES (13, 1, '北京路3号', 77);
UPDATE client SET email = 'back@x.cn' WHERE id = 1;
SELECT privacy.erase_subject('client', '1') AS late_rows;
SELECT pid, addr, total FROM purchase WHERE id = 1 ORDER BY pid;
SELECT email = privacy.pseudonym('back@x.cn', 'erasure') AS email_pseudonym FROM client WHERE id = 1;
SELECT privacy.erase_subject('client', '1') AS nothing_new;
SELECT subject, key, rows_changed, runs, not_erased, cardinality(fingerprints) AS fingerprints
  FROM privacy.erasures;

-- NOT NULL columns of every type get a value of their type that reveals
-- nothing; a type with none (here an enum) is reported by name, in a
-- warning and in privacy.erasures, never kept silently.
CREATE TYPE mood AS ENUM ('calm', 'angry');
CREATE TABLE patient (id int PRIMARY KEY, born date NOT NULL, weight numeric(5,1) NOT NULL,
                      seen timestamptz NOT NULL, smoker boolean NOT NULL, tags text[] NOT NULL,
                      token uuid NOT NULL, mood mood NOT NULL, note varchar(10) NOT NULL);
SECURITY LABEL FOR crm_privacy ON TABLE patient IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN patient.id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN patient.born IS 'sensitive';
SECURITY LABEL FOR crm_privacy ON COLUMN patient.weight IS 'sensitive';
SECURITY LABEL FOR crm_privacy ON COLUMN patient.seen IS 'personal mask=null anon=null';
SECURITY LABEL FOR crm_privacy ON COLUMN patient.smoker IS 'sensitive';
SECURITY LABEL FOR crm_privacy ON COLUMN patient.tags IS 'personal mask=null anon=null';
SECURITY LABEL FOR crm_privacy ON COLUMN patient.token IS 'identifier mask=null anon=null';
SECURITY LABEL FOR crm_privacy ON COLUMN patient.mood IS 'sensitive';
SECURITY LABEL FOR crm_privacy ON COLUMN patient.note IS 'sensitive';
INSERT INTO patient VALUES (5, '1961-07-04', 82.5, '2026-11-30 10:00+00', true, '{asthma}',
                            'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'angry', 'diabetic');
SELECT privacy.erase_subject('patient', '5') AS rows_changed;
SELECT * FROM patient;
SELECT not_erased FROM privacy.erasures WHERE subject = 'patient'::regclass;

-- What the table's owner controls cannot keep a value silently: a unique
-- labelled column (kept: it ties rows) is named; a partition key stays and
-- the erasure of the partitioned table works; a trigger that writes the
-- values back, or a policy the owner forces on itself, makes the erasure
-- fail, and nothing is erased.
CREATE TABLE member (id int PRIMARY KEY, login text NOT NULL UNIQUE, phone text);
CREATE TABLE visit (vid int, member int, place text) PARTITION BY RANGE (vid);
CREATE TABLE visit_1 PARTITION OF visit FOR VALUES FROM (0) TO (100);
SECURITY LABEL FOR crm_privacy ON TABLE member IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON TABLE visit IS 'related subject=public.member key=member';
SECURITY LABEL FOR crm_privacy ON COLUMN member.login IS 'identifier';
SECURITY LABEL FOR crm_privacy ON COLUMN member.phone IS 'identifier mask=null anon=null';
SECURITY LABEL FOR crm_privacy ON COLUMN visit.vid IS 'personal';
SECURITY LABEL FOR crm_privacy ON COLUMN visit.place IS 'identifier mask=null anon=null';
INSERT INTO member VALUES (1, 'ann@x.cn', '0711'), (2, 'bob@x.cn', '0722');
INSERT INTO visit VALUES (10, 1, 'Harbour 1'), (20, 2, 'Harbour 2');
SELECT privacy.erase_subject('member', '1') AS rows_changed;
SELECT id, login, phone FROM member ORDER BY id;
SELECT vid, member, place FROM visit ORDER BY vid;
SELECT not_erased FROM privacy.erasures WHERE subject = 'member'::regclass;
CREATE FUNCTION keep_phone() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN NEW.phone := OLD.phone; RETURN NEW; END$$;
CREATE TRIGGER keep_phone BEFORE UPDATE ON member FOR EACH ROW EXECUTE FUNCTION keep_phone();
\set VERBOSITY terse
SELECT privacy.erase_subject('member', '2');
\set VERBOSITY default
DROP TRIGGER keep_phone ON member;
CREATE ROLE regress_req_owner;
ALTER TABLE member OWNER TO regress_req_owner;
ALTER TABLE member ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY hide_bob ON member USING (id <> 2);
\set VERBOSITY terse
SELECT privacy.erase_subject('member', '2');
\set VERBOSITY default
SELECT id, phone FROM member WHERE id = 2;
SELECT count(*) AS erasures_of_2 FROM privacy.erasures WHERE subject = 'member'::regclass AND key = '2';
DROP TABLE visit, member;
DROP ROLE regress_req_owner;
DROP FUNCTION keep_phone();

--
-- The audit of it all: changes, opt-outs, requests, decisions, erasure.
--
SELECT op, table_name,
       CASE WHEN subject_key ~ '^[0-9a-f]{16}$' THEN '(pseudonym)' ELSE subject_key END AS subject_key,
       changed_columns
  FROM privacy.audit_log WHERE table_name IN ('public.client', 'public.purchase') ORDER BY id;

--
-- The subject report: rows in clear, labels, choices, requests, audit rows.
--
SELECT r->>'subject' AS subject, r->>'key' AS key, r->'data' AS data,
       jsonb_array_length(r->'labels') AS labels, jsonb_array_length(r->'choices') AS choices,
       jsonb_array_length(r->'change_requests') AS change_requests,
       jsonb_array_length(r->'audit') AS audit_rows
  FROM privacy.subject_report('client', '2') r;
SELECT jsonb_path_query_array(r->'audit', '$[*].op') AS audit_ops
  FROM privacy.subject_report('client', '2') r;
SELECT privacy.subject_report('purchase', '2');
SELECT privacy.subject_report('client', 'x');

-- None of it is for PUBLIC.
CREATE ROLE regress_crm_someone;
SET ROLE regress_crm_someone;
SELECT privacy.request_change('client', '2', 'email', 'x@y.cn');
SELECT privacy.review_change(2, true);
SELECT privacy.erase_subject('client', '2');
SELECT privacy.subject_report('client', '2');
SELECT count(*) FROM privacy.change_requests;
RESET ROLE;

-- Each erase_subject and subject_report call is in the read audit, with the
-- tables it read; no row count.  (The 8 rows before are the views and
-- audit suites'.)
SELECT regress_wait_reads(20);
SELECT current_user_name, relations, left(query, 40) AS query, row_count
  FROM privacy.access_log WHERE id > 9 ORDER BY id;

-- A related table's int4 key under a numeric subject key: 2 matches 2.00,
-- and a key no int4 holds (2.5, 3000000000) erases the subject alone, with
-- no error (the cast of such a key failed the whole erasure).
CREATE TABLE nsub (id numeric(12,2) PRIMARY KEY, name text);
CREATE TABLE nrel (rid int PRIMARY KEY, id int4, note text);
INSERT INTO nsub VALUES (2, 'two'), (2.5, 'two and a half'), (3000000000, 'big');
INSERT INTO nrel VALUES (1, 2, 'of two'), (2, 3, 'of three');
SELECT privacy.label_table('nsub', 'subject key=id');
SELECT privacy.label_table('nrel', 'related subject=public.nsub key=id');
SELECT privacy.label_column('nsub', 'name', 'identifier');
SELECT privacy.label_column('nrel', 'note', 'identifier');
SELECT privacy.erase_subject('nsub', '2.5') IS NOT NULL AS erased_2_5;
SELECT privacy.erase_subject('nsub', '3000000000') IS NOT NULL AS erased_big;
SELECT rid, id, note FROM nrel ORDER BY rid;
SELECT privacy.erase_subject('nsub', '2') IS NOT NULL AS erased_2;
SELECT rid, id, note FROM nrel ORDER BY rid;
SELECT id, name FROM nsub ORDER BY id;
DROP TABLE nrel, nsub;

-- A deferrable trigger of the table's owner would fire at commit, after the
-- erasure checked what it wrote, and could write the values back: the
-- erasure refuses such a table, and nothing changes (red team audit 4 #2).
CREATE TABLE dsub (id int PRIMARY KEY, name text);
INSERT INTO dsub VALUES (1, 'Deferred Dora');
SELECT privacy.label_table('dsub', 'subject key=id');
SELECT privacy.label_column('dsub', 'name', 'identifier');
CREATE FUNCTION dsub_restore() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.name IS DISTINCT FROM OLD.name THEN
        UPDATE dsub SET name = OLD.name WHERE id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER dsub_restore AFTER UPDATE ON dsub
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION dsub_restore();
SELECT privacy.erase_subject('dsub', '1');
SELECT name FROM dsub;
DROP TRIGGER dsub_restore ON dsub;
SELECT privacy.erase_subject('dsub', '1');
SELECT name IS DISTINCT FROM 'Deferred Dora' AS erased FROM dsub;
DROP TABLE dsub;
DROP FUNCTION dsub_restore();

DROP TABLE purchase, client, patient;
DROP TYPE mood;
DROP ROLE regress_crm_someone;
