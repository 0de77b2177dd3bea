/*-------------------------------------------------------------------------
 *
 * anon.c
 *	  Anonymizing functions for numbers and dates (doc/functions.md):
 *	  generalize and noise.
 *
 * generalize floors a number to a multiple of a step, or truncates a date or
 * timestamp to its year, month or decade; the result has the argument's type.
 * Timestamps with time zone are truncated in UTC, so that the result does not
 * depend on the session's TimeZone and the function can be IMMUTABLE (the
 * groups of an anonymous view must not change with the client's settings).
 *
 * noise multiplies a number by 1 + u, u uniform in [-ratio, ratio], or shifts
 * a date or timestamp by u times an interval, u uniform in [-1, 1].  The
 * same C functions serve keyed_noise(v, r, key, context, seed), which the
 * views call: u is then derived from the row's key (seed) with the keyed
 * function, so reading a row again gives the same value and averaging many
 * reads reveals nothing.  Integer
 * results are rounded and kept within their type (the value moves towards the
 * limit, never past it).
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/anon.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/int.h"
#include "common/pg_prng.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "crm_privacy.h"

/* Units of generalize() on dates and timestamps. */
typedef enum DateUnit
{
	UNIT_YEAR,
	UNIT_MONTH,
	UNIT_DECADE
} DateUnit;

/* Refuse a step that is not positive. */
static void
step_error(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("argument \"step\" of generalize must be greater than zero")));
}

/* Refuse a result outside the type. */
static void
out_of_range(const char *type)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("%s out of range", type),
			 errdetail("The multiple of the step below the value does not fit the type.")));
}

/*
 * floor(v / step) * step for integers of a type ranging from min to max;
 * refuses a step that is not positive and a result outside the type.
 */
static int64
generalize_integer(int64 v, int64 step, int64 min, int64 max, const char *type)
{
	int64		q;
	int64		r;

	if (step <= 0)
		step_error();
	q = v / step;
	if (v % step != 0 && v < 0)
		q--;
	if (pg_mul_s64_overflow(q, step, &r) || r < min || r > max)
		out_of_range(type);
	return r;
}

/* SQL: privacy.generalize(smallint, smallint). */
PG_FUNCTION_INFO_V1(crm_generalize_int2);
Datum
crm_generalize_int2(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT16((int16) generalize_integer(PG_GETARG_INT16(0), PG_GETARG_INT16(1),
											   PG_INT16_MIN, PG_INT16_MAX, "smallint"));
}

/* SQL: privacy.generalize(integer, integer). */
PG_FUNCTION_INFO_V1(crm_generalize_int4);
Datum
crm_generalize_int4(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32((int32) generalize_integer(PG_GETARG_INT32(0), PG_GETARG_INT32(1),
											   PG_INT32_MIN, PG_INT32_MAX, "integer"));
}

/* SQL: privacy.generalize(bigint, bigint). */
PG_FUNCTION_INFO_V1(crm_generalize_int8);
Datum
crm_generalize_int8(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(generalize_integer(PG_GETARG_INT64(0), PG_GETARG_INT64(1),
									   PG_INT64_MIN, PG_INT64_MAX, "bigint"));
}

/* SQL: privacy.generalize(double precision, double precision). */
PG_FUNCTION_INFO_V1(crm_generalize_float8);
Datum
crm_generalize_float8(PG_FUNCTION_ARGS)
{
	float8		v = PG_GETARG_FLOAT8(0);
	float8		step = PG_GETARG_FLOAT8(1);
	float8		r;

	if (!(step > 0) || isinf(step))
		step_error();
	if (isnan(v) || isinf(v))
		PG_RETURN_FLOAT8(v);
	r = floor(v / step) * step;
	if (isinf(r))
		out_of_range("double precision");
	PG_RETURN_FLOAT8(r);
}

