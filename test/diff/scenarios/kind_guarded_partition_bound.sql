-- claim: a guarded partition partitioned by balance: a credit past its bound violates the partition constraint (23514), as the UPDATE of the partition does
-- role: tgd_alice
-- @setup
CREATE TABLE p (id int NOT NULL, balance int NOT NULL) PARTITION BY RANGE (balance);
CREATE TABLE p_small PARTITION OF p FOR VALUES FROM (0) TO (100);
CREATE TABLE p_large PARTITION OF p FOR VALUES FROM (100) TO (1000000);
ALTER TABLE p_small ADD PRIMARY KEY (id);
INSERT INTO p VALUES (1, 90), (2, 50);
SELECT guard('p_small', 'balance');
GRANT SELECT, UPDATE ON p_small TO tgd_alice;
-- @ext
SELECT * FROM transfer('p_small', 1, 2, 60);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM p_small WHERE id IN (1, 2) ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE p_small SET balance = balance - 60 WHERE id = 1 AND balance - 60 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE p_small SET balance = balance + 60 WHERE id = 2 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
