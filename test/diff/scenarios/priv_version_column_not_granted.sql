-- claim: SELECT and UPDATE on the balance but not on the version column: refused (42501), as the client's version = version + 1 is
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL, version int NOT NULL DEFAULT 0);
INSERT INTO t VALUES (1, 100, 0), (2, 50, 0);
SELECT guard('t', 'balance', version_column => 'version');
GRANT SELECT (id, balance), UPDATE (balance) ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer('t', 1, 2, 10);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 10, version = version + 1 WHERE id = 1 AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 10, version = version + 1 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
