/*-------------------------------------------------------------------------
 *
 * keys.c
 *	  Row keys: which column and unique index key a table (a single-column
 *	  primary key, or the one usable unique index), exact conversion of the
 *	  caller's key values to the key column's type, comparison in the key's
 *	  btree order, display, and the text the journal and the idempotency
 *	  records keep.
 *
 *	  A key is converted only when the conversion cannot change its value:
 *	  the same type is taken as is; text (or an untyped literal) goes
 *	  through the key type's input function, which refuses what it cannot
 *	  represent, and without the column's typmod, which would round a
 *	  numeric(10,2) key or cut a varchar(3) one (the value then matches no
 *	  row instead of a neighbour); between the integer types and numeric the value is checked
 *	  to be whole and in range first, so a numeric 1.5 never reaches row 2.
 *	  Anything else is a datatype mismatch.
 *
 *	  The records keep a key as the row holds it, in the text id::text
 *	  gives, whatever the caller's spelling (a numeric key called as 1.0
 *	  is recorded as the row's 1, a case-insensitive one called as 'ALICE'
 *	  as the row's 'Alice'), so that queries joining the journal on the
 *	  key's text find every row.
 *
 * IDENTIFICATION
 *	  src/keys.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/xact.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "amount.h"
#include "keys.h"
#include "report.h"
#include "table.h"


static bool
is_string_type(Oid typid)
{
	return typid == TEXTOID || typid == VARCHAROID || typid == BPCHAROID ||
		typid == NAMEOID;
}

static void
raise_key_not_exact(TgTable *table, const char *argname, Numeric n)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s %s is not a valid value of key column \"%s\"",
					argname, tg_numeric_display(n), NameStr(table->key_name)),
			 errdetail("Key column \"%s\" of table \"%s\" has type %s; keys are never rounded.",
					   NameStr(table->key_name),
					   tg_rel_display_name(table->relid),
					   format_type_be(table->key_typid)),
			 tg_errtablecol(table->relid, table->key_attnum)));
}

/*
 * A numeric key value as the integer key type, or an error if that would
 * change it.
 */
static Datum
numeric_to_integer_key(TgTable *table, Numeric n, const char *argname)
{
	Numeric		truncated;
	Numeric		lo;
	Numeric		hi;

	if (numeric_is_nan(n) || tg_numeric_is_inf(n))
		raise_key_not_exact(table, argname, n);
	truncated = DatumGetNumeric(DirectFunctionCall2(numeric_trunc,
													NumericGetDatum(n),
													Int32GetDatum(0)));
	if (tg_numeric_cmp(truncated, n) != 0)
		raise_key_not_exact(table, argname, n);

	tg_integer_range(table->key_basetypid, &lo, &hi);
	if (tg_numeric_cmp(n, lo) < 0 || tg_numeric_cmp(n, hi) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s %s is out of range for key column \"%s\"",
						argname, tg_numeric_display(n),
						NameStr(table->key_name)),
				 errdetail("Key column \"%s\" of table \"%s\" has type %s.",
						   NameStr(table->key_name),
						   tg_rel_display_name(table->relid),
						   format_type_be(table->key_typid)),
				 tg_errtablecol(table->relid, table->key_attnum)));

	return tg_numeric_to_type(n, table->key_basetypid);
}

/*
 * Convert the caller's key value (of type valtype) to the key column's base
 * type, exactly.  argname names the argument in messages.
 */
