/*-------------------------------------------------------------------------
 *
 * registry.c
 *	  The guard registry and its backend-local cache.
 *
 *	  guard() and unguard() write the registry table on behalf of the
 *	  guarded table's owner.  The transfer engine reads guarded tables
 *	  through tg_get_table(), which keeps one TgTable per table: key, guarded
 *	  columns, limits and the kept SPI plans.
 *
 *	  Invalidation: guard() and unguard() send a relcache invalidation for
 *	  the guarded table, and so does any ALTER, DROP, index change or VACUUM
 *	  of it; a relcache callback marks the entry stale and the next lookup
 *	  builds a new one.  A stale entry may still be in use by the statement
 *	  that was running when the invalidation arrived (a batch holds several
 *	  entries; a user trigger may call transfer() again), so it is not freed
 *	  at once: it is retired, and freed by the first lookup of a later
 *	  transaction, when nothing can point to it any more.
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

#include "compat.h"
#include "transfer_guard.h"

#define TG_EXTENSION_NAME	"transfer_guard"

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
 * The extension's own relations, looked up once and forgotten on change
 * (the extension dropped and created again, or updated).
 */
static const char *const tg_ext_rel_names[] = {
	TG_REGISTRY_NAME, TG_SEQUENCE_NAME, TG_JOURNAL_NAME, TG_IDEMPOTENCY_NAME
};
#define TG_EXT_RELS lengthof(tg_ext_rel_names)
static Oid	tg_ext_rels[TG_EXT_RELS];
static Oid	tg_namespace = InvalidOid;

static void
forget_extension_objects(void)
{
	int			i;

	tg_namespace = InvalidOid;
	for (i = 0; i < (int) TG_EXT_RELS; i++)
		tg_ext_rels[i] = InvalidOid;
}

static bool
is_extension_relation(Oid relid)
{
	int			i;

	for (i = 0; i < (int) TG_EXT_RELS; i++)
		if (tg_ext_rels[i] == relid)
			return true;
	return false;
}

/*
 * Relcache invalidation: mark the entry of that table stale.  Runs at
 * arbitrary points (whenever invalidations are accepted), so it only sets
 * flags.  A change of the registry or sequence themselves (the extension
 * dropped and created again) makes every entry stale.
 */
static void
tg_relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	TgTableEntry *entry;

	if (OidIsValid(tg_building) &&
		(relid == tg_building || !OidIsValid(relid) ||
		 is_extension_relation(relid)))
		tg_building_invalidated = true;

	if (tg_tables == NULL)
		return;

	if (OidIsValid(relid) && !is_extension_relation(relid))
	{
		entry = hash_search(tg_tables, &relid, HASH_FIND, NULL);
		if (entry)
		{
			entry->table->valid = false;
			tg_any_stale = true;
		}
		return;
	}

	forget_extension_objects();
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
		if (entry->table->valid)
			continue;
		retire_table(entry->table);
		hash_search(tg_tables, &entry->relid, HASH_REMOVE, NULL);
	}
}

/*
 * The schema the extension was created in, from pg_extension.
 */
static Oid
extension_namespace(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			nsp = InvalidOid;

	/* the callback that forgets these must be in place before they are cached */
	init_cache();
	if (OidIsValid(tg_namespace))
		return tg_namespace;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum(TG_EXTENSION_NAME));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"%s\" is not installed in this database",
						TG_EXTENSION_NAME)));
	tg_namespace = nsp;
	return nsp;
}

/*
 * One of the extension's relations by name; InvalidOid if missing_ok and
 * it does not exist (a relation added by a later version of the install
 * script, while the database still runs an older one).
 */
Oid
tg_extension_relation(const char *name, bool missing_ok)
{
	int			i;

	for (i = 0; i < (int) TG_EXT_RELS; i++)
		if (strcmp(tg_ext_rel_names[i], name) == 0)
			break;
	if (i == (int) TG_EXT_RELS)
	{
		elog(ERROR, "unknown relation \"%s\" of extension \"%s\"",
			 name, TG_EXTENSION_NAME);
		return InvalidOid;		/* keep the analyzers quiet */
	}

	if (!OidIsValid(tg_ext_rels[i]))
		tg_ext_rels[i] = get_relname_relid(name, extension_namespace());
	if (!OidIsValid(tg_ext_rels[i]) && !missing_ok)
		elog(ERROR, "relation \"%s\" of extension \"%s\" is missing",
			 name, TG_EXTENSION_NAME);
	return tg_ext_rels[i];
}

