/*-------------------------------------------------------------------------
 *
 * transfer_guard.h
 *	  Types shared by the modules of transfer_guard: the cached description
 *	  of a guarded table, and the legs the transfer engine executes.
 *
 * IDENTIFICATION
 *	  src/transfer_guard.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TRANSFER_GUARD_H
#define TRANSFER_GUARD_H

#include "postgres.h"

#include "access/attnum.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "nodes/bitmapset.h"
#include "utils/relcache.h"
#include "utils/numeric.h"

#include "compat.h"

/* the extension's own relations */
#define TG_REGISTRY_NAME	"transfer_guard_registry"
#define TG_SEQUENCE_NAME	"transfer_guard_transfer_id_seq"
#define TG_JOURNAL_NAME		"transfer_guard_journal"
#define TG_IDEMPOTENCY_NAME "transfer_guard_idempotency"

/* SQLSTATE-bearing names of the limits, reported as constraint names */
#define TG_MIN_CONSTRAINT	"transfer_guard_min_balance"
#define TG_MAX_CONSTRAINT	"transfer_guard_max_balance"

/* lock plans: waiting; failing at once on a locked row; skipping it */
#define TG_LOCK_WAIT		0
#define TG_LOCK_NOWAIT		1
#define TG_LOCK_SKIP		2
#define TG_LOCK_MODES		3
/* row path only: read now, lock by updating (see engine.c) */
#define TG_LOCK_LATER		3

/* guarded columns per table: a bitmask of them keys the update plans */
#define TG_MAX_COLUMNS		64

/* the SQLSTATE of an idempotency key reused for a different request */
#define ERRCODE_TG_IDEMPOTENCY_MISMATCH MAKE_SQLSTATE('T','G','0','0','1')

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
	int			mode;			/* TG_LOCK_* for lock plans; -1 for updates */
	uint64		mask;			/* bit i: columns[i] is read or changed */
	SPIPlanPtr	plan;
	struct TgMaskPlan *next;
} TgMaskPlan;

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
	bool		use_only;		/* not partitioned: statements say ONLY */

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

	TgMaskPlan *lock_plans;		/* kept; prepared on first use */
	TgMaskPlan *update_plans;	/* kept; prepared on first use */
} TgTable;

/*
 * One leg of a transfer as the SQL-callable functions hand it to the
 * engine: tables by OID, columns by name (NULL: the only guarded one),
 * keys as the caller's values with their types, amount as given.
 */
typedef struct TgLegSpec
{
	Oid			from_relid;
	const char *from_column;
	Datum		from_key;
	Oid			from_key_type;
	Oid			to_relid;
	const char *to_column;
	Datum		to_key;
	Oid			to_key_type;
	Numeric		amount;
} TgLegSpec;

/* how a call ended, for try_transfer(); transfer() raises instead */
typedef enum TgStatus
{
	TG_STATUS_OK,
	TG_STATUS_INSUFFICIENT_FUNDS,
	TG_STATUS_LIMIT_EXCEEDED,
	TG_STATUS_NOT_FOUND,
	TG_STATUS_BUSY,
	TG_STATUS_DUPLICATE,
	TG_STATUS_RECHECK			/* engine.c only: decide again once locked */
} TgStatus;

/* one call: its legs and how to run them */
typedef struct TgRequest
{
	TgLegSpec  *legs;
	int			nlegs;
	bool		nowait;			/* do not wait for a locked row */
	bool		is_batch;		/* transfer_batch(): messages name legs */
	bool		try_mode;		/* report business outcomes as a status */
	const char *idempotency_key;	/* NULL if none */
} TgRequest;

/*
 * A leg as the journal and the idempotency record see it: names and key
 * texts, in the form they are stored (tg_key_text()), and the keys as
 * values, to compare a request with a recorded one.
 */
typedef struct TgLegRecord
{
	Oid			from_relid;
	const char *from_column;
	const char *from_key;
	Oid			to_relid;
	const char *to_column;
	const char *to_key;
	Numeric		amount;
	bool		journal;
	TgTable    *from_table;
	Datum		from_key_value; /* converted to the key's base type */
	TgTable    *to_table;
	Datum		to_key_value;
} TgLegRecord;

/* what the engine returns per leg */
typedef struct TgLegResult
{
	bool		has_transfer_id;	/* false when nothing was moved */
	int64		transfer_id;
	Numeric		from_balance;
	Numeric		to_balance;
} TgLegResult;

/*
 * A column of a table, as the registry records it: by attribute number,
 * which no rename changes (colref.c).  The SQL type transfer_guard_column.
 */
typedef struct TgColumnRef
{
	Oid			relid;
	AttrNumber	attnum;
	int16		unused;			/* fixed length 8, zeroed */
} TgColumnRef;

