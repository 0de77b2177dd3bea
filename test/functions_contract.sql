-- pgTAP: the functions of doc/functions.md as callers see them: signatures,
-- return types, SQLSTATEs of bad arguments, and the key's privacy.
BEGIN;
SELECT plan(46);

SELECT has_function('privacy', 'mask_partial', ARRAY['text', 'integer', 'integer', 'text']);
SELECT has_function('privacy', 'mask_email', ARRAY['text']);
SELECT has_function('privacy', 'mask_phone', ARRAY['text']);
SELECT has_function('privacy', 'mask_name', ARRAY['text']);
SELECT has_function('privacy', 'mask_cn_id', ARRAY['text']);
SELECT has_function('privacy', 'mask_card', ARRAY['text']);
SELECT has_function('privacy', 'pseudonym', ARRAY['text', 'text']);
SELECT has_function('privacy', 'pseudonym', ARRAY['bigint', 'text']);
SELECT has_function('privacy', 'generalize', ARRAY['smallint', 'smallint']);
SELECT has_function('privacy', 'generalize', ARRAY['integer', 'integer']);
SELECT has_function('privacy', 'generalize', ARRAY['bigint', 'bigint']);
SELECT has_function('privacy', 'generalize', ARRAY['numeric', 'numeric']);
SELECT has_function('privacy', 'generalize', ARRAY['double precision', 'double precision']);
SELECT has_function('privacy', 'generalize', ARRAY['date', 'text']);
SELECT has_function('privacy', 'generalize', ARRAY['timestamp without time zone', 'text']);
SELECT has_function('privacy', 'generalize', ARRAY['timestamp with time zone', 'text']);
SELECT has_function('privacy', 'noise', ARRAY['integer', 'double precision']);
SELECT has_function('privacy', 'noise', ARRAY['date', 'interval']);
SELECT has_function('privacy', 'is_valid_cn_id', ARRAY['text']);
SELECT has_function('privacy', 'luhn_valid', ARRAY['text']);
SELECT has_function('privacy', 'is_cn_mobile', ARRAY['text']);
SELECT has_function('privacy', 'is_email', ARRAY['text']);
SELECT has_function('privacy', 'rotate_pseudonym_key', ARRAY[]::text[]);

-- Calls written as in doc/functions.md resolve to the documented types.
SELECT is(pg_typeof(privacy.pseudonym('x'))::text, 'text', 'pseudonym(text) returns text');
SELECT is(pg_typeof(privacy.pseudonym(42))::text, 'bigint', 'pseudonym(42) resolves to the bigint form');
SELECT is(pg_typeof(privacy.generalize(37, 10))::text, 'integer', 'generalize(37, 10) is an integer');
SELECT is(privacy.generalize(37, 10), 30, 'generalize(37, 10) = 30');
SELECT is(pg_typeof(privacy.generalize(date '1987-06-15', 'decade'))::text, 'date', 'generalize(date, unit) is a date');

-- Bad arguments: 22023, naming the argument.
SELECT throws_ok($$SELECT privacy.mask_partial('abc', -1, 1)$$, '22023',
                 'argument "f" of mask_partial must not be negative', 'negative f');
SELECT throws_ok($$SELECT privacy.mask_partial('abc', 1, -1)$$, '22023',
                 'argument "l" of mask_partial must not be negative', 'negative l');
SELECT throws_ok($$SELECT privacy.mask_partial('abc', 1, 1, 'ab')$$, '22023',
                 'argument "pad" of mask_partial must be exactly one character', 'two-character pad');
SELECT throws_ok($$SELECT privacy.mask_partial('abc', 1, 1, '')$$, '22023', NULL, 'empty pad');
SELECT throws_ok($$SELECT privacy.generalize(5, 0)$$, '22023',
                 'argument "step" of generalize must be greater than zero', 'zero step');
SELECT throws_ok($$SELECT privacy.generalize(5::int8, -5)$$, '22023', NULL, 'negative bigint step');
SELECT throws_ok($$SELECT privacy.generalize(5.5, -1)$$, '22023', NULL, 'negative numeric step');
SELECT throws_ok($$SELECT privacy.generalize(5.5::float8, 0)$$, '22023', NULL, 'zero float step');
SELECT throws_ok($$SELECT privacy.generalize(date '2020-01-01', 'week')$$, '22023',
                 'argument "unit" of generalize must be year, month or decade', 'unknown unit');
SELECT throws_ok($$SELECT privacy.noise(5, 1.01)$$, '22023',
                 'argument "ratio" of noise must be between 0 and 1', 'ratio above 1');
SELECT throws_ok($$SELECT privacy.noise(5.5, -0.01)$$, '22023', NULL, 'ratio below 0');
SELECT throws_ok($$SELECT privacy.noise(current_date, '-1 day')$$, '22023', NULL, 'negative interval');

-- A result outside the type: 22003.
SELECT throws_ok($$SELECT privacy.generalize((-32768)::int2, 10::int2)$$, '22003', NULL, 'int2 floor below the type');
SELECT throws_ok($$SELECT privacy.generalize((-9223372036854775808)::int8, 10)$$, '22003', NULL, 'int8 floor below the type');

-- The key is the owner's: no grant to anyone else, rotation not for PUBLIC.
SELECT ok(NOT has_table_privilege('public', 'privacy.pseudonym_key', 'SELECT'), 'PUBLIC cannot read the key');
CREATE ROLE crm_tap_keyless;
CREATE FUNCTION pg_temp.sqlstate_as(r name, q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', r);
    EXECUTE q;
    RESET ROLE;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SELECT is(pg_temp.sqlstate_as('crm_tap_keyless', 'SELECT privacy.rotate_pseudonym_key()'), '42501',
          'a role that is not a privacy administrator cannot rotate the key');
SELECT is_definer('privacy', 'rotate_pseudonym_key', ARRAY[]::text[]);
SELECT is((SELECT count(*)::int FROM privacy.pseudonym_key), 1, 'one key');

SELECT * FROM finish();
ROLLBACK;
