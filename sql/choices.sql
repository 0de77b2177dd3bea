--
-- choices: a subject's choices are never lost and always name their table.
-- They belong to the subject table by name: a nightly reload (new table,
-- drop or rename the old one, rename the new one) keeps them; a plain
-- rename or SET SCHEMA takes them along; a dropped table's choices wait under
-- its name for the next table to take it.  Every change is in
-- privacy.choice_history.
--
SET client_min_messages = warning;
CREATE ROLE regress_ch_owner;       -- owns the tables; no privacy rights
GRANT CREATE ON SCHEMA public TO regress_ch_owner;
CREATE SCHEMA ch_etl AUTHORIZATION regress_ch_owner;
SET ROLE regress_ch_owner;
CREATE TABLE ch_customer (id bigint PRIMARY KEY, name text);
INSERT INTO ch_customer VALUES (1, 'Ann'), (2, 'Bob'), (3, 'Cy');
SECURITY LABEL FOR crm_privacy ON TABLE ch_customer IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_customer.id IS 'public';
RESET ROLE;
RESET client_min_messages;

SELECT privacy.opt_out('ch_customer', '2', 'direct_marketing', 'web form');
SELECT privacy.opt_out('ch_customer', '3', 'third_party_disclosure', 'letter');
SELECT id FROM privacy_optout_direct_marketing.ch_customer ORDER BY id;

-- 1. The nightly reload, by the table's owner: create the new table, drop
-- the old one, rename the new one.  The opt-out holds in the new table's
-- views, and privacy.choices names the table.
SET client_min_messages = warning;
SET ROLE regress_ch_owner;
CREATE TABLE ch_customer_new (id bigint PRIMARY KEY, name text);
INSERT INTO ch_customer_new VALUES (1, 'Ann'), (2, 'Bob'), (3, 'Cy'), (4, 'Di');
SECURITY LABEL FOR crm_privacy ON TABLE ch_customer_new IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_customer_new.id IS 'public';
DROP TABLE ch_customer;
RESET ROLE;
RESET client_min_messages;
-- while no table has the name, the choices wait under it
SELECT subject, subject_name, key, purpose, opted_out FROM privacy.choices
 WHERE subject_name LIKE '%ch\_%' ORDER BY subject_name, key;
SET client_min_messages = warning;
SET ROLE regress_ch_owner;
ALTER TABLE ch_customer_new RENAME TO ch_customer;
RESET ROLE;
RESET client_min_messages;
SELECT subject, subject_name, key, purpose, opted_out FROM privacy.choices
 WHERE subject_name LIKE '%ch\_%' ORDER BY subject_name, key;
SELECT id FROM privacy_optout_direct_marketing.ch_customer ORDER BY id;
SELECT id FROM privacy_optout_third_party_disclosure.ch_customer ORDER BY id;

-- 2. The other way round: rename the old one away, rename the new one in,
-- then drop the old one.  While both exist, each honours the choices.
SET client_min_messages = warning;
SET ROLE regress_ch_owner;
CREATE TABLE ch_customer_new (id bigint PRIMARY KEY, name text);
INSERT INTO ch_customer_new VALUES (1, 'Ann'), (2, 'Bob'), (3, 'Cy'), (4, 'Di'), (5, 'Ed');
SECURITY LABEL FOR crm_privacy ON TABLE ch_customer_new IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_customer_new.id IS 'public';
ALTER TABLE ch_customer RENAME TO ch_customer_old;
ALTER TABLE ch_customer_new RENAME TO ch_customer;
RESET ROLE;
RESET client_min_messages;
SELECT subject, subject_name, key, purpose FROM privacy.choices
 WHERE subject_name LIKE '%ch\_%' ORDER BY subject_name, key;
SELECT id FROM privacy_optout_direct_marketing.ch_customer ORDER BY id;
SELECT id FROM privacy_optout_direct_marketing.ch_customer_old ORDER BY id;
SET client_min_messages = warning;
SET ROLE regress_ch_owner;
DROP TABLE ch_customer_old;
RESET ROLE;
RESET client_min_messages;
SELECT subject, subject_name, key, purpose FROM privacy.choices
 WHERE subject_name LIKE '%ch\_%' ORDER BY subject_name, key;