/* colref.c */
extern TgColumnRef *tg_colref_make(Oid relid, AttrNumber attnum);
extern char *tg_colref_attname(Oid relid, AttrNumber attnum);

/* registry.c */
extern TgTable *tg_get_table(Oid relid, bool missing_ok);
extern TgColumn *tg_find_column(TgTable *table, const char *colname,
								 const char *argname);
extern void tg_guard(Oid relid, const char *colname, Numeric min_balance,
					 Numeric max_balance, bool journal,
					 const char *version_column, const char *key_column);
extern void tg_unguard(Oid relid, const char *colname);
extern Oid	tg_sequence_oid(void);
extern Oid	tg_extension_relation(const char *name, bool missing_ok);
extern char *tg_extension_relation_name(const char *name);
extern void tg_become_extension_owner(Oid *save_userid, int *save_sec_context);
extern const char *tg_rel_display_name(Oid relid);
extern char *tg_rel_qualified_name(Oid relid);
extern void tg_check_schema_usage(Oid relid);
pg_noreturn extern void tg_raise_table_changed(Oid relid);

/* ledger.c */
extern bool tg_journal_available(void);
extern void tg_journal_append(TgLegRecord *records, TgLegResult *results,
							  int nlegs, bool is_batch,
							  const char *idempotency_key);
extern bool tg_idempotency_claim(const char *key, bool nowait);
extern bool tg_idempotency_replay(const char *key, bool is_batch,
								  TgLegRecord *records, int nlegs,
								  TgLegResult *results);
extern void tg_idempotency_record(const char *key, bool is_batch,
								  TgLegRecord *records, int nlegs,
								  TgLegResult *results);

/* keys.c */
extern Datum tg_key_convert(TgTable *table, Datum value, Oid valtype,
							const char *argname);
extern int	tg_key_compare(TgTable *table, Datum a, Datum b);
extern char *tg_key_display(TgTable *table, Datum key);
extern char *tg_key_text(TgTable *table, Datum key);
extern bool tg_key_equals_text(TgTable *table, Datum key, const char *text,
							   const char *argname);

/* amount.c */
extern void tg_integer_range(Oid typid, Numeric *lo, Numeric *hi);
extern void tg_column_set_type(TgColumn *col, Oid typid, int32 typmod);
extern void tg_check_amount(Oid relid, TgColumn *col, Numeric amount);
extern void tg_check_limit_value(Oid relid, TgColumn *col, Numeric limit,
								 const char *argname);
extern Numeric tg_number_to_numeric(Datum value, Oid typid);
extern Numeric tg_numeric_from_column(TgColumn *col, Datum value);
extern Datum tg_numeric_to_column(TgColumn *col, Numeric value);
extern Numeric tg_numeric_add(Numeric a, Numeric b);
extern Numeric tg_numeric_sub(Numeric a, Numeric b);
extern int	tg_numeric_cmp(Numeric a, Numeric b);
extern char *tg_numeric_display(Numeric n);
extern int	tg_errtablecol(Oid relid, AttrNumber attnum);
extern int	tg_errtable(Oid relid);

/* rows.c */
extern bool tg_row_path_enabled;	/* transfer_guard.row_path */
typedef struct TgRowExec TgRowExec;
extern bool tg_row_path_usable(Relation rel, TgTable *table, uint64 mask);
extern TgRowExec *tg_row_exec_begin(Relation *rels, TgTable **tables,
									Bitmapset **updated, int nrels);
extern TupleTableSlot *tg_row_lock(TgRowExec *ex, int relno, TgTable *table,
								   Datum key, int mode);
extern TupleTableSlot *tg_row_read(TgRowExec *ex, int relno, Datum key);
extern TupleTableSlot *tg_row_relock(TgRowExec *ex, int relno, TgTable *table,
									 Datum key, TupleTableSlot *slot,
									 bool *moved);
extern TupleTableSlot *tg_row_update(TgRowExec *ex, int relno,
									 TupleTableSlot *locked, int nset,
									 const AttrNumber *attnums,
									 const Datum *values, const bool *nulls,
									 const Oid *domains, bool *concurrent);
extern void tg_row_exec_table_read(TgRowExec *ex);
#ifdef TG_HAVE_ROW_PATH
extern EState *tg_exec_state_open(Relation *rels, Bitmapset **updated,
								  int nrels, CommandId cid,
								  ResultRelInfo **rris);
extern void tg_exec_state_close(EState *estate);
#endif
extern void tg_row_exec_end(TgRowExec *ex);

/* engine.c */
extern SPIPlanPtr tg_prepare_kept(const char *sql, int nargs, Oid *argtypes);
extern TgStatus tg_execute(TgRequest *request, TgLegResult *results);
extern const char *tg_status_name(TgStatus status);

#endif							/* TRANSFER_GUARD_H */
