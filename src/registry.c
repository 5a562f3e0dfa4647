/*-------------------------------------------------------------------------
 *
 * registry.c
 *	  The guard registry (transfer_guard_registry: its layout, reading it)
 *	  and the backend-local cache of guarded tables built from it: the
 *	  engine reads a table through tg_get_table(), which keeps one TgTable
 *	  per table (key, guarded columns, limits, kept plans), checks that the
 *	  table can still be guarded, and access to its schema.
 *
 *	  An entry is dropped on the table's relcache invalidation (guard(),
 *	  unguard(), any ALTER, DROP, index change or VACUUM of it) or when the
 *	  extension's objects change; a stale entry still in use is retired and
 *	  freed in a later transaction.  docs/design.md, "The cache", says why.
 *
 * IDENTIFICATION
 *	  src/registry.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/partition.h"
#include "catalog/pg_am.h"
#include "catalog/pg_inherits.h"
#include "commands/defrem.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "amount.h"
#include "citus.h"
#include "colref.h"
#include "extension.h"
#include "keys.h"
#include "registry.h"
#include "report.h"
#include "table.h"



/* registry columns, 1-based as in the table definition */
#define Anum_registry_tbl			1
#define Anum_registry_column		2
#define Anum_registry_min			3
#define Anum_registry_max			4
#define Anum_registry_journal		5	/* from 1.1 */
#define Anum_registry_version		6	/* from 1.1 */
#define Anum_registry_key			7	/* from 1.1 */
#define Natts_registry_1_0			4

typedef struct TgTableEntry
{
	Oid			relid;			/* hash key */
	TgTable    *table;
} TgTableEntry;

typedef struct TgRetired
{
	TgTable    *table;
	uint64		generation;		/* transaction it was retired in */
} TgRetired;

static HTAB *tg_tables = NULL;
static bool tg_any_stale = false;	/* some entry was marked stale */
static List *tg_retired = NIL;	/* in TopMemoryContext */
static uint64 tg_xact_generation = 0;

/* the table whose entry is being built, and whether it was invalidated */
static Oid	tg_building = InvalidOid;
static bool tg_building_invalidated = false;


/*
 * Relcache invalidation: mark the entry of that table stale.  Runs at
 * arbitrary points (whenever invalidations are accepted), so it only sets
 * flags.  A change of the extension's own relations (the extension dropped
 * and created again) makes every entry stale through the extension's
 * generation (is_current).
 */
static void
tg_relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	TgTableEntry *entry;

	if (OidIsValid(tg_building) &&
		(relid == tg_building || !OidIsValid(relid)))
		tg_building_invalidated = true;

	if (tg_tables == NULL)
		return;

	if (OidIsValid(relid))
	{
		entry = hash_search(tg_tables, &relid, HASH_FIND, NULL);
		if (entry)
		{
			entry->table->valid = false;
			tg_any_stale = true;
		}
		return;
	}

	hash_seq_init(&status, tg_tables);
	while ((entry = hash_seq_search(&status)) != NULL)
		entry->table->valid = false;
	tg_any_stale = true;
}


/* count transactions, so retired entries know when they are unreachable */
static void
tg_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PREPARE || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PARALLEL_ABORT)
		tg_xact_generation++;
}

/* built under the extension's current objects, and not invalidated since */
static bool
is_current(TgTable *table)
{
	return table->valid &&
		table->ext_generation == tg_extension_generation();
}

static void
init_cache(void)
{
	HASHCTL		ctl;

	if (tg_tables != NULL)
		return;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(TgTableEntry);
	ctl.hcxt = CacheMemoryContext;
	tg_tables = hash_create("transfer_guard tables", 16, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	CacheRegisterRelcacheCallback(tg_relcache_callback, (Datum) 0);
	RegisterXactCallback(tg_xact_callback, NULL);
}

static void
free_table(TgTable *table)
{
	TgMaskPlan *mp;

	for (mp = table->lock_plans; mp != NULL; mp = mp->next)
		SPI_freeplan(mp->plan);
	for (mp = table->update_plans; mp != NULL; mp = mp->next)
		SPI_freeplan(mp->plan);
	MemoryContextDelete(table->cxt);
}

/* free entries retired by earlier transactions; see the file header */
static void
free_retired(void)
{
	List	   *keep = NIL;
	ListCell   *lc;
	MemoryContext old;

	if (tg_retired == NIL)
		return;

	/* the list outlives the statement: build it where tg_retired lives */
	old = MemoryContextSwitchTo(TopMemoryContext);
	foreach(lc, tg_retired)
	{
		TgRetired  *r = (TgRetired *) lfirst(lc);

		if (r->generation != tg_xact_generation)
		{
			free_table(r->table);
			pfree(r);
		}
		else
			keep = lappend(keep, r);
	}
	list_free(tg_retired);
	tg_retired = keep;
	MemoryContextSwitchTo(old);
}

static void
retire_table(TgTable *table)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	TgRetired  *r = palloc(sizeof(TgRetired));

	r->table = table;
	r->generation = tg_xact_generation;
	tg_retired = lappend(tg_retired, r);
	MemoryContextSwitchTo(old);
}