SELECT id FROM privacy_optout_direct_marketing.ch_customer ORDER BY id;

-- 3. A plain rename and SET SCHEMA take the choices along; so does
-- renaming the schema.  A choice changed after the rename updates the same
-- record (one per table, purpose and key).
SET client_min_messages = warning;
SET ROLE regress_ch_owner;
ALTER TABLE ch_customer RENAME TO ch_client;
ALTER TABLE ch_client SET SCHEMA ch_etl;
RESET ROLE;
ALTER SCHEMA ch_etl RENAME TO ch_crm;
RESET client_min_messages;
SELECT subject, subject_name, key, purpose FROM privacy.choices
 WHERE subject_name LIKE '%ch\_%' ORDER BY subject_name, key;
SELECT id FROM privacy_optout_direct_marketing.ch_client ORDER BY id;
SELECT privacy.opt_in('ch_crm.ch_client', '2', 'direct_marketing', 'phone call');
SELECT privacy.opt_out('ch_crm.ch_client', '4', 'direct_marketing', 'app');
SELECT subject, subject_name, key, purpose, opted_out, source FROM privacy.choices
 WHERE subject_name LIKE '%ch\_%' ORDER BY subject_name, key, purpose;
SELECT id FROM privacy_optout_direct_marketing.ch_client ORDER BY id;

-- 4. Choices met: a choice recorded on the new table during the reload
-- and an older one kept under the name; the newer stays.
SET client_min_messages = warning;
SET ROLE regress_ch_owner;
CREATE TABLE ch_crm.ch_client_new (id bigint PRIMARY KEY, name text);
INSERT INTO ch_crm.ch_client_new VALUES (2, 'Bob'), (3, 'Cy'), (4, 'Di');
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_client_new IS 'subject key=id';
RESET ROLE;
RESET client_min_messages;
SELECT privacy.opt_out('ch_crm.ch_client_new', '2', 'direct_marketing', 'reload window');
SELECT privacy.opt_out('ch_crm.ch_client_new', '4', 'direct_marketing', 'reload window');
UPDATE privacy.subject_choices SET changed_at = changed_at - interval '1 day'
 WHERE subject_name = 'ch_crm.ch_client_new' AND key = '4';   -- older than the one kept
SET client_min_messages = warning;
SET ROLE regress_ch_owner;
DROP TABLE ch_crm.ch_client;
ALTER TABLE ch_crm.ch_client_new RENAME TO ch_client;
RESET ROLE;
RESET client_min_messages;
SELECT subject, subject_name, key, purpose, opted_out, source FROM privacy.choices
 WHERE subject_name LIKE '%ch\_%' ORDER BY subject_name, key, purpose;

-- 5. The history: every change, with who, from what source, before and after.
SELECT changed_by, subject_name, key, purpose, event, old_opted_out, new_opted_out, source
  FROM privacy.choice_history WHERE subject_name LIKE '%ch\_%' ORDER BY id;
SELECT count(*) FILTER (WHERE changed_at IS NULL) AS without_time FROM privacy.choice_history;
-- nobody changes it (not even through the functions' owner's grants)
SET ROLE regress_ch_owner;
SELECT * FROM privacy.choice_history;
UPDATE privacy.subject_choice_history SET source = 'x';
RESET ROLE;

-- 6. A waiting choice is taken by a new table labelled under that name, not
-- by a table without a subject label.
SET client_min_messages = warning;
SET ROLE regress_ch_owner;
DROP TABLE ch_crm.ch_client;
CREATE TABLE ch_crm.ch_client (id bigint PRIMARY KEY);
RESET ROLE;
RESET client_min_messages;
SELECT count(*) AS waiting FROM privacy.choices WHERE subject_name = 'ch_crm.ch_client' AND subject IS NULL;
SET client_min_messages = warning;
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_client IS 'subject key=id';
RESET client_min_messages;
SELECT count(*) AS adopted FROM privacy.choices WHERE subject = 'ch_crm.ch_client'::regclass;

