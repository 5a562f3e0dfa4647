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
-- Holds (1.5) are journaled step by step: the hold row takes the amount
-- from its source and has no destination, its capture, release and expiry
-- rows pay out of the hold and have no source; all carry the hold's id.
-- So every balance is still its start plus the rows paying to it minus the
-- rows paying from it, and a hold is open for its hold row less its other
-- rows.
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

SELECT plan(61);

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

-- holds: one row per step, one side each ---------------------------------------

SET LOCAL ROLE tg_tap_clerk;
SELECT hold_id AS jh1 FROM hold('tg_tap.a', 1, 2, 40, to_table => 'tg_tap.b') \gset
SELECT hold_id AS jh2 FROM hold('tg_tap.a', 2, 1, 25, expires_in => '00:00:00.000001') \gset
SELECT hold_id AS jh3 FROM hold('tg_tap.b', 1, 2, 15, to_table => 'tg_tap.a') \gset
SELECT hold_id AS jh4 FROM hold('tg_tap.a', 1, 2, 10) \gset
SELECT hold_id AS jh5 FROM hold('tg_tap.a', 2, 1, 8, to_table => 'tg_tap.b', idempotency_key => 'tap-hold-1') \gset
SELECT lives_ok(format('SELECT * FROM capture(%s, 30)', :jh1), 'the role captures 30 of a hold of 40 from a to b');
SELECT lives_ok(format('SELECT release(%s)', :jh3), 'the role releases a hold from b');
SELECT lives_ok(format('SELECT * FROM capture(%s)', :jh5), 'the role captures all of a keyed hold');
SELECT results_eq('SELECT release_expired() FROM pg_sleep(0.01)', $$VALUES (1::bigint)$$,
	'release_expired() releases the role''s hold past its expiry');
RESET ROLE;

SELECT results_eq(
	format($$SELECT kind, from_table, from_column, from_key, to_table, to_column, to_key, amount
	           FROM transfer_guard_journal WHERE hold_id = %s ORDER BY transfer_id$$, :jh1),
	$$VALUES ('hold', 'tg_tap.a'::regclass, 'balance'::name, '1', NULL::regclass, NULL::name, NULL, 40::numeric),
	         ('capture', NULL, NULL, NULL, 'tg_tap.b', 'balance', '2', 30),
	         ('release', NULL, NULL, NULL, 'tg_tap.a', 'balance', '1', 10)$$,
	'a partial capture: a hold row from the source without destination, a capture row to the destination and a release row of the rest to the source, without source');
SELECT results_eq(
	format($$SELECT kind, from_table, from_key, to_table, to_key, amount
	           FROM transfer_guard_journal WHERE hold_id = %s ORDER BY transfer_id$$, :jh2),
	$$VALUES ('hold', 'tg_tap.a'::regclass, '2', NULL::regclass, NULL, 25::numeric),
	         ('expire', NULL, NULL, 'tg_tap.a', '2', 25)$$,
	'an expired hold: its hold row, and an expire row back to the source, without source');
SELECT results_eq(
	format($$SELECT kind, from_table, from_key, to_table, to_key, amount
	           FROM transfer_guard_journal WHERE hold_id = %s ORDER BY transfer_id$$, :jh3),
	$$VALUES ('hold', 'tg_tap.b'::regclass, '1', NULL::regclass, NULL, 15::numeric),
	         ('release', NULL, NULL, 'tg_tap.b', '1', 15)$$,
	'a released hold: its hold row, and a release row back to the source, without source');
SELECT results_eq(
	format($$SELECT kind, from_table, from_key, to_table, to_key, amount
	           FROM transfer_guard_journal WHERE hold_id = %s ORDER BY transfer_id$$, :jh4),
	$$VALUES ('hold', 'tg_tap.a'::regclass, '1', NULL::regclass, NULL, 10::numeric)$$,
	'an open hold: its hold row alone');
SELECT results_eq(
	format($$SELECT kind, from_table, from_key, to_table, to_key, amount, idempotency_key
	           FROM transfer_guard_journal WHERE hold_id = %s ORDER BY transfer_id$$, :jh5),
	$$VALUES ('hold', 'tg_tap.a'::regclass, '2', NULL::regclass, NULL, 8::numeric, 'tap-hold-1'),
	         ('capture', NULL, NULL, 'tg_tap.b', '1', 8, NULL)$$,
	'a hold captured in full: its hold row, with its idempotency key, and a capture row; nothing comes back');
SELECT is(
	(SELECT count(*) FROM transfer_guard_journal
	  WHERE kind = 'hold' AND transfer_id IS DISTINCT FROM hold_id),
	0::bigint,
	'the hold_id of each hold is the transfer_id of its hold row');
SELECT is(
	(SELECT count(*) FROM transfer_guard_journal j JOIN transfer_guard_hold h USING (hold_id)
	  WHERE j.kind = 'capture' AND j.transfer_id IS DISTINCT FROM h.transfer_id),
	0::bigint,
	'the transfer_id a hold records for its capture is that of its capture row');
