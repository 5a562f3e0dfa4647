--
-- test/pgtap/02_privileges.sql -- the privileges each function requires
--
-- guard and unguard belong to the table's owner.  transfer, try_transfer
-- and transfer_batch run with the caller's rights (SECURITY INVOKER): the
-- caller needs what a plain "UPDATE t SET balance = ... WHERE key = ..."
-- needs, SELECT and UPDATE on the table (or on its key and balance columns),
-- and neither the registry, the transfer id sequence, the journal nor the
-- idempotency keys.  try_transfer reports business outcomes as a status,
-- but a missing privilege is an error, as for transfer.  An idempotency key
-- changes none of this: keys belong to the role that used them.  Holds
-- (1.5) likewise: hold() needs what a transfer between its two rows needs,
-- and no privilege on transfer_guard_hold; a hold is captured or released
-- by the role that placed it (or a member inheriting its rights) or the
-- owner of one of its tables, each step with the privileges of the credit
-- it makes.
--
-- The roles, schema and tables are created inside the transaction and
-- rolled back with it.  Every role gets USAGE on the schema, so that a
-- refusal comes from the table privileges and not from name lookup.
--
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS transfer_guard;

SELECT plan(98);

CREATE ROLE tg_tap_owner NOLOGIN;		-- owns the tables
CREATE ROLE tg_tap_nobody NOLOGIN;		-- no privilege on them
CREATE ROLE tg_tap_clerk NOLOGIN;		-- SELECT and UPDATE on accounts
CREATE ROLE tg_tap_reader NOLOGIN;		-- SELECT only
CREATE ROLE tg_tap_writer NOLOGIN;		-- UPDATE only
CREATE ROLE tg_tap_noter NOLOGIN;		-- SELECT, and UPDATE of column note only
CREATE ROLE tg_tap_columns NOLOGIN;		-- SELECT (id, balance), UPDATE (balance)
CREATE ROLE tg_tap_former NOLOGIN;		-- SELECT and UPDATE, revoked after keyed transfers
CREATE ROLE tg_tap_deputy NOLOGIN IN ROLE tg_tap_clerk;		-- inherits the clerk's rights

CREATE SCHEMA tg_tap AUTHORIZATION tg_tap_owner;

