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

--
-- the journal records each key as the row holds it, not as the caller
-- spelled it: the key column's text of the locked row (what id::text
-- gives), so that the reconciliation query of docs/design.md, which joins on
-- id::text, and a lookup of one row's history find every row
--
CREATE TABLE j_num (id numeric PRIMARY KEY, balance int NOT NULL);
CREATE TABLE j_char (id char(4) PRIMARY KEY, balance int NOT NULL);
CREATE COLLATION j_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE j_ci_t (id text COLLATE j_ci PRIMARY KEY, balance int NOT NULL);
CREATE EXTENSION citext;
CREATE TABLE j_cit (id citext PRIMARY KEY, balance int NOT NULL);
INSERT INTO j_num VALUES (1, 100), (2.5, 100), (3.000, 100);
INSERT INTO j_char VALUES ('a', 100), ('b', 100);
INSERT INTO j_ci_t VALUES ('Alice', 100), ('bob', 100);
INSERT INTO j_cit VALUES ('Carol', 100), ('dave', 100);
SELECT guard('j_num', 'balance'), guard('j_char', 'balance'),
	   guard('j_ci_t', 'balance'), guard('j_cit', 'balance');
SELECT count(*) AS before FROM transfer_guard_journal \gset
-- numbers spelled with other scales, as numeric, text or a batch's JSON
SELECT from_balance, to_balance FROM transfer('j_num', 1.0, 2.50, 5);
SELECT from_balance, to_balance FROM transfer('j_num', '3', '1.00', 5);
SELECT from_balance, to_balance FROM transfer('j_num', 2.5, 3, 1);
SELECT count(*) FROM transfer_batch($$[
	{"from_table": "j_num", "from_key": "1.000", "to_key": 2.500, "amount": 1},
	{"from_table": "j_char", "from_key": "a   ", "to_key": "b", "amount": 1}
]$$);
-- char(n) with and without its padding
SELECT from_balance, to_balance FROM transfer('j_char', 'a', 'b   ', 5);
SELECT from_balance, to_balance FROM transfer('j_char', 'b'::char(4), 'a '::text, 5);
-- a case-insensitive collation and citext: the row's own spelling
SELECT from_balance, to_balance FROM transfer('j_ci_t', 'ALICE', 'Bob', 5);
SELECT from_balance, to_balance FROM transfer('j_cit', 'carol', 'DAVE', 5);
SELECT status FROM try_transfer('j_cit', 'DAVE'::citext, 'CAROL'::citext, 1);
SELECT from_table, from_key, to_key, amount FROM transfer_guard_journal
 ORDER BY transfer_id OFFSET :before;
-- docs/design.md's reconciliation query matches every journal row of each table
CREATE FUNCTION j_reconcile(tbl regclass) RETURNS TABLE (rows_matched bigint,
	journal_rows bigint, reconciles boolean) LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format($q$
	WITH r AS (
	SELECT a.id, a.balance, 100 + coalesce(sum(m.delta), 0) AS from_journal,
		   count(m.k) AS matched
	  FROM %1$s a
	  LEFT JOIN (SELECT to_key AS k, amount AS delta FROM transfer_guard_journal WHERE to_table = %2$L::regclass
				 UNION ALL
				 SELECT from_key, -amount FROM transfer_guard_journal WHERE from_table = %2$L::regclass) m
		ON m.k = a.id::text
	 GROUP BY a.id, a.balance)
	SELECT sum(matched)::bigint,
		   (SELECT count(*) FROM transfer_guard_journal WHERE to_table = %2$L::regclass)
		   + (SELECT count(*) FROM transfer_guard_journal WHERE from_table = %2$L::regclass),
		   bool_and(balance = from_journal)
	  FROM r$q$, tbl, tbl::text);
END $$;
SELECT t, r.* FROM unnest(ARRAY['j_num', 'j_char', 'j_ci_t', 'j_cit']::regclass[]) AS t,
	   j_reconcile(t) AS r;
-- and one row's history is found by its own spelling
SELECT count(*) AS history_of_carol FROM transfer_guard_journal
 WHERE (from_table = 'j_cit'::regclass AND from_key = 'Carol')
	OR (to_table = 'j_cit'::regclass AND to_key = 'Carol');
DROP FUNCTION j_reconcile(regclass);
DROP TABLE j_num, j_char, j_ci_t, j_cit;
DROP COLLATION j_ci;
DROP EXTENSION citext;
