-- claim: an amount past bigint's range for a bigint column fails with 22003, as the UPDATE's assignment does
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50);
SELECT guard('t', 'balance', min_balance => NULL);
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer('t', 1, 2, 100000000000000000000);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 100000000000000000000 WHERE id = 1 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 100000000000000000000 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