/*
 * Retire every stale entry, so that tables dropped or changed and never
 * used again do not keep their entries and plans for the life of the
 * backend.  Not while an entry is being built (its table is the one the
 * caller asked for, and it is not in the hash yet).
 */
static void
sweep_stale(void)
{
	HASH_SEQ_STATUS status;
	TgTableEntry *entry;

	if (!tg_any_stale)
		return;
	tg_any_stale = false;
	hash_seq_init(&status, tg_tables);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (is_current(entry->table))
			continue;
		retire_table(entry->table);
		hash_search(tg_tables, &entry->relid, HASH_REMOVE, NULL);
	}
}

/*
 * The caller may use the schema of a table given by OID: USAGE, which
 * naming the table would have required (regclass input, or any statement
 * such as a plain UPDATE or ALTER TABLE).  Every role needs it, the table's
 * owner too; superusers have it.  42501 as PostgreSQL raises it.  A table
 * that no longer exists is left to the caller to report.
 */
void
tg_check_schema_usage(Oid relid)
{
	Oid			nspid = get_rel_namespace(relid);
	AclResult	aclresult;

	if (!OidIsValid(nspid))
		return;
	aclresult = tg_namespace_aclcheck(nspid, GetUserId(), ACL_USAGE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_SCHEMA, get_namespace_name(nspid));
}

/*
 * What kind of table can be guarded: an ordinary or partitioned table, not
 * temporary (its guard could not be removed when the session ends), and
 * without rules (a rule could turn the UPDATE into something else).
 */
/*
 * A table with inheritance children cannot be guarded: an UPDATE of it
 * changes its children's rows too, and its unique index does not make keys
 * unique across them, so a key could name several rows.  Checked at
 * guard() and on every call (a child can be added without invalidating
 * the parent's cache entry), so that a row an UPDATE would reach is never
 * reported missing.  Partitioned tables are not concerned.
 */
static void
check_no_inheritance_children(Oid relid)
{
	if (has_subclass(relid) &&
		find_inheritance_children(relid, NoLock) != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table \"%s\" has inheritance children and cannot be guarded",
						tg_rel_display_name(relid)),
				 errdetail("An UPDATE of it changes the rows of its children too, and its unique index does not make keys unique across them."),
				 errhint("Guard each child table on its own, or make the table partitioned."),
				 tg_errtable(relid)));
}

void
tg_check_table_kind(Relation rel)
{
	char		relkind = rel->rd_rel->relkind;

	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", RelationGetRelationName(rel)),
				 errdetail("Only ordinary and partitioned tables can be guarded."),
				 errtable(rel)));
	if (rel->rd_rel->relpersistence == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("temporary table \"%s\" cannot be guarded",
						RelationGetRelationName(rel)),
				 errtable(rel)));
	if (relkind == RELKIND_RELATION)
		check_no_inheritance_children(RelationGetRelid(rel));
	/* relhasrules stays set after DROP RULE; the relcache knows better */
	if (rel->rd_rules != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table \"%s\" has rules and cannot be guarded",
						RelationGetRelationName(rel)),
				 errdetail("A rule could turn the update of a balance into another statement."),
				 errtable(rel)));
}

/*
 * A column of the registry as a column of the guarded table: a
 * transfer_guard_column (1.3), or a name (1.0 to 1.2).
 */
static AttrNumber
registry_attnum(Oid relid, Form_pg_attribute regatt, Datum d)
{
	if (regatt->atttypid == NAMEOID)
	{
		AttrNumber	attnum = get_attnum(relid, NameStr(*DatumGetName(d)));

		return attnum > 0 ? attnum : InvalidAttrNumber;
	}
	return ((TgColumnRef *) DatumGetPointer(d))->attnum;
}

