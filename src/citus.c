/*-------------------------------------------------------------------------
 *
 * citus.c
 *	  Tables that Citus distributes.  When the citus extension is present,
 *	  a guarded table that Citus knows (it has a row in Citus's catalog
 *	  pg_dist_partition) holds its rows in shards, on worker nodes or in
 *	  shard tables of the coordinator; the relation this server opens is
 *	  an empty shell.  Such a table must never take the row path, which
 *	  reads the shell, and its statements must address one key each, so
 *	  that Citus routes every one to the shard that holds the row.
 *
 *	  Citus is read through its catalogs with SPI, never linked: the
 *	  extension builds, loads and behaves the same without it.  The kinds
 *	  of table that a single-key statement reaches exactly are served:
 *	  hash-distributed by the guarded key, reference tables, single-shard
 *	  (schema-sharded) tables and local tables added to Citus's metadata.
 *	  Append- and range-distributed tables, and hash-distributed tables
 *	  whose distribution column is not the key, are refused.  So are calls
 *	  on a worker node: the registry of guards lives on the coordinator.
 *	  docs/citus.md has the whole story.
 *
 * IDENTIFICATION
 *	  src/citus.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "executor/spi.h"
#include "nodes/primnodes.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "citus.h"
#include "report.h"

/* pg_dist_partition.partmethod */
#define CITUS_HASH		'h'
#define CITUS_NONE		'n'		/* reference, single-shard, local */

/*
 * Whether Citus's catalogs are there to ask: the citus extension exists
 * in this database.
 */
static bool
citus_installed(void)
{
	return OidIsValid(get_extension_oid("citus", true)) &&
		OidIsValid(get_relname_relid("pg_dist_partition",
									 PG_CATALOG_NAMESPACE));
}

/*
 * Citus is loaded in this server (shared_preload_libraries): its settings
 * exist.  Without it, Citus's catalogs may describe tables whose shells
 * hold no rows, and nothing routes a statement to their shards.
 */
static bool
citus_loaded(void)
{
	/* a placeholder (citus.* set while Citus is not loaded) does not count */
	return GetConfigOption("citus.node_conninfo", true, false) != NULL &&
		(GetConfigOptionFlags("citus.node_conninfo", true) &
		 GUC_CUSTOM_PLACEHOLDER) == 0;
}

/* the distribution column of a hash-distributed table, from partkey */
static AttrNumber
distribution_attnum(const char *partkey)
{
	Node	   *node;

	if (partkey == NULL)
		return InvalidAttrNumber;
	node = stringToNode(partkey);
	if (node == NULL || !IsA(node, Var))
		return InvalidAttrNumber;
	return ((Var *) node)->varattno;
}

pg_noreturn static void
raise_unsupported(Relation rel, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("transfer_guard does not support Citus table \"%s\"",
					RelationGetRelationName(rel)),
			 errdetail_internal("%s", detail),
			 hint ? errhint("%s", hint) : 0,
			 errtable(rel)));
}

/*
 * This server is a Citus worker node: its pg_dist_local_group names a
 * group other than the coordinator's (0).
 */
