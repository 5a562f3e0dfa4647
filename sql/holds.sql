--
-- holds: hold() takes the amount from its source at once; capture() moves
-- all or part of it to the destination and gives the rest back; release()
-- gives it all back; a hold past its expiry is released as expired.  The
-- sum of the balances and the open holds never changes, and the journal
-- accounts for every step.
--
CREATE TABLE o_acc (id int PRIMARY KEY, balance numeric(12,2) NOT NULL,
	ver int NOT NULL DEFAULT 0);
INSERT INTO o_acc SELECT g, 100 FROM generate_series(1, 4) g;
SELECT guard('o_acc', 'balance', version_column => 'ver');
-- a shop with a ceiling, another table and column type
CREATE TABLE o_shop (code text PRIMARY KEY, till bigint NOT NULL);
INSERT INTO o_shop VALUES ('main', 0), ('small', 990);
SELECT guard('o_shop', 'till', max_balance => 1000);
-- every change of a balance, as the tables' triggers see it, and by whom
CREATE TABLE o_log (tbl text, k text, old_balance numeric, new_balance numeric, who name);
CREATE FUNCTION o_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_TABLE_NAME = 'o_acc' THEN
		INSERT INTO o_log VALUES (TG_TABLE_NAME, NEW.id::text, OLD.balance, NEW.balance, current_user);
	ELSE
		INSERT INTO o_log VALUES (TG_TABLE_NAME, NEW.code, OLD.till, NEW.till, current_user);
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER o_acc_log AFTER UPDATE ON o_acc
	FOR EACH ROW EXECUTE FUNCTION o_log_change();
CREATE TRIGGER o_shop_log AFTER UPDATE ON o_shop
	FOR EACH ROW EXECUTE FUNCTION o_log_change();
-- the books: every balance plus every open hold, which never changes
CREATE FUNCTION o_total() RETURNS numeric LANGUAGE sql AS $$
	SELECT (SELECT sum(balance) FROM o_acc) + (SELECT sum(till) FROM o_shop)
		 + (SELECT coalesce(sum(amount), 0) FROM transfer_guard_holds WHERE state = 'held')
$$;
SELECT o_total() AS total_at_start;
-- ids from a known point, so that messages naming a hold are the same in
-- every run; each hold's id also goes into a variable (h1, h2, ...)
SELECT setval('transfer_guard_transfer_id_seq', 100000) IS NOT NULL AS ids_from_100001;

-- a hold: the source pays now, the destination is only recorded
SELECT hold_id AS h1, from_balance FROM hold('o_acc', '1', 'main', 30,
	to_table => 'o_shop') \gset
SELECT :'from_balance' AS from_balance;
SELECT hold_id AS h2, from_balance FROM hold('o_acc', 1, 2, 20.50,
	expires_in => '1 hour') \gset
SELECT :'from_balance' AS from_balance;
SELECT * FROM o_acc ORDER BY id;
SELECT from_table, from_column, from_key, to_table,
	   to_column, to_key, amount, state, placed_by,
	   expires_at IS NOT NULL AS expires, transfer_id, captured, closed_at
  FROM transfer_guard_holds ORDER BY hold_id;
SELECT o_total() AS total;

-- capture part of it: the capture to the destination, the rest back
SELECT transfer_id > :h2 AS after_holds, from_balance, to_balance
  FROM capture(:h1, 12);
SELECT * FROM o_acc ORDER BY id;
SELECT * FROM o_shop ORDER BY code;
SELECT state, captured, transfer_id > :h2 AS after_holds
  FROM transfer_guard_holds ORDER BY hold_id;
-- one capture per hold
SELECT * FROM tg_try(format('SELECT * FROM capture(%s)', :h1));
SELECT status, transfer_id = (SELECT transfer_id FROM transfer_guard_holds
		WHERE hold_id = :h1) AS same_capture, from_balance, to_balance
  FROM try_capture(:h1);
