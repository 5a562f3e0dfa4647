-- claim: a volatile policy function of the source table that updates the destination row: the call sees that change as the next statement does, and does not fail internally
-- role: tgd_alice
-- @setup
CREATE TABLE a (id int PRIMARY KEY, balance numeric NOT NULL);
CREATE TABLE b (id int PRIMARY KEY, balance numeric NOT NULL, touched int NOT NULL DEFAULT 0);
INSERT INTO a VALUES (1, 100);
INSERT INTO b VALUES (1, 50);
SELECT guard('a', 'balance'), guard('b', 'balance');
GRANT SELECT, UPDATE ON a, b TO tgd_alice;
CREATE FUNCTION touch_b() RETURNS boolean VOLATILE LANGUAGE plpgsql AS $$
BEGIN
	UPDATE b SET touched = 1 WHERE id = 1;
	RETURN true;
END $$;
ALTER TABLE a ENABLE ROW LEVEL SECURITY;
CREATE POLICY p ON a USING (touch_b());
-- @ext
SELECT * FROM transfer('a', 1, 1, 10, to_table => 'b');
-- @plain
BEGIN;
SELECT tgd.found(count(*), 1) FROM (SELECT FROM a WHERE id = 1 FOR NO KEY UPDATE) l;
SELECT tgd.found(count(*), 1) FROM (SELECT FROM b WHERE id = 1 FOR NO KEY UPDATE) l;
WITH u AS (UPDATE a SET balance = balance - 10 WHERE id = 1 AND balance - 10 >= 0 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
WITH u AS (UPDATE b SET balance = balance + 10 WHERE id = 1 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
