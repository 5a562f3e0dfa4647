/*-------------------------------------------------------------------------
 *
 * registry.h
 *	  The guard registry and the per-backend cache of guarded tables
 *	  (registry.c).
 *
 * IDENTIFICATION
 *	  src/registry.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_REGISTRY_H
#define TG_REGISTRY_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/numeric.h"
#include "utils/relcache.h"

#include "table.h"

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

/* whether a column can be a version column, and if not, why */
typedef enum TgVersionCheck
{
	TG_VERSION_OK,
	TG_VERSION_NO_COLUMN,		/* none, or dropped */
	TG_VERSION_NOT_USER_COLUMN, /* a system column, the key or a balance */
	TG_VERSION_NOT_INTEGER,
	TG_VERSION_NOT_WRITABLE		/* generated, or GENERATED ALWAYS identity */
} TgVersionCheck;

extern TgVersionCheck tg_check_version_column(Relation rel, List *rows,
											  AttrNumber vnum,
											  AttrNumber balance_attnum,
											  AttrNumber key_attnum);
extern TgTable *tg_get_table(Oid relid, bool missing_ok);
extern TgColumn *tg_find_column(TgTable *table, const char *colname,
								 const char *argname);
extern void tg_check_schema_usage(Oid relid);
extern void tg_check_table_kind(Relation rel);
extern void tg_check_no_guarded_relative(Relation rel);
extern List *tg_read_registry(Oid relid);
extern RegistryShape tg_registry_shape(void);
extern Datum tg_registry_column_value(RegistryShape *shape, Relation rel,
									  AttrNumber attnum);

#endif							/* TG_REGISTRY_H */
