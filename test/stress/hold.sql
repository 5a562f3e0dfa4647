-- test/stress/hold.sql -- one transaction of a hold client (pgbench)
--
-- A hold on bank or ledger between random accounts 1..:n (8 in 20), or a
-- step on one of the 30 latest holds: capture() of all of it, of part of
-- it or of more than it holds, the same by try_capture(), release(); or a
-- release_expired() (1 in 100).  Holds expire after a random 1..800 ms
-- (2 in 5), after an hour or never; see stress_hold_step().  Every answer
-- a call may give is counted; any other error aborts the client.  When
-- stress_hold_step() found a violation (already committed to
-- stress_violations), stress_fail() aborts the client as well.
\set kind random(1, 20)
\set a random(1, :n)
\set b 1 + (:a + random(0, :n - 2)) % :n
\set amount random(1, 120)
\set cents random(1, 30000)
\set expiry random(1, 10)
\set ms random(1, 800)
\set pick random(0, 29)
SELECT stress_hold_step(:client_id, :kind, :a, :b, :amount, :cents, :expiry, :ms, :pick) AS violations \gset
\if :violations > 0
SELECT stress_fail('hold client ' || :client_id, :violations);
\endif
