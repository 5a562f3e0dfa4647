-- claim: a guarded partitioned table of two levels: a row in a sub-partition is reached, as the UPDATE of the root reaches it
-- role: tgd_alice
-- @setup
CREATE TABLE p (id int PRIMARY KEY, balance numeric NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE p_low PARTITION OF p FOR VALUES FROM (0) TO (100) PARTITION BY RANGE (id);
CREATE TABLE p_low_a PARTITION OF p_low FOR VALUES FROM (0) TO (50);
CREATE TABLE p_low_b PARTITION OF p_low FOR VALUES FROM (50) TO (100);
CREATE TABLE p_rest PARTITION OF p DEFAULT;
INSERT INTO p VALUES (1, 100), (60, 50), (500, 5);
SELECT guard('p', 'balance');
GRANT SELECT, UPDATE ON p TO tgd_alice;
-- @ext
SELECT * FROM transfer('p', 1, 60, 30);
SELECT * FROM transfer('p', 60, 500, 70);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM p WHERE id IN (1, 60) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE p SET balance = balance - 30 WHERE id = 1 AND balance - 30 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE p SET balance = balance + 30 WHERE id = 60 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM p WHERE id IN (60, 500) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE p SET balance = balance - 70 WHERE id = 60 AND balance - 70 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE p SET balance = balance + 70 WHERE id = 500 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