SELECT is(
	(SELECT count(*) FROM transfer_guard_journal
	  WHERE (from_table IS NULL) <> (from_column IS NULL) OR (from_table IS NULL) <> (from_key IS NULL)
		 OR (to_table IS NULL) <> (to_column IS NULL) OR (to_table IS NULL) <> (to_key IS NULL)
		 OR (from_table IS NULL) <> (from_balance IS NULL) OR (to_table IS NULL) <> (to_balance IS NULL)),
	0::bigint,
	'a missing side is missing whole: table, column, key and balance');
SELECT results_eq(
	$$SELECT kind, count(*)::int, count(hold_id)::int, count(DISTINCT caller)::int
	    FROM transfer_guard_journal GROUP BY kind ORDER BY kind$$,
	$$VALUES ('capture', 2, 2, 1), ('expire', 1, 1, 1), ('hold', 5, 5, 1), ('release', 2, 2, 1), ('transfer', 7, 0, 1)$$,
	'the journal holds 7 transfer rows without hold_id, and the 10 steps of the holds with theirs, every one naming the calling role');
SELECT results_eq(
	format($$SELECT from_balance, to_balance FROM transfer_guard_journal WHERE hold_id = %s ORDER BY transfer_id$$, :jh1),
	$$VALUES (990 - 40::numeric, NULL::numeric), (NULL, 1018 + 30), (NULL, 990 - 40 - 10 + 10)$$,
	'each step records the balance of its one side after it: the source after the hold, the destination after the capture, the source after the rest came back');

-- reconciling: every balance is its start plus its credits minus its debits,
-- and the money is in the balances and the open holds
SELECT set_eq(
	$$SELECT t::text, id::text, balance::numeric FROM (
	    SELECT 'tg_tap.a'::regclass AS t, id, balance FROM tg_tap.a
	    UNION ALL SELECT 'tg_tap.b'::regclass, id, balance FROM tg_tap.b) AS x$$,
	$$SELECT r.t::text, r.k,
	         1000 + COALESCE((SELECT sum(amount) FROM transfer_guard_journal WHERE to_table = r.t AND to_key = r.k), 0)
	              - COALESCE((SELECT sum(amount) FROM transfer_guard_journal WHERE from_table = r.t AND from_key = r.k), 0)
	    FROM (VALUES ('tg_tap.a'::regclass, '1'), ('tg_tap.a', '2'), ('tg_tap.b', '1'), ('tg_tap.b', '2')) AS r(t, k)$$,
	'every balance is its start (1000) plus the journal rows paying to it minus those paying from it, steps of holds included');
SELECT set_eq(
	$$SELECT hold_id, sum(amount) FILTER (WHERE kind = 'hold') - COALESCE(sum(amount) FILTER (WHERE kind <> 'hold'), 0)
	    FROM transfer_guard_journal WHERE hold_id IS NOT NULL GROUP BY hold_id$$,
	$$SELECT hold_id, CASE WHEN state = 'held' THEN amount ELSE 0 END FROM transfer_guard_hold$$,
	'each hold is open for its hold row less its other rows: the held amount while it is held, nothing once it is closed');
SELECT is(
	(SELECT sum(balance) FROM tg_tap.a) + (SELECT sum(balance) FROM tg_tap.b)
		+ (SELECT sum(amount) FROM transfer_guard_hold WHERE state = 'held'),
	4000::numeric,
	'the balances and the open hold add up to the 4000 the four rows started with');

-- reading: the view shows each owner the steps touching its table
SET LOCAL ROLE tg_tap_owner_b;
SELECT set_eq(
	$$SELECT kind, from_table, to_table, amount FROM transfer_journal WHERE hold_id IS NOT NULL$$,
	$$VALUES ('capture', NULL::regclass, 'tg_tap.b'::regclass, 30::numeric),
	         ('hold', 'tg_tap.b', NULL, 15),
	         ('release', NULL, 'tg_tap.b', 15),
	         ('capture', NULL, 'tg_tap.b', 8)$$,
	'the owner of table b sees, through transfer_journal, the steps of holds paying to b or drawn from b, not the hold rows drawn from a');
RESET ROLE;
SET LOCAL ROLE tg_tap_clerk;
SELECT is(
	(SELECT count(*) FROM transfer_journal),
	0::bigint,
	'the role that placed the holds, owning no table, sees none of their rows through transfer_journal');
SELECT throws_ok(
	$$INSERT INTO transfer_guard_journal (transfer_id, leg, to_table, to_column, to_key, amount, caller, txid, hold_id, kind)
	  VALUES (-1, 1, 'tg_tap.a', 'balance', '1', 1000, 'tg_tap_clerk', pg_current_xact_id(), -1, 'release')$$,
	'42501', NULL,
	'a role that places holds cannot write a release row of its own into the journal (42501)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
