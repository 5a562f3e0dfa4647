/* transfer_guard--1.3--1.4.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION transfer_guard UPDATE TO '1.4'" to load this file. \quit

--
-- Hot rows (1.4): rows whose credits are deferred as pending credits, so
-- that a credit takes no lock on the row, and settled into the row later
-- (set_hot(), settle(), the maintenance worker).  Written by the C
-- functions on behalf of the table's owner.
--
CREATE TABLE @extschema@.transfer_guard_hot (
	tbl pg_catalog.regclass NOT NULL,
	balance_column @extschema@.transfer_guard_column NOT NULL,
	key pg_catalog.text NOT NULL,
	slots pg_catalog.int4 NOT NULL DEFAULT 0,
	marked_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	last_settle pg_catalog.timestamptz
);
CREATE UNIQUE INDEX transfer_guard_hot_row
	ON @extschema@.transfer_guard_hot
	(tbl, @extschema@.transfer_guard_column_attnum(balance_column), key);
REVOKE ALL ON @extschema@.transfer_guard_hot FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.transfer_guard_hot', '');

--
-- Pending credits: one row per credit to a hot row not settled yet, written
-- in the caller's transaction with the credit's transfer id.  The key is
-- the row's key as set_hot() recorded it.  Dumped with the rest, so a dump
-- holds every unit.
--
CREATE TABLE @extschema@.transfer_guard_pending (
	tbl pg_catalog.regclass NOT NULL,
	balance_column @extschema@.transfer_guard_column NOT NULL,
	key pg_catalog.text NOT NULL,
	amount pg_catalog.numeric NOT NULL,
	transfer_id pg_catalog.int8,
	created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX transfer_guard_pending_row
	ON @extschema@.transfer_guard_pending
	(tbl, @extschema@.transfer_guard_column_attnum(balance_column), key);
REVOKE ALL ON @extschema@.transfer_guard_pending FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.transfer_guard_pending', '');

--
-- Escrow slots: a hot row's funds set aside for its debits, so that a debit
-- takes one slot instead of the row's lock.  A slot never goes below 0; the
-- row's column keeps its floor; so the row's total (column, pending credits
-- and slots) never goes below the floor.
--
CREATE TABLE @extschema@.transfer_guard_slots (
	tbl pg_catalog.regclass NOT NULL,
	balance_column @extschema@.transfer_guard_column NOT NULL,
	key pg_catalog.text NOT NULL,
	slot pg_catalog.int4 NOT NULL,
	amount pg_catalog.numeric NOT NULL,
	CONSTRAINT transfer_guard_slots_not_negative
		CHECK (amount OPERATOR(pg_catalog.>=) 0)
);
CREATE UNIQUE INDEX transfer_guard_slots_slot
	ON @extschema@.transfer_guard_slots
	(tbl, @extschema@.transfer_guard_column_attnum(balance_column), key, slot);
REVOKE ALL ON @extschema@.transfer_guard_slots FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.transfer_guard_slots', '');

--
-- The hot rows of the tables the caller owns (or is a member of the owning
-- role of), with what their slots hold and what is pending on each.
--
CREATE VIEW @extschema@.transfer_guard_hot_rows WITH (security_barrier) AS
	SELECT h.tbl,
		   (SELECT a.attname FROM pg_catalog.pg_attribute AS a
			 WHERE a.attrelid OPERATOR(pg_catalog.=) h.tbl::pg_catalog.oid
			   AND a.attnum OPERATOR(pg_catalog.=)
				   @extschema@.transfer_guard_column_attnum(h.balance_column)
			   AND NOT a.attisdropped)
			   AS balance_column,
		   h.key, h.slots, e.slot_amount,
		   p.pending_count, p.pending_amount,
		   h.marked_at, h.last_settle
	  FROM @extschema@.transfer_guard_hot AS h
	  CROSS JOIN LATERAL (
		   SELECT pg_catalog.count(*) AS pending_count,
				  COALESCE(pg_catalog.sum(q.amount), 0) AS pending_amount
			 FROM @extschema@.transfer_guard_pending AS q
			WHERE q.tbl OPERATOR(pg_catalog.=) h.tbl
			  AND @extschema@.transfer_guard_column_attnum(q.balance_column)
				  OPERATOR(pg_catalog.=)
				  @extschema@.transfer_guard_column_attnum(h.balance_column)
			  AND q.key OPERATOR(pg_catalog.=) h.key) AS p
	  CROSS JOIN LATERAL (
		   SELECT COALESCE(pg_catalog.sum(x.amount), 0) AS slot_amount
			 FROM @extschema@.transfer_guard_slots AS x
			WHERE x.tbl OPERATOR(pg_catalog.=) h.tbl
			  AND @extschema@.transfer_guard_column_attnum(x.balance_column)
				  OPERATOR(pg_catalog.=)
				  @extschema@.transfer_guard_column_attnum(h.balance_column)
			  AND x.key OPERATOR(pg_catalog.=) h.key) AS e
	 WHERE pg_catalog.pg_has_role(
			   (SELECT c.relowner FROM pg_catalog.pg_class AS c
				 WHERE c.oid OPERATOR(pg_catalog.=) h.tbl::pg_catalog.oid),
			   'USAGE');
GRANT SELECT ON @extschema@.transfer_guard_hot_rows TO PUBLIC;

--
-- The rows that calls waited for, with how many waits and how long: counted
-- in shared memory when the library is in shared_preload_libraries (else
-- none, with a notice).  Each role sees the rows of the tables it owns (or
-- is a member of the owning role of); the function filters them.
--
CREATE FUNCTION @extschema@.transfer_guard_contention_rows(
	OUT tbl pg_catalog.regclass,
	OUT key pg_catalog.text,
	OUT waits pg_catalog.int8,
	OUT wait_time pg_catalog.interval,
	OUT last_wait pg_catalog.timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'transfer_guard_contention'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE VIEW @extschema@.transfer_guard_contention AS
	SELECT c.tbl, c.key, c.waits, c.wait_time, c.last_wait
	  FROM @extschema@.transfer_guard_contention_rows() AS c;
GRANT SELECT ON @extschema@.transfer_guard_contention TO PUBLIC;

-- forget the counts of this database (the extension's owner only)
CREATE FUNCTION @extschema@.transfer_guard_contention_reset()
RETURNS pg_catalog.void
AS 'MODULE_PATHNAME', 'transfer_guard_contention_reset'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION @extschema@.transfer_guard_contention_reset() FROM PUBLIC;

--
-- set_hot: mark one row hot (its credits deferred), or not (everything
-- pending on it settled first).  The table's owner only.
--
CREATE FUNCTION @extschema@.set_hot(
	tbl pg_catalog.regclass,
	key pg_catalog.text,
	balance_column pg_catalog.name DEFAULT NULL,
	hot pg_catalog.bool DEFAULT true,
	slots pg_catalog.int4 DEFAULT 0)
RETURNS pg_catalog.void
AS 'MODULE_PATHNAME', 'transfer_guard_set_hot'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

--
-- current_balance: a guarded row's exact balance in the caller's snapshot:
-- the column plus what is pending on it and what its slots hold.
--
CREATE FUNCTION @extschema@.current_balance(
	tbl pg_catalog.regclass,
	key pg_catalog.text,
	balance_column pg_catalog.name DEFAULT NULL)
RETURNS pg_catalog.numeric
AS 'MODULE_PATHNAME', 'transfer_guard_current_balance'
LANGUAGE C STABLE PARALLEL UNSAFE;

--
-- settle: fold the committed pending credits into their rows now; returns
-- how many it folded.  NULL: every table the caller may update.
--
CREATE FUNCTION @extschema@.settle(
	tbl pg_catalog.regclass DEFAULT NULL)
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'transfer_guard_settle'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;

--
-- The drop trigger forgets hot rows, pending credits and slots too.
--
CREATE OR REPLACE FUNCTION @extschema@.transfer_guard_on_drop()
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
			OR d.objsubid OPERATOR(pg_catalog.=)
			   @extschema@.transfer_guard_column_attnum(r.balance_column));
	-- hot rows, pending credits and slots go with their table or column (1.4)
	DELETE FROM @extschema@.transfer_guard_hot AS h
	 USING pg_catalog.pg_event_trigger_dropped_objects() AS d
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objid OPERATOR(pg_catalog.=) h.tbl::pg_catalog.oid
	   AND (d.objsubid OPERATOR(pg_catalog.=) 0
			OR d.objsubid OPERATOR(pg_catalog.=)
			   @extschema@.transfer_guard_column_attnum(h.balance_column));
	DELETE FROM @extschema@.transfer_guard_pending AS p
	 USING pg_catalog.pg_event_trigger_dropped_objects() AS d
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objid OPERATOR(pg_catalog.=) p.tbl::pg_catalog.oid
	   AND (d.objsubid OPERATOR(pg_catalog.=) 0
			OR d.objsubid OPERATOR(pg_catalog.=)
			   @extschema@.transfer_guard_column_attnum(p.balance_column));
	DELETE FROM @extschema@.transfer_guard_slots AS x
	 USING pg_catalog.pg_event_trigger_dropped_objects() AS d
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objid OPERATOR(pg_catalog.=) x.tbl::pg_catalog.oid
	   AND (d.objsubid OPERATOR(pg_catalog.=) 0
			OR d.objsubid OPERATOR(pg_catalog.=)
			   @extschema@.transfer_guard_column_attnum(x.balance_column));
	-- a dropped version column: the guard stays, without a version column
	UPDATE @extschema@.transfer_guard_registry AS r
	   SET version_column = NULL
	  FROM pg_catalog.pg_event_trigger_dropped_objects() AS d
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objid OPERATOR(pg_catalog.=) r.tbl::pg_catalog.oid
	   AND d.objsubid OPERATOR(pg_catalog.<>) 0
	   AND d.objsubid OPERATOR(pg_catalog.=)
		   @extschema@.transfer_guard_column_attnum(r.version_column);
END;
$$;