/*
 * The registry rows of one table, read with the latest snapshot: guards
 * are configuration, and a transfer must see the limits as last committed
 * (or as set earlier in its own transaction), whatever its isolation level.
 */
List *
tg_read_registry(Oid relid)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Snapshot	snapshot;
	List	   *rows = NIL;
	TupleDesc	desc;

	rel = table_open(tg_registry_oid(), AccessShareLock);
	desc = RelationGetDescr(rel);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	ScanKeyInit(&key, Anum_registry_tbl, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, InvalidOid, false, snapshot, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		RegistryRow *row = palloc0(sizeof(RegistryRow));
		bool		isnull;
		Datum		d;

		d = heap_getattr(tup, Anum_registry_column, desc, &isnull);
		row->column = registry_attnum(relid,
									  TupleDescAttr(desc, Anum_registry_column - 1), d);
		d = heap_getattr(tup, Anum_registry_min, desc, &isnull);
		row->min_balance = isnull ? NULL : DatumGetNumericCopy(d);
		d = heap_getattr(tup, Anum_registry_max, desc, &isnull);
		row->max_balance = isnull ? NULL : DatumGetNumericCopy(d);
		/* a 1.0 registry has neither column: no journal, no version */
		if (desc->natts > Natts_registry_1_0)
		{
			d = heap_getattr(tup, Anum_registry_journal, desc, &isnull);
			row->journal = !isnull && DatumGetBool(d);
			d = heap_getattr(tup, Anum_registry_version, desc, &isnull);
			if (!isnull)
				row->version = registry_attnum(relid,
											   TupleDescAttr(desc, Anum_registry_version - 1), d);
		}
		if (desc->natts >= Anum_registry_key)
		{
			d = heap_getattr(tup, Anum_registry_key, desc, &isnull);
			row->has_key = !isnull;
			if (!isnull)
				row->key = registry_attnum(relid,
										   TupleDescAttr(desc, Anum_registry_key - 1), d);
		}
		rows = lappend(rows, row);
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return rows;
}

/*
 * A partition and the partitioned table above it hold the same rows; both
 * guarded, the rows would be locked at two places in the global order (and
 * could carry two sets of limits).  Returns a guarded relative, or
 * InvalidOid.
 */
static Oid
guarded_partition_relative(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	List	   *relatives = NIL;
	ListCell   *lc;

	if (rel->rd_rel->relispartition)
		relatives = get_partition_ancestors(relid);
	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
		relatives = list_concat(relatives, find_all_inheritors(relid, NoLock, NULL));
	foreach(lc, relatives)
	{
		Oid			other = lfirst_oid(lc);

		if (other != relid && tg_read_registry(other) != NIL)
			return other;
	}
	return InvalidOid;
}

void
tg_check_no_guarded_relative(Relation rel)
{
	Oid			other = guarded_partition_relative(rel);

	if (OidIsValid(other))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" shares its rows with guarded table \"%s\"",
						RelationGetRelationName(rel), tg_rel_display_name(other)),
				 errdetail("A partitioned table and its partitions hold the same rows."),
				 errhint("Guard either the partitioned table or its partitions, not both."),
				 errtable(rel)));
}

/*
 * The key of a guarded table as recorded by guard(), or, for guards made
 * by version 1.0 (which recorded none), the one key the table allows.
 */
static AttrNumber
guarded_key_column(Relation rel, List *rows)
{
	ListCell   *lc;
	bool		recorded = false;
	AttrNumber	attnum = InvalidAttrNumber;
	bool		ambiguous;

	foreach(lc, rows)
	{
		RegistryRow *row = (RegistryRow *) lfirst(lc);

		if (row->has_key)
		{
			recorded = true;
			attnum = row->key;
		}
	}
	if (recorded)
	{
		if (attnum <= 0 ||
			tg_find_key_column(rel, attnum, NULL) == InvalidAttrNumber)
		{
			char	   *name = tg_colref_attname(RelationGetRelid(rel), attnum);

			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 name ?
					 errmsg("key column \"%s\" of guarded table \"%s\" is no longer usable",
							name, RelationGetRelationName(rel)) :
					 errmsg("the key column of guarded table \"%s\" was dropped",
							RelationGetRelationName(rel)),
					 errdetail("Its unique index or NOT NULL constraint was dropped or changed."),
					 errhint("Restore the index, or call guard() again naming a key_column."),
					 errtable(rel)));
		}
		return attnum;
	}
	attnum = tg_find_key_column(rel, InvalidAttrNumber, &ambiguous);
	if (attnum == InvalidAttrNumber)
		tg_raise_no_key(rel, NULL, ambiguous);
	return attnum;
}