/* the schema-qualified, quoted name of one of the extension's relations */
char *
tg_extension_relation_name(const char *name)
{
	return quote_qualified_identifier(get_namespace_name(extension_namespace()),
									  name);
}

static Oid
registry_oid(void)
{
	return tg_extension_relation(TG_REGISTRY_NAME, false);
}

Oid
tg_sequence_oid(void)
{
	return tg_extension_relation(TG_SEQUENCE_NAME, false);
}

/* a table's name as messages show it */
const char *
tg_rel_display_name(Oid relid)
{
	char	   *name = get_rel_name(relid);

	return name ? name : "?";
}

/* a table's schema-qualified, quoted name, as stored in the journal */
char *
tg_rel_qualified_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
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

/* the table as a string literal for a hint, e.g. 'public.accounts' */
static char *
rel_literal(Oid relid)
{
	char	   *regclass = DatumGetCString(DirectFunctionCall1(regclassout,
															   ObjectIdGetDatum(relid)));

	return quote_literal_cstr(regclass);
}

static bool
is_integer_type(Oid basetypid)
{
	return basetypid == INT2OID || basetypid == INT4OID ||
		basetypid == INT8OID;
}

static bool
is_balance_type(Oid basetypid)
{
	return is_integer_type(basetypid) || basetypid == NUMERICOID;
}

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

/* a unique index that can serve as the row key */
typedef struct KeyIndex
{
	Oid			indexoid;
	AttrNumber	attnum;
	bool		primary;
} KeyIndex;

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
static AttrNumber
find_key_column(Relation rel, AttrNumber wanted, bool *ambiguous)
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

pg_noreturn static void
raise_no_key(Relation rel, const char *key_column, bool ambiguous)
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

static void
check_table_kind(Relation rel)
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
 * A registry row as read, before it is checked against the table.  Columns
 * are attribute numbers: recorded as such from 1.3 on; in an older
 * registry, which recorded names, the numbers the names have now.
 * InvalidAttrNumber: none recorded, or a recorded name that names no
 * column.
 */
typedef struct RegistryRow
{
	AttrNumber	column;
	Numeric		min_balance;
	Numeric		max_balance;
	bool		journal;
	AttrNumber	version;
	bool		has_key;		/* the key recorded by guard() (1.1) */
	AttrNumber	key;
} RegistryRow;

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
static List *
read_registry(Oid relid)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Snapshot	snapshot;
	List	   *rows = NIL;
	TupleDesc	desc;

	rel = table_open(registry_oid(), AccessShareLock);
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

		if (other != relid && read_registry(other) != NIL)
			return other;
	}
	return InvalidOid;
}

static void
check_no_guarded_relative(Relation rel)
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
			find_key_column(rel, attnum, NULL) == InvalidAttrNumber)
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
	attnum = find_key_column(rel, InvalidAttrNumber, &ambiguous);
	if (attnum == InvalidAttrNumber)
		raise_no_key(rel, NULL, ambiguous);
	return attnum;
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
 * Is the recorded version column still one a transfer may add 1 to?  One
 * dropped, retyped, made generated or guarded since is left alone: the
 * guard stays, without a version column.
 */