-- 7. Change requests and erasures are kept with their table the same way:
-- a pending request made before a reload is approved after it, on the new
-- table; an erasure's record follows, and erasing again after the reload
-- counts on it.  While no table has the name, a request waits and cannot be
-- approved.
SET client_min_messages = warning;
SET ROLE regress_ch_owner;
CREATE TABLE ch_crm.ch_person (id int PRIMARY KEY, email text);
INSERT INTO ch_crm.ch_person VALUES (1, 'a@x.org'), (2, 'b@x.org');
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_person IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_person.email IS 'identifier anon=null';
RESET ROLE;
RESET client_min_messages;
SELECT privacy.request_change('ch_crm.ch_person', '1', 'email', 'a2@x.org', 'portal') AS request \gset
SELECT privacy.erase_subject('ch_crm.ch_person', '2') AS erased;
SET client_min_messages = warning;
SET ROLE regress_ch_owner;
CREATE TABLE ch_crm.ch_person_new (LIKE ch_crm.ch_person INCLUDING ALL);
INSERT INTO ch_crm.ch_person_new VALUES (1, 'a@x.org'), (2, 'b@x.org');    -- the source still has 2
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_person_new IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_person_new.email IS 'identifier anon=null';
DROP TABLE ch_crm.ch_person;
RESET ROLE;
RESET client_min_messages;
SELECT id, subject, subject_name, status FROM privacy.change_requests WHERE id = :request;
SELECT privacy.review_change(:request, true);
SELECT subject, subject_name, key, runs FROM privacy.erasures WHERE subject_name LIKE 'ch_crm.%';
SET client_min_messages = warning;
SET ROLE regress_ch_owner;
ALTER TABLE ch_crm.ch_person_new RENAME TO ch_person;
RESET ROLE;
RESET client_min_messages;
SELECT id, subject, subject_name, status FROM privacy.change_requests WHERE id = :request;
SELECT privacy.review_change(:request, true, 'after the reload');
SELECT * FROM ch_crm.ch_person ORDER BY id;
SELECT privacy.erase_subject('ch_crm.ch_person', '2') AS erased_again;
SELECT subject, subject_name, key, runs, rows_changed FROM privacy.erasures WHERE subject_name LIKE 'ch_crm.%';
SELECT * FROM ch_crm.ch_person ORDER BY id;

-- 8. A table renamed first and reloaded later: its choices follow its
-- current name (on the old code they stayed under the name they were
-- recorded under, and the reload lost them).  A choice recorded on the
-- staging table during a load is the table's too the next night.
SET client_min_messages = warning;
SET ROLE regress_ch_owner;
CREATE TABLE ch_crm.ch_lead (id int PRIMARY KEY);
INSERT INTO ch_crm.ch_lead VALUES (1), (2), (3), (4);
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_lead IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_lead.id IS 'public';
RESET ROLE;
RESET client_min_messages;
SELECT privacy.opt_out('ch_crm.ch_lead', '2', 'direct_marketing', 'web');
SET client_min_messages = warning;
SET ROLE regress_ch_owner;
ALTER TABLE ch_crm.ch_lead RENAME TO ch_prospect;               -- an ordinary rename
CREATE TABLE ch_crm.ch_prospect_new (LIKE ch_crm.ch_prospect INCLUDING ALL);
INSERT INTO ch_crm.ch_prospect_new SELECT * FROM ch_crm.ch_prospect;
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_prospect_new IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_prospect_new.id IS 'public';
RESET ROLE;
RESET client_min_messages;
SELECT privacy.opt_out('ch_crm.ch_prospect_new', '3', 'direct_marketing', 'during the load');
SET client_min_messages = warning;
SET ROLE regress_ch_owner;
ALTER TABLE ch_crm.ch_prospect RENAME TO ch_prospect_old;      -- the reload that keeps yesterday's
ALTER TABLE ch_crm.ch_prospect_new RENAME TO ch_prospect;
RESET ROLE;
RESET client_min_messages;
SELECT id FROM privacy_optout_direct_marketing.ch_prospect ORDER BY id;
SELECT id FROM privacy_optout_direct_marketing.ch_prospect_old ORDER BY id;
-- the next night, with another staging name, and yesterday's table dropped
SET client_min_messages = warning;
SET ROLE regress_ch_owner;
DROP TABLE ch_crm.ch_prospect_old;
CREATE TABLE ch_crm.ch_prospect_stage (LIKE ch_crm.ch_prospect INCLUDING ALL);
INSERT INTO ch_crm.ch_prospect_stage SELECT * FROM ch_crm.ch_prospect;
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_prospect_stage IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_prospect_stage.id IS 'public';
ALTER TABLE ch_crm.ch_prospect RENAME TO ch_prospect_old;
ALTER TABLE ch_crm.ch_prospect_stage RENAME TO ch_prospect;
DROP TABLE ch_crm.ch_prospect_old;
RESET ROLE;
RESET client_min_messages;
SELECT id FROM privacy_optout_direct_marketing.ch_prospect ORDER BY id;
SELECT subject, subject_name, key, source FROM privacy.choices
 WHERE subject = 'ch_crm.ch_prospect'::regclass ORDER BY key;