/*
 * Can vnum be a version column of a guard of the table (rows: its
 * registry rows; balance_attnum: the column guarded, if not among them)?
 * One rule for guard(), which raises what it finds, and for the cache,
 * which leaves a version column dropped, retyped, made generated or
 * guarded since alone: the guard stays, without a version column.
 */
TgVersionCheck
tg_check_version_column(Relation rel, List *rows, AttrNumber vnum,
						AttrNumber balance_attnum, AttrNumber key_attnum)
{
	Form_pg_attribute vatt;
	ListCell   *lc;

	if (vnum == InvalidAttrNumber || vnum > RelationGetDescr(rel)->natts)
		return TG_VERSION_NO_COLUMN;
	if (vnum < 0 || vnum == key_attnum || vnum == balance_attnum)
		return TG_VERSION_NOT_USER_COLUMN;
	foreach(lc, rows)
		if (((RegistryRow *) lfirst(lc))->column == vnum)
			return TG_VERSION_NOT_USER_COLUMN;
	vatt = TupleDescAttr(RelationGetDescr(rel), vnum - 1);
	if (vatt->attisdropped)
		return TG_VERSION_NO_COLUMN;
	if (!tg_is_integer_type(getBaseType(vatt->atttypid)))
		return TG_VERSION_NOT_INTEGER;
	if (vatt->attgenerated || vatt->attidentity == ATTRIBUTE_IDENTITY_ALWAYS)
		return TG_VERSION_NOT_WRITABLE;
	return TG_VERSION_OK;
}

/*
 * One guarded column of a cache entry, from its registry row.  False for a
 * row whose column was dropped or changed to an unusable type: it is left
 * out, and tg_find_column() reports the column as not guarded.
 */
static bool
describe_column(TgColumn *col, Relation rel, List *rows, RegistryRow *row,
				AttrNumber key_attnum)
{
	AttrNumber	attnum = row->column;
	Form_pg_attribute att;

	if (attnum <= 0 || attnum == key_attnum ||
		attnum > RelationGetDescr(rel)->natts)
		return false;
	att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	if (att->attisdropped || !tg_is_balance_type(getBaseType(att->atttypid)))
		return false;

	namestrcpy(&col->name, NameStr(att->attname));
	col->attnum = attnum;
	tg_column_set_type(col, att->atttypid, att->atttypmod);
	col->min_balance = row->min_balance ?
		DatumGetNumericCopy(NumericGetDatum(row->min_balance)) : NULL;
	col->max_balance = row->max_balance ?
		DatumGetNumericCopy(NumericGetDatum(row->max_balance)) : NULL;
	col->journal = row->journal && tg_journal_available();
	col->version_attnum = InvalidAttrNumber;
	if (row->version != InvalidAttrNumber &&
		tg_check_version_column(rel, rows, row->version, InvalidAttrNumber,
								key_attnum) == TG_VERSION_OK)
	{
		Form_pg_attribute vatt = TupleDescAttr(RelationGetDescr(rel),
											   row->version - 1);

		col->version_attnum = row->version;
		namestrcpy(&col->version_name, NameStr(vatt->attname));
		col->version_typid = vatt->atttypid;
		col->version_basetypid = getBaseType(vatt->atttypid);
	}
	return true;
}

/* transfer_guard_hot's columns (1.4) */
#define Anum_hot_tbl				1
#define Anum_hot_column				2
#define Anum_hot_key				3
#define Anum_hot_slots				4

/*
 * The hot rows of a guarded table (set_hot()), read with the latest
 * snapshot as the registry is, into the entry being built (in its memory).
 * Rows of columns no longer guarded are left out.  Before 1.4 there are
 * none.
 */