SELECT * FROM tg_try(format('SELECT release(%s)', :h1));
-- the whole of a hold: nothing comes back, from_balance is NULL
SELECT transfer_id > :h2 AS after_holds, from_balance, to_balance
  FROM capture(:h2);
SELECT * FROM o_acc ORDER BY id;
SELECT o_total() AS total;

-- release: everything back
SELECT hold_id AS h3 FROM hold('o_acc', 3, 4, 40) \gset
SELECT release(:h3);
SELECT * FROM tg_try(format('SELECT release(%s)', :h3));
SELECT * FROM tg_try(format('SELECT * FROM capture(%s)', :h3));
SELECT status, transfer_id, from_balance, to_balance FROM try_capture(:h3);
SELECT id, balance FROM o_acc WHERE id = 3;

-- the journal: a hold has no destination yet, its later steps no source
SELECT kind, hold_id - :h1 AS hold,
	   from_table, from_key, to_table, to_key, amount, from_balance, to_balance
  FROM transfer_guard_journal WHERE kind <> 'transfer' ORDER BY transfer_id;
-- the triggers fired for each credit and debit, as the caller
SELECT tbl, k, old_balance, new_balance, who FROM o_log ORDER BY ctid;

-- statuses of try_capture: not_found, exceeds_hold, limit_exceeded (the
-- hold stays open), ok
SELECT status, transfer_id, from_balance, to_balance FROM try_capture(-1);
SELECT hold_id AS h4 FROM hold('o_acc', '4', 'small', 25, to_table => 'o_shop') \gset
SELECT status, transfer_id, from_balance, to_balance FROM try_capture(:h4, 26);
SELECT * FROM tg_try(format('SELECT * FROM capture(%s, 26)', :h4));
SELECT status, transfer_id, from_balance, to_balance FROM try_capture(:h4);
SELECT * FROM tg_try(format('SELECT * FROM capture(%s)', :h4));
SELECT state FROM transfer_guard_holds WHERE hold_id = :h4;
SELECT status, transfer_id > :h4 AS after_hold, from_balance, to_balance
  FROM try_capture(:h4, 10);
SELECT * FROM o_shop ORDER BY code;
SELECT o_total() AS total;

-- expiry: capture() of a hold past its expiry raises, and leaves it held
-- (its error undoes the release); try_capture() releases it as expired;
-- release() of one gives it back as expired; release_expired() releases
-- the rest
SELECT hold_id AS h5 FROM hold('o_acc', 2, 1, 5, expires_in => '1 millisecond') \gset
SELECT hold_id AS h6 FROM hold('o_acc', 2, 1, 6, expires_in => '1 millisecond') \gset
SELECT hold_id AS h7 FROM hold('o_acc', 2, 1, 7, expires_in => '1 millisecond') \gset
SELECT hold_id AS h8 FROM hold('o_acc', 2, 1, 8, expires_in => '1 millisecond') \gset
SELECT hold_id AS h9 FROM hold('o_acc', 2, 1, 9, expires_in => '1 hour') \gset
SELECT pg_sleep(0.05);
SELECT * FROM tg_try(format('SELECT * FROM capture(%s)', :h5));
SELECT state FROM transfer_guard_holds WHERE hold_id = :h5;
SELECT status, transfer_id, from_balance, to_balance FROM try_capture(:h5);
SELECT * FROM tg_try(format('SELECT * FROM capture(%s)', :h5));
SELECT * FROM tg_try(format('SELECT release(%s)', :h5));
SELECT release(:h6);
SELECT release_expired();
SELECT release_expired();
SELECT state, amount FROM transfer_guard_holds
 WHERE hold_id >= :h5 ORDER BY hold_id;
SELECT kind, hold_id - :h5 AS hold, to_key, amount FROM transfer_guard_journal
 WHERE hold_id >= :h5 AND kind <> 'hold' ORDER BY transfer_id;