-- 9. Another owner's table takes nothing: a role that leaves its own
-- choices under the name of someone else's staging table (or takes the name
-- of someone else's dropped table) changes no one else's choices.  A privacy
-- administrator can hand waiting choices over (adopt_choices).
SET client_min_messages = warning;
CREATE ROLE regress_ch_other;
GRANT USAGE, CREATE ON SCHEMA ch_crm TO regress_ch_other;
SET ROLE regress_ch_other;
CREATE TABLE ch_crm.ch_partner (pid int PRIMARY KEY);
INSERT INTO ch_crm.ch_partner VALUES (1), (2), (3), (4);
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_partner IS 'subject key=pid';
RESET ROLE;
RESET client_min_messages;
SELECT privacy.opt_in('ch_crm.ch_partner', '2', 'direct_marketing', 'the other owner''s');
SET client_min_messages = warning;
SET ROLE regress_ch_other;
ALTER TABLE ch_crm.ch_partner RENAME TO ch_prospect_new;
DROP TABLE ch_crm.ch_prospect_new;
RESET ROLE;
SET ROLE regress_ch_owner;
CREATE TABLE ch_crm.ch_prospect_new (LIKE ch_crm.ch_prospect INCLUDING ALL);
INSERT INTO ch_crm.ch_prospect_new SELECT * FROM ch_crm.ch_prospect;
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_prospect_new IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_prospect_new.id IS 'public';
DROP TABLE ch_crm.ch_prospect;
ALTER TABLE ch_crm.ch_prospect_new RENAME TO ch_prospect;
RESET ROLE;
RESET client_min_messages;
SELECT id FROM privacy_optout_direct_marketing.ch_prospect ORDER BY id;   -- 1 and 4: 2 and 3 still out
SELECT subject, subject_name, key, opted_out, source FROM privacy.choices
 WHERE subject_name LIKE 'ch_crm.ch_prospect%' ORDER BY subject_name, key;
-- the other owner's new table of a dropped table's name takes nothing either
SET client_min_messages = warning;
SET ROLE regress_ch_owner;
DROP TABLE ch_crm.ch_prospect;
RESET ROLE;
SET ROLE regress_ch_other;
CREATE TABLE ch_crm.ch_prospect (id int PRIMARY KEY);
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_prospect IS 'subject key=id';
RESET ROLE;
RESET client_min_messages;
SELECT count(*) AS taken FROM privacy.choices WHERE subject = 'ch_crm.ch_prospect'::regclass;
SELECT privacy.adopt_choices('ch_crm.ch_prospect') AS handed_over;
SELECT count(*) AS taken FROM privacy.choices WHERE subject = 'ch_crm.ch_prospect'::regclass;

