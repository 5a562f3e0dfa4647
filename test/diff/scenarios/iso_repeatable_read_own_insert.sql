-- claim: under repeatable read, a row the transaction inserted itself is moved from, for both
-- role: tgd_alice
-- isolation: repeatable read
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50), (3, 0);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
GRANT INSERT ON t TO tgd_alice;
-- @ext
BEGIN;
SELECT count(*) FROM t;
INSERT INTO t VALUES (4, 40);
SELECT * FROM transfer('t', 4, 3, 40);
COMMIT;
-- @plain
BEGIN;
SELECT count(*) FROM t;
INSERT INTO t VALUES (4, 40);
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (4, 3) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 40 WHERE id = 4 AND balance - 40 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 40 WHERE id = 3 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