SELECT id, balance FROM o_acc WHERE id = 2;
SELECT release(:h9);
SELECT o_total() AS total;

-- bad input: an error, and nothing moves
SELECT * FROM tg_try($$SELECT * FROM hold('o_acc', 1, 1, 5)$$);
SELECT * FROM tg_try($$SELECT * FROM hold('o_acc', 1, 2, 0)$$);
SELECT * FROM tg_try($$SELECT * FROM hold('o_acc', 1, 2, -5)$$);
SELECT * FROM tg_try($$SELECT * FROM hold('o_acc', 1, 2, 'NaN')$$);
SELECT * FROM tg_try($$SELECT * FROM hold('o_acc', 1, 2, 0.001)$$);
SELECT * FROM tg_try($$SELECT * FROM hold('o_acc', '1', 'main', 0.5, to_table => 'o_shop')$$);
SELECT * FROM tg_try($$SELECT * FROM hold('o_acc', 1, 2, NULL)$$);
SELECT * FROM tg_try($$SELECT * FROM hold(NULL, 1, 2, 5)$$);
SELECT * FROM tg_try($$SELECT * FROM hold('o_acc', NULL::int, 2, 5)$$);
SELECT * FROM tg_try($$SELECT * FROM hold('o_acc', 1, 2, 5, expires_in => '0')$$);
SELECT * FROM tg_try($$SELECT * FROM hold('o_acc', 1, 2, 5, expires_in => '-1 minute')$$);
SELECT * FROM tg_try($$SELECT * FROM hold('o_acc', 1, 2, 500)$$);
SELECT * FROM tg_try($$SELECT * FROM hold('o_acc', 1, 9, 5)$$);
SELECT * FROM tg_try($$SELECT * FROM hold('o_acc', 9, 1, 5)$$);
SELECT * FROM tg_try($$SELECT * FROM hold('o_acc', '1', 'nope', 5, to_table => 'o_shop')$$);
SELECT * FROM tg_try($$SELECT * FROM hold('o_acc', '1', 'main', 5, to_table => 'o_log')$$);
SELECT * FROM tg_try($$SELECT * FROM capture(NULL)$$);
SELECT * FROM tg_try($$SELECT * FROM capture(-1)$$);
SELECT * FROM tg_try(format('SELECT * FROM capture(%s, 0)', :h9));
SELECT * FROM tg_try(format('SELECT * FROM capture(%s, %L)', :h9, 'NaN'));
SELECT * FROM tg_try($$SELECT release(NULL)$$);
SELECT * FROM tg_try($$SELECT release(12345678)$$);
SELECT o_total() AS total;
SELECT count(*) AS open_holds FROM transfer_guard_holds WHERE state = 'held';

-- an idempotency key: the same request replays the hold; another request,
-- or another expiry, is TG001
SELECT hold_id AS h10, from_balance FROM hold('o_acc', 3, 4, 1,
	expires_in => '1 day', idempotency_key => 'hold-order-1') \gset
SELECT :'from_balance' AS from_balance;
SELECT hold_id = :h10 AS same_hold, from_balance FROM hold('o_acc', 3, 4, 1.00,
	expires_in => '24 hours', idempotency_key => 'hold-order-1');
SELECT * FROM tg_try($$SELECT * FROM hold('o_acc', 3, 4, 1, expires_in => '2 days', idempotency_key => 'hold-order-1')$$);
SELECT * FROM tg_try($$SELECT * FROM hold('o_acc', 3, 4, 1, idempotency_key => 'hold-order-1')$$);
SELECT * FROM tg_try($$SELECT * FROM hold('o_acc', 3, 1, 1, expires_in => '1 day', idempotency_key => 'hold-order-1')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('o_acc', 3, 4, 1, idempotency_key => 'hold-order-1')$$);
SELECT count(*) AS holds_for_order_1 FROM transfer_guard_journal WHERE idempotency_key = 'hold-order-1';
SELECT release(:h10);