static bool
usable_version_column(Relation rel, List *rows, AttrNumber vnum,
					  AttrNumber key_attnum)
{
	Form_pg_attribute vatt;
	ListCell   *lc;

	if (vnum <= 0 || vnum == key_attnum ||
		vnum > RelationGetDescr(rel)->natts)
		return false;
	vatt = TupleDescAttr(RelationGetDescr(rel), vnum - 1);
	if (vatt->attisdropped || !is_integer_type(getBaseType(vatt->atttypid)) ||
		vatt->attgenerated || vatt->attidentity == ATTRIBUTE_IDENTITY_ALWAYS)
		return false;
	foreach(lc, rows)
		if (((RegistryRow *) lfirst(lc))->column == vnum)
			return false;
	return true;
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
	List	   *rows = read_registry(relid);
	Relation	rel;
	TgTable    *table;
	MemoryContext cxt;
	MemoryContext old;
	AttrNumber	key_attnum;
	Form_pg_attribute keyatt;
	TypeCacheEntry *typentry;
	ListCell   *lc;
	bool		typisvarlena;

	if (rows == NIL)
		return NULL;

	rel = relation_open(relid, NoLock);
	check_table_kind(rel);
	check_no_guarded_relative(rel);
	key_attnum = guarded_key_column(rel, rows);
	keyatt = TupleDescAttr(RelationGetDescr(rel), key_attnum - 1);

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
	fmgr_info_cxt(typentry->cmp_proc, &table->key_cmp, cxt);
	set_key_index(table, rel);
	getTypeInputInfo(table->key_basetypid, &table->key_input,
					 &table->key_ioparam);
	getTypeOutputInfo(table->key_basetypid, &table->key_output, &typisvarlena);

	table->columns = palloc0(sizeof(TgColumn) * list_length(rows));
	foreach(lc, rows)
	{
		RegistryRow *row = (RegistryRow *) lfirst(lc);
		TgColumn   *col = &table->columns[table->ncolumns];
		AttrNumber	attnum = row->column;
		Form_pg_attribute att;

		if (table->ncolumns == TG_MAX_COLUMNS)
			break;
		if (attnum <= 0 || attnum == key_attnum ||
			attnum > RelationGetDescr(rel)->natts)
			continue;
		att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
		if (att->attisdropped || !is_balance_type(getBaseType(att->atttypid)))
			continue;

		namestrcpy(&col->name, NameStr(att->attname));
		col->attnum = attnum;
		tg_column_set_type(col, att->atttypid, att->atttypmod);
		col->min_balance = row->min_balance ?
			DatumGetNumericCopy(NumericGetDatum(row->min_balance)) : NULL;
		col->max_balance = row->max_balance ?
			DatumGetNumericCopy(NumericGetDatum(row->max_balance)) : NULL;
		col->journal = row->journal && tg_journal_available();
		col->version_attnum = InvalidAttrNumber;
		if (usable_version_column(rel, rows, row->version, key_attnum))
		{
			Form_pg_attribute vatt = TupleDescAttr(RelationGetDescr(rel),
												   row->version - 1);

			col->version_attnum = row->version;
			namestrcpy(&col->version_name, NameStr(vatt->attname));
			col->version_typid = vatt->atttypid;
			col->version_basetypid = getBaseType(vatt->atttypid);
		}
		table->ncolumns++;
	}

	MemoryContextSwitchTo(old);
	MemoryContextSetParent(cxt, CacheMemoryContext);
	relation_close(rel, NoLock);
	return table;
}

/*
 * A table held open by a call no longer has the definition its cache entry
 * describes: code the call ran got around the lock (it cannot, short of a
 * bug), and no value of it is read.
 */
void
tg_raise_table_changed(Oid relid)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("table \"%s\" changed during the transfer",
					tg_rel_display_name(relid))));
}

/*
 * The table has no guarded balance column: never guarded (or unguarded),
 * or, with stale_guards, its guards name columns dropped or retyped since.
 */
pg_noreturn static void
raise_unguarded_table(Oid relid, bool stale_guards)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("table \"%s\" has no guarded balance column",
					tg_rel_display_name(relid)),
			 stale_guards ?
			 errdetail("A guarded column was dropped, or its type changed to one that cannot be guarded.") : 0,
			 errhint("Call guard(%s, 'balance_column') first.",
					 rel_literal(relid)),
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
	if (entry && entry->table->valid)
	{
		if (entry->table->use_only)
			check_no_inheritance_children(relid);
		return entry->table;
	}

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
	if (table && tg_building_invalidated)
		table->valid = false;

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
					 rel_literal(table->relid), quote_literal_cstr(colname)),
			 tg_errtable(table->relid)));
	return NULL;				/* keep compiler quiet */
}

/*
 * Open a table for guard()/unguard(): it must exist and the caller must
 * own it.  ShareUpdateExclusiveLock serialises guard changes on one table
 * without blocking transfers.
 */
static Relation
open_owned_table(Oid relid)
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

/*
 * Act as the owner of the extension's relations (the role that created the
 * extension), to write the registry, journal and idempotency records on the
 * caller's behalf: ordinary roles hold no privilege on them.  As for any
 * code run on behalf of another role, SECURITY_RESTRICTED_OPERATION.  The
 * caller restores the saved identity; an error restores it by itself, at
 * (sub)transaction abort.
 */
void
tg_become_extension_owner(Oid *save_userid, int *save_sec_context)
{
	HeapTuple	tup;
	Oid			owner;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(registry_oid()));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", registry_oid());
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);

	GetUserIdAndSecContext(save_userid, save_sec_context);
	SetUserIdAndSecContext(owner, *save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
}