-- 10. A label that names another key column of the table is refused while
-- the table has choices: the same key there is another subject.  A renamed
-- key column keeps them.
SET client_min_messages = warning;
SET ROLE regress_ch_owner;
CREATE TABLE ch_crm.ch_member (id int PRIMARY KEY, legacy_id int UNIQUE);
INSERT INTO ch_crm.ch_member VALUES (1, 98), (2, 97), (98, 2);
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_member IS 'subject key=id';
RESET ROLE;
RESET client_min_messages;
SELECT privacy.opt_out('ch_crm.ch_member', '2', 'direct_marketing', 'web');
SET ROLE regress_ch_owner;
\set VERBOSITY sqlstate
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_member IS 'subject key=legacy_id';
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_member IS NULL;
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_member IS 'subject key=legacy_id';
\set VERBOSITY default
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_member IS 'subject key=id';
ALTER TABLE ch_crm.ch_member RENAME COLUMN id TO member_id;
RESET ROLE;
SELECT key, key_column FROM privacy.subject_choices WHERE subject = 'ch_crm.ch_member'::regclass;

-- 11. Yesterday's table renamed twice (to a dated name, then into an
-- archive schema) before the new one takes the name: the new one still gets
-- the choices.  A key column swapped by renames is another column: refused.
-- A role renamed away, or dropped, is not the owner: a new role of that
-- name takes nothing.
SET client_min_messages = warning;
CREATE SCHEMA ch_archive AUTHORIZATION regress_ch_owner;
SET ROLE regress_ch_owner;
CREATE TABLE ch_crm.ch_buyer (id int PRIMARY KEY, legacy_id int UNIQUE);
INSERT INTO ch_crm.ch_buyer VALUES (1, 98), (2, 97), (98, 2);
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_buyer IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_buyer.id IS 'public';
CREATE TABLE ch_crm.ch_buyer_new (LIKE ch_crm.ch_buyer INCLUDING ALL);
INSERT INTO ch_crm.ch_buyer_new SELECT * FROM ch_crm.ch_buyer;
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_buyer_new IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_buyer_new.id IS 'public';
RESET ROLE;
RESET client_min_messages;
SELECT privacy.opt_out('ch_crm.ch_buyer', '2', 'direct_marketing', 'web');
SET client_min_messages = warning;
SET ROLE regress_ch_owner;
ALTER TABLE ch_crm.ch_buyer RENAME TO ch_buyer_20261201;
ALTER TABLE ch_crm.ch_buyer_20261201 SET SCHEMA ch_archive;
ALTER TABLE ch_crm.ch_buyer_new RENAME TO ch_buyer;
RESET ROLE;
RESET client_min_messages;
SELECT id FROM privacy_optout_direct_marketing.ch_buyer ORDER BY id;
SET ROLE regress_ch_owner;
\set VERBOSITY sqlstate
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_buyer IS NULL;
ALTER TABLE ch_crm.ch_buyer RENAME COLUMN id TO old_id;
ALTER TABLE ch_crm.ch_buyer RENAME COLUMN legacy_id TO id;
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_buyer IS 'subject key=id';
\set VERBOSITY default
RESET ROLE;
SET client_min_messages = warning;
DROP TABLE ch_archive.ch_buyer_20261201;
ALTER ROLE regress_ch_owner RENAME TO regress_ch_owner_old;
CREATE ROLE regress_ch_owner;
GRANT USAGE, CREATE ON SCHEMA ch_archive TO regress_ch_owner;
SET ROLE regress_ch_owner;
CREATE TABLE ch_archive.ch_buyer_20261201 (id int PRIMARY KEY);
SECURITY LABEL FOR crm_privacy ON TABLE ch_archive.ch_buyer_20261201 IS 'subject key=id';
RESET ROLE;
RESET client_min_messages;
SELECT count(*) AS taken FROM privacy.choices WHERE subject = 'ch_archive.ch_buyer_20261201'::regclass;
SET client_min_messages = warning;
DROP SCHEMA ch_archive CASCADE;
DROP ROLE regress_ch_owner;
ALTER ROLE regress_ch_owner_old RENAME TO regress_ch_owner;
RESET client_min_messages;

