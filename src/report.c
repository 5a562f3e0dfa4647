/*-------------------------------------------------------------------------
 *
 * report.c
 *	  What errors say about tables: names of relations for messages and
 *	  hints, the error fields (schema, table, column) a client can branch
 *	  on, and the one error for a table changed under a call.
 *
 *	  The lowest module: it uses only PostgreSQL.  See docs/design.md for
 *	  the layers.
 *
 * IDENTIFICATION
 *	  src/report.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "report.h"


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

/* the table as a string literal for a hint, e.g. 'public.accounts' */
char *
tg_rel_literal(Oid relid)
{
	char	   *regclass = DatumGetCString(DirectFunctionCall1(regclassout,
															   ObjectIdGetDatum(relid)));

	return quote_literal_cstr(regclass);
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

/* errtable() for a relation we already hold a lock on; see below */
int
tg_errtable(Oid relid)
{
	Relation	rel = relation_open(relid, NoLock);

	errtable(rel);
	relation_close(rel, NoLock);
	return 0;
}

/*
 * errtablecol() for a relation we already hold a lock on.  Used inside
 * ereport(), so it must not fail: the relation is opened without a new lock.
 */
int
tg_errtablecol(Oid relid, AttrNumber attnum)
{
	Relation	rel = relation_open(relid, NoLock);

	errtablecol(rel, attnum);
	relation_close(rel, NoLock);
	return 0;
}

