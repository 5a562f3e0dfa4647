-- claim: an AFTER ROW trigger with a WHEN condition fires for the rows it selects, for both
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
CREATE TABLE log (tg text, id int, old_balance numeric, new_balance numeric, version int);
GRANT INSERT ON log TO tgd_alice;
CREATE FUNCTION log_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO log VALUES (TG_NAME, NEW.id, OLD.balance, NEW.balance, NULL);
	RETURN NEW;
END $$;
CREATE TRIGGER low AFTER UPDATE ON t FOR EACH ROW WHEN (NEW.balance < 75) EXECUTE FUNCTION log_row();
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
