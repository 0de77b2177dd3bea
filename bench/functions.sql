-- bench/functions.sql -- the masking and anonymizing functions (doc/functions.md)
-- against a plain read of the column and against the plain-SQL expression a
-- DBA would write by hand, on the generated CRM; then memory over 10,000,000
-- calls.  Run by "bash test/run.sh bench [ROWS]" (1,000,000 by default), or
--     psql -v rows=1000000 -f bench/functions.sql
--
-- Every figure is the best of three runs, in one session, without parallel
-- query or JIT, taken in the same run, so ratios compare like with like.
-- Each query aggregates every value it computes (sum of lengths, sum, max),
-- so PostgreSQL computes each one.
\set ON_ERROR_STOP on
\if :{?rows}
\else
\set rows 1000000
\endif

\echo 'Generating' :rows 'customers (bench/crm_data.sql) ...'
\set QUIET on
\ir crm_data.sql
\set QUIET off
CREATE EXTENSION IF NOT EXISTS crm_privacy;

-- The generated customers, with a bank card number each.
CREATE TABLE bench_customer AS
SELECT c.*,
       '6222 ' || lpad((c.customer_id % 10000)::text, 4, '0') || ' '
              || lpad(((c.customer_id * 7919) % 10000)::text, 4, '0') || ' '
              || lpad(((c.customer_id * 104729) % 10000)::text, 4, '0') AS card
  FROM customer c;
VACUUM ANALYZE bench_customer;

SET max_parallel_workers_per_gather = 0;
SET jit = off;

