--
-- anon: generalize and noise (doc/functions.md) -- its examples, every
-- type, negative numbers, type limits, infinities, bad arguments, and noise
-- staying in bounds over thousands of draws.
--
SET search_path = privacy, public;

-- The examples of doc/functions.md.
SELECT generalize(37, 10) AS "37,10", generalize(-3, 10) AS "-3,10",
       generalize(date '1987-06-15', 'decade') AS decade,
       generalize(date '1987-06-15', 'year') AS year,
       generalize(date '1987-06-15', 'month') AS month;

-- Same type out as in.
SELECT pg_typeof(generalize(37::int2, 10::int2)) AS int2, pg_typeof(generalize(37, 10)) AS int4,
       pg_typeof(generalize(37::int8, 10)) AS int8, pg_typeof(generalize(37.5, 10)) AS numeric,
       pg_typeof(generalize(37.5::float8, 10)) AS float8,
       pg_typeof(generalize(now()::timestamp, 'year')) AS ts,
       pg_typeof(generalize(now(), 'year')) AS tstz,
       pg_typeof(noise(1::int2, 0.1)) AS n_int2, pg_typeof(noise(1, 0.1)) AS n_int4,
       pg_typeof(noise(1::int8, 0.1)) AS n_int8, pg_typeof(noise(1.5, 0.1)) AS n_numeric,
       pg_typeof(noise(1.5::float8, 0.1)) AS n_float8,
       pg_typeof(noise(current_date, '1 day')) AS n_date;

-- Numbers: floor to a multiple of the step, also below zero.
SELECT v, step, generalize(v, step) AS int4
  FROM (VALUES (0, 10), (9, 10), (10, 10), (-1, 10), (-10, 10), (-11, 10), (37, 1),
               (2147483647, 10), (-2147483648, 1), (-2147483640, 10), (5, 2147483647)) AS t(v, step);
SELECT generalize(32767::int2, 10::int2) AS int2_max, generalize((-32760)::int2, 10::int2) AS int2_low,
       generalize(9223372036854775807::int8, 1000) AS int8_max,
       generalize((-9223372036854775808)::int8, 1) AS int8_min;
SELECT v, step, generalize(v, step) AS numeric
  FROM (VALUES (37.5, 10), (-0.5, 1), (123.456, 0.1), (123.456, 0.25), (-123.456, 100),
               (99999999999999999999.99, 1000), (-99999999999999999999.99, 0.01), (1e-30, 1e-31),
               (-7, 7), (-7.000001, 7), ('NaN', 10), ('Infinity', 10), ('-Infinity', 10))
       AS t(v, step);
SELECT v, step, generalize(v, step) AS float8
  FROM (VALUES (37.5::float8, 10::float8), (-0.5, 1), (1e300, 1e299), (7, 0.5), ('NaN', 10),
               ('Infinity', 10), ('-Infinity', 10)) AS t(v, step);

-- Outside the type, or a step that is not positive: errors.
SELECT generalize((-32768)::int2, 10::int2);
SELECT generalize(-2147483648, 10);
SELECT generalize((-9223372036854775808)::int8, 10);
SELECT generalize(5, 0);
SELECT generalize(5::int2, (-1)::int2);
SELECT generalize(5::int8, 0);
SELECT generalize(5.5, 0);
SELECT generalize(5.5, -0.1);
SELECT generalize(5.5, 'NaN');
SELECT generalize(5.5::float8, 0);
SELECT generalize(5.5::float8, 'NaN');

-- Dates and timestamps.
SELECT v, generalize(v, 'year') AS year, generalize(v, 'month') AS month,
       generalize(v, 'decade') AS decade
  FROM (VALUES (date '1987-06-15'), (date '2000-01-01'), (date '1999-12-31'), (date '2020-02-29'),
               (date '0005-03-01 BC'), (date '0001-01-01'), (date 'infinity'), (date '-infinity')) AS t(v);
SELECT generalize(timestamp '1987-06-15 13:45:12.5', 'month') AS ts_month,
       generalize(timestamp '1987-06-15 13:45:12.5', 'DECADE') AS ts_decade,
       generalize(timestamp 'infinity', 'year') AS ts_inf;
-- timestamptz is truncated in UTC, whatever the session's time zone.
SET TimeZone = 'Asia/Shanghai';
SELECT generalize(timestamptz '2019-12-31 23:00:00+08', 'year') AS shanghai;
SET TimeZone = 'America/New_York';
SELECT generalize(timestamptz '2019-12-31 23:00:00+08', 'year') AS new_york;
SET TimeZone = 'UTC';
SELECT generalize(timestamptz '2019-12-31 23:00:00+08', 'year') AS utc,
       generalize(timestamptz '2019-12-31 23:00:00+08', 'month') AS utc_month;
