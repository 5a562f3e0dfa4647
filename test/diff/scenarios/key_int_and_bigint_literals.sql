-- claim: an integer and a bigint key literal in one call (1 and 3000000000) reach their rows, as in the UPDATEs' WHERE clauses
-- role: tgd_alice
-- @setup
CREATE TABLE t (id bigint PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (3000000000, 50);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer('t', 1, 3000000000, 10);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 3000000000) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 10 WHERE id = 1 AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 10 WHERE id = 3000000000 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