Datum
tg_key_convert(TgTable *table, Datum value, Oid valtype, const char *argname)
{
	Oid			keytype = table->key_basetypid;

	valtype = getBaseType(valtype);

	if (valtype == keytype)
		return datumCopy(value, table->key_typbyval, table->key_typlen);

	/* an untyped literal passed to "any" arrives as a C string */
	if (valtype == UNKNOWNOID)
	{
		value = CStringGetTextDatum(DatumGetCString(value));
		valtype = TEXTOID;
	}

	if (is_string_type(valtype))
	{
		char	   *s;

		if (is_string_type(keytype) && keytype != NAMEOID &&
			valtype != NAMEOID && valtype != BPCHAROID)
			return datumCopy(value, false, -1);		/* binary compatible */
		if (valtype == NAMEOID)
			s = pstrdup(NameStr(*DatumGetName(value)));
		else if (valtype == BPCHAROID)
			s = TextDatumGetCString(DirectFunctionCall1(rtrim1, value));
		else
			s = TextDatumGetCString(value);
		/* name's input cuts a long value to 63 bytes: a key it cannot hold */
		if (keytype == NAMEOID && strlen(s) >= NAMEDATALEN)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s is too long for key column \"%s\" of type name",
							argname, NameStr(table->key_name)),
					 tg_errtablecol(table->relid, table->key_attnum)));
		return OidInputFunctionCall(table->key_input, s, table->key_ioparam, -1);
	}

	if ((tg_is_integer_type(valtype) || valtype == NUMERICOID) &&
		(tg_is_integer_type(keytype) || keytype == NUMERICOID))
	{
		Numeric		n = tg_number_to_numeric(value, valtype);

		if (keytype == NUMERICOID)
			return NumericGetDatum(n);
		return numeric_to_integer_key(table, n, argname);
	}

	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("%s of type %s does not match key column \"%s\" of type %s",
					argname, format_type_be(valtype), NameStr(table->key_name),
					format_type_be(table->key_typid)),
			 is_string_type(keytype) ?
			 errhint("Pass the key as text.") :
			 errhint("Pass the key as %s or as text.",
					 format_type_be(table->key_typid)),
			 tg_errtablecol(table->relid, table->key_attnum)));
	return (Datum) 0;			/* keep compiler quiet */
}

/* compare two converted keys in the key's btree order and collation */
int
tg_key_compare(TgTable *table, Datum a, Datum b)
{
	return DatumGetInt32(FunctionCall2Coll(&table->key_cmp,
										   table->key_collation, a, b));
}

/*
 * A key as messages show it: numbers as they are, anything else as a
 * quoted literal, so that a key holding spaces or quotes reads unambiguously.
 */
char *
tg_key_display(TgTable *table, Datum key)
{
	char	   *s = OidOutputFunctionCall(table->key_output, key);

	if (tg_is_integer_type(table->key_basetypid) ||
		table->key_basetypid == NUMERICOID)
		return s;
	return quote_literal_cstr(s);
}

/*
 * A key as the journal and the idempotency records keep it: the key
 * column's text of the value, as id::text gives it, so char(n) without its
 * padding (the char to text cast drops it; char(n) comparisons ignore it).
 * Called with the value the locked row holds, this is the row's own
 * spelling whatever the caller's was.
 */
char *
tg_key_text(TgTable *table, Datum key)
{
	if (table->key_basetypid == BPCHAROID)
		return TextDatumGetCString(DirectFunctionCall1(rtrim1, key));
	return OidOutputFunctionCall(table->key_output, key);
}

/*
 * Does a key's recorded text name the same row as a converted key?  Equal
 * in the key's own comparison (and collation), as the key's unique index
 * tells rows apart: 1.0 and 1.00, 'a' and 'a   ' in char(n), 'ALICE' and
 * 'alice' under a case-insensitive collation or in citext.  A text the key
 * type cannot read (the key column's type changed since it was recorded)
 * names no row of it: its input error is caught in a subtransaction, taken
 * only when the texts differ (a retry spelled otherwise, rare enough for
 * its cost).  Any other error, a cancel included, is raised again.  The
 * caller's SPI connection and its tuple tables, made before the
 * subtransaction, outlive its rollback.
 */
bool
tg_key_equals_text(TgTable *table, Datum key, const char *text,
				   const char *argname)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool same = false;

	if (strcmp(tg_key_text(table, key), text) == 0)
		return true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		Datum		recorded = tg_key_convert(table, CStringGetTextDatum(text),
											  TEXTOID, argname);

		same = tg_key_compare(table, recorded, key) == 0;
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		/* only a value the type cannot read means "another row" */
		if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
			ReThrowError(edata);
		FreeErrorData(edata);
		same = false;
	}
	PG_END_TRY();
	return same;
}

/* a unique index that can serve as the row key */
typedef struct KeyIndex
{
	Oid			indexoid;
	AttrNumber	attnum;
	bool		primary;
} KeyIndex;

/*
 * Can this index serve as the row key?  A unique, immediate, valid index on
 * one NOT NULL column, with no expression and no predicate, whose collation
 * and operator class are the column's own: then its notion of "the same
 * key" is the one the lock statement's = and ORDER BY use.
 */