static bool
on_worker_node(void)
{
	bool		isnull;
	Datum		group;

	if (SPI_execute("SELECT groupid FROM pg_catalog.pg_dist_local_group",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading pg_dist_local_group failed");
	if (SPI_processed != 1)
		return false;
	group = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
						  &isnull);
	return !isnull && DatumGetInt32(group) != 0;
}

/* the checks on a table that Citus knows; SPI is connected */
static void
check_citus_table(Relation rel, AttrNumber key_attnum, char method,
				  const char *partkey)
{
	if (!citus_loaded())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is a Citus table, and Citus is not loaded",
						RelationGetRelationName(rel)),
				 errhint("Add citus to shared_preload_libraries and restart the server."),
				 errtable(rel)));
	if (on_worker_node())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("transfer_guard moves balances of Citus table \"%s\" only on the coordinator",
						RelationGetRelationName(rel)),
				 errdetail("This server is a Citus worker node; the guards are recorded on the coordinator."),
				 errhint("Connect to the coordinator and call the function there."),
				 errtable(rel)));
	if (key_attnum == InvalidAttrNumber)
		return;
	if (method == CITUS_HASH)
	{
		AttrNumber	dist = distribution_attnum(partkey);

		if (dist != key_attnum)
			raise_unsupported(rel,
							  psprintf("The table is distributed by column \"%s\", not by the guarded key \"%s\".",
									   dist > 0 ? get_attname(RelationGetRelid(rel), dist, false) : "?",
									   get_attname(RelationGetRelid(rel), key_attnum, false)),
							  "Distribute the table by its key column, or make it a reference table.");
		return;
	}
	if (method != CITUS_NONE)
		raise_unsupported(rel,
						  psprintf("The table is %s-distributed; only hash distribution by the key is supported.",
								   method == 'a' ? "append" : method == 'r' ? "range" : "otherwise"),
						  "Distribute the table by hash of its key column.");
}

/*
 * Where the rows of a guarded table live, for a table about to be guarded
 * or described: TG_PLACE_LOCAL for a table of this server (Citus absent,
 * or not a table Citus knows), TG_PLACE_CITUS for a table Citus routes
 * single-key statements of.  Raises for the Citus tables that are not
 * supported, and on a worker node.  With key_attnum invalid (a table that
 * is not guarded here), only the node is checked: a call on a worker names
 * the coordinator rather than a missing guard.  The caller holds a lock
 * on rel.
 */
TgPlacement
tg_citus_placement(Relation rel, AttrNumber key_attnum)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1];
	TgPlacement result = TG_PLACE_LOCAL;

	if (!citus_installed())
		return TG_PLACE_LOCAL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	values[0] = ObjectIdGetDatum(RelationGetRelid(rel));
	if (SPI_execute_with_args("SELECT partmethod, partkey"
							  " FROM pg_catalog.pg_dist_partition"
							  " WHERE logicalrelid OPERATOR(pg_catalog.=) $1",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading pg_dist_partition failed");
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *method = SPI_getvalue(tup, desc, 1);
		char	   *partkey = SPI_getvalue(tup, desc, 2);

		check_citus_table(rel, key_attnum, method ? method[0] : '?',
						  partkey);
		result = TG_PLACE_CITUS;
	}
	SPI_finish();
	return result;
}

/*
 * Make Citus commit the current transaction with two-phase commit, even
 * when it changed rows on one worker only.  Citus commits a transaction
 * that wrote on one node in one phase, during its pre-commit callback,
 * before this server's own commit: if the worker then commits and this
 * server does not (the worker's answer lost, this server crashing), what
 * the call wrote here is rolled back while the worker's rows stay moved:
 * the journal row and idempotency record, or the other side of a move
 * between a table of this server and a Citus table.  With two-phase
 * commit the worker only prepares, and this server's commit decides for
 * both.
 *
 * Citus's own Use2PCForCoordinatedTransaction() asks for it; it is found
 * in the loaded library by name, so that nothing links against Citus.  It
 * sets a flag that Citus clears at the end of the transaction.  A Citus
 * without it is refused rather than risk the books.
 */
void
tg_citus_two_phase_commit(void)
{
	typedef void (*Use2PCFunction) (void);
	static Use2PCFunction use_2pc = NULL;

	if (use_2pc == NULL)
		use_2pc = (Use2PCFunction)
			load_external_function("citus", "Use2PCForCoordinatedTransaction",
								   false, NULL);
	if (use_2pc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("this version of Citus cannot be asked for a two-phase commit"),
				 errdetail("transfer_guard needs Citus's Use2PCForCoordinatedTransaction() to commit the journal and idempotency records with the balances."),
				 errhint("Turn the journal off for the table and call without an idempotency key, or use Citus 13.2.")));
	use_2pc();
}

