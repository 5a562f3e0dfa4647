-- claim: a BEFORE ROW trigger that raises refuses the move with its own SQLSTATE, for both
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50);
SELECT guard('t', 'balance');
CREATE FUNCTION no_big() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.balance > 70 AND NEW.id = 2 THEN
		RAISE EXCEPTION 'row % may not hold %', NEW.id, NEW.balance USING ERRCODE = 'TG900';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER no_big BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION no_big();
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