-- who may act: the role that placed a hold and the owners of its tables;
-- privileges apply as for transfer(), to each credit
CREATE ROLE regress_tg_buyer;
CREATE ROLE regress_tg_other;
GRANT SELECT, UPDATE ON o_acc TO regress_tg_buyer, regress_tg_other;
GRANT SELECT (code, till), UPDATE (till) ON o_shop TO regress_tg_buyer;
GRANT INSERT ON o_log TO regress_tg_buyer, regress_tg_other;
SET ROLE regress_tg_buyer;
SELECT hold_id AS h12 FROM hold('o_acc', '1', 'main', 3, to_table => 'o_shop') \gset
SELECT hold_id AS h13 FROM hold('o_acc', '1', 'main', 4, to_table => 'o_shop') \gset
SELECT hold_id AS h14 FROM hold('o_acc', 1, 2, 5) \gset
SELECT amount, placed_by, state FROM transfer_guard_holds ORDER BY hold_id;
SET ROLE regress_tg_other;
-- sees none of them, may act on none
SELECT count(*) AS visible FROM transfer_guard_holds;
SELECT * FROM tg_try(format('SELECT * FROM capture(%s)', :h12));
SELECT * FROM tg_try(format('SELECT * FROM try_capture(%s)', :h12));
SELECT * FROM tg_try(format('SELECT release(%s)', :h12));
SELECT release_expired();
-- no privilege on the destination's column: denied, as transfer() is
SELECT * FROM tg_try($$SELECT * FROM hold('o_acc', '2', 'main', 1, to_table => 'o_shop')$$);
SET ROLE regress_tg_buyer;
SELECT transfer_id > 0 AS captured, from_balance, to_balance FROM capture(:h12);
RESET ROLE;
REVOKE UPDATE ON o_shop FROM regress_tg_buyer;
SET ROLE regress_tg_buyer;
SELECT * FROM tg_try(format('SELECT * FROM capture(%s)', :h13));
-- row-level security: a policy hiding the destination from the caller
-- makes a capture not find it (the hold stays open) and a new hold fail
RESET ROLE;
GRANT UPDATE (till) ON o_shop TO regress_tg_buyer;
ALTER TABLE o_shop ENABLE ROW LEVEL SECURITY;
CREATE POLICY o_shop_not_main ON o_shop USING (code <> 'main');
SET ROLE regress_tg_buyer;
SELECT * FROM tg_try(format('SELECT * FROM capture(%s)', :h13));
SELECT * FROM tg_try($$SELECT * FROM hold('o_acc', '1', 'main', 1, to_table => 'o_shop')$$);
SELECT state FROM transfer_guard_holds WHERE hold_id = :h13;
RESET ROLE;
DROP POLICY o_shop_not_main ON o_shop;
ALTER TABLE o_shop DISABLE ROW LEVEL SECURITY;
-- the owner of the tables may act on them; the triggers saw each role
SELECT release(:h13);
SELECT release(:h14);
SELECT tbl, k, new_balance - old_balance AS change, who FROM o_log
 WHERE who <> current_user ORDER BY ctid;

-- hot rows: a hold from a row with slots takes a slot; a capture to a hot
-- row is a pending credit
SELECT set_hot('o_acc', '4', slots => 2);
SELECT hold_id AS h16 FROM hold('o_acc', 4, 3, 10) \gset
SELECT from_balance FROM transfer_guard_journal WHERE hold_id = :h16;
SELECT set_hot('o_acc', '3');
SELECT transfer_id > 0 AS captured, from_balance, to_balance FROM capture(:h16, 4);
SELECT id, balance, current_balance('o_acc', id::text) FROM o_acc ORDER BY id;
SELECT set_hot('o_acc', '3', hot => false);
SELECT set_hot('o_acc', '4', hot => false);
SELECT * FROM o_acc ORDER BY id;