static void
read_hot_rows(TgTable *table)
{
	Oid			hotid = tg_extension_relation(TG_HOT_NAME, true);
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Snapshot	snapshot;
	TupleDesc	desc;
	int			max = 4;

	if (!OidIsValid(hotid))
		return;
	table->hot = palloc(sizeof(TgHotRow) * max);
	rel = table_open(hotid, AccessShareLock);
	desc = RelationGetDescr(rel);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	ScanKeyInit(&key, Anum_hot_tbl, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(table->relid));
	scan = systable_beginscan(rel, InvalidOid, false, snapshot, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		AttrNumber	attnum;
		TgHotRow   *hot;
		int			c;

		attnum = registry_attnum(table->relid,
								 TupleDescAttr(desc, Anum_hot_column - 1),
								 heap_getattr(tup, Anum_hot_column, desc, &isnull));
		for (c = 0; c < table->ncolumns; c++)
			if (table->columns[c].attnum == attnum)
				break;
		if (c == table->ncolumns)
			continue;
		if (table->nhot == max)
		{
			max *= 2;
			table->hot = repalloc(table->hot, sizeof(TgHotRow) * max);
		}
		hot = &table->hot[table->nhot++];
		hot->column = c;
		hot->key_text = TextDatumGetCString(heap_getattr(tup, Anum_hot_key,
														 desc, &isnull));
		hot->key = tg_key_convert(table, CStringGetDatum(hot->key_text),
								  UNKNOWNOID, "key");
		hot->slots = DatumGetInt32(heap_getattr(tup, Anum_hot_slots, desc,
												&isnull));
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
}

/*
 * Build the cache entry of a guarded table, or return NULL if the registry
 * has no guard for it.  The caller holds a lock on the table.  Registry
 * rows whose column was dropped or changed to an unusable type are left
 * out; tg_find_column() then reports the column as not guarded.
 */
static TgTable *
build_table(Oid relid)
{
	List	   *rows = tg_read_registry(relid);
	Relation	rel;
	TgTable    *table;
	MemoryContext cxt;
	MemoryContext old;
	AttrNumber	key_attnum;
	ListCell   *lc;

	if (rows == NIL)
		return NULL;

	rel = relation_open(relid, NoLock);
	tg_check_table_kind(rel);
	tg_check_no_guarded_relative(rel);
	key_attnum = guarded_key_column(rel, rows);

	/*
	 * Allocate below the current context until the entry is complete, so an
	 * error half-way frees it; it moves under CacheMemoryContext at the end.
	 */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "transfer_guard table",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);

	table = palloc0(sizeof(TgTable));
	table->relid = relid;
	table->cxt = cxt;
	table->valid = true;
	table->use_only = rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE;

	tg_key_describe(table, rel, key_attnum);
	table->placement = tg_citus_placement(rel, key_attnum);

	table->columns = palloc0(sizeof(TgColumn) * list_length(rows));
	foreach(lc, rows)
	{
		if (table->ncolumns == TG_MAX_COLUMNS)
			break;
		if (describe_column(&table->columns[table->ncolumns], rel, rows,
							(RegistryRow *) lfirst(lc), key_attnum))
			table->ncolumns++;
	}
	read_hot_rows(table);

	MemoryContextSwitchTo(old);
	MemoryContextSetParent(cxt, CacheMemoryContext);
	relation_close(rel, NoLock);
	return table;
}

/*
 * The table has no guarded balance column: never guarded (or unguarded),
 * or, with stale_guards, its guards name columns dropped or retyped since.
 * A Citus table on a worker node is refused as such first (citus.c).  The
 * caller holds a lock on the table.
 */
pg_noreturn static void
raise_unguarded_table(Oid relid, bool stale_guards)
{
	if (!stale_guards)
	{
		/* on a Citus worker, a Citus table's guards are the coordinator's */
		Relation	rel = relation_open(relid, NoLock);

		(void) tg_citus_placement(rel, InvalidAttrNumber);
		relation_close(rel, NoLock);
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("table \"%s\" has no guarded balance column",
					tg_rel_display_name(relid)),
			 stale_guards ?
			 errdetail("A guarded column was dropped, or its type changed to one that cannot be guarded.") : 0,
			 errhint("Call guard(%s, 'balance_column') first.",
					 tg_rel_literal(relid)),
			 tg_errtable(relid)));
}

/*
 * The cache entry of a guarded table, locked in RowExclusiveLock mode (the
 * lock the UPDATE will take anyway) so that its definition cannot change
 * until the end of the transaction.  Unguarded: NULL if missing_ok, else
 * an error with SQLSTATE 55000.
 */
