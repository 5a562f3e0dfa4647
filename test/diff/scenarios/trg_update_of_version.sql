-- claim: a trigger on UPDATE OF the version column fires for each moved row, as the client's version = version + 1 makes it fire
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL, version int NOT NULL DEFAULT 0);
INSERT INTO t VALUES (1, 100, 0), (2, 50, 3);
SELECT guard('t', 'balance', version_column => 'version');
GRANT SELECT, UPDATE ON t TO tgd_alice;
CREATE TABLE log (tg text, id int, version int);
GRANT INSERT ON log TO tgd_alice;
CREATE FUNCTION log_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO log VALUES (TG_NAME, NEW.id, NEW.version);
	RETURN NEW;
END $$;
CREATE TRIGGER of_version AFTER UPDATE OF version ON t FOR EACH ROW EXECUTE FUNCTION log_version();
-- @ext
SELECT * FROM transfer('t', 1, 2, 30);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 30, version = version + 1 WHERE id = 1 AND balance - 30 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 30, version = version + 1 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
