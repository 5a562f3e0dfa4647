-- claim: a guarded partitioned table: a move between rows of two partitions, for both
-- role: tgd_alice
-- @setup
CREATE TABLE p (id int PRIMARY KEY, balance numeric NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE p_low PARTITION OF p FOR VALUES FROM (0) TO (100);
CREATE TABLE p_high PARTITION OF p FOR VALUES FROM (100) TO (200);
INSERT INTO p VALUES (1, 100), (150, 50);
SELECT guard('p', 'balance');
GRANT SELECT, UPDATE ON p TO tgd_alice;
-- @ext
SELECT * FROM transfer('p', 1, 150, 30);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM p WHERE id IN (1, 150) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE p SET balance = balance - 30 WHERE id = 1 AND balance - 30 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE p SET balance = balance + 30 WHERE id = 150 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
