--
-- hot: rows marked hot with set_hot() take credits as pending credits,
-- without a lock on the row; settling folds them into the row with the
-- table's own UPDATE; a debit settles the row first; current_balance() is
-- exact throughout; nothing is lost or counted twice.
--
CREATE TABLE h_acc (id int PRIMARY KEY, balance numeric(12,2) NOT NULL,
	ver int NOT NULL DEFAULT 0);
INSERT INTO h_acc SELECT g, 100 FROM generate_series(1, 5) g;
SELECT guard('h_acc', 'balance', version_column => 'ver');
-- every change of a balance, as the table's triggers see it
CREATE TABLE h_log (id int, old_balance numeric, new_balance numeric);
CREATE FUNCTION h_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO h_log VALUES (NEW.id, OLD.balance, NEW.balance);
	RETURN NEW;
END $$;
CREATE TRIGGER h_acc_log AFTER UPDATE ON h_acc
	FOR EACH ROW EXECUTE FUNCTION h_log_change();
-- the sum of every exact balance: never changes
CREATE FUNCTION h_total() RETURNS numeric LANGUAGE sql AS
	$$SELECT sum(current_balance('h_acc', id::text)) FROM h_acc$$;

SELECT set_hot('h_acc', '1');
SELECT tbl, balance_column, key, slots, pending_count, pending_amount,
	   last_settle IS NULL AS never_settled
  FROM transfer_guard_hot_rows;

-- a credit to the hot row: no lock on it, to_balance NULL, journaled
SELECT from_balance, to_balance FROM transfer('h_acc', 2, 1, 10);
SELECT from_balance, to_balance FROM transfer('h_acc', 3, 1, 2.5);
SELECT from_key, to_key, amount, from_balance, to_balance
  FROM transfer_guard_journal WHERE to_table = 'h_acc'::regclass
 ORDER BY transfer_id;
SELECT key, amount, transfer_id = (SELECT max(transfer_id) FROM transfer_guard_journal) AS last
  FROM transfer_guard_pending ORDER BY transfer_id;
-- the column has not moved; the exact balance has
SELECT id, balance, ver, current_balance('h_acc', id::text) FROM h_acc ORDER BY id;
SELECT h_total();
SELECT count(*) AS trigger_rows_for_1 FROM h_log WHERE id = 1;

-- a hot credit rolled back leaves no pending credit
BEGIN;
SELECT from_balance, to_balance FROM transfer('h_acc', 4, 1, 1);
SELECT pending_count FROM transfer_guard_hot_rows;
ROLLBACK;
SELECT pending_count, pending_amount FROM transfer_guard_hot_rows;

-- in its own transaction, a credit and then current_balance() see it
BEGIN;
SELECT from_balance, to_balance FROM transfer('h_acc', 4, 1, 1);
SELECT current_balance('h_acc', '1');
ROLLBACK;

-- settle() folds the committed credits in one UPDATE: the trigger fires
-- once, the version moves once
SELECT settle('h_acc');
SELECT id, balance, ver FROM h_acc WHERE id = 1;
SELECT old_balance, new_balance FROM h_log WHERE id = 1;
SELECT pending_count, last_settle IS NOT NULL AS settled FROM transfer_guard_hot_rows;
SELECT settle('h_acc');
SELECT h_total();

-- a debit of the hot row settles it first, so its check sees every credit
SELECT from_balance, to_balance FROM transfer('h_acc', 5, 1, 20);
SELECT * FROM tg_try($$SELECT * FROM transfer('h_acc', 1, 2, 132.50)$$);
SELECT from_balance, to_balance FROM transfer('h_acc', 1, 2, 132.49);
SELECT id, balance, current_balance('h_acc', id::text) FROM h_acc ORDER BY id;
SELECT pending_count FROM transfer_guard_hot_rows;