/* SQL: privacy.generalize(numeric, numeric). */
PG_FUNCTION_INFO_V1(crm_generalize_numeric);
Datum
crm_generalize_numeric(PG_FUNCTION_ARGS)
{
	Numeric		v = PG_GETARG_NUMERIC(0);
	Numeric		step = PG_GETARG_NUMERIC(1);
	static Datum zero = (Datum) 0;
	Datum		r;

	if (zero == (Datum) 0)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(TopMemoryContext);

		zero = DirectFunctionCall1(int4_numeric, Int32GetDatum(0));
		MemoryContextSwitchTo(oldcxt);
	}
	if (numeric_is_nan(step) || numeric_is_inf(step) ||
		DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(step), zero)) <= 0)
		step_error();
	if (numeric_is_nan(v) || numeric_is_inf(v))
		PG_RETURN_NUMERIC(v);

	/*
	 * trunc(v / step) * step, exactly: div() truncates without rounding,
	 * where numeric_div would round the quotient to a limited number of digits
	 * first.  Below zero truncation went up, so one step comes off.
	 */
	r = DirectFunctionCall2(numeric_mul,
							DirectFunctionCall2(numeric_div_trunc, NumericGetDatum(v),
												NumericGetDatum(step)),
							NumericGetDatum(step));
	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, r, NumericGetDatum(v))) > 0)
		r = DirectFunctionCall2(numeric_sub, r, NumericGetDatum(step));
	PG_RETURN_DATUM(r);
}

/* Parse the unit argument of generalize on dates. */
static DateUnit
date_unit(text *unit)
{
	char	   *s = text_to_cstring(unit);

	if (pg_strcasecmp(s, "year") == 0)
		return UNIT_YEAR;
	if (pg_strcasecmp(s, "month") == 0)
		return UNIT_MONTH;
	if (pg_strcasecmp(s, "decade") == 0)
		return UNIT_DECADE;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("argument \"unit\" of generalize must be year, month or decade"),
			 errdetail("It was \"%s\".", s)));
	return UNIT_YEAR;			/* keep compiler quiet */
}

/* Truncate a broken-down time to the unit; the time of day becomes 00:00. */
static void
truncate_tm(struct pg_tm *tm, DateUnit unit)
{
	if (unit == UNIT_DECADE)
	{
		/* years are astronomical (1 BC is 0): floor, also below zero */
		tm->tm_year -= ((tm->tm_year % 10) + 10) % 10;
	}
	if (unit != UNIT_MONTH)
		tm->tm_mon = 1;
	tm->tm_mday = 1;
	tm->tm_hour = tm->tm_min = tm->tm_sec = 0;
}

