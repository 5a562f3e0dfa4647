/*-------------------------------------------------------------------------
 *
 * table.h
 *	  The cached description of a guarded table: its key, its guarded
 *	  columns and the kept plans of its statements.  Data types only; the
 *	  registry (registry.c) builds them, the modules above read them.
 *
 * IDENTIFICATION
 *	  src/table.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TG_TABLE_H
#define TG_TABLE_H

#include "postgres.h"

#include "access/attnum.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/numeric.h"

#include "compat.h"

/* SQLSTATE-bearing names of the limits, reported as constraint names */
#define TG_MIN_CONSTRAINT	"transfer_guard_min_balance"
#define TG_MAX_CONSTRAINT	"transfer_guard_max_balance"

/* guarded columns per table: a bitmask of them keys the update plans */
#define TG_MAX_COLUMNS		64

/* escrow slots of one hot row (set_hot()) */
#define TG_MAX_SLOTS		1024

/*
 * How a call takes a row lock: waiting; failing at once on a locked row;
 * skipping it.  A lock statement has one plan per mode.  On the row path a
 * waiting call may instead read the row and lock it by updating it
 * (docs/design.md, "Locking by updating").
 */
typedef enum TgLockMode
{
	TG_LOCK_WAIT,
	TG_LOCK_NOWAIT,
	TG_LOCK_SKIP,
	TG_LOCK_BY_UPDATE			/* row path only: read now, lock by updating */
} TgLockMode;

/* the modes a lock statement has a plan for */
#define TG_STATEMENT_LOCK_MODES	(TG_LOCK_SKIP + 1)

/*
 * Where a table's rows are: in the relation this server opens, or in
 * shards that Citus routes each single-key statement to (citus.c).  The
 * rows of a Citus table are locked and updated one key per statement,
 * never through the row path.
 */
typedef enum TgPlacement
{
	TG_PLACE_LOCAL,
	TG_PLACE_CITUS
} TgPlacement;

/*
 * One guarded balance column of a table, as the registry and the catalogs
 * described it when the cache entry was built.
 */
typedef struct TgColumn
{
	NameData	name;			/* column name */
	AttrNumber	attnum;
	Oid			typid;			/* declared type (may be a domain) */
	Oid			basetypid;		/* INT2OID, INT4OID, INT8OID or NUMERICOID */
	int32		basetypmod;		/* typmod of the base type, -1 if none */
	int			scale;			/* numeric(p,s): s; integers: 0 */
	bool		has_scale;		/* false for unconstrained numeric */
	Numeric		type_min;		/* smallest storable value, NULL if none */
	Numeric		type_max;		/* largest storable value, NULL if none */
	Numeric		min_balance;	/* floor, NULL if none */
	Numeric		max_balance;	/* ceiling, NULL if none */
	bool		journal;		/* record its transfers in the journal */
	AttrNumber	version_attnum; /* column to add 1 to, or InvalidAttrNumber */
	NameData	version_name;
	Oid			version_typid;	/* its declared type (may be a domain) */
	Oid			version_basetypid;	/* INT2OID, INT4OID or INT8OID */
} TgColumn;

/*
 * A kept statement for one combination of a table's guarded columns: the
 * locking SELECT of those columns (in one lock mode), or the UPDATE that
 * changes them.  Each reads or writes only the columns the call needs, so
 * the caller needs privileges on those columns only.
 */
typedef struct TgMaskPlan
{
	int			mode;			/* TgLockMode of a lock plan; -1 for updates */
	uint64		mask;			/* bit i: columns[i] is read or changed */
	SPIPlanPtr	plan;
	struct TgMaskPlan *next;
} TgMaskPlan;

/*
 * A hot row of a guarded column (set_hot()): credits to it are deferred as
 * pending credits (pending.c).  The key as set_hot() recorded it, which is
 * how its pending credits name it, and as a value of the key's base type.
 */
typedef struct TgHotRow
{
	int			column;			/* index into table->columns */
	Datum		key;
	char	   *key_text;
	int			slots;
} TgHotRow;

/*
 * A guarded table: its key, its guarded columns, and the kept plans that
 * lock and update its rows.  Lives in its own memory context below
 * CacheMemoryContext; replaced as a whole when invalidated.
 */
typedef struct TgTable
{
	Oid			relid;
	MemoryContext cxt;			/* owns this struct and everything below */
	bool		valid;			/* cleared by the relcache callback */
	uint64		ext_generation; /* tg_extension_generation() when built */
	bool		use_only;		/* not partitioned: statements say ONLY */
	TgPlacement placement;		/* Citus: one key per statement */

	/* the row key: a single-column primary key or unique index */
	AttrNumber	key_attnum;
	NameData	key_name;
	Oid			key_typid;		/* declared type */
	Oid			key_basetypid;	/* what statements are parameterised with */
	int32		key_typmod;
	Oid			key_collation;
	int16		key_typlen;
	bool		key_typbyval;
	char		key_typalign;
	Oid			key_arraytypid;
	FmgrInfo	key_cmp;		/* btree comparison of the key's base type */
	Oid			key_input;		/* input function of the base type */
	Oid			key_ioparam;
	Oid			key_output;		/* output function, for messages */
	Oid			key_index;		/* the unique index rows are found by */
	Oid			key_index_collation;
	RegProcedure key_eq_proc;	/* its btree equality, for scan keys */

	int			ncolumns;
	TgColumn   *columns;

	int			nhot;			/* its hot rows, as last committed */
	TgHotRow   *hot;

	TgMaskPlan *lock_plans;		/* kept; prepared on first use */
	TgMaskPlan *update_plans;	/* kept; prepared on first use */
} TgTable;


#endif							/* TG_TABLE_H */
