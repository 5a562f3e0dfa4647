--
-- test/pgtap/03_journal.sql -- who may write and read the journal
--
-- The extension appends one journal row per transfer (per leg of a batch)
-- as the extension's owner, on behalf of a caller that needs no privilege
-- on the journal.  No ordinary role may write transfer_guard_journal or
-- read it directly; roles granted SELECT on it read all of it.  Everyone
-- else reads it through the transfer_journal view, which shows the rows
-- touching a table the caller owns, or whose owning role the caller is a
-- member of (and inherits the rights of).  The idempotency keys are
-- likewise closed to ordinary roles.
--
-- The roles, schema and tables are created inside the transaction and
-- rolled back with it.  Every role gets USAGE on the schema, so that a
-- refusal comes from the privileges on the extension's tables and not from
-- name lookup.
--
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS transfer_guard;

SELECT plan(41);

CREATE ROLE tg_tap_owner_a NOLOGIN;		-- owns table a
CREATE ROLE tg_tap_owner_b NOLOGIN;		-- owns table b
CREATE ROLE tg_tap_clerk NOLOGIN;		-- SELECT and UPDATE on a and b, nothing else
CREATE ROLE tg_tap_nobody NOLOGIN;		-- owns nothing, no privileges
CREATE ROLE tg_tap_member NOLOGIN IN ROLE tg_tap_owner_a;			-- inherits owner_a's rights
CREATE ROLE tg_tap_heir NOLOGIN NOINHERIT IN ROLE tg_tap_owner_a;	-- member, not inheriting
CREATE ROLE tg_tap_auditor NOLOGIN;		-- granted SELECT on the journal

CREATE SCHEMA tg_tap;
GRANT USAGE ON SCHEMA tg_tap TO PUBLIC;
GRANT CREATE ON SCHEMA tg_tap TO tg_tap_owner_a, tg_tap_owner_b;
GRANT SELECT ON transfer_guard_journal TO tg_tap_auditor;

