-- claim: text keys, for both
-- role: tgd_alice
-- @setup
CREATE TABLE t (id text PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES ('alice', 100), ('bob', 50);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer('t', 'alice', 'bob', 10);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN ('alice', 'bob') ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 10 WHERE id = 'alice' AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 10 WHERE id = 'bob' RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
