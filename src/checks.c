/*-------------------------------------------------------------------------
 *
 * checks.c
 *	  What a call must pass before and after it writes: the privileges a
 *	  plain UPDATE of the balances would need, the floor, ceiling and type
 *	  range of every debit and credit, and the limits again on the values
 *	  the updates stored.  Each check says what failed; the engine decides
 *	  whether that is an error, a status for try_transfer(), or (rows not
 *	  locked yet) a reason to lock and look again.
 *
 * IDENTIFICATION
 *	  src/checks.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "amount.h"
#include "checks.h"
#include "keys.h"
#include "registry.h"
#include "report.h"
#include "table.h"

/*
 * One privilege on a column, held on the table or on the column: what
 * naming the column in an UPDATE needs.
 */
static void
check_privilege(Relation rel, AttrNumber attnum, AclMode mode)
{
	Oid			relid = RelationGetRelid(rel);
	Oid			userid = GetUserId();

	if (pg_class_aclcheck(relid, userid, mode) == ACLCHECK_OK ||
		pg_attribute_aclcheck(relid, attnum, userid, mode) == ACLCHECK_OK)
		return;
	aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(rel->rd_rel->relkind),
				   RelationGetRelationName(rel));
}

/*
 * The privileges a plain UPDATE of the balances in mask would need: USAGE
 * on the table's schema (which naming it needs; a table given by OID must
 * not skip it), SELECT on the key and the balance columns, UPDATE on the
 * balance columns, SELECT and UPDATE on their version columns (on the
 * table, or on each column).  Checked before anything is locked or
 * replayed, so a caller without them learns nothing about the rows, and
 * always gets 42501 first.  The statements check again, with row-level
 * security on top.
 */
void
tg_check_privileges(TgTable *table, Relation rel, uint64 mask)
{
	int			c;

	tg_check_schema_usage(table->relid);
	check_privilege(rel, table->key_attnum, ACL_SELECT);
	for (c = 0; c < table->ncolumns; c++)
		if (mask & (UINT64CONST(1) << c))
		{
			TgColumn   *col = &table->columns[c];

			check_privilege(rel, col->attnum, ACL_SELECT);
			check_privilege(rel, col->attnum, ACL_UPDATE);
			if (col->version_attnum != InvalidAttrNumber)
			{
				check_privilege(rel, col->version_attnum, ACL_SELECT);
				check_privilege(rel, col->version_attnum, ACL_UPDATE);
			}
		}
}

/*
 * Move amount out of (debit) or into a balance (NULL for a NULL column):
 * the new balance in *after, or what stops the move.
 */
TgLimitCheck
tg_check_move(TgColumn *col, Numeric before, Numeric amount, bool debit,
			  Numeric *after)
{
	if (before == NULL || numeric_is_nan(before) || tg_numeric_is_inf(before))
		return TG_LIMIT_NOT_USABLE;
	*after = debit ? tg_numeric_sub(before, amount) :
		tg_numeric_add(before, amount);
	if (debit && col->min_balance &&
		tg_numeric_cmp(*after, col->min_balance) < 0)
		return TG_LIMIT_BELOW_FLOOR;
	if (!debit && col->max_balance &&
		tg_numeric_cmp(*after, col->max_balance) > 0)
		return TG_LIMIT_ABOVE_CEILING;
	if (debit && col->type_min && tg_numeric_cmp(*after, col->type_min) < 0)
		return TG_LIMIT_OUT_OF_RANGE;
	if (!debit && col->type_max && tg_numeric_cmp(*after, col->type_max) > 0)
		return TG_LIMIT_OUT_OF_RANGE;
	return TG_LIMIT_OK;
}

