-- claim: a BEFORE ROW trigger that takes a fee from every credit: the stored balances and the trigger's log agree
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50);
SELECT guard('t', 'balance');
CREATE TABLE log (tg text, op text, id int, old_balance numeric, new_balance numeric);
GRANT INSERT ON log TO tgd_alice;
CREATE FUNCTION fee() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.balance > OLD.balance THEN
		NEW.balance := NEW.balance - 1;
	END IF;
	INSERT INTO log VALUES (TG_NAME, TG_OP, NEW.id, OLD.balance, NEW.balance);
	RAISE NOTICE 'fee: row % from % to %', NEW.id, OLD.balance, NEW.balance;
	RETURN NEW;
END $$;
CREATE TRIGGER fee BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION fee();
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer('t', 1, 2, 30);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 30 WHERE id = 1 AND balance - 30 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 30 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
