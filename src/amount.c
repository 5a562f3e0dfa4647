/*-------------------------------------------------------------------------
 *
 * amount.c
 *	  Exact amount and balance arithmetic.  Every value is handled as
 *	  numeric and converted to the column's type only after it has been
 *	  shown to fit, so nothing is ever rounded: a fractional amount for an
 *	  integer column, or one with more decimals than numeric(p,s) keeps, is
 *	  refused rather than stored rounded.
 *
 * IDENTIFICATION
 *	  src/amount.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#include "amount.h"
#include "report.h"
#include "table.h"


/* numbers longer than this are shown in scientific notation in messages */
#define TG_DISPLAY_MAX_DIGITS	48
#define TG_DISPLAY_SCI_DIGITS	20

static Numeric
numeric_from_cstring(const char *s)
{
	return DatumGetNumeric(DirectFunctionCall3(numeric_in,
											   CStringGetDatum(s),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

int
tg_numeric_cmp(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp,
											 NumericGetDatum(a),
											 NumericGetDatum(b)));
}

Numeric
tg_numeric_add(Numeric a, Numeric b)
{
	return DatumGetNumeric(DirectFunctionCall2(numeric_add,
											   NumericGetDatum(a),
											   NumericGetDatum(b)));
}

Numeric
tg_numeric_sub(Numeric a, Numeric b)
{
	return DatumGetNumeric(DirectFunctionCall2(numeric_sub,
											   NumericGetDatum(a),
											   NumericGetDatum(b)));
}

/*
 * The share of each of n slots in avail, with the column's scale (for an
 * unconstrained numeric, avail's own): floor(avail / n) at that scale, so
 * that n shares never add up to more than avail (numeric division rounds;
 * this truncates an exact integer quotient instead).  Zero when avail is
 * not positive.
 */
Numeric
tg_numeric_share(TgColumn *col, Numeric avail, int n)
{
	Numeric		zero = tg_int64_to_numeric(0);
	int			scale;
	Numeric		unit;
	Numeric		units;
	Numeric		quotient;

	if (n <= 0 || tg_numeric_cmp(avail, zero) <= 0)
		return zero;
	scale = col->has_scale ? col->scale :
		DatumGetInt32(DirectFunctionCall1(numeric_scale, NumericGetDatum(avail)));
	/* unit = 10^-scale, exactly (a negative scale: whole tens, hundreds...) */
	unit = DatumGetNumeric(DirectFunctionCall3(numeric_in,
											   CStringGetDatum(psprintf("1e%d", -scale)),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
	units = DatumGetNumeric(DirectFunctionCall2(numeric_div_trunc,
												NumericGetDatum(avail),
												NumericGetDatum(unit)));
	quotient = DatumGetNumeric(DirectFunctionCall2(numeric_div_trunc,
												   NumericGetDatum(units),
												   NumericGetDatum(tg_int64_to_numeric(n))));
	return DatumGetNumeric(DirectFunctionCall2(numeric_mul,
											   NumericGetDatum(quotient),
											   NumericGetDatum(unit)));
}

/* n times a value, exactly */
Numeric
tg_numeric_times(Numeric a, int n)
{
	return DatumGetNumeric(DirectFunctionCall2(numeric_mul,
											   NumericGetDatum(a),
											   NumericGetDatum(tg_int64_to_numeric(n))));
}

/*
 * A number as messages show it: exactly, unless it is too long to read,
 * then in scientific notation (e.g. an amount of 1e-1000).  For messages
 * only; no value is ever computed from this text.
 */
char *
tg_numeric_display(Numeric n)
{
	char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out,
														NumericGetDatum(n)));

	if (strlen(s) > TG_DISPLAY_MAX_DIGITS)
		s = numeric_out_sci(n, TG_DISPLAY_SCI_DIGITS);
	return s;
}

/* the smallest and largest value of an integer type, as numeric */
void
tg_integer_range(Oid typid, Numeric *lo, Numeric *hi)
{
	switch (typid)
	{
		case INT2OID:
			*lo = tg_int64_to_numeric(PG_INT16_MIN);
			*hi = tg_int64_to_numeric(PG_INT16_MAX);
			return;
		case INT4OID:
			*lo = tg_int64_to_numeric(PG_INT32_MIN);
			*hi = tg_int64_to_numeric(PG_INT32_MAX);
			return;
		case INT8OID:
			*lo = tg_int64_to_numeric(PG_INT64_MIN);
			*hi = tg_int64_to_numeric(PG_INT64_MAX);
			return;
	}
	elog(ERROR, "unexpected integer type %u", typid);
}

/*
 * Fill in the type facts of a guarded column: its base type, the scale it
 * keeps and the range it can store.  Called while building a cache entry,
 * in the entry's memory context.  The caller has checked the base type.
 */
void
tg_column_set_type(TgColumn *col, Oid typid, int32 typmod)
{
	int32		basetypmod = typmod;
	Oid			basetypid = getBaseTypeAndTypmod(typid, &basetypmod);

	col->typid = typid;
	col->basetypid = basetypid;
	col->basetypmod = basetypmod;
	col->has_scale = true;
	col->scale = 0;
	col->type_min = NULL;
	col->type_max = NULL;

	switch (basetypid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			tg_integer_range(basetypid, &col->type_min, &col->type_max);
			break;
		case NUMERICOID:
			if (basetypmod >= (int32) VARHDRSZ)
			{
				int			precision = tg_numeric_typmod_precision(basetypmod);
				int			scale = tg_numeric_typmod_scale(basetypmod);
				char		buf[64];
				Numeric		bound;
				Numeric		ulp;

				/* largest storable magnitude: 10^(p-s) - 10^(-s) */
				snprintf(buf, sizeof(buf), "1e%d", precision - scale);
				bound = numeric_from_cstring(buf);
				snprintf(buf, sizeof(buf), "1e%d", -scale);
				ulp = numeric_from_cstring(buf);
				col->type_max = tg_numeric_sub(bound, ulp);
				col->type_min = DatumGetNumeric(DirectFunctionCall1(numeric_uminus,
																	NumericGetDatum(col->type_max)));
				col->scale = scale;
			}
			else
				col->has_scale = false;
			break;
		default:
			elog(ERROR, "unexpected balance type %u", basetypid);
	}
}

/* does v keep its value when rounded to the column's scale? */
static bool
fits_scale(TgColumn *col, Numeric v)
{
	Numeric		rounded;

	if (!col->has_scale)
		return true;
	rounded = DatumGetNumeric(DirectFunctionCall2(numeric_round,
												  NumericGetDatum(v),
												  Int32GetDatum(col->scale)));
	return tg_numeric_cmp(rounded, v) == 0;
}

static bool
fits_range(TgColumn *col, Numeric v)
{
	if (col->type_min && tg_numeric_cmp(v, col->type_min) < 0)
		return false;
	if (col->type_max && tg_numeric_cmp(v, col->type_max) > 0)
		return false;
	return true;
}

static const char *
column_type_name(TgColumn *col)
{
	return format_type_with_typemod(col->basetypid, col->basetypmod);
}

/*
 * Refuse an amount that is not a positive, finite value the column can
 * store exactly.  Raises 22023 (not positive, not finite, too many
 * decimals) or 22003 (out of the column type's range).
 */
void
tg_check_amount(Oid relid, TgColumn *col, Numeric amount)
{
	Numeric		zero = tg_int64_to_numeric(0);

	if (numeric_is_nan(amount) || tg_numeric_is_inf(amount))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("amount must be a finite number"),
				 errdetail("The amount given was %s.", tg_numeric_display(amount)),
				 tg_errtablecol(relid, col->attnum)));

	if (tg_numeric_cmp(amount, zero) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("amount must be greater than zero"),
				 errdetail("The amount given was %s.", tg_numeric_display(amount)),
				 tg_errtablecol(relid, col->attnum)));

	if (!fits_scale(col, amount))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 col->scale == 0 && col->basetypid != NUMERICOID ?
				 errmsg("amount %s is not a whole number",
						tg_numeric_display(amount)) :
				 errmsg("amount %s has more decimal places than column \"%s\" keeps",
						tg_numeric_display(amount), NameStr(col->name)),
				 errdetail("Column \"%s\" of table \"%s\" has type %s; amounts are never rounded.",
						   NameStr(col->name), tg_rel_display_name(relid),
						   column_type_name(col)),
				 tg_errtablecol(relid, col->attnum)));

	if (!fits_range(col, amount))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("amount %s is out of range for column \"%s\"",
						tg_numeric_display(amount), NameStr(col->name)),
				 errdetail("Column \"%s\" of table \"%s\" has type %s.",
						   NameStr(col->name), tg_rel_display_name(relid),
						   column_type_name(col)),
				 tg_errtablecol(relid, col->attnum)));
}