TgTable *
tg_get_table(Oid relid, bool missing_ok)
{
	TgTableEntry *entry;
	TgTable    *table;
	bool		found;
	uint64		generation;

	init_cache();
	free_retired();

	/*
	 * Lock the table, then take in every invalidation committed so far:
	 * locking does that only the first time in a transaction, and a guard
	 * changed since must apply to this call too.
	 */
	LockRelationOid(relid, RowExclusiveLock);
	AcceptInvalidationMessages();
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	sweep_stale();

	entry = hash_search(tg_tables, &relid, HASH_FIND, NULL);
	if (entry && is_current(entry->table))
	{
		if (entry->table->use_only)
			check_no_inheritance_children(relid);
		return entry->table;
	}

	generation = tg_extension_generation();
	tg_building = relid;
	tg_building_invalidated = false;
	PG_TRY();
	{
		table = build_table(relid);
	}
	PG_FINALLY();
	{
		tg_building = InvalidOid;
	}
	PG_END_TRY();

	/*
	 * An invalidation that arrived while the entry was being built may have
	 * been about this table (another session's guard() committing, say).
	 * The entry is still right for this call, which read the registry with
	 * a fresh snapshot, but the next call must build it again.
	 */
	if (table)
	{
		table->ext_generation = generation;
		if (tg_building_invalidated)
			table->valid = false;
	}

	/* replace the stale entry, if any, only once the new one is complete */
	if (table)
	{
		entry = hash_search(tg_tables, &relid, HASH_ENTER, &found);
		if (found)
			retire_table(entry->table);
		entry->table = table;
	}
	else
	{
		entry = hash_search(tg_tables, &relid, HASH_FIND, NULL);
		if (entry)
		{
			retire_table(entry->table);
			hash_search(tg_tables, &relid, HASH_REMOVE, NULL);
		}
		if (!missing_ok)
			raise_unguarded_table(relid, false);
	}
	return table;
}

/*
 * A guarded column of a table by name, or the only one if colname is NULL.
 * argname is the argument that names it, for the hint.
 */
TgColumn *
tg_find_column(TgTable *table, const char *colname, const char *argname)
{
	int			i;

	if (colname == NULL)
	{
		if (table->ncolumns == 1)
			return &table->columns[0];
		if (table->ncolumns == 0)
			raise_unguarded_table(table->relid, true);
		ereport(ERROR,
				(errcode(ERRCODE_AMBIGUOUS_COLUMN),
				 errmsg("table \"%s\" has several guarded balance columns",
						tg_rel_display_name(table->relid)),
				 errhint("Name one with %s.", argname),
				 tg_errtable(table->relid)));
	}

	for (i = 0; i < table->ncolumns; i++)
		if (strcmp(NameStr(table->columns[i].name), colname) == 0)
			return &table->columns[i];

	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("column \"%s\" of table \"%s\" is not guarded",
					colname, tg_rel_display_name(table->relid)),
			 errhint("Call guard(%s, %s) first.",
					 tg_rel_literal(table->relid), quote_literal_cstr(colname)),
			 tg_errtable(table->relid)));
	return NULL;				/* keep compiler quiet */
}

RegistryShape
tg_registry_shape(void)
{
	Relation	rel = table_open(tg_registry_oid(), AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	RegistryShape shape;

	shape.has_1_1_columns = desc->natts > Natts_registry_1_0;
	shape.column_type = TupleDescAttr(desc, Anum_registry_column - 1)->atttypid;
	if (shape.column_type == NAMEOID)
		shape.column_match = "balance_column";
	else
		shape.column_match =
			psprintf("%s.transfer_guard_column_attnum(balance_column)",
					 quote_identifier(get_namespace_name(tg_extension_namespace())));
	table_close(rel, AccessShareLock);
	return shape;
}

/* a column of the guarded table as the registry records it */
Datum
tg_registry_column_value(RegistryShape *shape, Relation rel, AttrNumber attnum)
{
	NameData   *name;

	if (shape->column_type != NAMEOID)
		return PointerGetDatum(tg_colref_make(RelationGetRelid(rel), attnum));
	name = palloc(sizeof(NameData));
	namestrcpy(name, NameStr(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attname));
	return NameGetDatum(name);
}

