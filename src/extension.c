/*-------------------------------------------------------------------------
 *
 * extension.c
 *	  The extension's own objects: the schema it was created in, its
 *	  relations (registry, sequence, journal, idempotency records), and
 *	  acting as their owner to write them on a caller's behalf.
 *
 *	  What it looks up is kept per backend and forgotten by a relcache
 *	  callback of its own when one of those relations changes (the
 *	  extension dropped and created again, or updated); a generation number
 *	  tells the modules above that it happened.
 *
 * IDENTIFICATION
 *	  src/extension.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "exec.h"
#include "extension.h"


#define TG_EXTENSION_NAME	"transfer_guard"

/*
 * The extension's own relations, looked up once and forgotten on change
 * (the extension dropped and created again, or updated).
 */
static const char *const tg_ext_rel_names[] = {
	TG_REGISTRY_NAME, TG_SEQUENCE_NAME, TG_JOURNAL_NAME, TG_IDEMPOTENCY_NAME,
	TG_HOT_NAME, TG_PENDING_NAME, TG_SLOTS_NAME, TG_HOLDS_NAME
};
#define TG_EXT_RELS lengthof(tg_ext_rel_names)
static Oid	tg_ext_rels[TG_EXT_RELS];
static Oid	tg_namespace = InvalidOid;
static uint64 tg_ext_generation = 1;
static bool tg_ext_callback_registered = false;

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
 * Relcache invalidation: forget what was looked up when one of the
 * extension's relations changed, or when every relation did.  Only sets
 * variables (it runs whenever invalidations are accepted).
 */
static void
extension_relcache_callback(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || is_extension_relation(relid))
	{
		forget_extension_objects();
		tg_ext_generation++;
	}
}

/* the callback must be in place before anything is looked up */
static void
init_extension_cache(void)
{
	if (tg_ext_callback_registered)
		return;
	CacheRegisterRelcacheCallback(extension_relcache_callback, (Datum) 0);
	tg_ext_callback_registered = true;
}

/*
 * Changes each time the extension's objects are forgotten: an entry cached
 * above (a guarded table's, say) that was built under another generation
 * may describe objects that are gone.
 */
uint64
tg_extension_generation(void)
{
	return tg_ext_generation;
}

/*
 * The schema the extension was created in, from pg_extension.
 */
Oid
tg_extension_namespace(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			nsp = InvalidOid;

	init_extension_cache();
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
		tg_ext_rels[i] = get_relname_relid(name, tg_extension_namespace());
	if (!OidIsValid(tg_ext_rels[i]) && !missing_ok)
		elog(ERROR, "relation \"%s\" of extension \"%s\" is missing",
			 name, TG_EXTENSION_NAME);
	return tg_ext_rels[i];
}

/* the schema-qualified, quoted name of one of the extension's relations */
char *
tg_extension_relation_name(const char *name)
{
	return quote_qualified_identifier(get_namespace_name(tg_extension_namespace()),
									  name);
}

Oid
tg_registry_oid(void)
{
	return tg_extension_relation(TG_REGISTRY_NAME, false);
}

Oid
tg_sequence_oid(void)
{
	return tg_extension_relation(TG_SEQUENCE_NAME, false);
}

/*
 * Act as the owner of the extension's relations (the role that created the
 * extension), to write the registry, journal and idempotency records on the
 * caller's behalf: ordinary roles hold no privilege on them.  As for any
 * code run on behalf of another role, SECURITY_RESTRICTED_OPERATION.  The
 * caller restores the saved identity; an error restores it by itself, at
 * (sub)transaction abort.
 */
static void
become_extension_owner(Oid *save_userid, int *save_sec_context)
{
	HeapTuple	tup;
	Oid			owner;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(tg_registry_oid()));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", tg_registry_oid());
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);

	GetUserIdAndSecContext(save_userid, save_sec_context);
	SetUserIdAndSecContext(owner, *save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
}

SPIPlanPtr
tg_extension_plan(TgExtensionStatement *stmt, const char *relname, const char *sqlfmt,
			int nargs, Oid *argtypes)
{
	Oid			relid = tg_extension_relation(relname, false);

	if (stmt->plan && stmt->relid == relid)
		return stmt->plan;
	if (stmt->plan)
		SPI_freeplan(stmt->plan);
	stmt->plan = NULL;			/* until the new one is kept */
	stmt->plan = tg_prepare_kept(psprintf(sqlfmt, tg_extension_relation_name(relname)),
								 nargs, argtypes);
	stmt->relid = relid;
	return stmt->plan;
}

/*
 * The SQL of a statement on one of the extension's relations that also
 * names its functions: in fmt, every %s becomes the extension's schema,
 * quoted, and %% a %, as psprintf() would, so that a %%s stays a %s for
 * tg_extension_plan() to put the relation in (and a % in the schema's name
 * is doubled for it).
 */
char *
tg_extension_sql(const char *fmt)
{
	const char *schema = quote_identifier(get_namespace_name(tg_extension_namespace()));
	StringInfoData sql;
	const char *p;
	const char *q;

	initStringInfo(&sql);
	for (p = fmt; *p; p++)
	{
		if (p[0] == '%' && p[1] == '%')
			appendStringInfoChar(&sql, *p++);
		else if (p[0] == '%' && p[1] == 's')
		{
			for (q = schema; *q; q++)
			{
				if (*q == '%')
					appendStringInfoChar(&sql, '%');
				appendStringInfoChar(&sql, *q);
			}
			p++;
		}
		else
			appendStringInfoChar(&sql, *p);
	}
	return sql.data;
}

/*
 * Run a kept statement on the extension's relations as their owner:
 * ordinary roles hold no privilege on the registry, the journal or the
 * idempotency records.  Within the caller's SPI connection.
 */
int
tg_spi_as_owner(SPIPlanPtr plan, Datum *values, const char *nulls,
				 long tcount)
{
	Oid			save_userid;
	int			save_sec_context;
	int			rc;

	become_extension_owner(&save_userid, &save_sec_context);
	rc = SPI_execute_plan(plan, values, nulls, false, tcount);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return rc;
}

/*
 * tg_spi_as_owner() for a read in the snapshot of the caller's statement
 * (read-only: no new snapshot, no command counter increment).
 */
int
tg_spi_read_as_owner(SPIPlanPtr plan, Datum *values, const char *nulls,
					 long tcount)
{
	Oid			save_userid;
	int			save_sec_context;
	int			rc;

	become_extension_owner(&save_userid, &save_sec_context);
	rc = SPI_execute_plan(plan, values, nulls, true, tcount);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return rc;
}

bool
tg_journal_available(void)
{
	return OidIsValid(tg_extension_relation(TG_JOURNAL_NAME, true));
}


/*
 * The calling role's name, as the journal and the idempotency records
 * store it (current_user: the role whose privileges the call runs with).
 */
NameData *
tg_caller(void)
{
	NameData   *name = palloc(sizeof(NameData));

	namestrcpy(name, GetUserNameFromId(GetUserId(), false));
	return name;
}