/* run one registry statement as the extension's owner */
static uint64
registry_execute(const char *sql, int nargs, Oid *argtypes, Datum *values,
				 const char *nulls)
{
	Oid			save_userid;
	int			save_sec_context;
	int			rc;
	uint64		processed;

	tg_become_extension_owner(&save_userid, &save_sec_context);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, false, 0);
	if (rc < 0)
		elog(ERROR, "registry statement failed: %s", SPI_result_code_string(rc));
	processed = SPI_processed;
	SPI_finish();

	SetUserIdAndSecContext(save_userid, save_sec_context);
	return processed;
}

static char *
registry_name(void)
{
	return tg_extension_relation_name(TG_REGISTRY_NAME);
}

/*
 * What the installed registry looks like: whether it has the 1.1 columns
 * (journal, version_column, key_column), and the type its column columns
 * have, name up to 1.2, transfer_guard_column from 1.3 on.  The library
 * serves every version of the SQL objects until ALTER EXTENSION UPDATE.
 */
typedef struct RegistryShape
{
	bool		has_1_1_columns;
	Oid			column_type;
	char	   *column_match;	/* SQL: the balance column, as the unique index has it */
} RegistryShape;

static RegistryShape
registry_shape(void)
{
	Relation	rel = table_open(registry_oid(), AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	RegistryShape shape;

	shape.has_1_1_columns = desc->natts > Natts_registry_1_0;
	shape.column_type = TupleDescAttr(desc, Anum_registry_column - 1)->atttypid;
	if (shape.column_type == NAMEOID)
		shape.column_match = "balance_column";
	else
		shape.column_match =
			psprintf("%s.transfer_guard_column_attnum(balance_column)",
					 quote_identifier(get_namespace_name(extension_namespace())));
	table_close(rel, AccessShareLock);
	return shape;
}

/* a column of the guarded table as the registry records it */
static Datum
registry_column_value(RegistryShape *shape, Relation rel, AttrNumber attnum)
{
	NameData   *name;

	if (shape->column_type != NAMEOID)
		return PointerGetDatum(tg_colref_make(RelationGetRelid(rel), attnum));
	name = palloc(sizeof(NameData));
	namestrcpy(name, NameStr(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attname));
	return NameGetDatum(name);
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
 * that is neither the key nor a guarded balance.
 */
static void
check_version_column(Relation rel, List *rows, const char *version_column,
					 AttrNumber balance_attnum, AttrNumber key_attnum)
{
	Oid			relid = RelationGetRelid(rel);
	AttrNumber	vnum = get_attnum(relid, version_column);
	Form_pg_attribute att;
	ListCell   *lc;
	bool		is_balance = vnum == balance_attnum;

	if (vnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						version_column, RelationGetRelationName(rel))));
	foreach(lc, rows)
		if (((RegistryRow *) lfirst(lc))->column == vnum)
			is_balance = true;
	if (vnum < 0 || vnum == key_attnum || is_balance)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column \"%s\" of table \"%s\" cannot be a version column",
						version_column, RelationGetRelationName(rel)),
				 errdetail("A version column is a user column other than the key and the guarded balances."),
				 errtable(rel)));
	att = TupleDescAttr(RelationGetDescr(rel), vnum - 1);
	if (!is_integer_type(getBaseType(att->atttypid)))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("version column \"%s\" of table \"%s\" has type %s",
						version_column, RelationGetRelationName(rel),
						format_type_be(att->atttypid)),
				 errdetail("A version column must be of type smallint, integer or bigint."),
				 errtablecol(rel, vnum)));
	check_writable_column(rel, vnum, "version column");
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
		key_attnum = wanted > 0 ? find_key_column(rel, wanted, NULL) : InvalidAttrNumber;
	}
	else
		key_attnum = find_key_column(rel, InvalidAttrNumber, &ambiguous);
	if (key_attnum == InvalidAttrNumber)
		raise_no_key(rel, key_column, ambiguous);

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
 * guard(): declare a guarded balance column or change its settings.
 */