/*
 * Refuse a min_balance or max_balance the column could never compare
 * exactly with: not finite, or with decimals the column does not keep.
 * A limit beyond the type's range is accepted; the range then binds first.
 */
void
tg_check_limit_value(Oid relid, TgColumn *col, Numeric limit,
					 const char *argname)
{
	if (limit == NULL)
		return;
	if (numeric_is_nan(limit) || tg_numeric_is_inf(limit))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number", argname),
				 errdetail("The value given was %s; use NULL for no limit.",
						   tg_numeric_display(limit)),
				 tg_errtablecol(relid, col->attnum)));
	if (!fits_scale(col, limit))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s %s has more decimal places than column \"%s\" keeps",
						argname, tg_numeric_display(limit), NameStr(col->name)),
				 errdetail("Column \"%s\" of table \"%s\" has type %s.",
						   NameStr(col->name), tg_rel_display_name(relid),
						   column_type_name(col)),
				 tg_errtablecol(relid, col->attnum)));
}

/*
 * A value of an integer type or numeric as numeric (a copy, for numeric).
 */
Numeric
tg_number_to_numeric(Datum value, Oid typid)
{
	switch (typid)
	{
		case INT2OID:
			return tg_int64_to_numeric(DatumGetInt16(value));
		case INT4OID:
			return tg_int64_to_numeric(DatumGetInt32(value));
		case INT8OID:
			return tg_int64_to_numeric(DatumGetInt64(value));
		case NUMERICOID:
			return DatumGetNumericCopy(value);
	}
	elog(ERROR, "unexpected numeric type %u", typid);
	return NULL;				/* keep compiler quiet */
}

