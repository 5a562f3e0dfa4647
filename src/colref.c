/*-------------------------------------------------------------------------
 *
 * colref.c
 *	  transfer_guard_column: a reference to a column of a table, stored as
 *	  (table OID, attribute number) and written as its qualified name.
 *
 *	  The registry records guarded, key and version columns with it.  An
 *	  attribute number is what PostgreSQL itself records a column by
 *	  (pg_index.indkey, pg_constraint.conkey): no rename, on the table or
 *	  through a parent, changes it.  Its text form is the column's current
 *	  qualified name, as regclass's is a table's, so that pg_dump writes
 *	  names and a restore, whose tables may number their columns otherwise
 *	  (dropped columns are not restored), reads them back by name.
 *
 * IDENTIFICATION
 *	  src/colref.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "nodes/value.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/regproc.h"
#include "utils/varlena.h"

#include "colref.h"
#include "compat.h"


PG_FUNCTION_INFO_V1(transfer_guard_column_in);
PG_FUNCTION_INFO_V1(transfer_guard_column_out);
PG_FUNCTION_INFO_V1(transfer_guard_column_attnum);

/* a new reference, palloc'd in the current context */
TgColumnRef *
tg_colref_make(Oid relid, AttrNumber attnum)
{
	TgColumnRef *ref = palloc0(sizeof(TgColumnRef));

	ref->relid = relid;
	ref->attnum = attnum;
	return ref;
}

/*
 * The name of a live user column, or NULL if the table has no such column
 * any more (dropped, or the table itself dropped).
 */
char *
tg_colref_attname(Oid relid, AttrNumber attnum)
{
	HeapTuple	tup;
	char	   *result = NULL;

	if (attnum <= 0)
		return NULL;
	tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid),
						  Int16GetDatum(attnum));
	if (!HeapTupleIsValid(tup))
		return NULL;
	if (!((Form_pg_attribute) GETSTRUCT(tup))->attisdropped)
		result = pstrdup(NameStr(((Form_pg_attribute) GETSTRUCT(tup))->attname));
	ReleaseSysCache(tup);
	return result;
}

/*
 * Text form: schema.table.column, each part quoted as needed.  A reference
 * whose column is gone prints as "tableoid.attnum", which no quoted name
 * can be mistaken for (a name starting with a digit is always quoted).
 */
Datum
transfer_guard_column_out(PG_FUNCTION_ARGS)
{
	TgColumnRef *ref = (TgColumnRef *) PG_GETARG_POINTER(0);
	char	   *attname = tg_colref_attname(ref->relid, ref->attnum);
	char	   *relname = attname ? get_rel_name(ref->relid) : NULL;
	char	   *nspname = relname ?
		get_namespace_name(get_rel_namespace(ref->relid)) : NULL;
	StringInfoData buf;

	initStringInfo(&buf);
	if (nspname)
		appendStringInfo(&buf, "%s.%s",
						 quote_qualified_identifier(nspname, relname),
						 quote_identifier(attname));
	else
		appendStringInfo(&buf, "%u.%d", ref->relid, (int) ref->attnum);
	PG_RETURN_CSTRING(buf.data);
}

/* the numeric form of a reference to a column that is gone */
static bool
parse_numeric_form(const char *str, Oid *relid, AttrNumber *attnum)
{
	unsigned int r;
	int			a;
	int			consumed = 0;

	if (sscanf(str, "%u.%d%n", &r, &a, &consumed) != 2 ||
		str[consumed] != '\0' || a < SHRT_MIN || a > SHRT_MAX ||
		!isdigit((unsigned char) str[0]))
		return false;
	*relid = (Oid) r;
	*attnum = (AttrNumber) a;
	return true;
}

/*
 * Read a reference: a qualified column name, resolved now (as regclass
 * resolves a table name), or the numeric form transfer_guard_column_out
 * writes for a column that is gone.
 */
Datum
transfer_guard_column_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	List	   *names;
	char	   *colname;
	RangeVar   *rv;
	Oid			relid;
	AttrNumber	attnum;

	if (parse_numeric_form(str, &relid, &attnum))
		PG_RETURN_POINTER(tg_colref_make(relid, attnum));

	names = tg_string_to_qualified_name_list(str);
	if (list_length(names) < 2 || list_length(names) > 4)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid column reference \"%s\"", str),
				 errhint("Write a column as table.column, optionally schema-qualified.")));
	colname = strVal(llast(names));
	rv = makeRangeVarFromNameList(list_truncate(list_copy(names),
												list_length(names) - 1));
	relid = RangeVarGetRelid(rv, NoLock, false);
	attnum = get_attnum(relid, colname);
	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						colname, rv->relname)));
	PG_RETURN_POINTER(tg_colref_make(relid, attnum));
}

/* the attribute number: what the registry's unique index is built on */
Datum
transfer_guard_column_attnum(PG_FUNCTION_ARGS)
{
	TgColumnRef *ref = (TgColumnRef *) PG_GETARG_POINTER(0);

	PG_RETURN_INT16(ref->attnum);
}