SET LOCAL ROLE tg_tap_owner_a;
CREATE TABLE tg_tap.a (id bigint PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO tg_tap.a VALUES (1, 1000), (2, 1000);
SELECT guard('tg_tap.a', 'balance');
GRANT SELECT, UPDATE ON tg_tap.a TO tg_tap_clerk;
RESET ROLE;

SET LOCAL ROLE tg_tap_owner_b;
CREATE TABLE tg_tap.b (id bigint PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO tg_tap.b VALUES (1, 1000), (2, 1000);
SELECT guard('tg_tap.b', 'balance');
GRANT SELECT, UPDATE ON tg_tap.b TO tg_tap_clerk;
RESET ROLE;

-- writing: the extension appends on the caller's behalf ------------------------

SELECT ok(
	NOT has_table_privilege('tg_tap_clerk', 'transfer_guard_journal',
		'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'),
	'the transferring role holds no privilege on transfer_guard_journal');

SET LOCAL ROLE tg_tap_clerk;
SELECT lives_ok(
	$$SELECT * FROM transfer('tg_tap.a', 1, 2, 10)$$,
	'a role with only SELECT and UPDATE on the table can transfer on a journaled guard');
RESET ROLE;

SELECT results_eq(
	$$SELECT from_table, from_key, to_table, to_key, amount, caller
	    FROM transfer_guard_journal$$,
	$$VALUES ('tg_tap.a'::regclass, '1', 'tg_tap.a'::regclass, '2', 10::numeric, 'tg_tap_clerk'::name)$$,
	'that transfer wrote one journal row, naming the calling role (not the extension''s owner) as caller');

SET LOCAL ROLE tg_tap_clerk;
SELECT lives_ok(
	$$SELECT * FROM transfer('tg_tap.b', 1, 2, 20)$$,
	'the role transfers within table b');
SELECT lives_ok(
	$$SELECT * FROM transfer('tg_tap.a', 1, 1, 5, to_table => 'tg_tap.b')$$,
	'the role transfers from table a to table b');
SELECT lives_ok(
	$$SELECT * FROM transfer_batch('[{"from_table":"tg_tap.a","from_key":2,"to_key":1,"amount":1},{"from_table":"tg_tap.b","from_key":2,"to_key":1,"amount":2}]')$$,
	'the role runs a batch with one leg in a and one in b');
SELECT results_eq(
	$$SELECT status FROM try_transfer('tg_tap.a', 1, 2, 3)$$,
	$$VALUES ('ok')$$,
	'the role moves 3 within table a with try_transfer');
SELECT results_eq(
	$$SELECT status FROM try_transfer('tg_tap.a', 1, 2, 1000000)$$,
	$$VALUES ('insufficient_funds')$$,
	'the role''s try_transfer of more than the balance moves nothing');
RESET ROLE;

SELECT set_eq(
	$$SELECT from_table, to_table, amount, caller FROM transfer_guard_journal$$,
	$$VALUES ('tg_tap.a'::regclass, 'tg_tap.a'::regclass, 10::numeric, 'tg_tap_clerk'::name),
	         ('tg_tap.b', 'tg_tap.b', 20, 'tg_tap_clerk'),
	         ('tg_tap.a', 'tg_tap.b', 5, 'tg_tap_clerk'),
	         ('tg_tap.a', 'tg_tap.a', 1, 'tg_tap_clerk'),
	         ('tg_tap.b', 'tg_tap.b', 2, 'tg_tap_clerk'),
	         ('tg_tap.a', 'tg_tap.a', 3, 'tg_tap_clerk')$$,
	'every transfer, batch leg and try_transfer that moved something wrote one journal row; the one that moved nothing wrote none');

-- ordinary roles cannot write or read transfer_guard_journal ------------------

SET LOCAL ROLE tg_tap_clerk;
SELECT throws_ok(
	$$INSERT INTO transfer_guard_journal
	       (transfer_id, leg, from_table, from_column, from_key, to_table, to_column, to_key,
	        amount, caller, txid)
	  VALUES (-1, 1, 'tg_tap.a', 'balance', '1', 'tg_tap.a', 'balance', '2',
	          1, 'tg_tap_clerk', pg_current_xact_id())$$,
	'42501', NULL,
	'a role that transfers cannot INSERT into transfer_guard_journal (42501)');
SELECT throws_ok(
	$$UPDATE transfer_guard_journal SET amount = 0$$,
	'42501', NULL,
	'a role that transfers cannot UPDATE transfer_guard_journal (42501)');
SELECT throws_ok(
	$$DELETE FROM transfer_guard_journal$$,
	'42501', NULL,
	'a role that transfers cannot DELETE from transfer_guard_journal (42501)');
SELECT throws_ok(
	$$TRUNCATE transfer_guard_journal$$,
	'42501', NULL,
	'a role that transfers cannot TRUNCATE transfer_guard_journal (42501)');
SELECT throws_ok(
	$$SELECT * FROM transfer_guard_journal$$,
	'42501', NULL,
	'a role that transfers cannot SELECT from transfer_guard_journal directly (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_owner_a;
SELECT throws_ok(
	$$SELECT * FROM transfer_guard_journal$$,
	'42501', NULL,
	'owning a guarded table gives no direct SELECT on transfer_guard_journal (42501)');
SELECT throws_ok(
	$$UPDATE transfer_journal SET amount = 0$$,
	'42501', NULL,
	'the owner of a guarded table cannot UPDATE its journal rows through transfer_journal (42501)');
SELECT throws_ok(
	$$DELETE FROM transfer_journal$$,
	'42501', NULL,
	'the owner of a guarded table cannot DELETE its journal rows through transfer_journal (42501)');
SELECT throws_ok(
	$$INSERT INTO transfer_journal
	       (transfer_id, leg, from_table, from_column, from_key, to_table, to_column, to_key,
	        amount, caller, txid)
	  VALUES (-1, 1, 'tg_tap.a', 'balance', '1', 'tg_tap.a', 'balance', '2',
	          1, 'tg_tap_owner_a', pg_current_xact_id())$$,
	'42501', NULL,
	'the owner of a guarded table cannot INSERT journal rows through transfer_journal (42501)');
RESET ROLE;

SELECT is(
	(SELECT count(*) FROM transfer_guard_journal),
	6::bigint,
	'the refused statements left the six journal rows in place');

-- reading through transfer_journal: the rows touching the caller's tables -----

SET LOCAL ROLE tg_tap_owner_a;
SELECT set_eq(
	$$SELECT from_table, to_table, amount FROM transfer_journal$$,
	$$VALUES ('tg_tap.a'::regclass, 'tg_tap.a'::regclass, 10::numeric),
	         ('tg_tap.a', 'tg_tap.b', 5),
	         ('tg_tap.a', 'tg_tap.a', 1),
	         ('tg_tap.a', 'tg_tap.a', 3)$$,
	'the owner of table a sees, through transfer_journal, exactly the rows touching a, including the transfer from a to b');
SELECT is(
	(SELECT count(*) FROM transfer_journal
	  WHERE from_table <> 'tg_tap.a'::regclass AND to_table <> 'tg_tap.a'::regclass),
	0::bigint,
	'the owner of table a, who does not own b, sees none of the rows touching only b');
RESET ROLE;

SET LOCAL ROLE tg_tap_owner_b;
SELECT set_eq(
	$$SELECT from_table, to_table, amount FROM transfer_journal$$,
	$$VALUES ('tg_tap.b'::regclass, 'tg_tap.b'::regclass, 20::numeric),
	         ('tg_tap.a', 'tg_tap.b', 5),
	         ('tg_tap.b', 'tg_tap.b', 2)$$,
	'the owner of table b sees, through transfer_journal, exactly the rows touching b, including the transfer from a to b');
RESET ROLE;

SET LOCAL ROLE tg_tap_member;
SELECT set_eq(
	$$SELECT from_table, to_table, amount FROM transfer_journal$$,
	$$VALUES ('tg_tap.a'::regclass, 'tg_tap.a'::regclass, 10::numeric),
	         ('tg_tap.a', 'tg_tap.b', 5),
	         ('tg_tap.a', 'tg_tap.a', 1),
	         ('tg_tap.a', 'tg_tap.a', 3)$$,
	'a member of the role that owns table a sees the rows touching a through transfer_journal');
SELECT throws_ok(
	$$SELECT * FROM transfer_guard_journal$$,
	'42501', NULL,
	'a member of an owning role cannot SELECT from transfer_guard_journal directly (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_heir;
SELECT is(
	(SELECT count(*) FROM transfer_journal),
	0::bigint,
	'a member of the owning role that does not inherit its rights sees no rows through transfer_journal');
RESET ROLE;

SET LOCAL ROLE tg_tap_nobody;
SELECT is(
	(SELECT count(*) FROM transfer_journal),
	0::bigint,
	'a role that owns no table sees no rows through transfer_journal');
SELECT throws_ok(
	$$SELECT * FROM transfer_guard_journal$$,
	'42501', NULL,
	'a role without privileges cannot SELECT from transfer_guard_journal (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_clerk;
SELECT is(
	(SELECT count(*) FROM transfer_journal),
	0::bigint,
	'the role that made the transfers, owning no table, sees none of their rows through transfer_journal');
RESET ROLE;

-- a role granted SELECT on the journal reads all of it, and writes none -------

SET LOCAL ROLE tg_tap_auditor;
SELECT set_eq(
	$$SELECT from_table, to_table, amount FROM transfer_guard_journal$$,
	$$VALUES ('tg_tap.a'::regclass, 'tg_tap.a'::regclass, 10::numeric),
	         ('tg_tap.b', 'tg_tap.b', 20),
	         ('tg_tap.a', 'tg_tap.b', 5),
	         ('tg_tap.a', 'tg_tap.a', 1),
	         ('tg_tap.b', 'tg_tap.b', 2),
	         ('tg_tap.a', 'tg_tap.a', 3)$$,
	'a role granted SELECT on transfer_guard_journal reads every row of it, whoever owns the tables');
SELECT throws_ok(
	$$DELETE FROM transfer_guard_journal$$,
	'42501', NULL,
	'a role granted SELECT on transfer_guard_journal still cannot DELETE from it (42501)');
SELECT throws_ok(
	$$UPDATE transfer_guard_journal SET amount = 0$$,
	'42501', NULL,
	'a role granted SELECT on transfer_guard_journal still cannot UPDATE it (42501)');
RESET ROLE;

-- the idempotency keys: written on the caller's behalf, closed to it -----------

SELECT ok(
	NOT has_table_privilege('tg_tap_clerk', 'transfer_guard_idempotency',
		'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'),
	'the transferring role holds no privilege on transfer_guard_idempotency');

SET LOCAL ROLE tg_tap_clerk;
SELECT lives_ok(
	$$SELECT * FROM transfer('tg_tap.a', 2, 1, 7, idempotency_key => 'tap-order-1')$$,
	'a role with only SELECT and UPDATE on the table can transfer with an idempotency key');
RESET ROLE;

SELECT results_eq(
	$$SELECT caller, idempotency_key FROM transfer_guard_idempotency$$,
	$$VALUES ('tg_tap_clerk'::name, 'tap-order-1')$$,
	'that keyed transfer recorded its key, for the calling role');

SET LOCAL ROLE tg_tap_clerk;
SELECT throws_ok(
	$$SELECT * FROM transfer_guard_idempotency$$,
	'42501', NULL,
	'a role that uses idempotency keys cannot SELECT from transfer_guard_idempotency (42501)');
SELECT throws_ok(
	$$INSERT INTO transfer_guard_idempotency (caller, idempotency_key, request, result)
	  VALUES ('tg_tap_clerk', 'tap-order-2', '{}', '[]')$$,
	'42501', NULL,
	'a role cannot INSERT into transfer_guard_idempotency, so cannot plant a result to be replayed (42501)');
SELECT throws_ok(
	$$UPDATE transfer_guard_idempotency SET result = '[]'$$,
	'42501', NULL,
	'a role cannot UPDATE transfer_guard_idempotency, so cannot alter a recorded result (42501)');
SELECT throws_ok(
	$$DELETE FROM transfer_guard_idempotency$$,
	'42501', NULL,
	'a role cannot DELETE from transfer_guard_idempotency, so cannot free a used key (42501)');
SELECT throws_ok(
	$$TRUNCATE transfer_guard_idempotency$$,
	'42501', NULL,
	'a role cannot TRUNCATE transfer_guard_idempotency (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_owner_a;
SELECT throws_ok(
	$$SELECT * FROM transfer_guard_idempotency$$,
	'42501', NULL,
	'owning a guarded table gives no SELECT on transfer_guard_idempotency (42501)');
RESET ROLE;

SELECT results_eq(
	$$SELECT caller, idempotency_key FROM transfer_guard_idempotency$$,
	$$VALUES ('tg_tap_clerk'::name, 'tap-order-1')$$,
	'the refused statements left the recorded key as it was');

SELECT * FROM finish();
ROLLBACK;