/* SQL: privacy.generalize(date, text). */
PG_FUNCTION_INFO_V1(crm_generalize_date);
Datum
crm_generalize_date(PG_FUNCTION_ARGS)
{
	DateADT		d = PG_GETARG_DATEADT(0);
	DateUnit	unit = date_unit(PG_GETARG_TEXT_PP(1));
	struct pg_tm tm;

	if (DATE_NOT_FINITE(d))
		PG_RETURN_DATEADT(d);
	j2date(d + POSTGRES_EPOCH_JDATE, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	truncate_tm(&tm, unit);
	PG_RETURN_DATEADT(date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE);
}

/* Truncate a timestamp (taken as UTC when it has a time zone) to the unit. */
static Timestamp
truncate_timestamp(Timestamp ts, DateUnit unit)
{
	struct pg_tm tm;
	fsec_t		fsec;
	Timestamp	result;

	if (TIMESTAMP_NOT_FINITE(ts))
		return ts;
	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	truncate_tm(&tm, unit);
	if (tm2timestamp(&tm, 0, NULL, &result) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return result;
}

/* SQL: privacy.generalize(timestamp, text). */
PG_FUNCTION_INFO_V1(crm_generalize_timestamp);
Datum
crm_generalize_timestamp(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMP(truncate_timestamp(PG_GETARG_TIMESTAMP(0),
										   date_unit(PG_GETARG_TEXT_PP(1))));
}

/* SQL: privacy.generalize(timestamptz, text), truncated in UTC. */
PG_FUNCTION_INFO_V1(crm_generalize_timestamptz);
Datum
crm_generalize_timestamptz(PG_FUNCTION_ARGS)
{
	/* a timestamptz is microseconds since 2000-01-01 UTC, as a timestamp is */
	PG_RETURN_TIMESTAMPTZ(truncate_timestamp(PG_GETARG_TIMESTAMPTZ(0),
											 date_unit(PG_GETARG_TEXT_PP(1))));
}

/*
 * A draw u uniform in [-1, 1]: random for noise(v, r), stable for
 * keyed_noise(v, r, key, context, seed), whose extra arguments start at 2.
 */
static float8
uniform_unit(FunctionCallInfo fcinfo, bool numeric)
{
	if (PG_NARGS() > 2)
		return crm_keyed_unit(fcinfo, 2, numeric);
	return pg_prng_double(&pg_global_prng_state) * 2.0 - 1.0;
}

/* The noise factor 1 + u, u uniform in [-ratio, ratio]; refuses a bad ratio. */
static float8
noise_factor(FunctionCallInfo fcinfo, bool numeric)
{
	float8		ratio = PG_GETARG_FLOAT8(1);

	if (!(ratio >= 0.0 && ratio <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"ratio\" of noise must be between 0 and 1"),
				 errdetail("It was %g.", ratio)));
	return 1.0 + ratio * uniform_unit(fcinfo, numeric);
}

/* v * factor rounded, kept within [min, max]. */
static int64
noisy_integer(int64 v, float8 factor, int64 min, int64 max)
{
	float8		r = rint((float8) v * factor);

	if (r >= (float8) max)
		return max;
	if (r <= (float8) min)
		return min;
	return (int64) r;
}

/* SQL: privacy.noise(smallint, double precision). */
PG_FUNCTION_INFO_V1(crm_noise_int2);
Datum
crm_noise_int2(PG_FUNCTION_ARGS)
{
	float8		factor = noise_factor(fcinfo, false);

	PG_RETURN_INT16((int16) noisy_integer(PG_GETARG_INT16(0), factor,
										  PG_INT16_MIN, PG_INT16_MAX));
}

/* SQL: privacy.noise(integer, double precision). */
PG_FUNCTION_INFO_V1(crm_noise_int4);
Datum
crm_noise_int4(PG_FUNCTION_ARGS)
{
	float8		factor = noise_factor(fcinfo, false);

	PG_RETURN_INT32((int32) noisy_integer(PG_GETARG_INT32(0), factor,
										  PG_INT32_MIN, PG_INT32_MAX));
}

/* SQL: privacy.noise(bigint, double precision). */
PG_FUNCTION_INFO_V1(crm_noise_int8);
Datum
crm_noise_int8(PG_FUNCTION_ARGS)
{
	float8		factor = noise_factor(fcinfo, false);
	int64		v = PG_GETARG_INT64(0);

	/* beyond 2^53 a double cannot hold every integer: compute the change */
	if (v > ((int64) 1 << 53) || v < -((int64) 1 << 53))
	{
		float8		delta = rint((float8) v * (factor - 1.0));
		int64		r;

		if (delta >= 0 ? pg_add_s64_overflow(v, (int64) Min(delta, 9.2e18), &r)
			: pg_add_s64_overflow(v, (int64) Max(delta, -9.2e18), &r))
			r = delta >= 0 ? PG_INT64_MAX : PG_INT64_MIN;
		PG_RETURN_INT64(r);
	}
	PG_RETURN_INT64(noisy_integer(v, factor, PG_INT64_MIN, PG_INT64_MAX));
}

/* SQL: privacy.noise(double precision, double precision). */
PG_FUNCTION_INFO_V1(crm_noise_float8);
Datum
crm_noise_float8(PG_FUNCTION_ARGS)
{
	float8		factor = noise_factor(fcinfo, false);

	PG_RETURN_FLOAT8(PG_GETARG_FLOAT8(0) * factor);
}

/* SQL: privacy.noise(numeric, double precision); the result keeps v's scale. */
PG_FUNCTION_INFO_V1(crm_noise_numeric);
Datum
crm_noise_numeric(PG_FUNCTION_ARGS)
{
	Numeric		v = PG_GETARG_NUMERIC(0);
	float8		factor = noise_factor(fcinfo, true);
	Datum		scale;
	Datum		r;

	if (numeric_is_nan(v) || numeric_is_inf(v))
		PG_RETURN_NUMERIC(v);
	scale = DirectFunctionCall1(numeric_scale, NumericGetDatum(v));
	r = DirectFunctionCall2(numeric_mul, NumericGetDatum(v),
							DirectFunctionCall1(float8_numeric, Float8GetDatum(factor)));
	PG_RETURN_DATUM(DirectFunctionCall2(numeric_round, r, scale));
}

/* A copy of interval iv scaled by u. */
static Interval *
scaled_interval(Interval *iv, float8 u)
{
	return DatumGetIntervalP(DirectFunctionCall2(interval_mul, IntervalPGetDatum(iv),
												 Float8GetDatum(u)));
}

/* Refuse a negative interval. */
static void
check_interval(Interval *iv)
{
	if (iv->time < 0 || iv->day < 0 || iv->month < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"amount\" of noise must not be negative")));
}

