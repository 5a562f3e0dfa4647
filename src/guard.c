/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  guard() and unguard(): declare, change or remove the guard of a
 *	  balance column, after checking the table, the column, its key and
 *	  its version column.  The registry is written as the extension's owner
 *	  on behalf of the table's owner; every backend's cache entry for the
 *	  table is then invalidated.
 *
 * IDENTIFICATION
 *	  src/guard.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "amount.h"
#include "citus.h"
#include "colref.h"
#include "extension.h"
#include "guard.h"
#include "keys.h"
#include "registry.h"
#include "report.h"
#include "table.h"


/*
 * Open a table for guard()/unguard(): it must exist and the caller must
 * own it.  ShareUpdateExclusiveLock serialises guard changes on one table
 * without blocking transfers.
 */
Relation
tg_open_owned_table(Oid relid)
{
	Relation	rel;
	char		relkind = get_rel_relkind(relid);

	/* refuse a non-owner before waiting for any lock on the table */
	if (relkind == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	/* as ALTER TABLE: the schema's USAGE (its name's lookup), then owner */
	tg_check_schema_usage(relid);
	if (!tg_rel_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(relkind),
					   get_rel_name(relid));

	rel = try_relation_open(relid, ShareUpdateExclusiveLock);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	/* its schema or ownership may have changed while waiting */
	tg_check_schema_usage(relid);
	if (!tg_rel_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER,
					   get_relkind_objtype(rel->rd_rel->relkind),
					   RelationGetRelationName(rel));
	return rel;
}

/* run one registry statement as the extension's owner */
static uint64
registry_execute(const char *sql, int nargs, Oid *argtypes, Datum *values,
				 const char *nulls)
{
	SPIPlanPtr	plan;
	int			rc;
	uint64		processed;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare(sql, nargs, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	rc = tg_spi_as_owner(plan, values, nulls, 0);
	if (rc < 0)
		elog(ERROR, "registry statement failed: %s", SPI_result_code_string(rc));
	processed = SPI_processed;
	SPI_finish();
	return processed;
}

static char *
registry_name(void)
{
	return tg_extension_relation_name(TG_REGISTRY_NAME);
}

/* how many columns of the table are guarded already, other than attnum */
static int
count_other_guards(List *rows, AttrNumber attnum)
{
	ListCell   *lc;
	int			n = 0;

	foreach(lc, rows)
		if (((RegistryRow *) lfirst(lc))->column != attnum)
			n++;
	return n;
}

/*
 * A column a transfer may write: not generated, not GENERATED ALWAYS AS
 * IDENTITY (an UPDATE could only set it to its default).
 */
static void
check_writable_column(Relation rel, AttrNumber attnum, const char *what)
{
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);

	if (att->attgenerated || att->attidentity == ATTRIBUTE_IDENTITY_ALWAYS)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s \"%s\" of table \"%s\" cannot be updated",
						what, NameStr(att->attname), RelationGetRelationName(rel)),
				 errdetail("Generated columns and GENERATED ALWAYS identity columns can only be updated to their default."),
				 errtablecol(rel, attnum)));
}

/*
 * Check a version column for guard(): an existing, user, integer column
 * that is neither the key nor a guarded balance, and that an UPDATE may
 * set.  Returns its attribute number.
 */
static AttrNumber
check_version_column(Relation rel, List *rows, const char *version_column,
					 AttrNumber balance_attnum, AttrNumber key_attnum)
{
	AttrNumber	vnum = get_attnum(RelationGetRelid(rel), version_column);

	switch (tg_check_version_column(rel, rows, vnum, balance_attnum, key_attnum))
	{
		case TG_VERSION_OK:
			break;
		case TG_VERSION_NO_COLUMN:
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist",
							version_column, RelationGetRelationName(rel))));
			break;
		case TG_VERSION_NOT_USER_COLUMN:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" of table \"%s\" cannot be a version column",
							version_column, RelationGetRelationName(rel)),
					 errdetail("A version column is a user column other than the key and the guarded balances."),
					 errtable(rel)));
			break;
		case TG_VERSION_NOT_INTEGER:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("version column \"%s\" of table \"%s\" has type %s",
							version_column, RelationGetRelationName(rel),
							format_type_be(TupleDescAttr(RelationGetDescr(rel),
														 vnum - 1)->atttypid)),
					 errdetail("A version column must be of type smallint, integer or bigint."),
					 errtablecol(rel, vnum)));
			break;
		case TG_VERSION_NOT_WRITABLE:
			check_writable_column(rel, vnum, "version column");
			break;
	}
	return vnum;
}