static AttrNumber
usable_key_index(Relation rel, HeapTuple tup)
{
	Form_pg_index idx = (Form_pg_index) GETSTRUCT(tup);
	AttrNumber	attnum = idx->indkey.values[0];
	Form_pg_attribute att;
	oidvector  *indclass;
	oidvector  *indcollation;
	Datum		d;
	bool		isnull;

	if (!idx->indisunique || !idx->indimmediate || !idx->indisvalid ||
		!idx->indislive || idx->indnkeyatts != 1 || attnum <= 0 ||
		!heap_attisnull(tup, Anum_pg_index_indexprs, NULL) ||
		!heap_attisnull(tup, Anum_pg_index_indpred, NULL))
		return InvalidAttrNumber;
	att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	if (!att->attnotnull)
		return InvalidAttrNumber;

	d = SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indclass, &isnull);
	indclass = (oidvector *) DatumGetPointer(d);
	if (isnull || indclass->values[0] != GetDefaultOpClass(att->atttypid, BTREE_AM_OID))
		return InvalidAttrNumber;
	d = SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indcollation, &isnull);
	indcollation = (oidvector *) DatumGetPointer(d);
	if (isnull || indcollation->values[0] != att->attcollation)
		return InvalidAttrNumber;
	return attnum;
}

/* the table's usable key indexes (usable_key_index), in index list order */
static KeyIndex *
usable_key_indexes(Relation rel, int *n)
{
	List	   *indexes = RelationGetIndexList(rel);
	KeyIndex   *result = palloc(sizeof(KeyIndex) * Max(list_length(indexes), 1));
	ListCell   *lc;

	*n = 0;
	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		HeapTuple	tup;
		AttrNumber	attnum;

		tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for index %u", indexoid);
		attnum = usable_key_index(rel, tup);
		if (attnum != InvalidAttrNumber)
		{
			result[*n].indexoid = indexoid;
			result[*n].attnum = attnum;
			result[*n].primary = ((Form_pg_index) GETSTRUCT(tup))->indisprimary;
			(*n)++;
		}
		ReleaseSysCache(tup);
	}
	list_free(indexes);
	return result;
}

/*
 * The row key of a table.  With wanted set, that column if a usable unique
 * index covers it, else InvalidAttrNumber.  Without: the single-column
 * primary key if usable, else the only column with a usable unique index;
 * *ambiguous is set when several columns qualify and none is the primary
 * key, since choosing among them would be a guess.
 */
AttrNumber
tg_find_key_column(Relation rel, AttrNumber wanted, bool *ambiguous)
{
	int			n;
	KeyIndex   *keys = usable_key_indexes(rel, &n);
	AttrNumber	primary = InvalidAttrNumber;
	AttrNumber	found = InvalidAttrNumber;
	bool		several = false;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (keys[i].primary)
			primary = keys[i].attnum;
		if (found != InvalidAttrNumber && found != keys[i].attnum)
			several = true;
		if (wanted == InvalidAttrNumber || keys[i].attnum == wanted)
			found = keys[i].attnum;
	}
	pfree(keys);

	if (ambiguous)
		*ambiguous = false;
	if (wanted != InvalidAttrNumber)
		return found == wanted ? wanted : InvalidAttrNumber;
	if (primary != InvalidAttrNumber)
		return primary;
	if (several)
	{
		if (ambiguous)
			*ambiguous = true;
		return InvalidAttrNumber;
	}
	return found;
}

/*
 * The unique index that makes attnum the row key: the primary key's if it
 * qualifies, else the first usable one.  Rows are looked up through it.
 */
static Oid
key_index_oid(Relation rel, AttrNumber attnum)
{
	int			n;
	KeyIndex   *keys = usable_key_indexes(rel, &n);
	Oid			result = InvalidOid;
	int			i;

	for (i = 0; i < n; i++)
		if (keys[i].attnum == attnum && (keys[i].primary || !OidIsValid(result)))
			result = keys[i].indexoid;
	pfree(keys);
	if (!OidIsValid(result))
		elog(ERROR, "no unique index on key column %d of table \"%s\"",
			 attnum, RelationGetRelationName(rel));
	return result;
}

void
tg_raise_no_key(Relation rel, const char *key_column, bool ambiguous)
{
	if (key_column)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
				 errmsg("column \"%s\" of table \"%s\" is not a usable key",
						key_column, RelationGetRelationName(rel)),
				 errdetail("A key column needs a single-column unique index, immediate, without expression or predicate, with the column's own collation and operator class, and a NOT NULL constraint."),
				 errtable(rel)));
	if (ambiguous)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
				 errmsg("table \"%s\" has several columns that could be its key",
						RelationGetRelationName(rel)),
				 errhint("Name one with key_column => ..."),
				 errtable(rel)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
			 errmsg("table \"%s\" has no single-column key",
					RelationGetRelationName(rel)),
			 errdetail("A guarded table needs a single-column primary key, or a single-column unique index on a NOT NULL column."),
			 errtable(rel)));
}

