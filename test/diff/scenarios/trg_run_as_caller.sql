-- claim: triggers fired by the call run as the caller, with the caller's search_path and isolation level, at the same trigger depth, before and after the rows change and at commit, as for the client's UPDATEs
-- role: tgd_alice
-- isolation: repeatable read
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
CREATE TABLE log (tg text, id int, who name, path text, iso text, depth int, restricted boolean);
GRANT INSERT ON log TO tgd_alice;
CREATE FUNCTION who() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	restricted boolean := false;
BEGIN
	-- inside a security-restricted operation, setting the role is refused
	BEGIN
		PERFORM set_config('role', current_user, true);
	EXCEPTION WHEN OTHERS THEN
		restricted := true;
	END;
	INSERT INTO log VALUES (TG_NAME || ' ' || TG_WHEN || ' ' || TG_LEVEL, CASE WHEN TG_LEVEL = 'ROW' THEN NEW.id END,
							current_user, current_setting('search_path'),
							current_setting('transaction_isolation'), pg_trigger_depth(), restricted);
	RETURN CASE WHEN TG_LEVEL = 'ROW' THEN NEW END;
END $$;
CREATE TRIGGER b_row BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION who();
CREATE TRIGGER a_row AFTER UPDATE ON t FOR EACH ROW EXECUTE FUNCTION who();
CREATE TRIGGER a_stmt AFTER UPDATE ON t FOR EACH STATEMENT EXECUTE FUNCTION who();
CREATE CONSTRAINT TRIGGER at_commit AFTER UPDATE ON t DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW EXECUTE FUNCTION who();
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
