-- claim: a table partitioned by balance has no single-column key: guard() refuses it (42P10), while a plain UPDATE of the parent moves the row to another partition (documented)
-- role: tgd_alice
-- @setup
CREATE TABLE p (id int NOT NULL, balance int NOT NULL, PRIMARY KEY (id, balance)) PARTITION BY RANGE (balance);
CREATE TABLE p_small PARTITION OF p FOR VALUES FROM (0) TO (100);
CREATE TABLE p_large PARTITION OF p FOR VALUES FROM (100) TO (1000000);
INSERT INTO p VALUES (1, 90), (2, 50);
GRANT SELECT, UPDATE ON p TO tgd_alice;
-- @ext
RESET ROLE;
SELECT guard('p', 'balance');
SET ROLE tgd_alice;
SELECT * FROM transfer('p', 2, 1, 30);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM p WHERE id IN (2, 1) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE p SET balance = balance - 30 WHERE id = 2 AND balance - 30 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE p SET balance = balance + 30 WHERE id = 1 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