/* SQL: privacy.noise(timestamp, interval): shifted by up to +/- the interval. */
PG_FUNCTION_INFO_V1(crm_noise_timestamp);
Datum
crm_noise_timestamp(PG_FUNCTION_ARGS)
{
	Timestamp	ts = PG_GETARG_TIMESTAMP(0);
	Interval   *iv = PG_GETARG_INTERVAL_P(1);

	check_interval(iv);
	if (TIMESTAMP_NOT_FINITE(ts))
		PG_RETURN_TIMESTAMP(ts);
	return DirectFunctionCall2(timestamp_pl_interval, TimestampGetDatum(ts),
							   IntervalPGetDatum(scaled_interval(iv, uniform_unit(fcinfo, false))));
}

/* SQL: privacy.noise(timestamptz, interval): shifted by up to +/- the interval. */
PG_FUNCTION_INFO_V1(crm_noise_timestamptz);
Datum
crm_noise_timestamptz(PG_FUNCTION_ARGS)
{
	TimestampTz ts = PG_GETARG_TIMESTAMPTZ(0);
	Interval   *iv = PG_GETARG_INTERVAL_P(1);

	check_interval(iv);
	if (TIMESTAMP_NOT_FINITE(ts))
		PG_RETURN_TIMESTAMPTZ(ts);
	return DirectFunctionCall2(timestamptz_pl_interval, TimestampTzGetDatum(ts),
							   IntervalPGetDatum(scaled_interval(iv, uniform_unit(fcinfo, false))));
}

/* SQL: privacy.noise(date, interval): shifted by up to +/- the interval, whole days. */
PG_FUNCTION_INFO_V1(crm_noise_date);
Datum
crm_noise_date(PG_FUNCTION_ARGS)
{
	DateADT		d = PG_GETARG_DATEADT(0);
	Interval   *iv = PG_GETARG_INTERVAL_P(1);
	Datum		ts;

	check_interval(iv);
	if (DATE_NOT_FINITE(d))
		PG_RETURN_DATEADT(d);
	ts = DirectFunctionCall2(timestamp_pl_interval,
							 DirectFunctionCall1(date_timestamp, DateADTGetDatum(d)),
							 IntervalPGetDatum(scaled_interval(iv, uniform_unit(fcinfo, false))));
	return DirectFunctionCall1(timestamp_date, ts);
}
