/* transfer_guard--1.5.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION transfer_guard" to load this file. \quit

--
-- A column of a table, stored as (table OID, attribute number) and written
-- as its qualified name: what regclass is to a table.  The registry records
-- columns with it, so that no rename moves a guard onto another column,
-- while pg_dump writes names, which a restore reads back by name.
--
CREATE TYPE @extschema@.transfer_guard_column;

CREATE FUNCTION @extschema@.transfer_guard_column_in(pg_catalog.cstring)
RETURNS @extschema@.transfer_guard_column
AS 'MODULE_PATHNAME', 'transfer_guard_column_in'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.transfer_guard_column_out(@extschema@.transfer_guard_column)
RETURNS pg_catalog.cstring
AS 'MODULE_PATHNAME', 'transfer_guard_column_out'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.transfer_guard_column (
	INPUT = @extschema@.transfer_guard_column_in,
	OUTPUT = @extschema@.transfer_guard_column_out,
	INTERNALLENGTH = 8,
	ALIGNMENT = int4,
	STORAGE = plain
);

CREATE FUNCTION @extschema@.transfer_guard_column_attnum(@extschema@.transfer_guard_column)
RETURNS pg_catalog.int2
AS 'MODULE_PATHNAME', 'transfer_guard_column_attnum'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

--
-- The registry of guarded balance columns.  One row per (table, column).
-- Only the extension's C functions write it, on behalf of the table's owner;
-- everyone may read it through the transfer_guards view.
--
CREATE TABLE @extschema@.transfer_guard_registry (
	tbl pg_catalog.regclass NOT NULL,
	balance_column @extschema@.transfer_guard_column NOT NULL,
	min_balance pg_catalog.numeric,
	max_balance pg_catalog.numeric,
	journal pg_catalog.bool NOT NULL DEFAULT true,
	version_column @extschema@.transfer_guard_column,
	key_column @extschema@.transfer_guard_column,
	CONSTRAINT transfer_guard_registry_limits
		CHECK (min_balance OPERATOR(pg_catalog.<=) max_balance)
);
CREATE UNIQUE INDEX transfer_guard_registry_column
	ON @extschema@.transfer_guard_registry
	(tbl, @extschema@.transfer_guard_column_attnum(balance_column));
REVOKE ALL ON @extschema@.transfer_guard_registry FROM PUBLIC;

-- keep guards across pg_dump / restore
SELECT pg_catalog.pg_extension_config_dump('@extschema@.transfer_guard_registry', '');

-- transfer ids; nextval is called from C without a privilege check.  Its
-- position is dumped too, so ids stay unique across dump and restore.
CREATE SEQUENCE @extschema@.transfer_guard_transfer_id_seq;
REVOKE ALL ON SEQUENCE @extschema@.transfer_guard_transfer_id_seq FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.transfer_guard_transfer_id_seq', '');

CREATE VIEW @extschema@.transfer_guards AS
	SELECT r.tbl,
		   (SELECT a.attname FROM pg_catalog.pg_attribute AS a
			 WHERE a.attrelid OPERATOR(pg_catalog.=) r.tbl::pg_catalog.oid
			   AND a.attnum OPERATOR(pg_catalog.=)
				   @extschema@.transfer_guard_column_attnum(r.balance_column)
			   AND NOT a.attisdropped)
			   AS balance_column,
		   r.min_balance, r.max_balance, r.journal,
		   (SELECT a.attname FROM pg_catalog.pg_attribute AS a
			 WHERE a.attrelid OPERATOR(pg_catalog.=) r.tbl::pg_catalog.oid
			   AND a.attnum OPERATOR(pg_catalog.=)
				   @extschema@.transfer_guard_column_attnum(r.version_column)
			   AND NOT a.attisdropped)
			   AS version_column,
		   (SELECT a.attname FROM pg_catalog.pg_attribute AS a
			 WHERE a.attrelid OPERATOR(pg_catalog.=) r.tbl::pg_catalog.oid
			   AND a.attnum OPERATOR(pg_catalog.=)
				   @extschema@.transfer_guard_column_attnum(r.key_column)
			   AND NOT a.attisdropped)
			   AS key_column
	  FROM @extschema@.transfer_guard_registry AS r;
GRANT SELECT ON @extschema@.transfer_guards TO PUBLIC;

--
-- The journal: one row per transfer (per leg of a batch), appended by the
-- extension on behalf of the caller.  No ordinary role may write it.  Since
-- 1.5 a row may also be a step of a hold (kind, hold_id): the hold has no
-- destination yet (to_* NULL), its capture, release or expiry no source
-- (from_* NULL).
--
CREATE TABLE @extschema@.transfer_guard_journal (
	transfer_id pg_catalog.int8 PRIMARY KEY,
	batch_id pg_catalog.int8,
	leg pg_catalog.int4 NOT NULL,
	created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	from_table pg_catalog.regclass,
	from_column pg_catalog.name,
	from_key pg_catalog.text,
	to_table pg_catalog.regclass,
	to_column pg_catalog.name,
	to_key pg_catalog.text,
	amount pg_catalog.numeric NOT NULL,
	from_balance pg_catalog.numeric,
	to_balance pg_catalog.numeric,
	caller pg_catalog.name NOT NULL,
	txid pg_catalog.xid8 NOT NULL,
	idempotency_key pg_catalog.text,
	hold_id pg_catalog.int8,
	kind pg_catalog.text NOT NULL DEFAULT 'transfer',
	CONSTRAINT transfer_guard_journal_kind CHECK (
		kind OPERATOR(pg_catalog.=) ANY
		(ARRAY['transfer', 'hold', 'capture', 'release', 'expire']::pg_catalog.text[])
		AND (hold_id IS NULL) OPERATOR(pg_catalog.=) (kind OPERATOR(pg_catalog.=) 'transfer')
		AND (from_table IS NULL) OPERATOR(pg_catalog.=)
			(kind OPERATOR(pg_catalog.<>) ALL (ARRAY['transfer', 'hold']::pg_catalog.text[]))
		AND (to_table IS NULL) OPERATOR(pg_catalog.=) (kind OPERATOR(pg_catalog.=) 'hold'))
);
CREATE INDEX transfer_guard_journal_from
	ON @extschema@.transfer_guard_journal (from_table, from_key);
CREATE INDEX transfer_guard_journal_to
	ON @extschema@.transfer_guard_journal (to_table, to_key);
REVOKE ALL ON @extschema@.transfer_guard_journal FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.transfer_guard_journal', '');

--
-- Whether the journal keeps its two indexes by account (1.2).  No row: it
-- does.  journal_account_indexes() writes the one row; the statement trigger
-- makes the indexes match it, so a dump restored into a fresh database,
-- whose CREATE EXTENSION makes the indexes, drops them again when it loads
-- this table's row.  The trigger fires always, also under
-- session_replication_role = replica.  Neither function pins search_path:
-- their DDL fires the database's event triggers, which must see the
-- caller's; every name in them is qualified instead.
--
CREATE TABLE @extschema@.transfer_guard_settings (
	journal_account_indexes pg_catalog.bool NOT NULL
);
CREATE UNIQUE INDEX transfer_guard_settings_one_row
	ON @extschema@.transfer_guard_settings ((true));
REVOKE ALL ON @extschema@.transfer_guard_settings FROM PUBLIC;
GRANT SELECT ON @extschema@.transfer_guard_settings TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.transfer_guard_settings', '');

--
-- Make the journal's indexes by account match the setting.  They are found
-- by what they are (plain btree indexes on exactly (from_table, from_key)
-- or (to_table, to_key)), not by name, and made under their usual names
-- unless another relation has taken one.
--
CREATE FUNCTION @extschema@.transfer_guard_apply_settings()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
	journal pg_catalog.regclass := '@extschema@.transfer_guard_journal';
	nsp pg_catalog.name;
	wanted pg_catalog.bool := NOT EXISTS (
		SELECT FROM @extschema@.transfer_guard_settings AS s
		 WHERE NOT s.journal_account_indexes);
	want record;
	idx record;
	found pg_catalog.bool;
BEGIN
	SELECT s.nspname INTO nsp
	  FROM pg_catalog.pg_class AS c
	  JOIN pg_catalog.pg_namespace AS s ON s.oid OPERATOR(pg_catalog.=) c.relnamespace
	 WHERE c.oid OPERATOR(pg_catalog.=) journal::pg_catalog.oid;
	FOR want IN
		SELECT v.name, v.tbl_col, v.key_col
		  FROM (VALUES ('transfer_guard_journal_from', 'from_table', 'from_key'),
					   ('transfer_guard_journal_to', 'to_table', 'to_key'))
			   AS v (name, tbl_col, key_col)
	LOOP
		found := false;
		FOR idx IN
			SELECT c.relname
			  FROM pg_catalog.pg_index AS i
			  JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid
			  JOIN pg_catalog.pg_am AS a ON a.oid OPERATOR(pg_catalog.=) c.relam
			 WHERE i.indrelid OPERATOR(pg_catalog.=) journal::pg_catalog.oid
			   AND a.amname OPERATOR(pg_catalog.=) 'btree'
			   AND NOT i.indisunique
			   AND i.indexprs IS NULL AND i.indpred IS NULL
			   AND i.indnatts OPERATOR(pg_catalog.=) 2
			   AND pg_catalog.pg_get_indexdef(i.indexrelid, 1, true)
				   OPERATOR(pg_catalog.=) want.tbl_col
			   AND pg_catalog.pg_get_indexdef(i.indexrelid, 2, true)
				   OPERATOR(pg_catalog.=) want.key_col
		LOOP
			found := true;
			IF NOT wanted THEN
				EXECUTE pg_catalog.format('DROP INDEX %I.%I', nsp, idx.relname);
			END IF;
		END LOOP;
		IF wanted AND NOT found THEN
			IF pg_catalog.to_regclass(pg_catalog.format('%I.%I', nsp, want.name)) IS NULL THEN
				EXECUTE pg_catalog.format('CREATE INDEX %I ON %I.transfer_guard_journal (%I, %I)',
										  want.name, nsp, want.tbl_col, want.key_col);
			ELSE
				EXECUTE pg_catalog.format('CREATE INDEX ON %I.transfer_guard_journal (%I, %I)',
										  nsp, want.tbl_col, want.key_col);
			END IF;
		END IF;
	END LOOP;
	RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION @extschema@.transfer_guard_apply_settings() FROM PUBLIC;

CREATE TRIGGER transfer_guard_apply_settings
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.transfer_guard_settings
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.transfer_guard_apply_settings();
ALTER TABLE @extschema@.transfer_guard_settings
	ENABLE ALWAYS TRIGGER transfer_guard_apply_settings;

--
-- Switch the indexes.  The journal's lock for the DDL (SHARE to build,
-- ACCESS EXCLUSIVE to drop) is taken first, waiting at most 100 ms at a
-- time (lock_timeout), so that the switch never stands in the lock queue
-- for long in front of transfers while a long transaction or pg_dump holds
-- the journal; after 50 tries it gives up with 55P03.  One statement
-- writes the setting, so its trigger runs once, and asking for the state
-- already in place does no DDL.
--
CREATE FUNCTION @extschema@.journal_account_indexes(enabled pg_catalog.bool)
RETURNS void
LANGUAGE plpgsql
SET lock_timeout = '100ms'
AS $$
DECLARE
	tries pg_catalog.int4 := 0;
BEGIN
	IF enabled IS NULL THEN
		RAISE EXCEPTION 'enabled must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	LOOP
		BEGIN
			IF enabled THEN
				LOCK TABLE @extschema@.transfer_guard_journal IN SHARE MODE;
			ELSE
				LOCK TABLE @extschema@.transfer_guard_journal IN ACCESS EXCLUSIVE MODE;
			END IF;
			EXIT;
		EXCEPTION WHEN lock_not_available THEN
			tries := tries OPERATOR(pg_catalog.+) 1;
			IF tries OPERATOR(pg_catalog.>=) 50 THEN
				RAISE EXCEPTION 'could not lock table "transfer_guard_journal" to change its indexes'
					USING ERRCODE = 'lock_not_available',
						  DETAIL = 'Other transactions held a lock on it through 50 tries of 100 ms.',
						  HINT = 'Try again when no long transaction or pg_dump is using the journal.';
			END IF;
		END;
	END LOOP;
	IF enabled THEN
		DELETE FROM @extschema@.transfer_guard_settings;
	ELSE
		INSERT INTO @extschema@.transfer_guard_settings (journal_account_indexes)
		VALUES (false)
		ON CONFLICT ((true)) DO UPDATE SET journal_account_indexes = false;
	END IF;
END;
$$;
REVOKE ALL ON FUNCTION @extschema@.journal_account_indexes(pg_catalog.bool) FROM PUBLIC;

--
-- What the owners of guarded tables may read: the journal rows that touch
-- a table they own (or are a member of the owning role of).  The view runs
-- with its owner's rights on the journal and filters by the caller's.
--
CREATE VIEW @extschema@.transfer_journal WITH (security_barrier) AS
	SELECT j.*
	  FROM @extschema@.transfer_guard_journal AS j
	 WHERE pg_catalog.pg_has_role(
			   (SELECT c.relowner FROM pg_catalog.pg_class AS c
				 WHERE c.oid OPERATOR(pg_catalog.=) j.from_table::pg_catalog.oid),
			   'USAGE')
		OR pg_catalog.pg_has_role(
			   (SELECT c.relowner FROM pg_catalog.pg_class AS c
				 WHERE c.oid OPERATOR(pg_catalog.=) j.to_table::pg_catalog.oid),
			   'USAGE');
GRANT SELECT ON @extschema@.transfer_journal TO PUBLIC;

--
-- Idempotency keys: the result of each keyed request, per calling role.
--
CREATE TABLE @extschema@.transfer_guard_idempotency (
	caller pg_catalog.name NOT NULL,
	idempotency_key pg_catalog.text NOT NULL,
	request pg_catalog.jsonb NOT NULL,
	result pg_catalog.jsonb NOT NULL,
	created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (caller, idempotency_key)
);
REVOKE ALL ON @extschema@.transfer_guard_idempotency FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.transfer_guard_idempotency', '');

--
-- guard: declare a guarded balance column, or change its settings
--
CREATE FUNCTION @extschema@.guard(
	tbl pg_catalog.regclass,
	balance_column pg_catalog.name,
	min_balance pg_catalog.numeric DEFAULT 0,
	max_balance pg_catalog.numeric DEFAULT NULL,
	journal pg_catalog.bool DEFAULT true,
	version_column pg_catalog.name DEFAULT NULL,
	key_column pg_catalog.name DEFAULT NULL)
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
-- The keys are anycompatible, so keys of two integer sizes (or an integer
-- and a numeric) are unified to the wider type.  The text overload serves
-- callers whose parameters are untyped (extended protocol without parameter
-- types), which anycompatible cannot resolve; both call the same C function,
-- which converts each key exactly to the key column's type.
--
CREATE FUNCTION @extschema@.transfer(
	tbl pg_catalog.regclass,
	from_key anycompatible,
	to_key anycompatible,
	amount pg_catalog.numeric,
	balance_column pg_catalog.name DEFAULT NULL,
	nowait pg_catalog.bool DEFAULT false,
	to_table pg_catalog.regclass DEFAULT NULL,
	to_column pg_catalog.name DEFAULT NULL,
	idempotency_key pg_catalog.text DEFAULT NULL,
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
	idempotency_key pg_catalog.text DEFAULT NULL,
	OUT transfer_id pg_catalog.int8,
	OUT from_balance pg_catalog.numeric,
	OUT to_balance pg_catalog.numeric)
RETURNS record
AS 'MODULE_PATHNAME', 'transfer_guard_transfer'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

--
-- try_transfer: transfer() that reports business outcomes as a status
-- instead of raising them: ok, insufficient_funds, limit_exceeded,
-- not_found, busy, duplicate.  Invalid arguments still raise.
--
CREATE FUNCTION @extschema@.try_transfer(
	tbl pg_catalog.regclass,
	from_key anycompatible,
	to_key anycompatible,
	amount pg_catalog.numeric,
	balance_column pg_catalog.name DEFAULT NULL,
	nowait pg_catalog.bool DEFAULT false,
	to_table pg_catalog.regclass DEFAULT NULL,
	to_column pg_catalog.name DEFAULT NULL,
	idempotency_key pg_catalog.text DEFAULT NULL,
	OUT status pg_catalog.text,
	OUT transfer_id pg_catalog.int8,
	OUT from_balance pg_catalog.numeric,
	OUT to_balance pg_catalog.numeric)
RETURNS record
AS 'MODULE_PATHNAME', 'transfer_guard_try_transfer'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.try_transfer(
	tbl pg_catalog.regclass,
	from_key pg_catalog.text,
	to_key pg_catalog.text,
	amount pg_catalog.numeric,
	balance_column pg_catalog.name DEFAULT NULL,
	nowait pg_catalog.bool DEFAULT false,
	to_table pg_catalog.regclass DEFAULT NULL,
	to_column pg_catalog.name DEFAULT NULL,
	idempotency_key pg_catalog.text DEFAULT NULL,
	OUT status pg_catalog.text,
	OUT transfer_id pg_catalog.int8,
	OUT from_balance pg_catalog.numeric,
	OUT to_balance pg_catalog.numeric)
RETURNS record
AS 'MODULE_PATHNAME', 'transfer_guard_try_transfer'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

--
-- transfer_batch: several legs, any mix of tables and columns, all or none
--
CREATE FUNCTION @extschema@.transfer_batch(
	legs pg_catalog.jsonb,
	nowait pg_catalog.bool DEFAULT false,
	idempotency_key pg_catalog.text DEFAULT NULL)
RETURNS TABLE (
	leg pg_catalog.int4,
	transfer_id pg_catalog.int8,
	from_balance pg_catalog.numeric,
	to_balance pg_catalog.numeric)
AS 'MODULE_PATHNAME', 'transfer_guard_transfer_batch'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

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
-- Holds (1.5): an amount taken from a row by hold() and kept until it is
-- captured to its destination, released back, or expired.  One row per
-- hold, written by the C functions on behalf of the caller; hold_id is the
-- transfer id of the hold's journal row.
--
CREATE TABLE @extschema@.transfer_guard_hold (
	hold_id pg_catalog.int8 PRIMARY KEY,
	from_table pg_catalog.regclass NOT NULL,
	from_column @extschema@.transfer_guard_column NOT NULL,
	from_key pg_catalog.text NOT NULL,
	to_table pg_catalog.regclass NOT NULL,
	to_column @extschema@.transfer_guard_column NOT NULL,
	to_key pg_catalog.text NOT NULL,
	amount pg_catalog.numeric NOT NULL,
	state pg_catalog.text NOT NULL DEFAULT 'held',
	placed_by pg_catalog.name NOT NULL,
	created_at pg_catalog.timestamptz NOT NULL,
	expires_at pg_catalog.timestamptz,
	captured pg_catalog.numeric,
	transfer_id pg_catalog.int8,
	closed_at pg_catalog.timestamptz,
	CONSTRAINT transfer_guard_hold_amount
		CHECK (amount OPERATOR(pg_catalog.>) 0),
	CONSTRAINT transfer_guard_hold_state
		CHECK (state OPERATOR(pg_catalog.=) ANY
			   (ARRAY['held', 'captured', 'released', 'expired']::pg_catalog.text[]))
);
CREATE INDEX transfer_guard_hold_expiry
	ON @extschema@.transfer_guard_hold (expires_at)
	WHERE state OPERATOR(pg_catalog.=) 'held';
REVOKE ALL ON @extschema@.transfer_guard_hold FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.transfer_guard_hold', '');

--
-- The holds each role may see: those it placed (or a role it is a member
-- of placed), and those on tables it owns, as the journal's view filters.
-- placed_by is the role's name, as the journal's caller is: a dump
-- restored where that role does not exist keeps the hold (its tables'
-- owners may still end it).
--
CREATE VIEW @extschema@.transfer_guard_holds WITH (security_barrier) AS
	SELECT h.hold_id, h.from_table,
		   (SELECT a.attname FROM pg_catalog.pg_attribute AS a
			 WHERE a.attrelid OPERATOR(pg_catalog.=) h.from_table::pg_catalog.oid
			   AND a.attnum OPERATOR(pg_catalog.=)
				   @extschema@.transfer_guard_column_attnum(h.from_column)
			   AND NOT a.attisdropped)
			   AS from_column,
		   h.from_key, h.to_table,
		   (SELECT a.attname FROM pg_catalog.pg_attribute AS a
			 WHERE a.attrelid OPERATOR(pg_catalog.=) h.to_table::pg_catalog.oid
			   AND a.attnum OPERATOR(pg_catalog.=)
				   @extschema@.transfer_guard_column_attnum(h.to_column)
			   AND NOT a.attisdropped)
			   AS to_column,
		   h.to_key, h.amount, h.state, h.created_at, h.expires_at,
		   h.transfer_id, h.captured, h.closed_at, h.placed_by
	  FROM @extschema@.transfer_guard_hold AS h
	 WHERE EXISTS (SELECT FROM pg_catalog.pg_roles AS r
				WHERE r.rolname OPERATOR(pg_catalog.=) h.placed_by
				  AND pg_catalog.pg_has_role(r.oid, 'USAGE'))
		OR pg_catalog.pg_has_role(
			   (SELECT c.relowner FROM pg_catalog.pg_class AS c
				 WHERE c.oid OPERATOR(pg_catalog.=) h.from_table::pg_catalog.oid),
			   'USAGE')
		OR pg_catalog.pg_has_role(
			   (SELECT c.relowner FROM pg_catalog.pg_class AS c
				 WHERE c.oid OPERATOR(pg_catalog.=) h.to_table::pg_catalog.oid),
			   'USAGE');
GRANT SELECT ON @extschema@.transfer_guard_holds TO PUBLIC;

--
-- hold: take amount from a row now, for its destination; capture or
-- release it later.  The keys as for transfer(): anycompatible, and text.
--
CREATE FUNCTION @extschema@.hold(
	tbl pg_catalog.regclass,
	from_key anycompatible,
	to_key anycompatible,
	amount pg_catalog.numeric,
	balance_column pg_catalog.name DEFAULT NULL,
	to_table pg_catalog.regclass DEFAULT NULL,
	to_column pg_catalog.name DEFAULT NULL,
	expires_in pg_catalog.interval DEFAULT NULL,
	idempotency_key pg_catalog.text DEFAULT NULL,
	OUT hold_id pg_catalog.int8,
	OUT from_balance pg_catalog.numeric)
RETURNS record
AS 'MODULE_PATHNAME', 'transfer_guard_hold'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.hold(
	tbl pg_catalog.regclass,
	from_key pg_catalog.text,
	to_key pg_catalog.text,
	amount pg_catalog.numeric,
	balance_column pg_catalog.name DEFAULT NULL,
	to_table pg_catalog.regclass DEFAULT NULL,
	to_column pg_catalog.name DEFAULT NULL,
	expires_in pg_catalog.interval DEFAULT NULL,
	idempotency_key pg_catalog.text DEFAULT NULL,
	OUT hold_id pg_catalog.int8,
	OUT from_balance pg_catalog.numeric)
RETURNS record
AS 'MODULE_PATHNAME', 'transfer_guard_hold'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.capture(
	hold_id pg_catalog.int8,
	amount pg_catalog.numeric DEFAULT NULL,
	OUT transfer_id pg_catalog.int8,
	OUT from_balance pg_catalog.numeric,
	OUT to_balance pg_catalog.numeric)
RETURNS record
AS 'MODULE_PATHNAME', 'transfer_guard_capture'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.try_capture(
	hold_id pg_catalog.int8,
	amount pg_catalog.numeric DEFAULT NULL,
	OUT status pg_catalog.text,
	OUT transfer_id pg_catalog.int8,
	OUT from_balance pg_catalog.numeric,
	OUT to_balance pg_catalog.numeric)
RETURNS record
AS 'MODULE_PATHNAME', 'transfer_guard_try_capture'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.release(hold_id pg_catalog.int8)
RETURNS pg_catalog.numeric
AS 'MODULE_PATHNAME', 'transfer_guard_release'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.release_expired()
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'transfer_guard_release_expired'
LANGUAGE C VOLATILE PARALLEL UNSAFE;


--
-- Forget the guards (and hot rows) of dropped tables and columns, and keep
-- the tables and columns of open holds (1.5).  SECURITY
-- DEFINER so that the owner of a dropped table need not hold privileges on
-- the registry; it touches nothing but the extension's tables, so its
-- pinned search_path is safe.  Columns are matched by attribute number,
-- which is how the registry records them.  A guard whose column was
-- dropped without this trigger (under session_replication_role = replica)
-- names a column that is gone: attribute numbers are never reused, so it
-- cannot land on another one.
--
CREATE FUNCTION @extschema@.transfer_guard_on_drop()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	hold_schema pg_catalog.name;
	hold_table pg_catalog.name;
BEGIN
	-- a table or column with open holds stays: they hold its money (1.5)
	SELECT d.schema_name, COALESCE(c.relname, d.object_name)
	  INTO hold_schema, hold_table
	  FROM @extschema@.transfer_guard_hold AS h
	  JOIN pg_catalog.pg_event_trigger_dropped_objects() AS d ON true
	  LEFT JOIN pg_catalog.pg_class AS c
		ON c.oid OPERATOR(pg_catalog.=) d.objid
	 WHERE h.state OPERATOR(pg_catalog.=) 'held'
	   AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND ((d.objid OPERATOR(pg_catalog.=) h.from_table::pg_catalog.oid
			 AND (d.objsubid OPERATOR(pg_catalog.=) 0
				  OR d.objsubid OPERATOR(pg_catalog.=)
					 @extschema@.transfer_guard_column_attnum(h.from_column)))
			OR (d.objid OPERATOR(pg_catalog.=) h.to_table::pg_catalog.oid
				AND (d.objsubid OPERATOR(pg_catalog.=) 0
					 OR d.objsubid OPERATOR(pg_catalog.=)
						@extschema@.transfer_guard_column_attnum(h.to_column))))
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'cannot drop a table or column with open holds'
			USING ERRCODE = 'dependent_objects_still_exist',
				  DETAIL = pg_catalog.format('Table %I.%I has open holds.', hold_schema, hold_table),
				  HINT = 'Capture or release its holds first (view transfer_guard_holds).',
				  SCHEMA = hold_schema, TABLE = hold_table;
	END IF;
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
REVOKE ALL ON FUNCTION @extschema@.transfer_guard_on_drop() FROM PUBLIC;

CREATE EVENT TRIGGER transfer_guard_on_drop ON sql_drop
	EXECUTE FUNCTION @extschema@.transfer_guard_on_drop();
