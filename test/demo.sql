--
-- test/demo.sql -- a short tour of transfer_guard, run by test/demo.sh
--
-- Statements are echoed before their results.  The one statement that is
-- meant to fail runs with ON_ERROR_STOP off and verbose error reports, so its
-- SQLSTATE and error fields are shown; any other error stops the demo.
--
\set ECHO queries
\pset footer off

\echo
\echo '-- A table of accounts, and a guard saying its balance may not go below 0.'
CREATE EXTENSION transfer_guard;
CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO accounts VALUES (1, 500), (2, 100), (3, 50);
SELECT guard('accounts', 'balance');
SELECT * FROM transfer_guards;

\echo
\echo '-- Move 100 from account 1 to account 2: both rows locked, checked, updated.'
SELECT * FROM transfer('accounts', 1, 2, 100);
SELECT * FROM accounts ORDER BY id;

\echo
\echo '-- Account 3 holds 50; taking 80 from it is refused with SQLSTATE 23514.'
\set ON_ERROR_STOP 0
\set VERBOSITY verbose
SELECT * FROM transfer('accounts', 3, 1, 80);
\set VERBOSITY default
\set ON_ERROR_STOP 1
SELECT * FROM accounts ORDER BY id;

\echo
\echo '-- Two legs in one call, all or none, locked in one global order.'
SELECT * FROM transfer_batch('[{"from_table":"accounts","from_key":1,"to_key":2,"amount":5},{"from_table":"accounts","from_key":3,"to_key":1,"amount":7}]');
SELECT * FROM accounts ORDER BY id;

\echo
\echo '-- try_transfer reports a business outcome as a status, not an error.'
SELECT * FROM try_transfer('accounts', 3, 1, 1000);

\echo
\echo '-- A retried request with the same idempotency key moves nothing twice.'
SELECT * FROM transfer('accounts', 1, 3, 10, idempotency_key => 'order-42');
SELECT * FROM transfer('accounts', 1, 3, 10, idempotency_key => 'order-42');
SELECT * FROM accounts ORDER BY id;

\echo
\echo '-- Every move is in the journal.'
SELECT transfer_id, from_table, from_key, to_key, amount, from_balance, to_balance, idempotency_key
  FROM transfer_guard_journal ORDER BY transfer_id;
