-- claim: uuid keys given in upper case without hyphens reach the rows, as the UPDATE's uuid literal does; the journal records the row's canonical uuid
-- role: tgd_alice
-- @setup
CREATE TABLE t (id uuid PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO t VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 100), ('b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', 50);
SELECT guard('t', 'balance');
GRANT SELECT, UPDATE ON t TO tgd_alice;
-- @ext
SELECT * FROM transfer('t', 'A0EEBC999C0B4EF8BB6D6BB9BD380A11'::text, 'b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a12'::text, 10);
-- @plain
BEGIN;
SELECT tgd.found(count(*), 2) FROM (SELECT FROM t WHERE id IN ('A0EEBC999C0B4EF8BB6D6BB9BD380A11', 'b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a12') ORDER BY id FOR NO KEY UPDATE) l;
WITH u AS (UPDATE t SET balance = balance - 10 WHERE id = 'A0EEBC999C0B4EF8BB6D6BB9BD380A11' AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE t SET balance = balance + 10 WHERE id = 'b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a12' RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