-- Best of three runs of a query, in milliseconds.
CREATE FUNCTION pg_temp.ms(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    t0   timestamptz;
    best float8 := 'Infinity';
BEGIN
    FOR i IN 1..3 LOOP
        t0 := clock_timestamp();
        EXECUTE q;
        best := least(best, 1000 * extract(epoch FROM clock_timestamp() - t0));
    END LOOP;
    RETURN best;
END $$;

CREATE TEMP TABLE bench_case (
    ord int, name text, plain text, fn text, sql_equivalent text, goal_plain float8
);
INSERT INTO bench_case VALUES
 (1, 'mask_partial(mobile, 3, 4)',
  'sum(length(mobile))', 'sum(length(privacy.mask_partial(mobile, 3, 4)))',
  $q$sum(length(left(mobile, 3) || repeat('*', length(mobile) - 7) || right(mobile, 4)))$q$, 2.5),
 (2, 'mask_email(email)',
  'sum(length(email))', 'sum(length(privacy.mask_email(email)))',
  $q$sum(length(CASE WHEN strpos(email, '@') > 1 THEN left(email, 1) || '***' || substr(email, strpos(email, '@'))
                     ELSE repeat('*', length(email)) END))$q$, 2.5),
 (3, 'mask_phone(mobile)',
  'sum(length(mobile))', 'sum(length(privacy.mask_phone(mobile)))',
  $q$sum(length(regexp_replace(mobile, '^(\d{3})\d{4}(\d{4})$', '\1****\2')))$q$, 2.5),
 (4, 'mask_name(full_name)',
  'sum(length(full_name))', 'sum(length(privacy.mask_name(full_name)))',
  $q$sum(length(CASE WHEN left(full_name, 2) = ANY (ARRAY['欧阳','司马','上官','诸葛','东方','皇甫','尉迟','公孙','慕容','长孙','宇文','司徒','夏侯','令狐','端木','南宫'])
                     THEN left(full_name, 2) || repeat('*', length(full_name) - 2)
                     WHEN full_name ~ '^[\u4e00-\u9fff]+$' THEN left(full_name, 1) || repeat('*', length(full_name) - 1)
                     ELSE regexp_replace(full_name, '(\w)\w*', '\1***', 'g') END))$q$, 2.5),
 (5, 'mask_cn_id(id_number)',
  'sum(length(id_number))', 'sum(length(privacy.mask_cn_id(id_number)))',
  $q$sum(length(left(id_number, 6) || repeat('*', 8) || right(id_number, 4)))$q$, 2.5),
 (6, 'mask_card(card)',
  'sum(length(card))', 'sum(length(privacy.mask_card(card)))',
  $q$sum(length(regexp_replace(card, '\d(?=(\D*\d){4})', '*', 'g')))$q$, 2.5),
 (7, 'pseudonym(email)',
  'sum(length(email))', 'sum(length(privacy.pseudonym(email)))',
  $q$sum(length(left(md5(email), 16)))$q$, 4),
 (8, 'pseudonym(customer_id)',
  'sum(customer_id)', 'sum(privacy.pseudonym(customer_id) % 1000)',
  $q$sum(('x' || left(md5(customer_id::text), 16))::bit(64)::bigint % 1000)$q$, 4),
 (9, 'generalize(income, 10000)',
  'sum(income)', 'sum(privacy.generalize(income, 10000))',
  $q$sum(floor(income / 10000) * 10000)$q$, 2.5),
 (10, 'generalize(birth_date, ''decade'')',
  'max(birth_date)', 'max(privacy.generalize(birth_date, ''decade''))',
  $q$max(date_trunc('decade', birth_date)::date)$q$, 2.5),
 (11, 'noise(loyalty_points, 0.1)',
  'sum(loyalty_points)', 'sum(privacy.noise(loyalty_points, 0.1))',
  $q$sum(round(loyalty_points * (1 + (random() * 0.2 - 0.1)))::int)$q$, 2.5),
 (12, 'is_valid_cn_id(id_number)',
  'sum(length(id_number))', 'count(*) FILTER (WHERE privacy.is_valid_cn_id(id_number))',
  $q$count(*) FILTER (WHERE id_number ~ '^\d{17}[\dX]$' AND substr('10X98765432',
        (SELECT sum(substr(id_number, i::int, 1)::int * w)
           FROM unnest('{7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2}'::int[]) WITH ORDINALITY AS t(w, i))::int % 11 + 1, 1)
        = right(id_number, 1))$q$, NULL);

CREATE TEMP TABLE bench_result AS
SELECT ord, name, goal_plain,
       pg_temp.ms(format('SELECT %s FROM bench_customer', plain)) AS plain_ms,
       pg_temp.ms(format('SELECT %s FROM bench_customer', fn)) AS fn_ms,
       pg_temp.ms(format('SELECT %s FROM bench_customer', sql_equivalent)) AS sql_ms
  FROM bench_case;

\echo
\echo 'Functions on' :rows 'rows (best of 3, no parallel query, no JIT):'
\echo '  vs plain read = function query time / plain column read time (goal: masks <= 2.5, pseudonym <= 4)'
\echo '  SQL / C       = hand-written plain-SQL time / C function time (goal: >= 1.5)'
\echo '  own cost      = the same ratio after taking the plain read off both sides'
SELECT name AS function,
       round((fn_ms * 1000 / :rows)::numeric, 3) AS "us/row",
       round((fn_ms / plain_ms)::numeric, 2) AS "vs plain read",
       round((sql_ms / fn_ms)::numeric, 2) AS "SQL / C",
       round(((sql_ms - plain_ms) / greatest(fn_ms - plain_ms, 0.001))::numeric, 2) AS "SQL / C own cost",
       CASE WHEN goal_plain IS NULL THEN '(no goal)'
            WHEN fn_ms / plain_ms <= goal_plain AND sql_ms / fn_ms >= 1.5 THEN 'met'
            ELSE 'MISSED' END AS goals
  FROM bench_result ORDER BY ord;

-- Memory over 10,000,000 calls: the backend's peak resident size before and after.
CREATE FUNCTION pg_temp.peak_kb() RETURNS bigint LANGUAGE sql AS $$
    SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\s+(\d+) kB'))[1]::bigint
$$;
SELECT pg_temp.peak_kb() AS before_kb \gset
SELECT count(privacy.mask_email('user' || i || '@example.com')) AS mask_email_calls,
       count(privacy.mask_name('欧阳' || i)) AS mask_name_calls,
       count(privacy.pseudonym('user' || i, 'bench')) AS pseudonym_calls
  FROM generate_series(1, 10000000) AS i;
SELECT pg_temp.peak_kb() AS after_kb \gset
\echo
\echo 'Memory over 10,000,000 calls of each of mask_email, mask_name, pseudonym:'
SELECT :before_kb AS "peak RSS before (kB)", :after_kb AS "peak RSS after (kB)",
       :after_kb - :before_kb AS "growth (kB)";
