-- claim: a guarded inheritance child, called by its own name: a move within it, as UPDATE of the child
-- role: tgd_alice
-- @setup
CREATE TABLE acct (id int PRIMARY KEY, balance numeric NOT NULL);
CREATE TABLE acct_vip (perk text) INHERITS (acct);
ALTER TABLE acct_vip ADD PRIMARY KEY (id);
INSERT INTO acct VALUES (1, 100), (2, 50);
INSERT INTO acct_vip VALUES (5, 500, 'lounge');
GRANT SELECT, UPDATE ON acct, acct_vip TO tgd_alice;
INSERT INTO acct_vip VALUES (6, 0, 'spa');
SELECT guard('acct_vip', 'balance');
-- @ext
SELECT * FROM transfer('acct_vip', 5, 6, 30);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM acct_vip WHERE id IN (5, 6) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE acct_vip SET balance = balance - 30 WHERE id = 5 AND balance - 30 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE acct_vip SET balance = balance + 30 WHERE id = 6 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