-- 12. Owners change, labels come and go, columns change type:
-- (a) REASSIGN OWNED between giving a name up and taking it: the new owner's
-- table takes what the table it inherited gave up, and what waits under the
-- name of a table the old owner dropped.
SET client_min_messages = warning;
CREATE ROLE regress_ch_mover;
CREATE ROLE regress_ch_heir;
GRANT USAGE, CREATE ON SCHEMA ch_crm TO regress_ch_mover, regress_ch_heir;
SET ROLE regress_ch_mover;
CREATE TABLE ch_crm.ch_lead (id int PRIMARY KEY, phone text);
INSERT INTO ch_crm.ch_lead VALUES (1, '555-0101'), (2, '555-0102'), (3, '555-0103');
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_lead IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_lead.id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_lead.phone IS 'identifier mask=phone';
CREATE TABLE ch_crm.ch_visit (id int PRIMARY KEY);
INSERT INTO ch_crm.ch_visit VALUES (1), (2), (3);
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_visit IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_visit.id IS 'public';
RESET ROLE;
RESET client_min_messages;
SELECT privacy.opt_out('ch_crm.ch_lead', '2', 'direct_marketing', 'phone call');
SELECT privacy.opt_out('ch_crm.ch_visit', '3', 'direct_marketing', 'phone call');
SET client_min_messages = warning;
SET ROLE regress_ch_mover;
ALTER TABLE ch_crm.ch_lead RENAME TO ch_lead_old;
CREATE TABLE ch_crm.ch_lead_new (LIKE ch_crm.ch_lead_old INCLUDING ALL);
INSERT INTO ch_crm.ch_lead_new SELECT * FROM ch_crm.ch_lead_old;
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_lead_new IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_lead_new.id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_lead_new.phone IS 'identifier mask=phone';
DROP TABLE ch_crm.ch_visit;
RESET ROLE;
REASSIGN OWNED BY regress_ch_mover TO regress_ch_heir;
SET ROLE regress_ch_heir;
ALTER TABLE ch_crm.ch_lead_new RENAME TO ch_lead;
CREATE TABLE ch_crm.ch_visit (id int PRIMARY KEY);
INSERT INTO ch_crm.ch_visit VALUES (1), (2), (3);
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_visit IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_visit.id IS 'public';
RESET ROLE;
RESET client_min_messages;
SELECT id FROM privacy_optout_direct_marketing.ch_lead ORDER BY id;    -- 1 and 3
SELECT id FROM privacy_optout_direct_marketing.ch_visit ORDER BY id;   -- 1 and 2
SELECT subject_name, key, pg_get_userbyid(table_owner) AS owner FROM privacy.subject_choices
 WHERE subject_name LIKE 'ch_crm.ch_lead%' OR subject_name LIKE 'ch_crm.ch_visit%'
 ORDER BY subject_name, key;
-- (b) A rename while the table has no label is followed all the same: its
-- choices name it, and the table that takes the name it gave up takes them.
SET client_min_messages = warning;
SET ROLE regress_ch_heir;
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_lead_old IS NULL;
ALTER TABLE ch_crm.ch_lead RENAME TO ch_lead_prev;
ALTER TABLE ch_crm.ch_lead_old RENAME TO ch_lead;
RESET ROLE;
RESET client_min_messages;
SELECT subject::regclass, subject_name, previous_names FROM privacy.subject_choices
 WHERE subject_name LIKE 'ch_crm.ch_lead%' ORDER BY subject_name, key;
SET client_min_messages = warning;
SET ROLE regress_ch_heir;
ALTER TABLE ch_crm.ch_lead RENAME TO ch_lead_unlabelled;
ALTER TABLE ch_crm.ch_lead_prev RENAME TO ch_lead;
RESET ROLE;
RESET client_min_messages;
SELECT subject::regclass, subject_name, key FROM privacy.subject_choices
 WHERE subject_name LIKE 'ch_crm.ch_lead%' ORDER BY subject_name, key;
