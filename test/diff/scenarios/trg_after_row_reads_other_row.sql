-- claim: an AFTER ROW trigger that reads the other row: on the row path it sees that row already changed, the client's statements not yet (documented timing)
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50);
SELECT guard('t', 'balance');
CREATE FUNCTION peek() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE NOTICE 'after row %: total now %', NEW.id, (SELECT sum(balance) FROM t);
	RETURN NEW;
END $$;
CREATE TRIGGER peek AFTER UPDATE ON t FOR EACH ROW EXECUTE FUNCTION peek();
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