-- open holds keep their columns guarded and their tables in place
SELECT hold_id AS h17 FROM hold('o_acc', '1', 'main', 2, to_table => 'o_shop') \gset
SELECT * FROM tg_try($$SELECT unguard('o_shop', 'till')$$);
SELECT * FROM tg_try($$SELECT unguard('o_acc', 'balance')$$);
SELECT * FROM tg_try($$DROP TABLE o_shop$$);
SELECT * FROM tg_try($$ALTER TABLE o_acc DROP COLUMN balance$$);
SELECT * FROM tg_try($$DROP TABLE o_acc, o_shop$$);
-- in a read-only transaction, nothing
BEGIN READ ONLY;
SELECT * FROM tg_try(format('SELECT release(%s)', :h17));
ROLLBACK;
SELECT from_balance, to_balance FROM capture(:h17, 1);

-- a rolled-back hold leaves nothing; a rolled-back capture leaves the hold
BEGIN;
SELECT hold_id AS h18 FROM hold('o_acc', 2, 3, 50) \gset
ROLLBACK;
SELECT count(*) AS rolled_back FROM transfer_guard_holds WHERE hold_id = :h18;
SELECT hold_id AS h19 FROM hold('o_acc', 2, 3, 50) \gset
BEGIN;
SELECT transfer_id > 0 AS captured FROM capture(:h19);
ROLLBACK;
SELECT state FROM transfer_guard_holds WHERE hold_id = :h19;
SELECT release(:h19);

-- a hold's keys are kept in a form no setting changes: a date key written
-- under one DateStyle is read back under another as the same row
CREATE TABLE o_dated (day date PRIMARY KEY, balance int NOT NULL);
INSERT INTO o_dated VALUES ('2024-01-02', 100), ('2024-02-01', 0), ('2024-03-03', 0);
SELECT guard('o_dated', 'balance');
SET DateStyle = 'SQL, DMY';
SELECT hold_id AS h20 FROM hold('o_dated', '02/01/2024', '03/03/2024', 40) \gset
SELECT from_key, to_key FROM transfer_guard_holds WHERE hold_id = :h20;
RESET DateStyle;
SELECT release(:h20);
SELECT * FROM o_dated ORDER BY day;
SET DateStyle = 'SQL, DMY';
SELECT hold_id AS h21 FROM hold('o_dated', '02/01/2024', '03/03/2024', 40) \gset
SET DateStyle = 'German';
SELECT from_balance, to_balance FROM capture(:h21, 30);
RESET DateStyle;
SELECT * FROM o_dated ORDER BY day;
DROP TABLE o_dated;

-- the books balance: the total never moved, and the journal reconciles
-- every balance exactly (start plus credits minus debits); a hold's steps
-- net to the amount still held
SELECT o_total() AS total_at_end;
WITH m AS (
	SELECT to_key AS k, amount AS delta FROM transfer_guard_journal
	 WHERE to_table = 'o_acc'::regclass
	UNION ALL
	SELECT from_key, -amount FROM transfer_guard_journal
	 WHERE from_table = 'o_acc'::regclass)
SELECT a.id, a.balance, 100 + coalesce(sum(m.delta), 0) AS from_journal
  FROM o_acc a LEFT JOIN m ON m.k = a.id::text
 GROUP BY a.id, a.balance ORDER BY a.id;
SELECT j.hold_id IS NOT NULL AS all_steps,
	   sum(CASE WHEN j.kind = 'hold' THEN j.amount ELSE -j.amount END) AS still_held,
	   (SELECT coalesce(sum(amount), 0) FROM transfer_guard_holds WHERE state = 'held') AS open_holds
  FROM transfer_guard_journal j WHERE j.kind <> 'transfer'
 GROUP BY 1;

SELECT release(hold_id) FROM transfer_guard_holds WHERE state = 'held';
DROP TABLE o_acc, o_shop, o_log;
DROP FUNCTION o_log_change(), o_total();
DROP ROLE regress_tg_buyer, regress_tg_other;
