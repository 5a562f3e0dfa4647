-- the client-side recipe: lock in request order, check in the client, two UPDATEs
\set a random(1, :n)
\set b 1 + (:a + random(0, :n - 2)) % :n
BEGIN;
SELECT balance FROM accounts WHERE id = :a FOR UPDATE;
SELECT balance FROM accounts WHERE id = :b FOR UPDATE;
UPDATE accounts SET balance = balance - 1 WHERE id = :a;
UPDATE accounts SET balance = balance + 1 WHERE id = :b;
COMMIT;