/*
 * The key's unique index and the equality its scan key uses: the operator
 * class is the column type's default btree one (usable_key_index), so its
 * equality is the "=" of the lock statement.
 */
static void
set_key_index(TgTable *table, Relation rel)
{
	Relation	index;
	Oid			opfamily;
	Oid			opcintype;
	Oid			eqop;

	table->key_index = key_index_oid(rel, table->key_attnum);
	index = index_open(table->key_index, AccessShareLock);
	opfamily = index->rd_opfamily[0];
	opcintype = index->rd_opcintype[0];
	table->key_index_collation = index->rd_indcollation[0];
	index_close(index, AccessShareLock);

	eqop = get_opfamily_member(opfamily, opcintype, opcintype,
							   BTEqualStrategyNumber);
	if (!OidIsValid(eqop))
		elog(ERROR, "missing equality operator for type %u in operator family %u",
			 opcintype, opfamily);
	table->key_eq_proc = get_opcode(eqop);
}

/*
 * Fill in the key of a guarded table's cache entry: the column, its types,
 * the comparison the global lock order uses, and the unique index rows are
 * found by.  The caller holds a lock on the table and allocates in the
 * entry's memory context.
 */
void
tg_key_describe(TgTable *table, Relation rel, AttrNumber key_attnum)
{
	Form_pg_attribute keyatt = TupleDescAttr(RelationGetDescr(rel), key_attnum - 1);
	TypeCacheEntry *typentry;
	bool		typisvarlena;

	table->key_attnum = key_attnum;
	namestrcpy(&table->key_name, NameStr(keyatt->attname));
	table->key_typid = keyatt->atttypid;
	table->key_typmod = keyatt->atttypmod;
	table->key_basetypid = getBaseType(keyatt->atttypid);
	table->key_collation = keyatt->attcollation;
	get_typlenbyvalalign(table->key_basetypid, &table->key_typlen,
						 &table->key_typbyval, &table->key_typalign);
	table->key_arraytypid = get_array_type(table->key_basetypid);
	if (!OidIsValid(table->key_arraytypid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("key column \"%s\" of table \"%s\" has type %s, which has no array type",
						NameStr(keyatt->attname), RelationGetRelationName(rel),
						format_type_be(table->key_basetypid))));
	typentry = lookup_type_cache(table->key_basetypid,
								 TYPECACHE_CMP_PROC | TYPECACHE_EQ_OPR);
	if (!OidIsValid(typentry->cmp_proc) || !OidIsValid(typentry->eq_opr))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("key column \"%s\" of table \"%s\" has type %s, which has no default btree operator class",
						NameStr(keyatt->attname), RelationGetRelationName(rel),
						format_type_be(table->key_basetypid))));
	fmgr_info_cxt(typentry->cmp_proc, &table->key_cmp, CurrentMemoryContext);
	set_key_index(table, rel);
	getTypeInputInfo(table->key_basetypid, &table->key_input,
					 &table->key_ioparam);
	getTypeOutputInfo(table->key_basetypid, &table->key_output, &typisvarlena);
}

/*
 * The settings a key's text is written and read under when it is stored
 * for another session to read back (a hold's keys): the text of a date,
 * a timestamp, an interval, a float or money depends on DateStyle,
 * IntervalStyle, extra_float_digits and lc_monetary, and read back under
 * other settings it could name another row.  Undone by AtEOXact_GUC(),
 * or by the end of the (sub)transaction on an error.
 */
static int
stable_key_style(void)
{
	int			nest = NewGUCNestLevel();

	(void) set_config_option("datestyle", "ISO, YMD", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("intervalstyle", "postgres", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("extra_float_digits", "3", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("lc_monetary", "C", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nest;
}

/* a key's text as tg_key_text() gives it, under stable_key_style() */
char *
tg_key_stable_text(TgTable *table, Datum key)
{
	int			nest = stable_key_style();
	char	   *text = tg_key_text(table, key);

	AtEOXact_GUC(true, nest);
	return text;
}

/* a key from the text tg_key_stable_text() gave, as the key's base type */
Datum
tg_key_from_stable_text(TgTable *table, const char *text, const char *argname)
{
	int			nest = stable_key_style();
	Datum		key = tg_key_convert(table, CStringGetTextDatum(text), TEXTOID,
									 argname);

	AtEOXact_GUC(true, nest);
	return key;
}
