-- claim: a guarded child's column renamed through its parent, then another column of the child altered: the guard stays on the balance
-- role: tgd_alice
-- @setup
CREATE TABLE acct (id int NOT NULL, note text, balance numeric NOT NULL);
CREATE TABLE acct_vip (id int PRIMARY KEY, perk text, note text, balance numeric NOT NULL);
ALTER TABLE acct_vip INHERIT acct;
INSERT INTO acct_vip VALUES (1, 'x', 'a', 100), (2, 'y', 'b', 50);
SELECT guard('acct_vip', 'balance');
GRANT SELECT, UPDATE ON acct, acct_vip TO tgd_alice;
-- @ext
SELECT * FROM transfer('acct_vip', 1, 2, 10, balance_column => 'balance');
RESET ROLE;
ALTER TABLE acct RENAME COLUMN balance TO credits; ALTER TABLE acct_vip ALTER COLUMN perk SET DEFAULT 'none';
SET ROLE tgd_alice;
SELECT * FROM transfer('acct_vip', 1, 2, 10, balance_column => 'credits');
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM acct_vip WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE acct_vip SET balance = balance - 10 WHERE id = 1 AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE acct_vip SET balance = balance + 10 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
RESET ROLE;
ALTER TABLE acct RENAME COLUMN balance TO credits; ALTER TABLE acct_vip ALTER COLUMN perk SET DEFAULT 'none';
SET ROLE tgd_alice;
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM acct_vip WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE acct_vip SET credits = credits - 10 WHERE id = 1 AND credits - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE acct_vip SET credits = credits + 10 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
