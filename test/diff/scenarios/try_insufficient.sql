-- claim: try_transfer 'insufficient_funds' is the plain debit refused by its WHERE-clause floor
-- role: tgd_alice
-- @setup
CREATE TABLE t (id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50), (3, 0);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT tgd.status(status) FROM try_transfer('t', 2, 1, 60);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (2, 1) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 60 WHERE id = 2 AND balance - 60 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 60 WHERE id = 1 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
