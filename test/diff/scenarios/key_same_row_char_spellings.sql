-- claim: from 'ab' to 'ab   ' is one char(5) row: refused as from = to (22023), where the client's two UPDATEs of the row succeed (documented)
-- role: tgd_alice
-- @setup
CREATE TABLE t (id char(5) PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES ('ab', 100), ('cd', 50);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer('t', 'ab'::text, 'ab   '::text, 10);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 1) FROM (SELECT FROM t WHERE id IN ('ab', 'ab   ') ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 10 WHERE id = 'ab' AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 10 WHERE id = 'ab   ' RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
