-- test/stress/settle.sql -- one settle by a settle client (pgbench)
--
-- settle() folds the committed pending credits of the hot accounts into
-- their rows while the transfer clients credit and debit them;
-- stress_settle() counts the calls and what they folded.  Any error aborts
-- the client.  A short pause between two settles lets credits pile up, so
-- debits of the hot accounts find some to settle too.
SELECT stress_settle(:client_id);
\sleep 10 ms
