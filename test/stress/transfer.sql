-- test/stress/transfer.sql -- one transaction of a transfer client (pgbench)
--
-- A transfer on bank (5 in 10), a transfer on ledger (3 in 10) or a batch of
-- 2 to 5 legs (2 in 10), between random accounts 1..:n; nearly half the
-- ledger moves are credits to or debits of its hot accounts (stress_aim()).
-- Bank amounts are 1..250 against a start of 100 and a ceiling of 250,
-- ledger amounts 0.01..600.00 against a start of 0 and a floor of -500, so
-- many moves are refused.  stress_step() counts them; any other error aborts
-- the client.  When stress_step() found a violation (already committed to
-- stress_violations), stress_fail() aborts the client as well.
\set kind random(1, 10)
\set a random(1, :n)
\set b 1 + (:a + random(0, :n - 2)) % :n
\set amount random(1, 250)
\set cents random(1, 60000)
\set legs random(2, 5)
SELECT stress_step(:client_id, :kind, :a, :b, :amount, :cents, :legs) AS violations \gset
\if :violations > 0
SELECT stress_fail('transfer client ' || :client_id, :violations);
\endif