SELECT id FROM privacy_optout_direct_marketing.ch_lead ORDER BY id;    -- 1 and 3
-- (c) A disclosure treatment that no longer fits its column after a reload
-- (phone was text, is bigint now) does not make the owner's rename fail: the
-- column is NULL in the profile's view, with a warning, until the treatment
-- or the column changes; the treatment is kept.
SELECT privacy.create_disclosure('ch_courier');
SELECT privacy.disclose('ch_courier', 'ch_crm.ch_lead', 'id', 'keep');
SELECT privacy.disclose('ch_courier', 'ch_crm.ch_lead', 'phone', 'phone');
SELECT id, phone FROM privacy_disclose_ch_courier.ch_lead ORDER BY id;
SET ROLE regress_ch_heir;
CREATE TABLE ch_crm.ch_lead_new (id int PRIMARY KEY, phone bigint);
INSERT INTO ch_crm.ch_lead_new VALUES (1, 5550101), (2, 5550102), (3, 5550103);
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_lead_new IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_lead_new.id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_lead_new.phone IS 'identifier';
SET client_min_messages = error;
DROP TABLE ch_crm.ch_lead;
RESET client_min_messages;
ALTER TABLE ch_crm.ch_lead_new RENAME TO ch_lead;
RESET ROLE;
SELECT id, phone FROM privacy_disclose_ch_courier.ch_lead ORDER BY id;
SELECT tbl, col, treatment FROM privacy.disclosure_columns WHERE profile = 'ch_courier' ORDER BY col;
SET ROLE regress_ch_heir;
ALTER TABLE ch_crm.ch_lead ALTER COLUMN phone TYPE text;
RESET ROLE;
SELECT id, phone FROM privacy_disclose_ch_courier.ch_lead ORDER BY id;
-- (d) Treatments go with their table's owner too: another owner's table
-- that takes the name (after a drop, or a rename) discloses nothing of its
-- own under the profile a privacy administrator set for the first table.
SET client_min_messages = warning;
SET ROLE regress_ch_heir;
ALTER TABLE ch_crm.ch_lead RENAME TO ch_lead_kept;
RESET ROLE;
SET ROLE regress_ch_other;
CREATE TABLE ch_crm.ch_lead (id int PRIMARY KEY, phone text);
INSERT INTO ch_crm.ch_lead VALUES (7, '555-0107');
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_lead IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_lead.id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_lead.phone IS 'identifier';
RESET ROLE;
RESET client_min_messages;
SELECT id, phone FROM privacy_disclose_ch_courier.ch_lead;
SELECT tbl, col, treatment FROM privacy.disclosure_columns WHERE profile = 'ch_courier' ORDER BY tbl, col;
SET client_min_messages = warning;
DROP TABLE ch_crm.ch_lead;
SET ROLE regress_ch_heir;
DROP TABLE ch_crm.ch_lead_kept;
RESET ROLE;
SET ROLE regress_ch_other;
CREATE TABLE ch_crm.ch_lead_kept (id int PRIMARY KEY, phone text);
INSERT INTO ch_crm.ch_lead_kept VALUES (8, '555-0108');
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_lead_kept IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_lead_kept.id IS 'public';
RESET ROLE;
RESET client_min_messages;
SELECT id FROM privacy_disclose_ch_courier.ch_lead_kept;
SELECT tbl_name, col, tbl IS NULL AS waiting FROM privacy.disclosure_column_data
 WHERE profile = 'ch_courier' ORDER BY tbl_name, col;
SELECT privacy.drop_disclosure('ch_courier');
SET client_min_messages = warning;
DROP TABLE ch_crm.ch_lead_kept, ch_crm.ch_lead_unlabelled, ch_crm.ch_visit;
DROP OWNED BY regress_ch_mover, regress_ch_heir;
DROP ROLE regress_ch_mover;
DROP ROLE regress_ch_heir;
RESET client_min_messages;

