-- claim: a guarded table that gained an inheritance child is refused (0A000), never "no such row" for a child's row the plain UPDATE of the parent reaches
-- role: tgd_alice
-- @setup
CREATE TABLE acct (id int PRIMARY KEY, balance numeric NOT NULL);
-- guarded before it has a child: guard() refuses a table that has one
SELECT guard('acct', 'balance');
CREATE TABLE acct_vip (perk text) INHERITS (acct);
ALTER TABLE acct_vip ADD PRIMARY KEY (id);
INSERT INTO acct VALUES (1, 100), (2, 50);
INSERT INTO acct_vip VALUES (5, 500, 'lounge');
GRANT SELECT, UPDATE ON acct, acct_vip TO tgd_alice;
-- @ext
SELECT * FROM transfer('acct', 5, 1, 30);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM acct WHERE id IN (5, 1) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE acct SET balance = balance - 30 WHERE id = 5 AND balance - 30 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE acct SET balance = balance + 30 WHERE id = 1 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