/* the floor (or the ceiling) was crossed; detail says by what */
pg_noreturn static void
raise_crossed(TgTable *table, TgColumn *col, Datum key, bool floor,
			  const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 floor ?
			 errmsg("insufficient balance in row %s of table \"%s\"",
					tg_key_display(table, key),
					tg_rel_display_name(table->relid)) :
			 errmsg("balance limit exceeded in row %s of table \"%s\"",
					tg_key_display(table, key),
					tg_rel_display_name(table->relid)),
			 errdetail_internal("%s", detail),
			 tg_errtablecol(table->relid, col->attnum),
			 err_generic_string(PG_DIAG_CONSTRAINT_NAME,
								floor ? TG_MIN_CONSTRAINT : TG_MAX_CONSTRAINT)));
}

/*
 * The error for what tg_check_move() found, with the balance before and
 * the amount: 22004 or 22000 for a balance the checks cannot work with,
 * 23514 for a limit, 22003 for the column type's range.
 */
void
tg_raise_limit(TgLimitCheck check, TgTable *table, TgColumn *col, Datum key,
			   Numeric before, Numeric amount, bool debit)
{
	const char *row = tg_key_display(table, key);
	const char *rel = tg_rel_display_name(table->relid);

	switch (check)
	{
		case TG_LIMIT_OK:
			return;
		case TG_LIMIT_NOT_USABLE:
			if (before == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("balance of row %s in table \"%s\" is null", row, rel),
						 errdetail("Column \"%s\" holds no value to move from or to.",
								   NameStr(col->name)),
						 tg_errtablecol(table->relid, col->attnum)));
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("balance of row %s in table \"%s\" is not a finite number",
							row, rel),
					 errdetail("Column \"%s\" holds %s.", NameStr(col->name),
							   tg_numeric_display(before)),
					 tg_errtablecol(table->relid, col->attnum)));
			break;
		case TG_LIMIT_BELOW_FLOOR:
			raise_crossed(table, col, key, true,
						  psprintf("Balance %s minus amount %s would fall below the minimum %s.",
								   tg_numeric_display(before),
								   tg_numeric_display(amount),
								   tg_numeric_display(col->min_balance)));
			break;
		case TG_LIMIT_ABOVE_CEILING:
			raise_crossed(table, col, key, false,
						  psprintf("Balance %s plus amount %s would rise above the maximum %s.",
								   tg_numeric_display(before),
								   tg_numeric_display(amount),
								   tg_numeric_display(col->max_balance)));
			break;
		case TG_LIMIT_OUT_OF_RANGE:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("balance of row %s in table \"%s\" would be out of range",
							row, rel),
					 errdetail("Balance %s %s amount %s does not fit column \"%s\" of type %s.",
							   tg_numeric_display(before), debit ? "minus" : "plus",
							   tg_numeric_display(amount), NameStr(col->name),
							   format_type_with_typemod(col->basetypid,
														col->basetypmod)),
					 tg_errtablecol(table->relid, col->attnum)));
			break;
	}
}

/*
 * The limits hold for what the UPDATE stored, not only for what the checks
 * computed: a trigger may have changed the new value, or code run by the
 * update (a trigger calling transfer() again) may have moved the same row
 * in between.  A balance that was debited must not end below its floor,
 * one that was credited not above its ceiling.
 */
void
tg_check_stored(TgTable *table, TgColumn *col, Datum key, Numeric stored,
				bool debited, bool credited)
{
	if (stored == NULL)
		return;
	if (debited && col->min_balance &&
		tg_numeric_cmp(stored, col->min_balance) < 0)
		raise_crossed(table, col, key, true,
					  psprintf("The balance stored by the update, %s, is below the minimum %s.",
							   tg_numeric_display(stored),
							   tg_numeric_display(col->min_balance)));
	if (credited && col->max_balance &&
		tg_numeric_cmp(stored, col->max_balance) > 0)
		raise_crossed(table, col, key, false,
					  psprintf("The balance stored by the update, %s, is above the maximum %s.",
							   tg_numeric_display(stored),
							   tg_numeric_display(col->max_balance)));
}

/* the owner of a table, or InvalidOid if it is gone */
Oid
tg_relation_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		return InvalidOid;
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}
