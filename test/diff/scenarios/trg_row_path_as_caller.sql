-- claim: an AFTER ROW trigger (row path) records who ran it, as the client's UPDATEs do
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
CREATE TABLE log (id int, who name, path text, depth int);
GRANT INSERT ON log TO tgd_alice;
CREATE FUNCTION who() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO log VALUES (NEW.id, current_user, current_setting('search_path'), pg_trigger_depth());
	RETURN NEW;
END $$;
CREATE TRIGGER a_row AFTER UPDATE ON t FOR EACH ROW EXECUTE FUNCTION who();
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
