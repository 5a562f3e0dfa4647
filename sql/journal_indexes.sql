--
-- journal_indexes: journal_account_indexes(false) drops the journal's two
-- indexes by account and keeps journaling; true builds them again over
-- every row.  The choice is a row of transfer_guard_settings, which the
-- statement trigger applies, so DDL, rollback and dump all follow it.
--
CREATE VIEW ji_indexes AS
	SELECT string_agg(c.relname, ' ' ORDER BY c.relname) AS indexes
	  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
	 WHERE i.indrelid = 'transfer_guard_journal'::regclass;
CREATE TABLE ji_acc (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO ji_acc SELECT g, 1000 FROM generate_series(1, 4) g;
SELECT guard('ji_acc', 'balance');
SELECT count(*) AS journal_before FROM transfer_guard_journal \gset

-- by default the journal is indexed by account, and no setting is stored
SELECT * FROM ji_indexes;
SELECT count(*) AS settings FROM transfer_guard_settings;

-- bad arguments and callers
SELECT * FROM tg_try($$SELECT journal_account_indexes(NULL)$$);
CREATE ROLE regress_ji_user;
GRANT SELECT ON ji_indexes TO regress_ji_user;
SET ROLE regress_ji_user;
SELECT * FROM tg_try($$SELECT journal_account_indexes(false)$$);
SELECT * FROM tg_try($$INSERT INTO transfer_guard_settings VALUES (false)$$);
-- everyone may read the setting
SELECT count(*) AS settings FROM transfer_guard_settings;
RESET ROLE;
SELECT * FROM ji_indexes;

-- switched off: only the primary key remains; transfers on both paths, a
-- batch and try_transfer are journaled all the same
SELECT journal_account_indexes(false);
SELECT * FROM ji_indexes;
SELECT * FROM transfer_guard_settings;
SELECT from_balance, to_balance FROM transfer('ji_acc', 1, 2, 10);
SET transfer_guard.row_path = off;
SELECT from_balance, to_balance FROM transfer('ji_acc', 2, 3, 10);
RESET transfer_guard.row_path;
SELECT count(*) FROM transfer_batch('[{"from_table": "ji_acc", "from_key": 3, "to_key": 4, "amount": 1},
									   {"from_table": "ji_acc", "from_key": 4, "to_key": 1, "amount": 2}]');
SELECT status FROM try_transfer('ji_acc', 4, 1, 1, idempotency_key => 'ji-1');
SELECT status FROM try_transfer('ji_acc', 4, 1, 1, idempotency_key => 'ji-1');
SELECT count(*) - :journal_before AS journaled FROM transfer_guard_journal;
SELECT from_key, to_key, amount, from_balance, to_balance
  FROM transfer_guard_journal WHERE from_table = 'ji_acc'::regclass ORDER BY transfer_id;
-- asking again changes nothing
SELECT journal_account_indexes(false);
SELECT * FROM ji_indexes;
SELECT count(*) AS settings FROM transfer_guard_settings;

-- transactional: a rolled-back switch leaves the indexes as they were
BEGIN;
SELECT journal_account_indexes(true);
SELECT * FROM ji_indexes;
ROLLBACK;
SELECT * FROM ji_indexes;

-- switched on again: both indexes hold every journal row, those written
-- before and one written by this session after the switch
SELECT journal_account_indexes(true);
SELECT * FROM ji_indexes;
SELECT count(*) AS settings FROM transfer_guard_settings;
SELECT from_balance, to_balance FROM transfer('ji_acc', 1, 2, 1);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
CREATE FUNCTION ji_plan(q text) RETURNS SETOF text LANGUAGE plpgsql AS $f$
DECLARE
	l text;
BEGIN
	FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		RETURN NEXT regexp_replace(l, '''\d+''::oid', 'OID');
	END LOOP;
END
$f$;
SELECT * FROM ji_plan($$SELECT count(*) FROM transfer_guard_journal
 WHERE from_table = 'ji_acc'::regclass AND from_key >= ''$$);
SELECT * FROM ji_plan($$SELECT count(*) FROM transfer_guard_journal
 WHERE to_table = 'ji_acc'::regclass AND to_key >= ''$$);
SELECT count(*) AS by_from_index FROM transfer_guard_journal
 WHERE from_table = 'ji_acc'::regclass AND from_key >= '';
SELECT count(*) AS by_to_index FROM transfer_guard_journal
 WHERE to_table = 'ji_acc'::regclass AND to_key >= '';
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*) FILTER (WHERE from_table = 'ji_acc'::regclass) AS from_rows,
	   count(*) FILTER (WHERE to_table = 'ji_acc'::regclass) AS to_rows
  FROM transfer_guard_journal;
SELECT journal_account_indexes(true);
SELECT * FROM ji_indexes;

-- the table is the setting: TRUNCATE of it, as its owner may, indexes again
SELECT journal_account_indexes(false);
TRUNCATE transfer_guard_settings;
SELECT * FROM ji_indexes;
-- one row at most
INSERT INTO transfer_guard_settings VALUES (false);
SELECT * FROM tg_try($$INSERT INTO transfer_guard_settings VALUES (false)$$);
SELECT * FROM ji_indexes;
SELECT journal_account_indexes(true);
SELECT * FROM ji_indexes;


-- the switch does DDL only when the state changes, and the database's
-- event triggers see the caller's search_path (this one names its log
-- table unqualified)
CREATE TABLE ji_ddl_log (tag text, object text);
CREATE FUNCTION ji_log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO ji_ddl_log
	SELECT command_tag, object_identity FROM pg_event_trigger_ddl_commands();
END
$$;
CREATE FUNCTION ji_log_drop() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO ji_ddl_log
	SELECT 'DROP ' || upper(object_type), object_identity
	  FROM pg_event_trigger_dropped_objects();
END
$$;
CREATE EVENT TRIGGER ji_log_ddl ON ddl_command_end EXECUTE FUNCTION ji_log_ddl();
CREATE EVENT TRIGGER ji_log_drop ON sql_drop EXECUTE FUNCTION ji_log_drop();
SELECT journal_account_indexes(false);
SELECT journal_account_indexes(false);
SELECT journal_account_indexes(true);
SELECT journal_account_indexes(true);
SELECT tag, count(*) FROM ji_ddl_log GROUP BY tag ORDER BY tag;
DROP EVENT TRIGGER ji_log_ddl;
DROP EVENT TRIGGER ji_log_drop;
DROP FUNCTION ji_log_ddl();
DROP FUNCTION ji_log_drop();
DROP TABLE ji_ddl_log;

-- the trigger fires under session_replication_role = replica too
SET session_replication_role = replica;
SELECT journal_account_indexes(false);
SELECT * FROM ji_indexes;
RESET session_replication_role;
SELECT journal_account_indexes(true);

-- indexes are found by their columns, not their names: a relation that
-- took a usual name while they were off does not stop them coming back
SELECT journal_account_indexes(false);
CREATE TABLE transfer_guard_journal_to (x int);
SELECT journal_account_indexes(true);
SELECT * FROM ji_indexes;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT * FROM ji_plan($$SELECT count(*) FROM transfer_guard_journal
 WHERE to_table = 'ji_acc'::regclass AND to_key >= ''$$);
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT journal_account_indexes(false);
SELECT * FROM ji_indexes;
DROP TABLE transfer_guard_journal_to;
SELECT journal_account_indexes(true);
SELECT * FROM ji_indexes;

SELECT sum(balance) FROM ji_acc;
DROP TABLE ji_acc;
DROP VIEW ji_indexes;
DROP FUNCTION ji_plan(text);
DROP ROLE regress_ji_user;