/*
 * The key for guard(): the one named, or the one the table allows; and the
 * same key as the table's other guards use.
 */
static AttrNumber
choose_key_column(Relation rel, List *rows, const char *key_column,
				  AttrNumber balance_attnum)
{
	Oid			relid = RelationGetRelid(rel);
	AttrNumber	key_attnum;
	bool		ambiguous = false;
	ListCell   *lc;

	if (key_column)
	{
		AttrNumber	wanted = get_attnum(relid, key_column);

		if (wanted == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist",
							key_column, RelationGetRelationName(rel))));
		key_attnum = wanted > 0 ? tg_find_key_column(rel, wanted, NULL) : InvalidAttrNumber;
	}
	else
		key_attnum = tg_find_key_column(rel, InvalidAttrNumber, &ambiguous);
	if (key_attnum == InvalidAttrNumber)
		tg_raise_no_key(rel, key_column, ambiguous);

	foreach(lc, rows)
	{
		RegistryRow *row = (RegistryRow *) lfirst(lc);

		if (row->has_key && row->column != balance_attnum &&
			row->key != key_attnum)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("table \"%s\" is guarded with key column \"%s\"",
							RelationGetRelationName(rel),
							tg_colref_attname(relid, row->key) ?
							tg_colref_attname(relid, row->key) : "(dropped)"),
					 errdetail("All guarded columns of a table share its key."),
					 errtable(rel)));
	}
	return key_attnum;
}

/*
 * The column guard() is asked to guard: an existing user column of a
 * balance type that a transfer may write.
 */
static AttrNumber
check_balance_column(Relation rel, const char *colname)
{
	AttrNumber	attnum = get_attnum(RelationGetRelid(rel), colname);
	Form_pg_attribute att;

	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						colname, RelationGetRelationName(rel)),
				 errtable(rel)));
	if (attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot guard system column \"%s\"", colname),
				 errtable(rel)));
	att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	if (!tg_is_balance_type(getBaseType(att->atttypid)))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of table \"%s\" has type %s",
						colname, RelationGetRelationName(rel),
						format_type_be(att->atttypid)),
				 errdetail("A guarded balance column must be of type smallint, integer, bigint or numeric."),
				 errtablecol(rel, attnum)));
	check_writable_column(rel, attnum, "column");
	return attnum;
}

/* the limits fit the column's type and each other */
static void
check_limits(Relation rel, AttrNumber attnum, Numeric min_balance,
			 Numeric max_balance)
{
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	TgColumn	col;

	memset(&col, 0, sizeof(col));
	namestrcpy(&col.name, NameStr(att->attname));
	col.attnum = attnum;
	tg_column_set_type(&col, att->atttypid, att->atttypmod);
	tg_check_limit_value(RelationGetRelid(rel), &col, min_balance, "min_balance");
	tg_check_limit_value(RelationGetRelid(rel), &col, max_balance, "max_balance");
	if (min_balance && max_balance &&
		tg_numeric_cmp(min_balance, max_balance) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_balance %s is greater than max_balance %s",
						tg_numeric_display(min_balance),
						tg_numeric_display(max_balance)),
				 errtablecol(rel, attnum)));
}

/*
 * Write the guard's registry row, or replace it.  A registry from before
 * 1.1 (the library serves it until ALTER EXTENSION UPDATE) has no journal,
 * version or key column.
 */
