-- claim: statement-level triggers fire once per row's UPDATE for both
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50);
SELECT guard('t', 'balance');
CREATE TABLE log (tg text, op text, id int, old_balance numeric, new_balance numeric);
GRANT INSERT ON log TO tgd_alice;
CREATE FUNCTION log_stmt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO log VALUES (TG_NAME, TG_WHEN || ' ' || TG_OP, NULL, NULL, (SELECT sum(balance) FROM t));
	RETURN NULL;
END $$;
CREATE TRIGGER bs BEFORE UPDATE ON t FOR EACH STATEMENT EXECUTE FUNCTION log_stmt();
CREATE TRIGGER as_ AFTER UPDATE ON t FOR EACH STATEMENT EXECUTE FUNCTION log_stmt();
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
