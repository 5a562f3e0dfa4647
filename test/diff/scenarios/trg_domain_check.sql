-- claim: a domain's CHECK on the balance refuses the debit: 23514 from the domain, for both
-- role: tgd_alice
-- @setup
CREATE DOMAIN money_amount AS numeric CHECK (VALUE >= 10);
CREATE TABLE t (id int PRIMARY KEY, balance money_amount NOT NULL);
INSERT INTO t VALUES (1, 100), (2, 50);
SELECT guard('t', 'balance', min_balance => NULL);
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer('t', 1, 2, 95);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 95 WHERE id = 1 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 95 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
