-- claim: a partition guarded on its own: a move between two of its rows, for both
-- role: tgd_alice
-- @setup
CREATE TABLE p (id int NOT NULL, balance numeric NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE p_low PARTITION OF p FOR VALUES FROM (0) TO (100);
CREATE TABLE p_high PARTITION OF p FOR VALUES FROM (100) TO (200);
ALTER TABLE p_low ADD PRIMARY KEY (id);
INSERT INTO p VALUES (1, 100), (2, 50), (150, 50);
SELECT guard('p_low', 'balance');
GRANT SELECT, UPDATE ON p_low TO tgd_alice;
-- @ext
SELECT * FROM transfer('p_low', 1, 2, 30);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM p_low WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE p_low SET balance = balance - 30 WHERE id = 1 AND balance - 30 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE p_low SET balance = balance + 30 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
