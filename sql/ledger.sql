--
-- ledger: the journal records every transfer and every leg of a batch, can
-- be switched off per guard, and reconciles with the balances.
--
CREATE TABLE j_acc (id int PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE j_fast (id int PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE j_stock (sku text PRIMARY KEY, units numeric(10,2) NOT NULL);
INSERT INTO j_acc SELECT g, 100 FROM generate_series(1, 4) g;
INSERT INTO j_fast SELECT g, 100 FROM generate_series(1, 2) g;
INSERT INTO j_stock VALUES ('apple', 10), ('pear', 0);
SELECT guard('j_acc', 'balance'),
	   guard('j_fast', 'balance', journal => false),
	   guard('j_stock', 'units');
SELECT tbl, balance_column, journal FROM transfer_guards
 WHERE tbl::text LIKE 'j\_%' ORDER BY 1;

-- a transfer is journaled with its tables, columns, keys, amount, the
-- balances after it, the calling role and the transaction id
BEGIN;
SELECT transfer_id AS t1 FROM transfer('j_acc', 1, 2, 30) \gset
SELECT j.transfer_id = :t1 AS same_id, j.batch_id, j.leg, j.from_table,
	   j.from_column, j.from_key, j.to_table, j.to_column, j.to_key, j.amount,
	   j.from_balance, j.to_balance, j.caller = current_user AS caller_ok,
	   j.txid = pg_current_xact_id() AS txid_ok, j.idempotency_key,
	   j.created_at = now() AS created_now
  FROM transfer_guard_journal AS j WHERE j.transfer_id = :t1;
COMMIT;

-- a rolled back transfer leaves no journal row
BEGIN;
SELECT transfer_id AS t2 FROM transfer('j_acc', 1, 2, 1) \gset
ROLLBACK;
SELECT count(*) AS rolled_back_rows FROM transfer_guard_journal WHERE transfer_id = :t2;

-- a failed transfer leaves none either
SELECT count(*) AS before FROM transfer_guard_journal \gset
SELECT * FROM tg_try($$SELECT * FROM transfer('j_acc', 3, 4, 1000)$$);
SELECT count(*) - :before AS added FROM transfer_guard_journal;

-- journal => false: not journaled; a move between a journaled and an
-- unjournaled guard is journaled (either side asks for it)
SELECT count(*) AS before FROM transfer_guard_journal \gset
SELECT from_balance, to_balance FROM transfer('j_fast', 1, 2, 5);
SELECT count(*) - :before AS added_fast FROM transfer_guard_journal;
SELECT from_balance, to_balance FROM transfer('j_fast', 1, 3, 5, to_table => 'j_acc');
SELECT from_table, to_table, amount FROM transfer_guard_journal
 ORDER BY transfer_id DESC LIMIT 1;

-- every leg of a batch is journaled, sharing the first leg's id as batch_id
SELECT leg, transfer_id AS bt FROM transfer_batch($$[
	{"from_table": "j_acc", "from_key": 2, "to_key": 3, "amount": 7},
	{"from_table": "j_stock", "from_key": "apple", "to_key": "pear", "amount": 2.5},
	{"from_table": "j_fast", "from_key": 2, "to_key": 1, "amount": 1}
]$$) WHERE leg = 1 \gset
SELECT leg, batch_id = :bt AS batch_ok, transfer_id - :bt AS id_offset,
	   from_table, from_key, to_key, amount, from_balance, to_balance
  FROM transfer_guard_journal WHERE batch_id = :bt ORDER BY leg;

-- reconciliation: for the journaled tables, every balance equals its start
-- plus the journal's credits minus its debits
WITH moves AS (
	SELECT to_table AS tbl, to_key AS k, amount FROM transfer_guard_journal
	UNION ALL
	SELECT from_table, from_key, -amount FROM transfer_guard_journal
), net AS (
	SELECT k::int AS id, sum(amount) AS delta FROM moves
	 WHERE tbl = 'j_acc'::regclass GROUP BY k
)
SELECT a.id, a.balance, 100 + coalesce(n.delta, 0) AS from_journal,
	   a.balance = 100 + coalesce(n.delta, 0) AS reconciles
  FROM j_acc AS a LEFT JOIN net AS n USING (id) ORDER BY a.id;

-- the journal keeps what the transfer stored: a fee trigger is reflected
CREATE FUNCTION j_fee() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.balance > OLD.balance THEN NEW.balance := NEW.balance - 1; END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER j_acc_fee BEFORE UPDATE ON j_acc FOR EACH ROW EXECUTE FUNCTION j_fee();
SELECT from_balance, to_balance FROM transfer('j_acc', 2, 1, 10);
SELECT from_balance, to_balance FROM transfer_guard_journal
 ORDER BY transfer_id DESC LIMIT 1;
DROP TRIGGER j_acc_fee ON j_acc;
DROP FUNCTION j_fee();

DROP TABLE j_acc, j_fast, j_stock;
