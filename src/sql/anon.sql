-- Part 5: generalize and noise (src/anon.c); doc/functions.md.
-- generalize is IMMUTABLE; noise is VOLATILE.  Both STRICT and PARALLEL SAFE.

CREATE FUNCTION privacy.generalize(v pg_catalog.int2, step pg_catalog.int2) RETURNS pg_catalog.int2
AS 'MODULE_PATHNAME', 'crm_generalize_int2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.generalize(v pg_catalog.int4, step pg_catalog.int4) RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'crm_generalize_int4' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.generalize(v pg_catalog.int8, step pg_catalog.int8) RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'crm_generalize_int8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.generalize(v pg_catalog.numeric, step pg_catalog.numeric) RETURNS pg_catalog.numeric
AS 'MODULE_PATHNAME', 'crm_generalize_numeric' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.generalize(v pg_catalog.float8, step pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'crm_generalize_float8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.generalize(v pg_catalog.date, unit pg_catalog.text) RETURNS pg_catalog.date
AS 'MODULE_PATHNAME', 'crm_generalize_date' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.generalize(v pg_catalog.timestamp, unit pg_catalog.text) RETURNS pg_catalog.timestamp
AS 'MODULE_PATHNAME', 'crm_generalize_timestamp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.generalize(v pg_catalog.timestamptz, unit pg_catalog.text) RETURNS pg_catalog.timestamptz
AS 'MODULE_PATHNAME', 'crm_generalize_timestamptz' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.generalize(pg_catalog.int4, pg_catalog.int4) IS
'floor to a multiple of step: generalize(37, 10) = 30, generalize(-3, 10) = -10';
COMMENT ON FUNCTION privacy.generalize(pg_catalog.date, pg_catalog.text) IS
'truncate to year, month or decade: generalize(date ''1987-06-15'', ''decade'') = 1980-01-01';
COMMENT ON FUNCTION privacy.generalize(pg_catalog.timestamptz, pg_catalog.text) IS
'truncate to year, month or decade, in UTC (the result does not depend on the session time zone)';

CREATE FUNCTION privacy.noise(v pg_catalog.int2, ratio pg_catalog.float8) RETURNS pg_catalog.int2
AS 'MODULE_PATHNAME', 'crm_noise_int2' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.noise(v pg_catalog.int4, ratio pg_catalog.float8) RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'crm_noise_int4' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.noise(v pg_catalog.int8, ratio pg_catalog.float8) RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'crm_noise_int8' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.noise(v pg_catalog.numeric, ratio pg_catalog.float8) RETURNS pg_catalog.numeric
AS 'MODULE_PATHNAME', 'crm_noise_numeric' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.noise(v pg_catalog.float8, ratio pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'crm_noise_float8' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.noise(v pg_catalog.date, amount pg_catalog.interval) RETURNS pg_catalog.date
AS 'MODULE_PATHNAME', 'crm_noise_date' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.noise(v pg_catalog.timestamp, amount pg_catalog.interval) RETURNS pg_catalog.timestamp
AS 'MODULE_PATHNAME', 'crm_noise_timestamp' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.noise(v pg_catalog.timestamptz, amount pg_catalog.interval) RETURNS pg_catalog.timestamptz
AS 'MODULE_PATHNAME', 'crm_noise_timestamptz' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.noise(pg_catalog.int4, pg_catalog.float8) IS
'v * (1 + u), u uniform in [-ratio, ratio], rounded and kept within the type';
COMMENT ON FUNCTION privacy.noise(pg_catalog.date, pg_catalog.interval) IS
'shifted by up to +/- amount';

-- keyed_noise(v, ratio|amount, key, context, seed): the same noise, with u
-- derived from seed (the row's key) under the secret key and the context
-- (the column): stable, so reading a row again gives the same value.  The
-- views pass the key, which they read with their owner's rights; without the
-- key these functions give a caller nothing.
CREATE FUNCTION privacy.keyed_noise(v pg_catalog.int2, ratio pg_catalog.float8, key pg_catalog.bytea,
                                    context pg_catalog.text, seed pg_catalog.text) RETURNS pg_catalog.int2
AS 'MODULE_PATHNAME', 'crm_noise_int2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.keyed_noise(v pg_catalog.int4, ratio pg_catalog.float8, key pg_catalog.bytea,
                                    context pg_catalog.text, seed pg_catalog.text) RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'crm_noise_int4' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.keyed_noise(v pg_catalog.int8, ratio pg_catalog.float8, key pg_catalog.bytea,
                                    context pg_catalog.text, seed pg_catalog.text) RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'crm_noise_int8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.keyed_noise(v pg_catalog.numeric, ratio pg_catalog.float8, key pg_catalog.bytea,
                                    context pg_catalog.text, seed pg_catalog.text) RETURNS pg_catalog.numeric
AS 'MODULE_PATHNAME', 'crm_noise_numeric' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.keyed_noise(v pg_catalog.float8, ratio pg_catalog.float8, key pg_catalog.bytea,
                                    context pg_catalog.text, seed pg_catalog.text) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'crm_noise_float8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.keyed_noise(v pg_catalog.date, amount pg_catalog.interval, key pg_catalog.bytea,
                                    context pg_catalog.text, seed pg_catalog.text) RETURNS pg_catalog.date
AS 'MODULE_PATHNAME', 'crm_noise_date' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.keyed_noise(v pg_catalog.timestamp, amount pg_catalog.interval, key pg_catalog.bytea,
                                    context pg_catalog.text, seed pg_catalog.text) RETURNS pg_catalog.timestamp
AS 'MODULE_PATHNAME', 'crm_noise_timestamp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.keyed_noise(v pg_catalog.timestamptz, amount pg_catalog.interval, key pg_catalog.bytea,
                                    context pg_catalog.text, seed pg_catalog.text) RETURNS pg_catalog.timestamptz
AS 'MODULE_PATHNAME', 'crm_noise_timestamptz' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.keyed_noise(pg_catalog.int4, pg_catalog.float8, pg_catalog.bytea, pg_catalog.text, pg_catalog.text) IS
'noise derived from seed under a key and context: the same arguments give the same value (used by the views)';
