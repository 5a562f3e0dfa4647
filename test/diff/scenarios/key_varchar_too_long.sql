-- claim: a varchar(3) key given a longer value matches no row (never cut to a neighbour), as WHERE id = 'abcd' matches none
-- role: tgd_alice
-- @setup
CREATE TABLE t (id varchar(3) PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES ('abc', 100), ('xyz', 50);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer('t', 'abcd'::text, 'xyz'::text, 10);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN ('abcd', 'xyz') ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 10 WHERE id = 'abcd' AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 10 WHERE id = 'xyz' RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
