-- claim: a batch touching one row in two legs updates it once by the net change: an AFTER ROW trigger logs one update where leg-by-leg statements log two (documented)
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50), (3, 0);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
CREATE TABLE log (id int, old_balance numeric, new_balance numeric);
GRANT INSERT ON log TO tgd_alice;
CREATE FUNCTION log_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO log VALUES (NEW.id, OLD.balance, NEW.balance);
	RETURN NEW;
END $$;
CREATE TRIGGER after_row AFTER UPDATE ON t FOR EACH ROW EXECUTE FUNCTION log_row();
-- @ext
SELECT * FROM transfer_batch($$[
  {"from_table": "t", "from_key": 1, "to_key": 3, "amount": 10},
  {"from_table": "t", "from_key": 1, "to_key": 2, "amount": 20}
]$$);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 3) FROM (SELECT FROM t WHERE id IN (1, 2, 3) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 10 WHERE id = 1 AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 10 WHERE id = 3 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance - 20 WHERE id = 1 AND balance - 20 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 20 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