SET LOCAL ROLE tg_tap_owner;
GRANT USAGE ON SCHEMA tg_tap TO PUBLIC;
CREATE TABLE tg_tap.accounts (id bigint PRIMARY KEY, balance bigint NOT NULL, note text);
INSERT INTO tg_tap.accounts VALUES (1, 1000, 'one'), (2, 1000, 'two'), (3, 1000, 'three');
CREATE TABLE tg_tap.savings (id bigint PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO tg_tap.savings VALUES (1, 0);
GRANT SELECT, UPDATE ON tg_tap.accounts TO tg_tap_clerk;
GRANT SELECT ON tg_tap.accounts TO tg_tap_reader;
GRANT UPDATE ON tg_tap.accounts TO tg_tap_writer;
GRANT SELECT, UPDATE (note) ON tg_tap.accounts TO tg_tap_noter;
GRANT SELECT (id, balance), UPDATE (balance) ON tg_tap.accounts TO tg_tap_columns;
GRANT SELECT, UPDATE ON tg_tap.accounts TO tg_tap_former;
RESET ROLE;

-- guard and unguard: the owner only ----------------------------------------

SET LOCAL ROLE tg_tap_clerk;
SELECT throws_ok(
	$$SELECT guard('tg_tap.accounts', 'balance')$$,
	'42501', NULL,
	'a role with SELECT and UPDATE that does not own the table cannot guard it (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_owner;
SELECT lives_ok(
	$$SELECT guard('tg_tap.accounts', 'balance')$$,
	'the owner can guard its table without any privilege on the registry');
SELECT lives_ok(
	$$SELECT guard('tg_tap.savings', 'balance')$$,
	'the owner can guard a second table');
RESET ROLE;

SET LOCAL ROLE tg_tap_clerk;
SELECT throws_ok(
	$$SELECT guard('tg_tap.accounts', 'balance', -1000000)$$,
	'42501', NULL,
	'a non-owner cannot change the limits of a guarded column (42501)');
SELECT throws_ok(
	$$SELECT unguard('tg_tap.accounts', 'balance')$$,
	'42501', NULL,
	'a non-owner cannot unguard a guarded column (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_nobody;
SELECT throws_ok(
	$$SELECT unguard('tg_tap.accounts', 'balance')$$,
	'42501', NULL,
	'a role without privileges cannot unguard (42501)');
SELECT results_eq(
	$$SELECT tbl, balance_column, min_balance, max_balance
	    FROM transfer_guards WHERE tbl = 'tg_tap.accounts'::regclass$$,
	$$VALUES ('tg_tap.accounts'::regclass, 'balance'::name, 0::numeric, NULL::numeric)$$,
	'any role can read transfer_guards, and the refused calls left the guard as the owner set it');
SELECT throws_ok(
	$$SELECT * FROM transfer_guard_registry$$,
	'42501', NULL,
	'a role without privileges cannot read transfer_guard_registry (42501)');
SELECT throws_ok(
	$$INSERT INTO transfer_guard_registry VALUES ('tg_tap.accounts', 'tg_tap.accounts.note', NULL, NULL)$$,
	'42501', NULL,
	'a role without privileges cannot write transfer_guard_registry directly (42501)');
SELECT throws_ok(
	$$SELECT nextval('transfer_guard_transfer_id_seq')$$,
	'42501', NULL,
	'a role without privileges cannot draw transfer ids itself (42501)');
RESET ROLE;

-- transfer: the caller's table privileges -----------------------------------

SET LOCAL ROLE tg_tap_nobody;
SELECT throws_ok(
	$$SELECT * FROM transfer('tg_tap.accounts', 1, 2, 10)$$,
	'42501', NULL,
	'a role without privileges on the table cannot transfer (42501)');
SELECT throws_like(
	$$SELECT * FROM transfer('tg_tap.accounts', 1, 2, 10)$$,
	'%accounts%',
	'the refusal names the table the role lacks privileges on');
SELECT throws_ok(
	$$SELECT * FROM transfer('tg_tap.accounts', '1'::text, '2'::text, 10)$$,
	'42501', NULL,
	'a role without privileges on the table cannot transfer with text keys either (42501)');
SELECT throws_ok(
	$$SELECT * FROM transfer_batch('[{"from_table":"tg_tap.accounts","from_key":1,"to_key":2,"amount":10}]')$$,
	'42501', NULL,
	'a role without privileges on the table cannot transfer_batch (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_reader;
SELECT throws_ok(
	$$SELECT * FROM transfer('tg_tap.accounts', 1, 2, 10)$$,
	'42501', NULL,
	'SELECT alone does not allow a transfer (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_writer;
SELECT throws_ok(
	$$SELECT * FROM transfer('tg_tap.accounts', 1, 2, 10)$$,
	'42501', NULL,
	'UPDATE alone does not allow a transfer: reading the balance needs SELECT (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_noter;
SELECT throws_ok(
	$$SELECT * FROM transfer('tg_tap.accounts', 1, 2, 10)$$,
	'42501', NULL,
	'SELECT with UPDATE of another column only does not allow a transfer (42501)');
SELECT throws_ok(
	$$SELECT * FROM transfer_batch('[{"from_table":"tg_tap.accounts","from_key":1,"to_key":2,"amount":10}]')$$,
	'42501', NULL,
	'SELECT with UPDATE of another column only does not allow a transfer_batch (42501)');
RESET ROLE;

SELECT results_eq(
	$$SELECT id, balance FROM tg_tap.accounts ORDER BY id$$,
	$$VALUES (1::bigint, 1000::bigint), (2, 1000), (3, 1000)$$,
	'the refused transfers changed no balance');

SET LOCAL ROLE tg_tap_clerk;
SELECT lives_ok(
	$$SELECT * FROM transfer('tg_tap.accounts', 1, 2, 10)$$,
	'SELECT and UPDATE on the table allow a transfer, with no privilege on registry or sequence');
SELECT lives_ok(
	$$SELECT * FROM transfer('tg_tap.accounts', '2'::text, '3'::text, 20)$$,
	'SELECT and UPDATE on the table allow a transfer with text keys');
SELECT lives_ok(
	$$SELECT * FROM transfer_batch('[{"from_table":"tg_tap.accounts","from_key":3,"to_key":1,"amount":5},{"from_table":"tg_tap.accounts","from_key":1,"to_key":2,"amount":1}]')$$,
	'SELECT and UPDATE on the table allow a transfer_batch');
SELECT throws_ok(
	$$SELECT * FROM transfer('tg_tap.accounts', 1, 1, 10, to_table => 'tg_tap.savings')$$,
	'42501', NULL,
	'privileges on the source table do not allow crediting another table (42501)');
SELECT throws_ok(
	$$SELECT * FROM transfer_batch('[{"from_table":"tg_tap.accounts","from_key":1,"to_table":"tg_tap.savings","to_key":1,"amount":10}]')$$,
	'42501', NULL,
	'privileges on the source table do not allow a batch leg crediting another table (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_columns;
SELECT lives_ok(
	$$SELECT * FROM transfer('tg_tap.accounts', 1, 2, 100)$$,
	'SELECT on the key and balance columns with UPDATE on balance allow a transfer');
RESET ROLE;

SELECT results_eq(
	$$SELECT id, balance FROM tg_tap.accounts ORDER BY id$$,
	$$VALUES (1::bigint, 1000 - 10 + 5 - 1 - 100::bigint), (2, 1000 + 10 - 20 + 1 + 100), (3, 1000 + 20 - 5)$$,
	'the permitted transfers moved exactly their amounts');
SELECT results_eq(
	$$SELECT id, balance FROM tg_tap.savings ORDER BY id$$,
	$$VALUES (1::bigint, 0::bigint)$$,
	'the refused credits to another table changed nothing');

-- try_transfer: the same privileges as transfer ------------------------------
-- A refusal for want of privileges is an error (42501), never a status: a
-- caller branching on the status must not mistake it for a business outcome.

SET LOCAL ROLE tg_tap_nobody;
SELECT throws_ok(
	$$SELECT * FROM try_transfer('tg_tap.accounts', 1, 2, 10)$$,
	'42501', NULL,
	'a role without privileges on the table cannot try_transfer: an error (42501), not a status');
SELECT throws_ok(
	$$SELECT * FROM try_transfer('tg_tap.accounts', '1'::text, '2'::text, 10)$$,
	'42501', NULL,
	'a role without privileges on the table cannot try_transfer with text keys either (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_reader;
SELECT throws_ok(
	$$SELECT * FROM try_transfer('tg_tap.accounts', 1, 2, 10)$$,
	'42501', NULL,
	'SELECT alone does not allow a try_transfer (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_writer;
SELECT throws_ok(
	$$SELECT * FROM try_transfer('tg_tap.accounts', 1, 2, 10)$$,
	'42501', NULL,
	'UPDATE alone does not allow a try_transfer: reading the balance needs SELECT (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_noter;
SELECT throws_ok(
	$$SELECT * FROM try_transfer('tg_tap.accounts', 1, 2, 10)$$,
	'42501', NULL,
	'SELECT with UPDATE of another column only does not allow a try_transfer (42501)');
SELECT throws_ok(
	$$SELECT * FROM try_transfer('tg_tap.accounts', 1, 2, 1000000)$$,
	'42501', NULL,
	'SELECT with UPDATE of another column only does not allow a try_transfer that would overdraw either: an error (42501), not a status');
RESET ROLE;

SET LOCAL ROLE tg_tap_clerk;
SELECT results_eq(
	$$SELECT status FROM try_transfer('tg_tap.accounts', 1, 2, 10)$$,
	$$VALUES ('ok')$$,
	'SELECT and UPDATE on the table allow a try_transfer, with no privilege on registry, sequence or journal');
SELECT results_eq(
	$$SELECT status FROM try_transfer('tg_tap.accounts', '2'::text, '3'::text, 20)$$,
	$$VALUES ('ok')$$,
	'SELECT and UPDATE on the table allow a try_transfer with text keys');
SELECT throws_ok(
	$$SELECT * FROM try_transfer('tg_tap.accounts', 1, 1, 10, to_table => 'tg_tap.savings')$$,
	'42501', NULL,
	'privileges on the source table do not allow a try_transfer crediting another table (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_columns;
SELECT results_eq(
	$$SELECT status FROM try_transfer('tg_tap.accounts', 1, 2, 100)$$,
	$$VALUES ('ok')$$,
	'SELECT on the key and balance columns with UPDATE on balance allow a try_transfer');
RESET ROLE;

SELECT results_eq(
	$$SELECT id, balance FROM tg_tap.accounts ORDER BY id$$,
	$$VALUES (1::bigint, 894 - 10 - 100::bigint), (2, 1091 + 10 - 20 + 100), (3, 1015 + 20)$$,
	'the permitted try_transfers moved exactly their amounts, the refused ones nothing');
SELECT results_eq(
	$$SELECT id, balance FROM tg_tap.savings ORDER BY id$$,
	$$VALUES (1::bigint, 0::bigint)$$,
	'the refused try_transfer to another table changed nothing');

-- idempotency keys: the same privileges, none on the key table ---------------

SET LOCAL ROLE tg_tap_nobody;
SELECT throws_ok(
	$$SELECT * FROM transfer('tg_tap.accounts', 1, 2, 10, idempotency_key => 'tap-nobody')$$,
	'42501', NULL,
	'a role without privileges on the table cannot transfer with an idempotency key (42501)');
SELECT throws_ok(
	$$SELECT * FROM try_transfer('tg_tap.accounts', 1, 2, 10, idempotency_key => 'tap-nobody')$$,
	'42501', NULL,
	'a role without privileges on the table cannot try_transfer with an idempotency key (42501)');
SELECT throws_ok(
	$$SELECT * FROM transfer_batch('[{"from_table":"tg_tap.accounts","from_key":1,"to_key":2,"amount":10}]',
	                               idempotency_key => 'tap-nobody')$$,
	'42501', NULL,
	'a role without privileges on the table cannot transfer_batch with an idempotency key (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_noter;
SELECT throws_ok(
	$$SELECT * FROM transfer_batch('[{"from_table":"tg_tap.accounts","from_key":1,"to_key":2,"amount":10}]',
	                               idempotency_key => 'tap-noter')$$,
	'42501', NULL,
	'SELECT with UPDATE of another column only does not allow a transfer_batch with an idempotency key (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_clerk;
SELECT results_eq(
	$$SELECT status FROM try_transfer('tg_tap.accounts', 1, 2, 10, idempotency_key => 'tap-1')$$,
	$$VALUES ('ok')$$,
	'SELECT and UPDATE on the table allow a keyed try_transfer, with no privilege on transfer_guard_idempotency');
SELECT results_eq(
	$$SELECT status FROM try_transfer('tg_tap.accounts', 1, 2, 10, idempotency_key => 'tap-1')$$,
	$$VALUES ('duplicate')$$,
	'the same role repeating the keyed try_transfer gets it replayed (duplicate), with no privilege on transfer_guard_idempotency');
SELECT lives_ok(
	$$SELECT * FROM transfer_batch('[{"from_table":"tg_tap.accounts","from_key":3,"to_key":1,"amount":5},{"from_table":"tg_tap.accounts","from_key":1,"to_key":2,"amount":1}]',
	                               idempotency_key => 'tap-batch')$$,
	'SELECT and UPDATE on the table allow a keyed transfer_batch, with no privilege on transfer_guard_idempotency');
SELECT results_eq(
	$$SELECT leg, from_balance, to_balance
	    FROM transfer_batch('[{"from_table":"tg_tap.accounts","from_key":3,"to_key":1,"amount":5},{"from_table":"tg_tap.accounts","from_key":1,"to_key":2,"amount":1}]',
	                        idempotency_key => 'tap-batch')
	   ORDER BY leg$$,
	$$VALUES (1, 1035 - 5::numeric, 784 - 10 + 5::numeric), (2, 784 - 10 + 5 - 1::numeric, 1181 + 10 + 1::numeric)$$,
	'the same role repeating the keyed transfer_batch gets its recorded result replayed');
RESET ROLE;

SET LOCAL ROLE tg_tap_nobody;
SELECT throws_ok(
	$$SELECT * FROM try_transfer('tg_tap.accounts', 1, 2, 10, idempotency_key => 'tap-1')$$,
	'42501', NULL,
	'a key another role used replays nothing for a role without privileges on the table (42501)');
SELECT throws_ok(
	$$SELECT * FROM transfer_batch('[{"from_table":"tg_tap.accounts","from_key":3,"to_key":1,"amount":5},{"from_table":"tg_tap.accounts","from_key":1,"to_key":2,"amount":1}]',
	                               idempotency_key => 'tap-batch')$$,
	'42501', NULL,
	'a batch key another role used replays nothing for a role without privileges on the table (42501)');
RESET ROLE;

SELECT results_eq(
	$$SELECT id, balance FROM tg_tap.accounts ORDER BY id$$,
	$$VALUES (1::bigint, 784 - 10 + 5 - 1::bigint), (2, 1181 + 10 + 1), (3, 1035 - 5)$$,
	'each keyed request moved its amounts once, the refused ones nothing');

-- a replayed key is still a call that needs the table privileges: a role
-- whose privileges were revoked gets no recorded result back

SET LOCAL ROLE tg_tap_former;
SELECT lives_ok(
	$$SELECT * FROM transfer('tg_tap.accounts', 3, 2, 1, idempotency_key => 'tap-former')$$,
	'SELECT and UPDATE on the table allow a keyed transfer');
SELECT lives_ok(
	$$SELECT * FROM transfer_batch('[{"from_table":"tg_tap.accounts","from_key":3,"to_key":2,"amount":1}]',
	                               idempotency_key => 'tap-former-batch')$$,
	'SELECT and UPDATE on the table allow a keyed transfer_batch');
RESET ROLE;
SET LOCAL ROLE tg_tap_owner;
REVOKE SELECT, UPDATE ON tg_tap.accounts FROM tg_tap_former;
RESET ROLE;
SET LOCAL ROLE tg_tap_former;
SELECT throws_ok(
	$$SELECT * FROM transfer('tg_tap.accounts', 3, 2, 1, idempotency_key => 'tap-former')$$,
	'42501', NULL,
	'after its privileges are revoked, a role cannot replay its keyed transfer (42501)');
SELECT throws_ok(
	$$SELECT * FROM try_transfer('tg_tap.accounts', 3, 2, 1, idempotency_key => 'tap-former')$$,
	'42501', NULL,
	'after its privileges are revoked, a role cannot replay its keyed transfer through try_transfer (42501)');
SELECT throws_ok(
	$$SELECT * FROM transfer_batch('[{"from_table":"tg_tap.accounts","from_key":3,"to_key":2,"amount":1}]',
	                               idempotency_key => 'tap-former-batch')$$,
	'42501', NULL,
	'after its privileges are revoked, a role cannot replay its keyed transfer_batch (42501)');
RESET ROLE;

-- privileges on both tables allow a transfer between them

SET LOCAL ROLE tg_tap_owner;
GRANT SELECT, UPDATE ON tg_tap.savings TO tg_tap_clerk;
RESET ROLE;
SET LOCAL ROLE tg_tap_clerk;
SELECT lives_ok(
	$$SELECT * FROM transfer('tg_tap.accounts', 1, 1, 10, to_table => 'tg_tap.savings')$$,
	'SELECT and UPDATE on both tables allow a transfer between them');
RESET ROLE;

-- holds: the privileges of a transfer, none on the holds' table -------------

SELECT ok(
	NOT has_table_privilege('public', 'transfer_guard_hold',
		'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'),
	'PUBLIC has no privilege on transfer_guard_hold');
SELECT ok(
	(SELECT bool_and(has_function_privilege('public', p.oid, 'EXECUTE')) AND count(*) = 6
	   FROM pg_proc AS p
	  WHERE p.proname IN ('hold', 'capture', 'try_capture', 'release', 'release_expired')
		AND p.pronamespace = (SELECT extnamespace FROM pg_extension WHERE extname = 'transfer_guard')),
	'PUBLIC may execute hold (both), capture, try_capture, release and release_expired: the table privileges protect the data');

SET LOCAL ROLE tg_tap_nobody;
SELECT throws_ok(
	$$SELECT * FROM hold('tg_tap.accounts', 1, 2, 10)$$,
	'42501', NULL,
	'a role without privileges on the table cannot place a hold (42501)');
SELECT throws_ok(
	$$SELECT * FROM hold('tg_tap.accounts', '1'::text, '2'::text, 10)$$,
	'42501', NULL,
	'a role without privileges on the table cannot place a hold with text keys either (42501)');
SELECT results_eq(
	$$SELECT release_expired()$$,
	$$VALUES (0::bigint)$$,
	'a role without privileges may call release_expired(), which finds no hold of its own to release');
RESET ROLE;

SET LOCAL ROLE tg_tap_reader;
SELECT throws_ok(
	$$SELECT * FROM hold('tg_tap.accounts', 1, 2, 10)$$,
	'42501', NULL,
	'SELECT alone does not allow a hold (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_writer;
SELECT throws_ok(
	$$SELECT * FROM hold('tg_tap.accounts', 1, 2, 10)$$,
	'42501', NULL,
	'UPDATE alone does not allow a hold: reading the balance needs SELECT (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_noter;
SELECT throws_ok(
	$$SELECT * FROM hold('tg_tap.accounts', 1, 2, 10)$$,
	'42501', NULL,
	'SELECT with UPDATE of another column only does not allow a hold (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_columns;
SELECT lives_ok(
	$$SELECT * FROM hold('tg_tap.accounts', 3, 1, 4)$$,
	'SELECT on the key and balance columns with UPDATE on balance allow a hold');
RESET ROLE;

SET LOCAL ROLE tg_tap_owner;
REVOKE SELECT, UPDATE ON tg_tap.savings FROM tg_tap_clerk;
GRANT SELECT ON tg_tap.savings TO tg_tap_clerk;
RESET ROLE;
SET LOCAL ROLE tg_tap_clerk;
SELECT throws_ok(
	$$SELECT * FROM hold('tg_tap.accounts', 1, 1, 10, to_table => 'tg_tap.savings')$$,
	'42501', NULL,
	'privileges on the source table and SELECT on the destination do not allow a hold paying to it (42501)');
SELECT lives_ok(
	$$SELECT * FROM hold('tg_tap.accounts', 1, 2, 10)$$,
	'SELECT and UPDATE on the table allow a hold, with no privilege on transfer_guard_hold');
SELECT lives_ok(
	$$SELECT * FROM hold('tg_tap.accounts', 2, 3, 20)$$,
	'the same role places a second hold');
SELECT lives_ok(
	$$SELECT * FROM hold('tg_tap.accounts', 3, 1, 30)$$,
	'the same role places a third hold');
SELECT throws_ok(
	$$SELECT * FROM transfer_guard_hold$$,
	'42501', NULL,
	'a role that places holds cannot read transfer_guard_hold directly (42501)');
SELECT throws_ok(
	$$UPDATE transfer_guard_hold SET amount = 1$$,
	'42501', NULL,
	'a role that places holds cannot UPDATE transfer_guard_hold (42501)');
SELECT throws_ok(
	$$DELETE FROM transfer_guard_hold$$,
	'42501', NULL,
	'a role that places holds cannot DELETE from transfer_guard_hold (42501)');
SELECT results_eq(
	$$SELECT from_key, to_key, amount, placed_by FROM transfer_guard_holds ORDER BY hold_id$$,
	$$VALUES ('1', '2', 10::numeric, 'tg_tap_clerk'::name), ('2', '3', 20, 'tg_tap_clerk'), ('3', '1', 30, 'tg_tap_clerk')$$,
	'the placing role sees its own holds through transfer_guard_holds, and not another role''s on a table it does not own');
RESET ROLE;

SELECT hold_id AS tap_h1 FROM transfer_guard_hold WHERE placed_by = 'tg_tap_clerk' AND amount = 10 \gset
SELECT hold_id AS tap_h2 FROM transfer_guard_hold WHERE placed_by = 'tg_tap_clerk' AND amount = 20 \gset
SELECT hold_id AS tap_h3 FROM transfer_guard_hold WHERE placed_by = 'tg_tap_clerk' AND amount = 30 \gset
SELECT hold_id AS tap_h4 FROM transfer_guard_hold WHERE placed_by = 'tg_tap_columns' \gset

SET LOCAL ROLE tg_tap_nobody;
SELECT is(
	(SELECT count(*) FROM transfer_guard_holds),
	0::bigint,
	'a role that placed no hold and owns no table sees no hold through transfer_guard_holds');
SELECT throws_ok(
	format('SELECT * FROM capture(%s)', :tap_h1),
	'42501', NULL,
	'a role that neither placed a hold nor owns its tables cannot capture it (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_columns;
SELECT results_eq(
	$$SELECT from_key, to_key, amount FROM transfer_guard_holds$$,
	$$VALUES ('3', '1', 4::numeric)$$,
	'another role with privileges on the table sees only its own hold');
SELECT throws_ok(
	format('SELECT * FROM capture(%s)', :tap_h1),
	'42501', NULL,
	'a role with every privilege a capture needs cannot capture another role''s hold (42501)');
SELECT throws_ok(
	format('SELECT * FROM try_capture(%s)', :tap_h1),
	'42501', NULL,
	'nor try_capture it: an error (42501), not a status');
SELECT throws_ok(
	format('SELECT release(%s)', :tap_h1),
	'42501', NULL,
	'nor release it (42501)');
SELECT lives_ok(
	format('SELECT release(%s)', :tap_h4),
	'it releases its own hold');
RESET ROLE;

SET LOCAL ROLE tg_tap_owner;
SELECT is(
	(SELECT count(*) FROM transfer_guard_holds),
	4::bigint,
	'the owner of the table sees every hold on it through transfer_guard_holds, whoever placed it');
SELECT lives_ok(
	format('SELECT * FROM capture(%s, 5)', :tap_h1),
	'the owner of the table may capture a hold another role placed on it');
SELECT throws_ok(
	$$SELECT * FROM transfer_guard_hold$$,
	'42501', NULL,
	'owning a table gives no direct SELECT on transfer_guard_hold (42501)');
RESET ROLE;

SET LOCAL ROLE tg_tap_deputy;
SELECT is(
	(SELECT count(*) FROM transfer_guard_holds),
	3::bigint,
	'a member inheriting the placing role''s rights sees its holds');
SELECT lives_ok(
	format('SELECT release(%s)', :tap_h2),
	'a member inheriting the placing role''s rights may release its hold');
RESET ROLE;

-- a capture is a credit to the destination, a release a credit to the source:
-- each needs the privileges of its credit
SET LOCAL ROLE tg_tap_owner;
REVOKE UPDATE ON tg_tap.accounts FROM tg_tap_clerk;
RESET ROLE;
SET LOCAL ROLE tg_tap_clerk;
SELECT throws_ok(
	format('SELECT * FROM capture(%s)', :tap_h3),
	'42501', NULL,
	'the placing role, once its UPDATE is revoked, cannot capture its hold (42501)');
SELECT throws_ok(
	format('SELECT release(%s)', :tap_h3),
	'42501', NULL,
	'nor release it (42501)');
RESET ROLE;
SET LOCAL ROLE tg_tap_owner;
GRANT UPDATE ON tg_tap.accounts TO tg_tap_clerk;
RESET ROLE;
SET LOCAL ROLE tg_tap_clerk;
SELECT results_eq(
	format('SELECT status FROM try_capture(%s)', :tap_h3),
	$$VALUES ('ok')$$,
	'with UPDATE granted again, it captures its hold');
RESET ROLE;

SELECT results_eq(
	$$SELECT id, balance FROM tg_tap.accounts ORDER BY id$$,
	$$VALUES (1::bigint, 768 - 10 + 5 + 30::bigint), (2, 1194 - 20 + 5 + 20), (3, 1028 - 4 + 4 - 30)$$,
	'the permitted steps moved exactly their amounts, the refused ones nothing');
SELECT is(
	(SELECT string_agg(state, ',' ORDER BY hold_id) FROM transfer_guard_hold),
	'released,captured,released,captured',
	'each hold ended once, as captured or released');

-- row-level security applies, as it would to the caller's own UPDATE --------

SET LOCAL ROLE tg_tap_owner;
ALTER TABLE tg_tap.accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY clerk_sees_1_and_2 ON tg_tap.accounts TO tg_tap_clerk USING (id IN (1, 2));
RESET ROLE;
SET LOCAL ROLE tg_tap_clerk;
SELECT lives_ok(
	$$SELECT * FROM transfer('tg_tap.accounts', 1, 2, 1)$$,
	'a transfer between rows the policy shows succeeds');
SELECT throws_ok(
	$$SELECT * FROM transfer('tg_tap.accounts', 3, 1, 1)$$,
	'P0002', NULL,
	'a row hidden by a row-level security policy cannot be debited: it is not found (P0002)');
SELECT throws_ok(
	$$SELECT * FROM transfer('tg_tap.accounts', 1, 3, 1)$$,
	'P0002', NULL,
	'a row hidden by a row-level security policy cannot be credited: it is not found (P0002)');
SELECT results_eq(
	$$SELECT status, transfer_id, from_balance, to_balance
	    FROM try_transfer('tg_tap.accounts', 3, 1, 1)$$,
	$$VALUES ('not_found', NULL::bigint, NULL::numeric, NULL::numeric)$$,
	'try_transfer reports a row hidden by a row-level security policy as not_found, without balances');
SELECT results_eq(
	$$SELECT status, transfer_id, from_balance, to_balance
	    FROM try_transfer('tg_tap.accounts', 1, 3, 1)$$,
	$$VALUES ('not_found', NULL::bigint, NULL::numeric, NULL::numeric)$$,
	'try_transfer reports a hidden row to credit as not_found, without balances');
RESET ROLE;

-- unguard: the owner only, and it takes effect --------------------------------

SET LOCAL ROLE tg_tap_owner;
SELECT lives_ok(
	$$SELECT unguard('tg_tap.accounts', 'balance')$$,
	'the owner can unguard its table');
RESET ROLE;
SET LOCAL ROLE tg_tap_clerk;
SELECT throws_ok(
	$$SELECT * FROM transfer('tg_tap.accounts', 1, 2, 1)$$,
	'55000', NULL,
	'after the owner unguards, transfer refuses the table as not guarded (55000)');
SELECT throws_ok(
	$$SELECT * FROM try_transfer('tg_tap.accounts', 1, 2, 1)$$,
	'55000', NULL,
	'after the owner unguards, try_transfer refuses the table as not guarded (55000)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