-- 13. An erasure's record stays true through nightly reloads that keep
-- yesterday's table and drop it the next day: the copies that meet again are
-- one record, not a sum (on the old code runs, rows and fingerprints doubled
-- every night, until the owner's rename failed with 54000).
SET client_min_messages = warning;
SET ROLE regress_ch_owner;
CREATE TABLE ch_crm.ch_member2 (id int PRIMARY KEY, email text);
INSERT INTO ch_crm.ch_member2 VALUES (1, 'a@x.org'), (2, 'b@x.org');
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_member2 IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_member2.email IS 'identifier anon=null';
RESET ROLE;
RESET client_min_messages;
SELECT privacy.erase_subject('ch_crm.ch_member2', '2') AS erased;
CREATE FUNCTION pg_temp.ch_reload() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    SET LOCAL client_min_messages = warning;
    SET LOCAL ROLE regress_ch_owner;
    CREATE TABLE ch_crm.ch_member2_new (LIKE ch_crm.ch_member2 INCLUDING ALL);
    INSERT INTO ch_crm.ch_member2_new SELECT * FROM ch_crm.ch_member2;
    SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_member2_new IS 'subject key=id';
    SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_member2_new.email IS 'identifier anon=null';
    DROP TABLE IF EXISTS ch_crm.ch_member2_old;
    ALTER TABLE ch_crm.ch_member2 RENAME TO ch_member2_old;
    ALTER TABLE ch_crm.ch_member2_new RENAME TO ch_member2;
END $$;
SELECT pg_temp.ch_reload() FROM generate_series(1, 6);
SELECT subject_name, key, runs, rows_changed, cardinality(fingerprints) AS fingerprints
  FROM privacy.erasures WHERE subject_name LIKE 'ch_crm.ch_member2%' ORDER BY subject_name;
SELECT * FROM ch_crm.ch_member2 ORDER BY id;

-- 14. An enum key: its owner's ALTER TYPE ... RENAME VALUE renames the key
-- of every row, and the choices keyed by it follow (on the old code the
-- opt-out stayed under the old value, and the subject was back).
SET client_min_messages = warning;
SET ROLE regress_ch_owner;
CREATE TYPE ch_crm.ch_tier AS ENUM ('bronze', 'silver', 'gold');
CREATE TABLE ch_crm.ch_tiered (tier ch_crm.ch_tier PRIMARY KEY, perks text);
INSERT INTO ch_crm.ch_tiered VALUES ('bronze', 'none'), ('silver', 'some'), ('gold', 'all');
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_tiered IS 'subject key=tier';
SECURITY LABEL FOR crm_privacy ON COLUMN ch_crm.ch_tiered.tier IS 'public';
RESET ROLE;
RESET client_min_messages;
SELECT privacy.opt_out('ch_crm.ch_tiered', 'silver', 'direct_marketing', 'web');
SET ROLE regress_ch_owner;
ALTER TYPE ch_crm.ch_tier RENAME VALUE 'silver' TO 'argent';
RESET ROLE;
SELECT tier FROM privacy_optout_direct_marketing.ch_tiered ORDER BY tier;
SELECT key FROM privacy.choices WHERE subject = 'ch_crm.ch_tiered'::regclass;
-- The owner (no superuser) retypes a key column with choices within its
-- kind: the check reads the records with the extension's rights (on the
-- previous code: 42501 on privacy.subject_choices).
SET ROLE regress_ch_owner;
CREATE TABLE ch_crm.ch_widened (id int PRIMARY KEY);
INSERT INTO ch_crm.ch_widened VALUES (1), (2);
SECURITY LABEL FOR crm_privacy ON TABLE ch_crm.ch_widened IS 'subject key=id';
RESET ROLE;
SELECT privacy.opt_out('ch_crm.ch_widened', '2', 'direct_marketing', 'web');
SET ROLE regress_ch_owner;
ALTER TABLE ch_crm.ch_widened ALTER COLUMN id TYPE bigint;
\set VERBOSITY sqlstate
ALTER TABLE ch_crm.ch_widened ALTER COLUMN id TYPE text;
\set VERBOSITY default
RESET ROLE;

-- Clean up.
SET client_min_messages = warning;
DROP SCHEMA ch_crm CASCADE;
DELETE FROM privacy.change_request_data WHERE subject_name LIKE 'ch_crm.%';
DELETE FROM privacy.erasure_data WHERE subject_name LIKE 'ch_crm.%';
DELETE FROM privacy.subject_choices WHERE subject_name LIKE '%ch\_%';
DELETE FROM privacy.subject_choice_history WHERE subject_name LIKE '%ch\_%';
REVOKE CREATE ON SCHEMA public FROM regress_ch_owner;
DROP ROLE regress_ch_owner;
DROP ROLE regress_ch_other;