/* a stored balance, of the column's base type, as numeric */
Numeric
tg_numeric_from_column(TgColumn *col, Datum value)
{
	return tg_number_to_numeric(value, col->basetypid);
}

/*
 * A numeric as a value of typid (smallint, integer, bigint or numeric):
 * the caller has made sure it is whole and in range where that matters.
 */
Datum
tg_numeric_to_type(Numeric value, Oid typid)
{
	switch (typid)
	{
		case INT2OID:
			return DirectFunctionCall1(numeric_int2, NumericGetDatum(value));
		case INT4OID:
			return DirectFunctionCall1(numeric_int4, NumericGetDatum(value));
		case INT8OID:
			return DirectFunctionCall1(numeric_int8, NumericGetDatum(value));
		case NUMERICOID:
			return NumericGetDatum(value);
	}
	elog(ERROR, "unexpected numeric type %u", typid);
	return (Datum) 0;			/* keep compiler quiet */
}

/* a balance, checked to fit, as a value of its column's base type */
Datum
tg_numeric_to_column(TgColumn *col, Numeric value)
{
	return tg_numeric_to_type(value, col->basetypid);
}

/* smallint, integer or bigint: a version column's or an integer key's type */
bool
tg_is_integer_type(Oid basetypid)
{
	return basetypid == INT2OID || basetypid == INT4OID ||
		basetypid == INT8OID;
}

/* a type a guarded balance may have */
bool
tg_is_balance_type(Oid basetypid)
{
	return tg_is_integer_type(basetypid) || basetypid == NUMERICOID;
}

