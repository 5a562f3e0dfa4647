-- the client-side pattern as an application writes it (after keys.sql): lock
-- the source, then the destination, in request order; check the balance in
-- the client; two UPDATEs; or ROLLBACK when the balance is short
BEGIN;
SELECT balance AS source_balance FROM accounts WHERE id = :a FOR UPDATE \gset
SELECT balance AS destination_balance FROM accounts WHERE id = :b FOR UPDATE \gset
\if :source_balance >= 1
UPDATE accounts SET balance = balance - 1 WHERE id = :a;
UPDATE accounts SET balance = balance + 1 WHERE id = :b;
COMMIT;
\else
ROLLBACK;
\endif