static void
write_guard(Relation rel, AttrNumber attnum, Numeric min_balance,
			Numeric max_balance, bool journal, AttrNumber version_attnum,
			AttrNumber key_attnum)
{
	RegistryShape shape = tg_registry_shape();
	StringInfoData sql;
	Oid			argtypes[7] = {OIDOID, shape.column_type, NUMERICOID,
	NUMERICOID, BOOLOID, shape.column_type, shape.column_type};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};

	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO %s AS r (tbl, balance_column, min_balance,"
					 " max_balance%s) VALUES ($1::pg_catalog.regclass, $2, $3, $4%s)"
					 " ON CONFLICT (tbl, %s) DO UPDATE"
					 " SET min_balance = EXCLUDED.min_balance,"
					 " max_balance = EXCLUDED.max_balance%s",
					 registry_name(),
					 shape.has_1_1_columns ? ", journal, version_column, key_column" : "",
					 shape.has_1_1_columns ? ", $5, $6, $7" : "",
					 shape.column_match,
					 shape.has_1_1_columns ?
					 ", journal = EXCLUDED.journal,"
					 " version_column = EXCLUDED.version_column,"
					 " key_column = EXCLUDED.key_column" : "");
	values[0] = ObjectIdGetDatum(RelationGetRelid(rel));
	values[1] = tg_registry_column_value(&shape, rel, attnum);
	values[2] = min_balance ? NumericGetDatum(min_balance) : (Datum) 0;
	nulls[2] = min_balance ? ' ' : 'n';
	values[3] = max_balance ? NumericGetDatum(max_balance) : (Datum) 0;
	nulls[3] = max_balance ? ' ' : 'n';
	values[4] = BoolGetDatum(journal);
	values[5] = version_attnum != InvalidAttrNumber ?
		tg_registry_column_value(&shape, rel, version_attnum) : (Datum) 0;
	nulls[5] = version_attnum != InvalidAttrNumber ? ' ' : 'n';
	values[6] = tg_registry_column_value(&shape, rel, key_attnum);
	registry_execute(sql.data, shape.has_1_1_columns ? 7 : 4, argtypes, values,
					 nulls);
}

/*
 * Refuse a change that hot rows of the column (with_slots: hot rows with
 * slots) do not allow (set_hot()): what says so in the message.
 */
static void
check_no_hot_rows(Relation rel, AttrNumber attnum, const char *what,
				  bool with_slots)
{
	TgTable    *table = tg_get_table(RelationGetRelid(rel), true);
	int			i;

	if (table == NULL)
		return;
	for (i = 0; i < table->nhot; i++)
		if (table->columns[table->hot[i].column].attnum == attnum &&
			(!with_slots || table->hot[i].slots > 0))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot %s column \"%s\" of table \"%s\": it has hot rows",
							what, get_attname(RelationGetRelid(rel), attnum, false),
							RelationGetRelationName(rel)),
					 errdetail("Row %s is hot.", table->hot[i].key_text),
					 errhint("Call set_hot(%s, %s, hot => false) for each of its hot rows first.",
							 tg_rel_literal(RelationGetRelid(rel)),
							 quote_literal_cstr(table->hot[i].key_text)),
					 errtablecol(rel, attnum)));
}

/* does guard() change the column's floor (or set one where none was)? */
static bool
floor_changes(Oid relid, AttrNumber attnum, Numeric min_balance)
{
	TgTable    *table = tg_get_table(relid, true);
	int			c;

	for (c = 0; table != NULL && c < table->ncolumns; c++)
		if (table->columns[c].attnum == attnum)
		{
			Numeric		old = table->columns[c].min_balance;

			if (old == NULL || min_balance == NULL)
				return old != min_balance;
			return tg_numeric_cmp(old, min_balance) != 0;
		}
	return false;
}

/*
 * guard(): declare a guarded balance column or change its settings.
 */
void
tg_guard(Oid relid, const char *colname, Numeric min_balance,
		 Numeric max_balance, bool journal, const char *version_column,
		 const char *key_column)
{
	Relation	rel = tg_open_owned_table(relid);
	List	   *rows = tg_read_registry(relid);	/* the table's guards so far */
	AttrNumber	attnum;
	AttrNumber	key_attnum;
	AttrNumber	version_attnum = InvalidAttrNumber;

	tg_check_table_kind(rel);
	tg_check_no_guarded_relative(rel);
	attnum = check_balance_column(rel, colname);
	key_attnum = choose_key_column(rel, rows, key_column, attnum);
	(void) tg_citus_placement(rel, key_attnum);	/* raises if unsupported */
	if (key_attnum == attnum)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot guard key column \"%s\" of table \"%s\"",
						colname, RelationGetRelationName(rel)),
				 errtablecol(rel, attnum)));
	check_limits(rel, attnum, min_balance, max_balance);
	if (max_balance != NULL)
		check_no_hot_rows(rel, attnum, "set a ceiling on", false);
	if (floor_changes(relid, attnum, min_balance))
		check_no_hot_rows(rel, attnum, "change the floor of", true);
	if (version_column)
		version_attnum = check_version_column(rel, rows, version_column,
											  attnum, key_attnum);
	if (count_other_guards(rows, attnum) >= TG_MAX_COLUMNS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("table \"%s\" has %d guarded columns already",
						RelationGetRelationName(rel), TG_MAX_COLUMNS),
				 errtable(rel)));

	write_guard(rel, attnum, min_balance, max_balance, journal,
				version_attnum, key_attnum);

	/* every backend's cache entry for this table is now stale */
	CacheInvalidateRelcache(rel);
	relation_close(rel, NoLock);
}

