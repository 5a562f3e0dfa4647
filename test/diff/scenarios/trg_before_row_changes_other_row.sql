-- claim: a BEFORE ROW trigger on the debit that raises the credited row's balance: the ceiling judges the raised balance (23514), as the credit's WHERE clause does
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 90);
SELECT guard('t', 'balance', 0, 100);
GRANT SELECT, UPDATE ON t TO tgd_alice;
CREATE FUNCTION bonus() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.id = 1 AND pg_trigger_depth() = 1 THEN
		UPDATE t SET balance = balance + 10 WHERE id = 2;
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER bonus BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION bonus();
-- @ext
SELECT * FROM transfer('t', 1, 2, 5);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 5 WHERE id = 1 AND balance - 5 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 5 WHERE id = 2 AND balance + 5 <= 100 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