void
tg_guard(Oid relid, const char *colname, Numeric min_balance,
		 Numeric max_balance, bool journal, const char *version_column,
		 const char *key_column)
{
	Relation	rel = open_owned_table(relid);
	AttrNumber	attnum;
	AttrNumber	key_attnum;
	Form_pg_attribute att;
	TgColumn	col;
	StringInfoData sql;
	Oid			argtypes[7] = {OIDOID, InvalidOid, NUMERICOID, NUMERICOID,
	BOOLOID, InvalidOid, InvalidOid};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	RegistryShape shape = registry_shape();
	List	   *rows = read_registry(relid);	/* the table's guards so far */

	check_table_kind(rel);
	check_no_guarded_relative(rel);

	attnum = get_attnum(relid, colname);
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
	if (!is_balance_type(getBaseType(att->atttypid)))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of table \"%s\" has type %s",
						colname, RelationGetRelationName(rel),
						format_type_be(att->atttypid)),
				 errdetail("A guarded balance column must be of type smallint, integer, bigint or numeric."),
				 errtablecol(rel, attnum)));
	check_writable_column(rel, attnum, "column");

	key_attnum = choose_key_column(rel, rows, key_column, attnum);
	if (key_attnum == attnum)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot guard key column \"%s\" of table \"%s\"",
						colname, RelationGetRelationName(rel)),
				 errtablecol(rel, attnum)));

	memset(&col, 0, sizeof(col));
	namestrcpy(&col.name, colname);
	col.attnum = attnum;
	tg_column_set_type(&col, att->atttypid, att->atttypmod);
	tg_check_limit_value(relid, &col, min_balance, "min_balance");
	tg_check_limit_value(relid, &col, max_balance, "max_balance");
	if (min_balance && max_balance &&
		tg_numeric_cmp(min_balance, max_balance) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_balance %s is greater than max_balance %s",
						tg_numeric_display(min_balance),
						tg_numeric_display(max_balance)),
				 errtablecol(rel, attnum)));

	if (version_column)
		check_version_column(rel, rows, version_column, attnum, key_attnum);
	if (count_other_guards(rows, attnum) >= TG_MAX_COLUMNS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("table \"%s\" has %d guarded columns already",
						RelationGetRelationName(rel), TG_MAX_COLUMNS),
				 errtable(rel)));

	initStringInfo(&sql);
	if (shape.has_1_1_columns)
		appendStringInfo(&sql,
						 "INSERT INTO %s AS r (tbl, balance_column, min_balance,"
						 " max_balance, journal, version_column, key_column)"
						 " VALUES ($1::pg_catalog.regclass, $2, $3, $4, $5, $6, $7)"
						 " ON CONFLICT (tbl, %s) DO UPDATE"
						 " SET min_balance = EXCLUDED.min_balance,"
						 " max_balance = EXCLUDED.max_balance,"
						 " journal = EXCLUDED.journal,"
						 " version_column = EXCLUDED.version_column,"
						 " key_column = EXCLUDED.key_column",
						 registry_name(), shape.column_match);
	else
		appendStringInfo(&sql,
						 "INSERT INTO %s AS r (tbl, balance_column, min_balance, max_balance)"
						 " VALUES ($1::pg_catalog.regclass, $2, $3, $4)"
						 " ON CONFLICT (tbl, %s) DO UPDATE"
						 " SET min_balance = EXCLUDED.min_balance,"
						 " max_balance = EXCLUDED.max_balance",
						 registry_name(), shape.column_match);
	argtypes[1] = argtypes[5] = argtypes[6] = shape.column_type;
	values[0] = ObjectIdGetDatum(relid);
	values[1] = registry_column_value(&shape, rel, attnum);
	values[2] = min_balance ? NumericGetDatum(min_balance) : (Datum) 0;
	values[3] = max_balance ? NumericGetDatum(max_balance) : (Datum) 0;
	if (!min_balance)
		nulls[2] = 'n';
	if (!max_balance)
		nulls[3] = 'n';
	values[4] = BoolGetDatum(journal);
	if (version_column)
		values[5] = registry_column_value(&shape, rel,
										  get_attnum(relid, version_column));
	else
		nulls[5] = 'n';
	values[6] = registry_column_value(&shape, rel, key_attnum);
	registry_execute(sql.data, shape.has_1_1_columns ? 7 : 4, argtypes, values,
					 nulls);

	/* every backend's cache entry for this table is now stale */
	CacheInvalidateRelcache(rel);
	relation_close(rel, NoLock);
}

/*
 * unguard(): remove a guard.  Unguarding a column that is not guarded is
 * an error, as DROP without IF EXISTS is.
 */
void
tg_unguard(Oid relid, const char *colname)
{
	Relation	rel = open_owned_table(relid);
	RegistryShape shape = registry_shape();
	AttrNumber	attnum = get_attnum(relid, colname);
	StringInfoData sql;
	Oid			argtypes[2] = {OIDOID, INT2OID};
	Datum		values[2];

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
		values[1] = attnum > 0 ? registry_column_value(&shape, rel, attnum) : (Datum) 0;
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