-- try_transfer(): a refused debit still settles (nothing is lost)
SELECT from_balance, to_balance FROM transfer('h_acc', 5, 1, 3);
SELECT status, from_balance, to_balance FROM try_transfer('h_acc', 1, 2, 1000);
SELECT balance FROM h_acc WHERE id = 1;
SELECT pending_count FROM transfer_guard_hot_rows;
SELECT h_total();

-- a batch that credits and debits the hot row locks it: its credits are
-- applied at once; a batch that only credits it defers them
SELECT leg, from_balance, to_balance FROM transfer_batch(
	'[{"from_table": "h_acc", "from_key": 2, "to_key": 1, "amount": 1},
	  {"from_table": "h_acc", "from_key": 1, "to_key": 3, "amount": 2}]');
SELECT leg, from_balance, to_balance FROM transfer_batch(
	'[{"from_table": "h_acc", "from_key": 2, "to_key": 1, "amount": 1},
	  {"from_table": "h_acc", "from_key": 3, "to_key": 1, "amount": 1}]');
SELECT pending_count, pending_amount FROM transfer_guard_hot_rows;

-- idempotency keys replay a deferred credit's result
SELECT transfer_id AS first_id, to_balance FROM transfer('h_acc', 2, 1, 1, idempotency_key => 'h-1') \gset
SELECT transfer_id = :first_id AS same_id, to_balance FROM transfer('h_acc', 2, 1, 1, idempotency_key => 'h-1');
SELECT status FROM try_transfer('h_acc', 2, 1, 1, idempotency_key => 'h-1');
SELECT pending_count, pending_amount FROM transfer_guard_hot_rows;
SELECT h_total();

-- set_hot(hot => false) settles everything first
SELECT set_hot('h_acc', '1', hot => false);
SELECT count(*) AS hot_rows FROM transfer_guard_hot_rows;
SELECT count(*) AS pending FROM transfer_guard_pending;
SELECT id, balance, current_balance('h_acc', id::text) FROM h_acc ORDER BY id;
SELECT h_total();
-- credits lock the row again
SELECT from_balance, to_balance FROM transfer('h_acc', 2, 1, 1);
-- marking a row that is not hot as not hot says so
SELECT set_hot('h_acc', '1', hot => false);

-- the journal reconciles with the exact balances
SELECT id, current_balance('h_acc', id::text) - 100 AS moved,
	   coalesce((SELECT sum(amount) FROM transfer_guard_journal
				  WHERE to_table = 'h_acc'::regclass AND to_key = id::text), 0)
	 - coalesce((SELECT sum(amount) FROM transfer_guard_journal
				  WHERE from_table = 'h_acc'::regclass AND from_key = id::text), 0)
	   AS journaled
  FROM h_acc ORDER BY id;