/*
 * Refuse to unguard a column that open holds take from or pay to: their
 * capture or release could not credit it (1.5).
 */
static void
check_no_open_holds(Relation rel, AttrNumber attnum)
{
	static TgExtensionStatement open_stmt;
	Oid			argtypes[2] = {OIDOID, INT2OID};
	Datum		values[2];
	SPIPlanPtr	plan;
	int64		hold_id = 0;
	int			rc;

	if (!OidIsValid(tg_extension_relation(TG_HOLDS_NAME, true)))
		return;
	/*
	 * A hold() in flight has the table open (RowExclusiveLock): wait for
	 * it to end, then read the holds in the latest snapshot, whatever the
	 * isolation level, so that no hold committed before this point is
	 * missed and none can start until this transaction ends.
	 */
	LockRelationOid(RelationGetRelid(rel), ShareLock);
	PushActiveSnapshot(GetLatestSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = tg_extension_plan(&open_stmt, TG_HOLDS_NAME,
							 tg_extension_sql("SELECT h.hold_id FROM %%s AS h"
											  " WHERE h.state OPERATOR(pg_catalog.=) 'held'"
											  " AND ((h.from_table::pg_catalog.oid OPERATOR(pg_catalog.=) $1"
											  " AND %s.transfer_guard_column_attnum(h.from_column)"
											  " OPERATOR(pg_catalog.=) $2)"
											  " OR (h.to_table::pg_catalog.oid OPERATOR(pg_catalog.=) $1"
											  " AND %s.transfer_guard_column_attnum(h.to_column)"
											  " OPERATOR(pg_catalog.=) $2))"
											  " ORDER BY h.hold_id LIMIT 1"),
							 2, argtypes);
	values[0] = ObjectIdGetDatum(RelationGetRelid(rel));
	values[1] = Int16GetDatum(attnum);
	rc = tg_spi_read_as_owner(plan, values, NULL, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading open holds failed: %s", SPI_result_code_string(rc));
	if (SPI_processed > 0)
	{
		bool		isnull;

		hold_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											  SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	PopActiveSnapshot();
	if (hold_id != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot unguard column \"%s\" of table \"%s\": it has open holds",
						get_attname(RelationGetRelid(rel), attnum, false),
						RelationGetRelationName(rel)),
				 errdetail("Hold " INT64_FORMAT " is open.", hold_id),
				 errhint("Capture or release its holds first."),
				 errtablecol(rel, attnum)));
}

/*
 * unguard(): remove a guard.  Unguarding a column that is not guarded is
 * an error, as DROP without IF EXISTS is.
 */
void
tg_unguard(Oid relid, const char *colname)
{
	Relation	rel = tg_open_owned_table(relid);
	RegistryShape shape = tg_registry_shape();
	AttrNumber	attnum = get_attnum(relid, colname);
	StringInfoData sql;
	Oid			argtypes[2] = {OIDOID, INT2OID};
	Datum		values[2];

	if (attnum > 0)
	{
		check_no_hot_rows(rel, attnum, "unguard", false);
		check_no_open_holds(rel, attnum);
	}

	/* the registry's balance column, as its unique index has it, to attnum */
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "DELETE FROM %s AS r"
					 " WHERE r.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) $1"
					 " AND %s OPERATOR(pg_catalog.=) %s",
					 registry_name(), shape.column_match,
					 shape.column_type == NAMEOID ? "$2::pg_catalog.name" : "$2");
	values[0] = ObjectIdGetDatum(relid);
	values[1] = Int16GetDatum(attnum);
	if (shape.column_type == NAMEOID)
	{
		argtypes[1] = NAMEOID;
		values[1] = attnum > 0 ? tg_registry_column_value(&shape, rel, attnum) : (Datum) 0;
	}
	if (attnum <= 0 ||
		registry_execute(sql.data, 2, argtypes, values, NULL) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("column \"%s\" of table \"%s\" is not guarded",
						colname, RelationGetRelationName(rel)),
				 errtable(rel)));

	CacheInvalidateRelcache(rel);
	relation_close(rel, NoLock);
}
