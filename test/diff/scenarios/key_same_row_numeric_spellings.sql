-- claim: from 1.0 to 1.00 is one row (numeric equality): refused as from = to (22023), where the client's two UPDATEs of the row succeed (documented)
-- role: tgd_alice
-- @setup
CREATE TABLE t (id numeric PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1.00, 100), (2.00, 50);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer('t', 1.0, 1.00, 10);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 1) FROM (SELECT FROM t WHERE id IN (1.0, 1.00) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 10 WHERE id = 1.0 AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 10 WHERE id = 1.00 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