-- errors ------------------------------------------------------------------
-- no such row; a key the key type cannot take; no such column
SELECT * FROM tg_try($$SELECT set_hot('h_acc', '99')$$);
SELECT * FROM tg_try($$SELECT set_hot('h_acc', 'x')$$);
SELECT * FROM tg_try($$SELECT set_hot('h_acc', '1', 'ver')$$);
SELECT * FROM tg_try($$SELECT current_balance('h_acc', '99')$$);
-- NULL arguments
SELECT * FROM tg_try($$SELECT set_hot(NULL, '1')$$);
SELECT * FROM tg_try($$SELECT set_hot('h_acc', NULL)$$);
SELECT * FROM tg_try($$SELECT set_hot('h_acc', '1', hot => NULL)$$);
SELECT * FROM tg_try($$SELECT current_balance('h_acc', NULL)$$);
-- slots
SELECT * FROM tg_try($$SELECT set_hot('h_acc', '1', slots => -1)$$);
SELECT * FROM tg_try($$SELECT set_hot('h_acc', '1', slots => 1025)$$);
SELECT * FROM tg_try($$SELECT set_hot('h_acc', '1', slots => NULL)$$);
-- a ceiling and hot rows exclude each other
CREATE TABLE h_cap (id int PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO h_cap VALUES (1, 0), (2, 100);
SELECT guard('h_cap', 'balance', max_balance => 1000);
SELECT * FROM tg_try($$SELECT set_hot('h_cap', '1')$$);
SELECT guard('h_cap', 'balance');
SELECT set_hot('h_cap', '1');
SELECT * FROM tg_try($$SELECT guard('h_cap', 'balance', max_balance => 1000)$$);
SELECT * FROM tg_try($$SELECT unguard('h_cap', 'balance')$$);
-- a table that is not guarded
CREATE TABLE h_plain (id int PRIMARY KEY, balance int);
SELECT * FROM tg_try($$SELECT set_hot('h_plain', '1')$$);
SELECT * FROM tg_try($$SELECT current_balance('h_plain', '1')$$);
-- read-only transactions refuse set_hot() and settle()
BEGIN READ ONLY;
SELECT * FROM tg_try($$SELECT set_hot('h_cap', '2')$$);
ROLLBACK;
BEGIN READ ONLY;
SELECT * FROM tg_try($$SELECT settle()$$);
ROLLBACK;
-- set_hot() waits for the credits in flight, then settles them: it needs a
-- new snapshot after the wait
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT * FROM tg_try($$SELECT set_hot('h_cap', '2')$$);
ROLLBACK;

-- a NULL balance keeps its pending credits
CREATE TABLE h_null (id int PRIMARY KEY, balance bigint);
INSERT INTO h_null VALUES (1, 0), (2, 100);
SELECT guard('h_null', 'balance');
SELECT set_hot('h_null', '1');
SELECT from_balance, to_balance FROM transfer('h_null', 2, 1, 5);
UPDATE h_null SET balance = NULL WHERE id = 1;
SELECT settle('h_null');
SELECT current_balance('h_null', '1');
SELECT * FROM tg_try($$SELECT set_hot('h_null', '1', hot => false)$$);
UPDATE h_null SET balance = 0 WHERE id = 1;
SELECT set_hot('h_null', '1', hot => false);
SELECT * FROM h_null ORDER BY id;

-- escrow slots ----------------------------------------------------------------
-- set_hot(..., slots => n) spreads what the row holds above its floor over
-- n slots, at the column's scale; the column keeps the rest
CREATE TABLE h_esc (id int PRIMARY KEY, balance numeric(12,2) NOT NULL,
	ver int NOT NULL DEFAULT 0);
INSERT INTO h_esc VALUES (1, 1000), (2, 100), (3, 100), (4, 100);
SELECT guard('h_esc', 'balance', min_balance => 10, version_column => 'ver');
CREATE FUNCTION h_esc_total() RETURNS numeric LANGUAGE sql AS
	$$SELECT sum(current_balance('h_esc', id::text)) FROM h_esc$$;
CREATE FUNCTION h_esc_slots() RETURNS TABLE (slot int, amount numeric) LANGUAGE sql AS
	$$SELECT slot, amount FROM transfer_guard_slots WHERE tbl = 'h_esc'::regclass ORDER BY slot$$;
SELECT set_hot('h_esc', '1', slots => 3);
SELECT * FROM h_esc_slots();
SELECT balance, ver, current_balance('h_esc', '1') FROM h_esc WHERE id = 1;
SELECT slots, slot_amount, pending_count FROM transfer_guard_hot_rows WHERE tbl = 'h_esc'::regclass;
-- a debit one slot covers takes that slot: the row is not locked (nor
-- updated), and from_balance is NULL
SELECT from_balance, to_balance FROM transfer('h_esc', 1, 2, 100);
SELECT sum(amount) AS in_slots, count(*) FILTER (WHERE amount = 330) AS untouched FROM h_esc_slots();
SELECT balance, ver, current_balance('h_esc', '1') FROM h_esc WHERE id = 1;
SELECT from_key, to_key, amount, from_balance, to_balance FROM transfer_guard_journal
 WHERE from_table = 'h_esc'::regclass ORDER BY transfer_id;
-- a debit no slot covers combines every slot into the row, under lock,
-- then fills them again from it: it is refused only if the total cannot
-- cover it
SELECT from_balance, to_balance FROM transfer('h_esc', 1, 3, 500);
SELECT * FROM h_esc_slots();
SELECT balance, ver, current_balance('h_esc', '1') FROM h_esc WHERE id = 1;
SELECT * FROM tg_try($$SELECT * FROM transfer('h_esc', 1, 3, 390.01)$$);
SELECT status, from_balance, to_balance FROM try_transfer('h_esc', 1, 3, 390.01);
SELECT from_balance, to_balance FROM transfer('h_esc', 1, 3, 390);
SELECT * FROM h_esc_slots();
SELECT balance, current_balance('h_esc', '1') FROM h_esc WHERE id = 1;
-- credits to a row with slots are deferred as to any hot row; a combine
-- settles them first
SELECT from_balance, to_balance FROM transfer('h_esc', 2, 1, 50.55);
SELECT * FROM tg_try($$SELECT * FROM transfer('h_esc', 1, 4, 50.56)$$);
SELECT from_balance, to_balance FROM transfer('h_esc', 1, 4, 50.55);
SELECT balance, current_balance('h_esc', '1') FROM h_esc WHERE id = 1;
SELECT h_esc_total();
-- a batch that debits the row twice takes one slot for both legs; one that
-- also credits it combines
SELECT set_hot('h_esc', '4', slots => 2);
SELECT leg, from_balance, to_balance FROM transfer_batch(
	'[{"from_table": "h_esc", "from_key": 4, "to_key": 2, "amount": 10},
	  {"from_table": "h_esc", "from_key": 4, "to_key": 3, "amount": 10}]');
SELECT amount FROM transfer_guard_slots WHERE tbl = 'h_esc'::regclass AND key = '4' ORDER BY amount;
SELECT leg, from_balance, to_balance FROM transfer_batch(
	'[{"from_table": "h_esc", "from_key": 2, "to_key": 4, "amount": 5},
	  {"from_table": "h_esc", "from_key": 4, "to_key": 3, "amount": 1}]');
SELECT amount FROM transfer_guard_slots WHERE tbl = 'h_esc'::regclass AND key = '4' ORDER BY amount;
SELECT h_esc_total();
-- a different number of slots, and none: the slots go back into the row
SELECT set_hot('h_esc', '4', slots => 5);
SELECT amount FROM transfer_guard_slots WHERE tbl = 'h_esc'::regclass AND key = '4' ORDER BY amount;
SELECT set_hot('h_esc', '4', slots => 0);
SELECT count(*) FROM transfer_guard_slots WHERE tbl = 'h_esc'::regclass AND key = '4';
SELECT balance, current_balance('h_esc', '4') FROM h_esc WHERE id = 4;
-- slots need a floor, and keep it: guard() may not remove or move it
-- meanwhile (the slots hold what was above the old one)
SELECT * FROM tg_try($$SELECT guard('h_esc', 'balance', min_balance => NULL)$$);
SELECT * FROM tg_try($$SELECT guard('h_esc', 'balance', min_balance => 900)$$);
SELECT h_esc_total();
SELECT set_hot('h_esc', '1', hot => false);
SELECT count(*) AS slots_left FROM transfer_guard_slots WHERE tbl = 'h_esc'::regclass;
SELECT id, balance, current_balance('h_esc', id::text) FROM h_esc ORDER BY id;
SELECT h_esc_total();
SELECT set_hot('h_esc', '4', hot => false);
-- a column without a floor cannot have slots
CREATE TABLE h_nofloor (id int PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO h_nofloor VALUES (1, 10);
SELECT guard('h_nofloor', 'balance', min_balance => NULL);
SELECT * FROM tg_try($$SELECT set_hot('h_nofloor', '1', slots => 2)$$);
SELECT set_hot('h_nofloor', '1');
SELECT set_hot('h_nofloor', '1', hot => false);
DROP TABLE h_esc, h_nofloor;
DROP FUNCTION h_esc_total(), h_esc_slots();

-- privileges ---------------------------------------------------------------
CREATE ROLE regress_hot_owner;
CREATE ROLE regress_hot_user;
GRANT CREATE ON SCHEMA public TO regress_hot_owner;
SET ROLE regress_hot_owner;
CREATE TABLE h_own (id int PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO h_own VALUES (1, 0), (2, 100), (3, 100);
SELECT guard('h_own', 'balance');
RESET ROLE;
-- only the table's owner may mark rows hot
SET ROLE regress_hot_user;
SELECT * FROM tg_try($$SELECT set_hot('h_own', '1')$$);
RESET ROLE;
SET ROLE regress_hot_owner;
SELECT set_hot('h_own', '1');
RESET ROLE;
-- a deferred credit needs the privileges of a plain UPDATE, as any other
SET ROLE regress_hot_user;
SELECT * FROM tg_try($$SELECT * FROM transfer('h_own', 2, 1, 5)$$);
RESET ROLE;
GRANT SELECT, UPDATE (balance) ON h_own TO regress_hot_user;
SET ROLE regress_hot_user;
SELECT from_balance, to_balance FROM transfer('h_own', 2, 1, 5);
-- the hot rows and pending credits are the owner's to see
SELECT count(*) AS visible FROM transfer_guard_hot_rows;
SELECT * FROM tg_try($$SELECT count(*) FROM transfer_guard_pending$$);
SELECT * FROM tg_try($$SELECT count(*) FROM transfer_guard_hot$$);
SELECT * FROM tg_try($$SELECT count(*) FROM transfer_guard_slots$$);
-- settle() settles the tables the caller may update; current_balance()
-- reads what the caller may read
SELECT current_balance('h_own', '1');
SELECT settle();
SELECT balance FROM h_own WHERE id = 1;
RESET ROLE;
-- a role that may not update the table settles nothing of it
SELECT from_balance, to_balance FROM transfer('h_own', 3, 1, 5);
REVOKE UPDATE (balance) ON h_own FROM regress_hot_user;
SET ROLE regress_hot_user;
SELECT settle();
SELECT * FROM tg_try($$SELECT settle('h_own')$$);
RESET ROLE;
SET ROLE regress_hot_owner;
SELECT pending_count FROM transfer_guard_hot_rows;
RESET ROLE;

-- row-level security: with a policy on the caller, the credit locks the
-- row, and a row the policy hides is not found, as for an UPDATE
ALTER TABLE h_own ENABLE ROW LEVEL SECURITY;
CREATE POLICY h_own_some ON h_own USING (id <> 1);
GRANT UPDATE (balance) ON h_own TO regress_hot_user;
SET ROLE regress_hot_user;
SELECT * FROM tg_try($$SELECT * FROM transfer('h_own', 2, 1, 1)$$);
RESET ROLE;
ALTER TABLE h_own DISABLE ROW LEVEL SECURITY;
DROP POLICY h_own_some ON h_own;

-- dropping a table forgets its hot rows and pending credits
SELECT from_balance, to_balance FROM transfer('h_own', 3, 1, 1);
DROP TABLE h_own;
SELECT count(*) AS hot_left FROM transfer_guard_hot
 WHERE tbl::text NOT IN ('h_cap');
SELECT count(*) AS pending_left FROM transfer_guard_pending;
DROP ROLE regress_hot_user;
REVOKE CREATE ON SCHEMA public FROM regress_hot_owner;
DROP ROLE regress_hot_owner;

-- without the library in shared_preload_libraries, waits for rows are not
-- counted: the view is empty, and says why
SELECT * FROM transfer_guard_contention;
SELECT transfer_guard_contention_reset();

SELECT set_hot('h_cap', '1', hot => false);
DROP TABLE h_acc, h_log, h_cap, h_plain, h_null;
DROP FUNCTION h_log_change(), h_total();
