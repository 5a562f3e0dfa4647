-- claim: an AFTER UPDATE OF balance trigger fires for the moved rows, for both
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL, note text);
INSERT INTO t VALUES (1, 100, 'a'), (2, 50, 'b');
SELECT guard('t', 'balance');
CREATE TABLE log (tg text, op text, id int, old_balance numeric, new_balance numeric);
GRANT INSERT ON log TO tgd_alice;
CREATE FUNCTION log_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO log VALUES (TG_NAME, TG_OP, NEW.id, OLD.balance, NEW.balance);
	RETURN NEW;
END $$;
CREATE TRIGGER of_balance AFTER UPDATE OF balance ON t FOR EACH ROW EXECUTE FUNCTION log_row();
CREATE TRIGGER of_note AFTER UPDATE OF note ON t FOR EACH ROW EXECUTE FUNCTION log_row();
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
