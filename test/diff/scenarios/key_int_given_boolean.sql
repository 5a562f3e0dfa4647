-- claim: a boolean key for an integer key is a datatype mismatch (42804); WHERE id = true has no operator (42883) (documented)
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer('t', true, false, 10);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (true, false) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 10 WHERE id = true AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 10 WHERE id = false RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
