-- claim: a deferred constraint trigger refusing a low balance fails the commit, for both
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50);
SELECT guard('t', 'balance');
CREATE FUNCTION at_least_ten() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF (SELECT balance FROM t WHERE id = NEW.id) < 10 THEN
		RAISE EXCEPTION 'row % below 10 at commit', NEW.id USING ERRCODE = 'TG901';
	END IF;
	RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER at_least_ten AFTER UPDATE ON t DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW EXECUTE FUNCTION at_least_ten();
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer('t', 1, 2, 95);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 95 WHERE id = 1 AND balance - 95 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 95 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