RESET TimeZone;
SELECT generalize(date '2020-01-01', 'week');
SELECT generalize(timestamp '2020-01-01', '');

--
-- noise: v * (1 + u), u uniform in [-ratio, ratio]; dates shifted by up to
-- +/- the interval.  10,000 draws each stay in bounds and spread both ways.
--
SELECT min(n) >= 900 AS low_ok, max(n) <= 1100 AS high_ok, min(n) < 950 AS spreads_down,
       max(n) > 1050 AS spreads_up, count(DISTINCT n) > 150 AS varied
  FROM (SELECT noise(1000, 0.1) AS n FROM generate_series(1, 10000)) s;
SELECT min(n) >= -110 AND max(n) <= -90 AS negative_in_bounds
  FROM (SELECT noise(-100::int8, 0.1) AS n FROM generate_series(1, 10000)) s;
SELECT min(n) >= 90.00 AND max(n) <= 110.00 AS numeric_in_bounds,
       bool_and(scale(n) = 2) AS numeric_keeps_scale
  FROM (SELECT noise(100.00, 0.1) AS n FROM generate_series(1, 10000)) s;
SELECT min(n) >= 0 AND max(n) <= 2 AS ratio_one_in_bounds
  FROM (SELECT noise(1::float8, 1) AS n FROM generate_series(1, 10000)) s;
SELECT bool_and(noise(12345, 0) = 12345) AS ratio_zero_is_identity,
       bool_and(noise(12345.678, 0) = 12345.678) AS ratio_zero_numeric
  FROM generate_series(1, 1000);
SELECT min(n) >= date '2020-01-01' - 30 AND max(n) <= date '2020-01-01' + 30 AS date_in_bounds,
       min(n) < date '2020-01-01' - 20 AND max(n) > date '2020-01-01' + 20 AS date_spreads
  FROM (SELECT noise(date '2020-01-01', '30 days') AS n FROM generate_series(1, 10000)) s;
SELECT min(n) >= timestamp '2020-01-01' - interval '2 hours'
       AND max(n) <= timestamp '2020-01-01' + interval '2 hours' AS ts_in_bounds
  FROM (SELECT noise(timestamp '2020-01-01', '2 hours') AS n FROM generate_series(1, 10000)) s;
SELECT min(n) >= timestamptz '2020-01-01 00:00+00' - interval '1 day'
       AND max(n) <= timestamptz '2020-01-01 00:00+00' + interval '1 day' AS tstz_in_bounds
  FROM (SELECT noise(timestamptz '2020-01-01 00:00+00', '1 day') AS n FROM generate_series(1, 10000)) s;
-- At the type limits the value moves towards the limit, never past it.
SELECT min(n) >= 29490 AND max(n) <= 32767 AS int2_near_max,
       bool_and(noise(32767::int2, 1) BETWEEN 0 AND 32767) AS int2_at_max
  FROM (SELECT noise(32767::int2, 0.1) AS n FROM generate_series(1, 10000)) s;
SELECT bool_and(noise(2147483647, 0.5) BETWEEN 1073741823 AND 2147483647) AS int4_at_max,
       bool_and(noise((-9223372036854775808)::int8, 0.5) BETWEEN -9223372036854775808 AND -4611686018427387904) AS int8_at_min,
       bool_and(noise(9223372036854775807::int8, 1) >= 0) AS int8_at_max
  FROM generate_series(1, 1000);
SELECT noise(date 'infinity', '1 day') AS inf, noise('NaN'::numeric, 0.5) AS nan,
       noise('Infinity'::float8, 0.5) AS float_inf;
-- Bad ratios and intervals: errors naming the argument.
SELECT noise(5, 1.5);
SELECT noise(5, -0.1);
SELECT noise(5, 'NaN');
SELECT noise(5.5, 2);
SELECT noise(date '2020-01-01', '-1 day');
-- NULL in, NULL out.
SELECT generalize(NULL::int, 10) IS NULL AS a, generalize(5, NULL) IS NULL AS b,
       generalize(NULL::date, 'year') IS NULL AS c, generalize(current_date, NULL) IS NULL AS d,
       noise(NULL::int, 0.1) IS NULL AS e, noise(5, NULL) IS NULL AS f,
       noise(NULL::date, '1 day') IS NULL AS g;
