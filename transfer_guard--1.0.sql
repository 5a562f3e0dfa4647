/* transfer_guard--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION transfer_guard" to load this file. \quit

--
-- The registry of guarded balance columns.  One row per (table, column).
-- Only the extension's C functions write it, on behalf of the table's owner;
-- everyone may read it through the transfer_guards view.
--
CREATE TABLE @extschema@.transfer_guard_registry (
	tbl pg_catalog.regclass NOT NULL,
	balance_column pg_catalog.name NOT NULL,
	min_balance pg_catalog.numeric,
	max_balance pg_catalog.numeric,
	PRIMARY KEY (tbl, balance_column),
	CONSTRAINT transfer_guard_registry_limits
		CHECK (min_balance OPERATOR(pg_catalog.<=) max_balance)
);
REVOKE ALL ON @extschema@.transfer_guard_registry FROM PUBLIC;

-- keep guards across pg_dump / restore
SELECT pg_catalog.pg_extension_config_dump('@extschema@.transfer_guard_registry', '');

-- transfer ids; nextval is called from C without a privilege check.  Its
-- position is dumped too, so ids stay unique across dump and restore.
CREATE SEQUENCE @extschema@.transfer_guard_transfer_id_seq;
REVOKE ALL ON SEQUENCE @extschema@.transfer_guard_transfer_id_seq FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.transfer_guard_transfer_id_seq', '');

CREATE VIEW @extschema@.transfer_guards AS
	SELECT r.tbl, r.balance_column, r.min_balance, r.max_balance
	  FROM @extschema@.transfer_guard_registry AS r;
GRANT SELECT ON @extschema@.transfer_guards TO PUBLIC;

--
-- guard: declare a guarded balance column, or change its limits
--
CREATE FUNCTION @extschema@.guard(
	tbl pg_catalog.regclass,
	balance_column pg_catalog.name,
	min_balance pg_catalog.numeric DEFAULT 0,
	max_balance pg_catalog.numeric DEFAULT NULL)
RETURNS pg_catalog.void
AS 'MODULE_PATHNAME', 'transfer_guard_guard'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.unguard(
	tbl pg_catalog.regclass,
	balance_column pg_catalog.name)
RETURNS pg_catalog.void
AS 'MODULE_PATHNAME', 'transfer_guard_unguard'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

--
-- transfer: move amount from one row to another, locked in the global order.
-- The text overload serves callers whose parameters are untyped (extended
-- protocol without parameter types), which anyelement cannot resolve; both
-- call the same C function, which converts each key exactly to the key
-- column's type.
--
CREATE FUNCTION @extschema@.transfer(
	tbl pg_catalog.regclass,
	from_key anyelement,
	to_key anyelement,
	amount pg_catalog.numeric,
	balance_column pg_catalog.name DEFAULT NULL,
	nowait pg_catalog.bool DEFAULT false,
	to_table pg_catalog.regclass DEFAULT NULL,
	to_column pg_catalog.name DEFAULT NULL,
	OUT transfer_id pg_catalog.int8,
	OUT from_balance pg_catalog.numeric,
	OUT to_balance pg_catalog.numeric)
RETURNS record
AS 'MODULE_PATHNAME', 'transfer_guard_transfer'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.transfer(
	tbl pg_catalog.regclass,
	from_key pg_catalog.text,
	to_key pg_catalog.text,
	amount pg_catalog.numeric,
	balance_column pg_catalog.name DEFAULT NULL,
	nowait pg_catalog.bool DEFAULT false,
	to_table pg_catalog.regclass DEFAULT NULL,
	to_column pg_catalog.name DEFAULT NULL,
	OUT transfer_id pg_catalog.int8,
	OUT from_balance pg_catalog.numeric,
	OUT to_balance pg_catalog.numeric)
RETURNS record
AS 'MODULE_PATHNAME', 'transfer_guard_transfer'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

--
-- transfer_batch: several legs, any mix of tables and columns, all or none
--
CREATE FUNCTION @extschema@.transfer_batch(
	legs pg_catalog.jsonb,
	nowait pg_catalog.bool DEFAULT false)
RETURNS TABLE (
	leg pg_catalog.int4,
	transfer_id pg_catalog.int8,
	from_balance pg_catalog.numeric,
	to_balance pg_catalog.numeric)
AS 'MODULE_PATHNAME', 'transfer_guard_transfer_batch'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

--
-- Forget the guards of dropped tables and columns.  SECURITY DEFINER so that
-- the owner of a dropped table need not hold privileges on the registry; it
-- touches nothing but the registry, so its pinned search_path is safe.
--
CREATE FUNCTION @extschema@.transfer_guard_on_drop()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM @extschema@.transfer_guard_registry AS r
	 USING pg_catalog.pg_event_trigger_dropped_objects() AS d
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objid OPERATOR(pg_catalog.=) r.tbl::pg_catalog.oid
	   AND (d.objsubid OPERATOR(pg_catalog.=) 0
			OR d.address_names[3] OPERATOR(pg_catalog.=) r.balance_column::pg_catalog.text);
END;
$$;
REVOKE ALL ON FUNCTION @extschema@.transfer_guard_on_drop() FROM PUBLIC;

CREATE EVENT TRIGGER transfer_guard_on_drop ON sql_drop
	EXECUTE FUNCTION @extschema@.transfer_guard_on_drop();
